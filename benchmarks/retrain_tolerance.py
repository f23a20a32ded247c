"""How closely a shipped checkpoint retrains here: its manifest's exact command, run again into a temporary folder
(never over checkpoints/), optionally under another thread count or maths-library path, then compared with the
shipped model: the weights (bit-identical? largest difference), the test metrics, and the first epoch whose
training or test figures differ.

    python -m benchmarks.retrain_tolerance ae-z2                            # same command, this machine
    python -m benchmarks.retrain_tolerance ae-z2 --env MKL_CBWR=COMPATIBLE  # MKL's conditional-reproducibility path
    python -m benchmarks.retrain_tolerance ae-z2 --threads 1                # another reduction order
    python -m benchmarks.retrain_tolerance ae-z2 --compare DIR              # compare a folder retrained earlier

Training shares the CPU: run one at a time, ideally under `nice`. The ae-z2 command takes about 5 minutes on 2 idle
cores (its manifest's train_seconds).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from vae.checkpoint import REPO_ROOT, load_checkpoint


def retrain_argv(manifest: dict, out: Path, threads: int | None) -> list[str]:
    """The manifest's command with --out replaced (and --threads set when asked), as argv for this Python."""
    words = shlex.split(manifest["command"])
    if words[:3] != ["python", "-m", "vae.train"]:
        raise SystemExit(f"not a vae.train command: {manifest['command']}")
    args = words[3:]
    if "--out" in args:
        i = args.index("--out")
        del args[i:i + 2]
    if threads is not None:
        if "--threads" in args:
            i = args.index("--threads")
            del args[i:i + 2]
        args += ["--threads", str(threads)]
    return [sys.executable, "-m", "vae.train", *args, "--out", str(out)]


def compare(shipped_name: str, retrained: Path) -> dict:
    """Weights and figures of the retrained model against the shipped one."""
    a, b = load_checkpoint(shipped_name), load_checkpoint(retrained)
    diffs = {name: (x.double() - y.double()).abs().max().item() for (name, x), y in
             zip(a.model.state_dict().items(), b.model.state_dict().values())}
    ma, mb = a.manifest, b.manifest
    first = next((row_a["epoch"] for row_a, row_b in zip(ma["history"], mb["history"])
                  if any(row_a[k] != row_b.get(k) for k in row_a if k.startswith(("train_", "test_")))), None)
    return {
        "identical": all(torch.equal(x, y) for x, y in zip(a.model.state_dict().values(),
                                                           b.model.state_dict().values())),
        "sha256": (ma.get("weights_sha256"), mb.get("weights_sha256")),
        "max_weight_diff": max(diffs.values()),
        "metrics": {k: (v, mb["test_metrics"].get(k)) for k, v in ma["test_metrics"].items()},
        "first_differing_epoch": first,
        "threads": (ma.get("threads"), mb.get("threads")),
        "versions": mb.get("versions", {}),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="a shipped checkpoint trained by vae.train, e.g. ae-z2")
    parser.add_argument("--threads", type=int, help="torch threads for the retraining (default: the command's)")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="environment for the retraining, e.g. MKL_CBWR=COMPATIBLE (repeatable)")
    parser.add_argument("--compare", type=Path, help="compare this retrained folder instead of training")
    args = parser.parse_args(argv)
    shipped = load_checkpoint(args.name)
    with tempfile.TemporaryDirectory(prefix="retrain-") as tmp:
        folder = args.compare
        if folder is None:
            folder = Path(tmp) / args.name
            env = dict(os.environ, **dict(kv.split("=", 1) for kv in args.env))
            cmd = retrain_argv(shipped.manifest, folder, args.threads)
            print("running:", " ".join(args.env), shlex.join(cmd[1:]), flush=True)
            subprocess.run(cmd, cwd=REPO_ROOT, env=env, check=True)
        got = compare(args.name, folder)
    print(f"{args.name}: shipped (threads {got['threads'][0]}) vs retrained (threads {got['threads'][1]})")
    print(f"  bit-identical weights: {got['identical']}; largest weight difference {got['max_weight_diff']:.3g}")
    print(f"  first epoch with different figures (training or test): {got['first_differing_epoch'] or 'none'}")
    for key, (a, b) in got["metrics"].items():
        print(f"  test {key}: shipped {a:.4f}, retrained {b:.4f}, difference {b - a:+.4f} ({(b - a) / a:+.2%})")
    for key in ("maths_library", "cpu", "cpu_flags", "cpu_capability", "mkl_cbwr"):
        if key in got["versions"]:
            print(f"  retrained with {key}: {got['versions'][key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
