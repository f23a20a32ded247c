"""The AE-against-VAE comparison over three training seeds, so that no figure rests on one lucky run.

    python -m vae.seeds [--threads 2] [--train-only]

For each pair in PAIRS (the 2-D and the 20-D AE/VAE twins), seed 0 is the shipped checkpoint and seeds 1 and 2 are
trained with the shipped manifest's own command, only `--seed` and `--out` changed, into runs/seeds/ (ignored by git,
not shipped; a run already there with the same command is reused). Every model is then measured with
`vae.evaluate.pair_measures` and the per-seed figures, their mean and their range go to checkpoints/SEEDS.json, which
`python -m vae.evaluate` reads to print the spread beside each comparison.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from . import registry
from .checkpoint import CHECKPOINT_DIR, CheckpointError, read_manifest

ROOT = CHECKPOINT_DIR.parent
RUNS = ROOT / "runs" / "seeds"
SEEDS_JSON = CHECKPOINT_DIR / "SEEDS.json"
PAIRS = {"2-D": ("ae-z2", "vae-z2"), "20-D": ("ae-z20", "vae-z20")}
SEEDS = (0, 1, 2)


def run_folder(name: str, seed: int) -> Path:
    """Where seed `seed` of the shipped model `name` lives: the shipped folder for seed 0, runs/seeds/ otherwise."""
    return CHECKPOINT_DIR / name if seed == 0 else RUNS / f"{name}-seed{seed}"


def training_argv(name: str, seed: int, threads: int = 0) -> list[str]:
    """The `python -m vae.train` arguments for seed `seed` of `name`: the shipped manifest's command with only the
    seed, the output folder and (when > 0) the thread count changed."""
    words = shlex.split(read_manifest(CHECKPOINT_DIR / name)["command"])
    if words[:3] != ["python", "-m", "vae.train"]:
        raise ValueError(f"{name} was not made by vae.train (its command is {' '.join(words)!r})")
    argv, skip = [], False
    for w in words[3:]:
        if skip:
            skip = False
            continue
        if w in ("--seed", "--out", "--threads"):
            skip = True
            continue
        argv.append(w)
    argv += ["--seed", str(seed)]
    if threads > 0:
        argv += ["--threads", str(threads)]
    return argv + ["--out", str(run_folder(name, seed).relative_to(ROOT))]


def _same_recipe(folder: Path, argv: list[str]) -> bool:
    """A finished run in `folder` trained with `argv` (thread count aside: it changes float noise, not the recipe)."""
    try:
        words = shlex.split(read_manifest(folder)["command"])[3:]
    except (CheckpointError, KeyError, OSError, ValueError):
        return False

    def strip(ws):
        out, skip = [], False
        for w in ws:
            if skip:
                skip = False
            elif w == "--threads":
                skip = True
            else:
                out.append(w)
        return out

    return strip(words) == strip(argv) and (folder / "model.pt").exists()


def training_order() -> list[tuple[str, int]]:
    """(name, seed) of every extra run: the 20-D pair first (where the models differ most), seed 1 before seed 2."""
    pairs = sorted(PAIRS.values(), key=lambda pair: -int(pair[0].split("-z")[1]))
    return [(name, seed) for pair in pairs for seed in SEEDS[1:] for name in pair]


def train_missing(threads: int = 0, wait_s: float = 0.0, log=print) -> list[str]:
    """Train every extra seed that runs/seeds/ lacks, one at a time, in `training_order`; returns the folders
    trained. A run whose shipped twin is not there yet waits for it up to `wait_s` seconds while the others train."""
    from . import train

    done, todo = [], training_order()
    deadline = time.monotonic() + wait_s
    while todo:
        ready = [(n, s) for n, s in todo if (CHECKPOINT_DIR / n / "manifest.json").exists()]
        if not ready:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no shipped checkpoint for {', '.join(sorted({n for n, _ in todo}))}: train "
                                   "it first (`make train-all`)")
            time.sleep(10)
            continue
        name, seed = ready[0]
        todo.remove((name, seed))
        argv = training_argv(name, seed, threads)
        folder = run_folder(name, seed)
        if _same_recipe(folder, argv):
            continue
        lock = _claim(folder)
        if lock is None:  # another `python -m vae.seeds` is training this one: leave it to that process
            log(f"{name} seed {seed}: being trained by another process, skipped", flush=True)
            continue
        try:
            log(f"training {name} seed {seed}: python -m vae.train {shlex.join(argv)}", flush=True)
            t0 = time.perf_counter()
            if train.main(argv) != 0:
                raise RuntimeError(f"training {name} seed {seed} failed")
            log(f"{name} seed {seed}: {time.perf_counter() - t0:.0f} s", flush=True)
        finally:
            lock.unlink(missing_ok=True)
        done.append(str(folder))
    return done


def _claim(folder: Path) -> Path | None:
    """Create `folder`.lock holding this process id, so that two `python -m vae.seeds` can share the queue; None
    when a live process holds it (a lock left by a dead one is taken over)."""
    import os

    lock = folder.with_name(folder.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid = int(lock.read_text() or 0)
                os.kill(pid, 0)
                return None
            except (ValueError, ProcessLookupError, FileNotFoundError):
                lock.unlink(missing_ok=True)  # stale: its process is gone
                continue
            except PermissionError:
                return None
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        return lock
    return None


def spread(values: list[float]) -> dict[str, float]:
    """Mean, min, max and sample standard deviation of one measure over seeds."""
    a = np.asarray(values, np.float64)
    if a.size == 0:
        raise ValueError("no values to summarise: the selection of seeds is empty")
    return {"mean": float(a.mean()), "min": float(a.min()), "max": float(a.max()),
            "std": float(a.std(ddof=1)) if a.size > 1 else 0.0, "n": int(a.size)}


def measure_seeds(draws: int = 10000, pairs: int = 1000, steps: int = 10, log=print) -> dict:
    """`vae.evaluate.fair_measures` of every seed of every model in PAIRS; seeds not trained yet are listed as
    missing. JSON-able: {"settings": ..., "pairs": {label: {name: {"seeds": {seed: measures}, "missing": [...]}}}}."""
    import torch

    from .checkpoint import load_checkpoint
    from .evaluate import JUDGE, fair_measures
    from .metrics import real_set

    from .evaluate import JACOBIAN_POINTS, RESULTS_JSON
    from .metrics import PRDC_N

    judge = load_checkpoint(JUDGE).model
    mnist = registry.dataset().load()
    real = None  # the judge's view of the test set, computed only if something must be measured
    fair = {"draws": draws, "pairs": pairs, "steps": steps, "prdc_n": PRDC_N, "jacobian_points": JACOBIAN_POINTS}
    earlier = _earlier_measures(fair, RESULTS_JSON)
    out = {"settings": {**fair, "seeds": list(SEEDS),
                        "threads": torch.get_num_threads(),
                        "command": f"python -m vae.seeds (draws {draws}, pairs {pairs}, steps {steps})"},
           "pairs": {}}
    for label, names in PAIRS.items():
        out["pairs"][label] = {}
        for name in names:
            entry = {"seeds": {}, "missing": []}
            for seed in SEEDS:
                folder = run_folder(name, seed)
                if not (folder / "manifest.json").exists():
                    entry["missing"].append(seed)
                    continue
                t0 = time.perf_counter()
                sha = read_manifest(folder)["weights_sha256"]
                if earlier.get(sha):
                    entry["seeds"][str(seed)] = {"folder": str(folder.relative_to(ROOT)), "weights_sha256": sha,
                                                 **earlier[sha]}
                    log(f"{name} seed {seed}: reused (same weights, same settings)", flush=True)
                    continue
                ckpt = load_checkpoint(folder)
                cfg = ckpt.config
                real = real if real is not None else real_set(judge, mnist.x_test)
                entry["seeds"][str(seed)] = {
                    "folder": str(folder.relative_to(ROOT)), "weights_sha256": sha,
                    **fair_measures(ckpt.model, cfg.kind, cfg.latent_dim, judge, mnist, real, draws, pairs, steps)}
                log(f"{name} seed {seed}: {time.perf_counter() - t0:.0f} s", flush=True)
            out["pairs"][label][name] = entry
    return out


def _earlier_measures(fair: dict, results_json: Path) -> dict[str, dict]:
    """{weights sha256: {"sampling", "continuity"}} already measured with the settings `fair`, from SEEDS.json and
    RESULTS.json (the same computation, so a model is never measured twice)."""
    found = {}
    for path, models in ((SEEDS_JSON, lambda d: [m for pair in d["pairs"].values() for e in pair.values()
                                                 for m in e["seeds"].values()]),
                         (results_json, lambda d: list(d["models"].values()))):
        if not Path(path).exists():
            continue
        d = json.loads(Path(path).read_text())
        if {k: d.get("settings", {}).get(k) for k in fair} != fair:
            continue
        for m in models(d):
            if "sampling" in m and "continuity" in m:
                found[m["weights_sha256"]] = {"sampling": m["sampling"], "continuity": m["continuity"]}
    return found


def flatten(measures: dict) -> dict[str, float]:
    """{"sampling": {sampler: {key: v}}, "continuity": {key: v}} -> {"sampler/key": v, "continuity/key": v}
    (numbers only)."""
    flat = {}
    for sampler, scores in measures.get("sampling", {}).items():
        flat.update({f"{sampler}/{k}": v for k, v in scores.items() if isinstance(v, (int, float))})
    flat.update({f"continuity/{k}": v for k, v in measures.get("continuity", {}).items()
                 if isinstance(v, (int, float))})
    return flat


def summarise(seeds_json: dict) -> dict[str, dict[str, dict[str, dict]]]:
    """{pair label: {model name: {"sampler/key" or "continuity/key": spread over its measured seeds}}}."""
    out = {}
    for label, models in seeds_json["pairs"].items():
        out[label] = {}
        for name, entry in models.items():
            runs = [flatten(m) for _, m in sorted(entry["seeds"].items())]
            if not runs:
                continue
            keys = set(runs[0]).intersection(*runs[1:])
            out[label][name] = {k: spread([r[k] for r in runs]) for k in sorted(keys)}
    return out


def load(path: str | Path = SEEDS_JSON) -> dict | None:
    """SEEDS.json, or None when `python -m vae.seeds` has not written it."""
    p = Path(path)
    return json.loads(p.read_text()) if p.exists() else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vae.seeds", description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads for training and measuring")
    p.add_argument("--train-only", action="store_true", help="train the missing seeds, measure nothing")
    p.add_argument("--wait-for-shipped", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for a shipped twin that another command is still training")
    p.add_argument("--out", default=str(SEEDS_JSON))
    args = p.parse_args(argv)
    if args.threads > 0:
        import torch
        torch.set_num_threads(args.threads)
    try:
        train_missing(args.threads, args.wait_for_shipped)
    except (CheckpointError, ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.train_only:
        return 0
    t0 = time.perf_counter()
    result = measure_seeds()
    result["seconds"] = round(time.perf_counter() - t0, 1)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out} in {result['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
