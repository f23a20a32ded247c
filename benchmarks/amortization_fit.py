"""How long the app's per-digit posterior fit takes (the amortization gap's button): `python -m
benchmarks.amortization_fit [--model vae-z2] [--digits 5]`.

Runs `vae.amortization.fit_posterior` with the app's settings (200 Adam steps, 16 draws a step, both ELBOs from
2,000 shared draws) on one torch thread, as the server does, for the first few test digits one at a time, and prints
the median and the worst wall time. Target: the median under 5 s (a few seconds on a CPU). The load average is
printed beside it: on a busy 2-core machine the figure grows with the load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

import torch

from vae import amortization as amo
from vae import data as data_mod
from vae import registry
from vae.checkpoint import load_checkpoint

TARGET_S = 5.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.amortization_fit", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="vae-z2")
    p.add_argument("--digits", type=int, default=5)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    model = load_checkpoint(args.model).model
    images = data_mod.to_float(registry.dataset().load().x_test[:args.digits])
    times, gaps = [], []
    for image in images:
        r = amo.fit_posterior(model, image, amo.FitConfig())
        times.append(r.seconds)
        gaps.append(float(r.gap[0]))
    median = statistics.median(times)
    print(f"{args.model}: fit of one digit, {amo.FitConfig().steps} steps, 1 thread: median {median:.2f} s, "
          f"worst {max(times):.2f} s over {len(times)} digits (gaps {', '.join(f'{g:.2f}' for g in gaps)} nats); "
          f"load average {os.getloadavg()[0]:.1f}")
    ok = median < TARGET_S
    print(f"target median < {TARGET_S:g} s: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
