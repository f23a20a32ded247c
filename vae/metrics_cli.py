"""The metrics' command line: compute a metric of vae.metrics for a checkpoint, and optionally record it in the
checkpoint's manifest.

    python -m vae.metrics iwae vae-z2 [--k 1000] [--n 10000] [--record]

prints the importance-weighted bound on log p(x) over the test set. (`python -m vae.metrics_cli ...` is the same
command.)
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from . import data as data_mod
from . import registry
from .checkpoint import CheckpointError, load_checkpoint, record_metrics
from .metrics import MetricError, test_set_iwae


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae.metrics", description="Compute model metrics.")
    sub = parser.add_subparsers(dest="metric", required=True)
    p = sub.add_parser("iwae", help="importance-weighted bound on log p(x) over the MNIST test set")
    p.add_argument("checkpoint", help="checkpoint name (in checkpoints/) or folder")
    p.add_argument("--k", type=int, default=1000, help="importance samples per image")
    p.add_argument("--n", type=int, default=10000, help="test images to average over (the first n)")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--record", action="store_true", help="store the result in the checkpoint's manifest.json")
    args = parser.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    try:
        if not 1 <= args.n <= 10000:
            raise MetricError(f"--n must be in 1..10000, got {args.n}")
        ckpt = load_checkpoint(args.checkpoint)
        x = torch.from_numpy(data_mod.to_float(registry.dataset().load().x_test[:args.n])).unsqueeze(1)
        t0 = time.perf_counter()
        value = test_set_iwae(ckpt.model, x, args.k)
        seconds = time.perf_counter() - t0
        if args.record:
            record_metrics(ckpt.path, "iwae", {"k": args.k, "test_images": args.n, "log_px_bound": round(value, 4),
                                               "command": "python -m vae.metrics " + " ".join(sys.argv[1:] if argv
                                                                                             is None else argv)})
    except (MetricError, CheckpointError, data_mod.DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{ckpt.name}: log p(x) >= {value:.2f} nats (IWAE bound, k={args.k}, {args.n} test images, "
          f"{seconds:.0f} s); -ELBO in the manifest {ckpt.manifest['test_metrics']['neg_elbo']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
