"""The judge: a small CNN digit classifier used only to judge decoded images (never to train the generative models).

    python -m vae.judge --epochs 8 --batch-size 64 --seed 0 --out checkpoints/judge   (the command line: vae.judge_cli)

Its max class probability says whether a decoded image looks like a digit at all (completeness), and its
penultimate features are the embedding of the project's internal FID (see vae.metrics). This module is the model and
its training loop only; it reads and writes no checkpoint, so `vae.checkpoint` can build a judge without a circle.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import data as data_mod
from .distributed import World
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


if __name__ == "__main__":  # `python -m vae.judge` (also under torchrun): the command line lives in vae.judge_cli
    from vae.judge_cli import main

    raise SystemExit(main())
