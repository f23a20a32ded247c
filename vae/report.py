"""Write checkpoints/README.md from the checkpoints' manifests, so that the table can never drift from them.

    python -m vae.report            rewrite checkpoints/README.md
    python -m vae.report --check    exit 1 if checkpoints/README.md differs from what the manifests say
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .checkpoint import CHECKPOINT_DIR, available, read_manifest

README = CHECKPOINT_DIR / "README.md"

HEADER = """# Shipped checkpoints

Each folder holds `model.pt` (the model's `state_dict`, loaded with `weights_only=True`, `strict=True`) and
`manifest.json`: model and training configs, per-epoch history, test metrics, the sha256 of `data/mnist.npz` and of
`model.pt`, library versions, and the exact command that trained it. This file is generated from those manifests by
`python -m vae.report`; a test fails when it is stale.

Metrics are on the 10,000 MNIST test images, in nats per image: reconstruction is the summed Bernoulli BCE over the
784 grayscale pixels at a decoded z (one z = mu + sigma * eps per image for a VAE, with a fixed seed), KL is
KL(q(z|x) || N(0, I)), -ELBO is their sum. The IWAE column is the importance-weighted bound on log p(x) with k
samples (Burda et al. 2016), written into the manifest by `python -m vae.metrics iwae NAME --k 1000 --record`.
"""


def _fmt(value, digits=2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def render(directory: Path = CHECKPOINT_DIR) -> str:
    rows = ["| name | model | latent | beta | test recon | test KL | test -ELBO | IWAE log p(x) bound | epochs | "
            "train time |", "|---|---|---|---|---|---|---|---|---|---|"]
    commands = []
    versions: dict[str, str] = {}
    data_sha: set[str] = set()
    judge_lines = []
    for name in available(directory):
        m = read_manifest(directory / name)
        versions.update(m["versions"])
        data_sha.add(m["data"]["sha256"])
        if m["model"].get("kind") == "judge":
            judge_lines.append(f"The judge `{name}` (a CNN digit classifier that only judges decoded images; see "
                               f"RESULTS.md): test accuracy {m['test_metrics']['accuracy'] * 100:.2f}%, "
                               f"{m['training']['epochs']} epochs, {m.get('train_seconds', 0):.0f} s.")
            commands.append(f"# {name}\n{m['command']}")
            continue
        if m["model"].get("kind") == "gaussian":
            t = m["test_metrics"]
            judge_lines.append(
                f"The baseline `{name}` (one multivariate Gaussian over the 784 pixels, samples x = L z + \u03bc with "
                f"L L^T = \u03a3 + {m['model']['jitter']:g} I, fitted to {m['data']['train_images']:,} training images "
                f"in {m.get('train_seconds', 0):.1f} s): the judge is confident on {t['confident'] * 100:.1f}% of "
                f"{m['training']['judge_draws']:,} samples (clipped to [0, 1]), label entropy "
                f"{t['label_entropy_bits']:.2f} bits, internal FID {t['fid']:.1f}; mean test log-density "
                f"{t['log_density_nats']:.1f} nats per image, a continuous density over pixel values that is not "
                "comparable with the Bernoulli nats in the table.")
            commands.append(f"# {name}\n{m['command']}")
            continue
        model, train, metrics = m["model"], m["training"], m["test_metrics"]
        arch = f"{model['arch'].upper()} {'-'.join(map(str, model['hidden']))}" if model["arch"] == "mlp" \
            else f"conv {model['channels']}"
        kind = model["kind"].upper()
        beta = _fmt(train["beta"], 1) if model["kind"] == "vae" else "-"
        iwae = m.get("iwae")
        if model["kind"] == "ae":
            iwae_text = "- (no posterior)"
        else:
            iwae_text = f"{iwae['log_px_bound']:.2f} (k={iwae['k']})" if iwae else "not computed"
        rows.append(f"| `{name}` | {kind}, {arch} | {model['latent_dim']} | {beta} | {_fmt(metrics.get('recon'))} | "
                    f"{_fmt(metrics.get('kl')) if model['kind'] == 'vae' else '-'} | "
                    f"{_fmt(metrics.get('neg_elbo')) if model['kind'] == 'vae' else '-'} | {iwae_text} | "
                    f"{_trained(m)} |")
        commands.append(f"# {name}\n{m['command']}")
        if iwae:
            commands.append(iwae["command"])
    parts = [HEADER, "\n".join(rows), "", *(line + "\n" for line in judge_lines),
             "## How they were made", "",
             "From the repository root, with the project's environment (`make train-all` runs the training commands):",
             "", "```bash", "\n".join(commands), "```", "",
             f"Data: `data/mnist.npz`, sha256 `{', '.join(sorted(data_sha))}`. "
             f"Versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) + ".", ""]
    return "\n".join(parts)


def _trained(m: dict) -> str:
    """The table's last two cells: epochs and training time, or where an imported model came from."""
    if "imported_from" in m:
        return f"- | imported ({m['imported_from'].get('layout', 'outside weights')})"
    return f"{m['training']['epochs']} | {m.get('train_seconds', 0):.0f} s on {m.get('threads', '?')} CPU threads"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check that checkpoints/README.md is current")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = README.read_text() if README.exists() else ""
        if current != text:
            print("checkpoints/README.md is stale: run `python -m vae.report`", file=sys.stderr)
            return 1
        print("checkpoints/README.md is current")
        return 0
    README.write_text(text)
    print(f"wrote {README.relative_to(CHECKPOINT_DIR.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
