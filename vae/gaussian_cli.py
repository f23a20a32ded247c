"""The pixel Gaussian's command line: fit vae.gaussian's model to the training images, let the judge rate its
samples, and write the checkpoint.

    python -m vae.gaussian [--train-subset 60000] [--draws 10000] [--seed 2024] [--out checkpoints/gaussian-pixels]

(`python -m vae.gaussian_cli ...` is the same command.)
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import torch

from . import data as data_mod
from . import gaussian as G
from . import registry
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .device import platform_info
from .gaussian import JITTER_LADDER, JUDGE_DRAWS, MAX_DRAWS, NAME, SAMPLE_SEED, FitError
from .judge import features as judge_features
from .models import ConfigError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vae.gaussian", description=G.__doc__.split("\n\n")[0])
    p.add_argument("--train-subset", type=int, default=60000, help="fit on the first N training images")
    p.add_argument("--draws", type=int, default=JUDGE_DRAWS, help="samples the judge rates for the manifest")
    p.add_argument("--seed", type=int, default=SAMPLE_SEED, help="seed of those samples")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--data", default=str(registry.dataset().path), help="the dataset's .npz file")
    p.add_argument("--out", default=f"checkpoints/{NAME}", help="checkpoint folder to write")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        if not 2 <= args.train_subset <= 60000:
            raise ConfigError(f"--train-subset must be in 2..60000, got {args.train_subset}.")
        if not 1 <= args.draws <= MAX_DRAWS:
            raise ConfigError(f"--draws must be in 1..{MAX_DRAWS}, got {args.draws}.")
        mnist = registry.dataset().load(args.data)
        judge = load_checkpoint("judge").model
    except (ConfigError, data_mod.DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except CheckpointError as e:
        print(f"error: {e} (the judge rates the samples: train it with `python -m vae.judge --out "
              "checkpoints/judge`)", file=sys.stderr)
        return 2
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    print(f"fitting a Gaussian to the pixels of {args.train_subset} training images, {torch.get_num_threads()} "
          "threads")
    t0 = time.perf_counter()
    try:
        model, tries = G.fit(mnist.x_train[:args.train_subset])
    except FitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    seconds = time.perf_counter() - t0
    # Every figure is computed from the float32 buffers that are saved, so a check on the checkpoint reproduces it.
    log_density = G.mean_log_density(model, mnist.x_test)
    score = G.judge_score(judge, G.sample(model, args.draws, args.seed), judge_features(judge, mnist.x_test))
    test_metrics = {"log_density_nats": round(log_density, 4), **score}
    manifest = {
        "training": {"method": "maximum likelihood: sample mean and covariance (divided by n), fitted in float64, "
                               "stored in float32",
                     "train_subset": args.train_subset, "jitter_ladder": list(JITTER_LADDER),
                     "jitter": model.config.jitter, "judge_draws": args.draws, "judge_seed": args.seed,
                     "samples": "x = L z + mu, z ~ N(0, I), clipped to [0, 1] for display and for the judge"},
        "history": tries,
        "test_metrics": test_metrics,
        "train_seconds": round(seconds, 1),
        "data": registry.data_record(data_mod.file_sha256(args.data), train_images=args.train_subset,
                                     test_images=len(mnist.x_test)),
        "versions": platform_info(),  # library versions, maths library, CPU and its flags, threads
        "device": "cpu",
        "threads": torch.get_num_threads(),
        "command": " ".join(["python -m vae.gaussian", shlex.join(argv)]).strip(),
    }
    out = save_checkpoint(Path(args.out), model, manifest)
    print(f"jitter {model.config.jitter:g}; test log-density {log_density:.1f} nats per image; judge: "
          f"{score['confident'] * 100:.1f}% confident, label entropy {score['label_entropy_bits']:.2f} bits, "
          f"internal FID {score['fid']:.1f}")
    print(f"wrote {out} (fit in {seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
