"""The judge: a small CNN digit classifier used only to judge decoded images (never to train the generative models).

    python -m vae.judge --epochs 8 --batch-size 64 --seed 0 --out checkpoints/judge

Its max class probability says whether a decoded image looks like a digit at all (completeness), and its
penultimate features are the embedding of the project's internal FID (see vae.metrics).
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import data as data_mod
from . import registry
from .checkpoint import save_checkpoint
from .device import pick_device, platform_info
from .distributed import World, launch_command
from .models import ConfigError

JUDGE_KIND = "judge"


@dataclass
class JudgeConfig:
    kind: str = JUDGE_KIND  # tells the checkpoint reader which model this is
    channels: tuple[int, int] = (32, 64)  # channels of the two 3x3 convolutions (each followed by 2x2 max-pooling)
    features: int = 128  # width of the penultimate layer: the FID embedding
    dropout: float = 0.25  # dropout before the last layer, in training only

    def __post_init__(self) -> None:
        self.channels = tuple(int(c) for c in self.channels)  # type: ignore[assignment]
        if self.kind != JUDGE_KIND:
            raise ConfigError(f"a judge config has kind {JUDGE_KIND!r}, got {self.kind!r}.")
        if len(self.channels) != 2 or min(self.channels) < 1 or self.features < 1 or not 0 <= self.dropout < 1:
            raise ConfigError(f"invalid judge config: channels {self.channels}, features {self.features}, "
                              f"dropout {self.dropout}.")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "JudgeConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"Unknown judge config fields {unknown}. Known fields: {', '.join(sorted(known))}.")
        return cls(**d)


class Judge(nn.Module):
    """x (batch, 1, 28, 28) in [0, 1] -> class logits (batch, 10); `features` gives the penultimate layer."""

    def __init__(self, config: JudgeConfig):
        super().__init__()
        self.config = config
        c1, c2 = config.channels
        self.body = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 28 -> 14
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 14 -> 7
            nn.Flatten(), nn.Linear(c2 * 7 * 7, config.features), nn.ReLU(),
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.features, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, 1, 28, 28) or (batch, 28, 28) -> (batch, features)."""
        if x.dim() == 3:
            x = x.unsqueeze(1)
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))


@torch.no_grad()
def _batched(fn, judge: Judge, images: np.ndarray | torch.Tensor, batch_size: int) -> np.ndarray:
    """Apply fn(x) to images (n, 28, 28), floats in [0, 1] or uint8 0..255, in batches on the judge's device."""
    judge.eval()
    x = torch.as_tensor(images)
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    device = next(judge.parameters()).device
    return torch.cat([fn(x[i:i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)]).numpy()


def predict(judge: Judge, images: np.ndarray | torch.Tensor, batch_size: int = 1000) -> np.ndarray:
    """Class probabilities (n, 10) for images (n, 28, 28) in [0, 1] (float) or 0..255 (uint8)."""
    return _batched(lambda x: F.softmax(judge(x), dim=1), judge, images, batch_size)


def features(judge: Judge, images: np.ndarray | torch.Tensor, batch_size: int = 1000) -> np.ndarray:
    """Penultimate features (n, features) for images (n, 28, 28) in [0, 1] (float) or 0..255 (uint8)."""
    return _batched(judge.features, judge, images, batch_size)


def evaluate(judge: Judge, images: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Accuracy and mean negative log-likelihood (nats) on uint8 images."""
    p = predict(judge, images)
    nll = -np.log(np.clip(p[np.arange(len(labels)), labels], 1e-12, 1.0)).mean()
    return {"accuracy": float((p.argmax(1) == labels).mean()), "nll": float(nll)}


def fit(config: JudgeConfig, mnist: data_mod.Mnist, epochs: int, batch_size: int, lr: float, seed: int,
        device: torch.device | str = "cpu", log=None, world: World | None = None) -> tuple[Judge, list[dict]]:
    """Adam with a cosine learning rate over `epochs` passes; returns the judge (eval mode) and per-epoch history.

    world: under torchrun, DistributedDataParallel on this process's share of each epoch, `batch_size` being the
    global batch (as vae.train does; vae/distributed.py). None: one process, exactly as before.
    """
    log = log or (lambda line: print(line, flush=True))
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    judge = Judge(config).to(device)
    opt = torch.optim.Adam(judge.parameters(), lr=lr)
    x = torch.from_numpy(data_mod.to_float(mnist.x_train)).unsqueeze(1).to(device)
    y = torch.from_numpy(mnist.y_train.astype(np.int64)).to(device)
    net, local = judge, batch_size
    if world is not None:
        from torch.nn.parallel import DistributedDataParallel

        on_gpu = torch.device(device).type == "cuda"
        net = DistributedDataParallel(judge, device_ids=[torch.device(device).index] if on_gpu else None)
        local = world.local_batch(batch_size)
    n_local = len(x) if world is None else len(world.epoch_order(len(x), seed, 0))
    steps = epochs * math.ceil(n_local / local)
    step, history = 0, []
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        judge.train()
        if world is None:
            order = torch.randperm(len(x), generator=gen).to(device)
        else:
            order = world.epoch_order(len(x), seed, epoch - 1).to(device)
        total = 0.0
        for start in range(0, len(order), local):
            idx = order[start:start + local]
            for g in opt.param_groups:
                g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))
            loss = F.cross_entropy(net(x[idx]), y[idx])
            if not torch.isfinite(loss):
                raise ArithmeticError(f"judge loss became {loss.item()} at epoch {epoch}; lower --lr")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            total += loss.item() * len(idx)
        n = len(order)
        if world is not None:  # the mean over every process's images
            sums = world.sum({"total": total, "n": float(n)})
            total, n = sums["total"], sums["n"]
        test = evaluate(judge, mnist.x_test, mnist.y_test)
        row = {"epoch": epoch, "train_nll": total / n, "test_accuracy": test["accuracy"],
               "test_nll": test["nll"], "seconds": round(time.perf_counter() - t0, 2)}
        history.append(row)
        log(f"epoch {epoch}/{epochs}  train nll {row['train_nll']:.4f} | test accuracy {test['accuracy']:.4f} "
            f"nll {test['nll']:.4f} | {row['seconds']:.1f} s")
    judge.eval()
    return judge, history


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m vae.judge", description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--data", default=str(data_mod.DEFAULT_PATH))
    p.add_argument("--out", required=True, help="checkpoint folder, e.g. checkpoints/judge")
    args = p.parse_args(argv)
    world = World.from_env()  # set when torchrun started several processes
    try:
        if args.epochs < 1 or args.batch_size < 1 or not args.lr > 0:
            raise ConfigError("epochs and batch size must be >= 1 and lr > 0.")
        device = pick_device(args.device)
        if world is not None:
            device = world.device(device)
            world.local_batch(args.batch_size)  # the global batch must split evenly
        mnist = data_mod.load_mnist(args.data)
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
