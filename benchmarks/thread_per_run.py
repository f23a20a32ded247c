"""Why the server sets OMP_NUM_THREADS=1: torch's CPU work in a thread started for it, as Streamlit starts one per run.

    python -m benchmarks.thread_per_run [--queries 200]

Streamlit runs each rerun of a page (each click on a latent plane) in a new thread. This measures the explorer's
per-click numerical work, both models' nearest-training-image search (`PixelIndex.query_many` over the 60,000
training digits, with the decoded digits of both shipped 2-D models at random z), in two ways: in the measuring
thread itself, and each query in a fresh thread, started and joined. Each runs in a child process, once with
OMP_NUM_THREADS=1 in its environment and once without it (torch.set_num_threads(1) in both, as ui/runtime.py does).
The CPU time is the process's own (user + system, resource.getrusage) over the queries, so threads that OpenMP starts
and leaves spinning count too. Prints ms of CPU per query and the fresh/same ratio for both environments. An 8 MB
buffer is rewritten between queries, so each query starts with the caches cold, as on a busy server.
No target: ui/__init__.py quotes it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, resource, sys, threading
import numpy as np, torch
torch.set_num_threads(1)
from vae.checkpoint import load_checkpoint
from vae.data import load_mnist
from vae.latent import OneZDecoder, PixelIndex
n = int(sys.argv[1])
index = PixelIndex(load_mnist().x_train, components=32)
decoders = [OneZDecoder(load_checkpoint(name).model) for name in ("ae-z2", "vae-z2")]
rng = np.random.default_rng(0)
pairs = [[decoders[0](z * 5.0), decoders[1](z)] for z in rng.normal(size=(n, 2)) * 1.5]
junk = np.ones(1_000_000)
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
out = {}
for mode in ("same", "fresh", "same", "fresh"):
    total = 0.0
    for pair in pairs:
        junk += 1.0
        start = cpu()
        if mode == "same":
            index.query_many(pair, k=1)
        else:
            t = threading.Thread(target=index.query_many, args=(pair,), kwargs={"k": 1})
            t.start()
            t.join()
        total += cpu() - start
    out[mode] = total / n * 1e3  # the second round of each: the first warms the caches and the allocator
print(json.dumps(out))
"""


def run(queries: int, omp_one: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    if omp_one:
        env["OMP_NUM_THREADS"] = "1"
    done = subprocess.run([sys.executable, "-c", CHILD, str(queries)], env=env, capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args(argv)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for omp_one in (False, True):
        got = run(args.queries, omp_one)
        label = "OMP_NUM_THREADS=1" if omp_one else "OMP_NUM_THREADS unset"
        print(f"{label:22s} CPU per query of both models: same thread {got['same']:.2f} ms, a fresh thread per "
              f"query {got['fresh']:.2f} ms, ratio {got['fresh'] / got['same']:.2f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
