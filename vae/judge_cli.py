"""The judge's command line: train the digit classifier of vae.judge and write its checkpoint.

    python -m vae.judge --epochs 8 --batch-size 64 --seed 0 --out checkpoints/judge
    torchrun --standalone --nproc-per-node 2 -m vae.judge --epochs 8 --batch-size 64 --out ...

(`python -m vae.judge_cli ...` is the same command.) The manifest records the data, the library versions and the
exact command line.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

import torch

from . import data as data_mod
from . import registry
from .checkpoint import save_checkpoint
from .device import pick_device, platform_info
from .distributed import World, launch_command, place
from . import judge
from .judge import JudgeConfig, fit
from .models import ConfigError


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m vae.judge", description=judge.__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--data", default=str(registry.dataset().path), help="the dataset's .npz file")
    p.add_argument("--out", required=True, help="checkpoint folder, e.g. checkpoints/judge")
    args = p.parse_args(argv)
    world = World.from_env()  # set when torchrun started several processes
    try:
        if args.epochs < 1 or args.batch_size < 1 or not args.lr > 0:
            raise ConfigError("epochs and batch size must be >= 1 and lr > 0.")
        device = place(world, pick_device(args.device), args.batch_size)
        mnist = registry.dataset().load(args.data)
    except (ConfigError, ValueError, data_mod.DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if world is None:
        return _fit_and_save(args, argv, mnist, device)
    world.start(device)
    try:
        return _fit_and_save(args, argv, mnist, device, world)
    finally:
        world.stop()


def _fit_and_save(args, argv: list[str], mnist: data_mod.Mnist, device, world: World | None = None) -> int:
    """Train, then write the checkpoint (under torchrun: rank 0 alone logs and writes)."""
    lead = world is None or world.rank == 0
    config = JudgeConfig()
    t0 = time.perf_counter()
    judge, history = fit(config, mnist, args.epochs, args.batch_size, args.lr, args.seed, device,
                         log=None if lead else (lambda line: None), world=world)
    if not lead:
        return 0
    seconds = time.perf_counter() - t0
    final = {"accuracy": history[-1]["test_accuracy"], "nll": history[-1]["test_nll"]}
    manifest = {
        "training": {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "lr_schedule": "cosine",
                     "seed": args.seed},
        "history": history, "test_metrics": final, "train_seconds": round(seconds, 1),
        "data": registry.data_record(data_mod.file_sha256(args.data), train_images=len(mnist.x_train),
                                     test_images=len(mnist.x_test)),
        "versions": platform_info(),  # library versions, maths library, CPU and its flags, threads
        "device": str(device), "threads": torch.get_num_threads(),
        "command": ("python -m vae.judge " + shlex.join(argv) if world is None
                    else launch_command(argv, "vae.judge")),
    }
    if world is not None:
        manifest["distributed"] = world.describe(device)
    save_checkpoint(args.out, judge, manifest)
    print(f"test accuracy {final['accuracy']:.4f}; wrote {args.out} in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
