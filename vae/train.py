"""Train an AE or a (beta-)VAE on MNIST and write a checkpoint folder.

    python -m vae.train --model vae --latent-dim 2 --beta 1 --epochs 60 --seed 0 --out checkpoints/vae-z2

Each epoch prints train and test reconstruction, KL and -ELBO (nats per image, 10k test images). Training stops with
a clear error if the loss stops being finite. The same seed on the CPU gives the same metrics.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from . import data as data_mod
from . import registry
from .checkpoint import save_checkpoint
from .device import pick_device, platform_info
from .distributed import World, launch_command, place
from .losses import loss_terms
from .models import ACTIVATIONS, ARCHITECTURES, MODEL_KINDS, ConfigError, ModelConfig, build_model

LR_SCHEDULES = ("constant", "cosine")
EVAL_SEED = 1234  # fixes the eps draws of test-set evaluation, so a checkpoint's test metrics are reproducible


class TrainingDiverged(ArithmeticError):
    """The loss became NaN or infinite."""


class TrainingCancelled(Exception):
    """Training stopped because `should_stop()` returned True (a user pressed Cancel)."""


# Weight initialisation draws from torch's global generator; trainings running in several threads at once (the app's
# live training) would otherwise interleave their draws. Seeding and building happen under this lock.
_INIT_LOCK = threading.Lock()


@dataclass
class TrainConfig:
    beta: float = 1.0  # weight of KL(q(z|x) || p(z)) in the loss; 1 is the VAE's ELBO, ignored by the AE
    epochs: int = 10  # passes over the training images
    batch_size: int = 128  # images per gradient step
    lr: float = 1e-3  # Adam learning rate at the start
    lr_schedule: str = "constant"  # "constant" or "cosine" (decays to lr * min_lr_ratio by the last step)
    min_lr_ratio: float = 0.05  # floor of the cosine schedule, as a fraction of lr
    seed: int = 0  # seeds weights, batch order and eps draws
    train_subset: int = 60000  # use the first N training images (the official order)

    def __post_init__(self) -> None:
        if not (isinstance(self.beta, (int, float)) and math.isfinite(self.beta) and self.beta >= 0):
            raise ConfigError(f"beta must be a finite number >= 0, got {self.beta!r}.")
        if self.epochs < 1 or self.batch_size < 1 or self.train_subset < 1:
            raise ConfigError("epochs, batch_size and train_subset must each be >= 1, got "
                              f"{self.epochs}, {self.batch_size}, {self.train_subset}.")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"lr must be a positive number, got {self.lr!r}.")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"Unknown lr schedule {self.lr_schedule!r}. Possible values: {', '.join(LR_SCHEDULES)}.")
        if self.train_subset > 60000:
            raise ConfigError(f"train_subset is at most 60000 (the MNIST training set), got {self.train_subset}.")


def images_to_tensor(x_uint8: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """(n, 28, 28) uint8 -> (n, 1, 28, 28) float32 in [0, 1] on `device`."""
    return torch.from_numpy(data_mod.to_float(x_uint8)).unsqueeze(1).to(device)


def _mean_terms(sums: dict[str, float], n: int) -> dict[str, float]:
    return {k: v / n for k, v in sums.items()}


@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, beta: float = 1.0, batch_size: int = 1000,
             seed: int = EVAL_SEED) -> dict[str, float]:
    """Mean recon, kl, loss and neg_elbo (nats per image) over `x` (n, 1, 28, 28), in eval mode.

    A VAE's terms use one z = mu + sigma * eps per image, drawn from a generator seeded with `seed`.
    """
    was_training = model.training
    model.eval()
    gen = torch.Generator(device=x.device).manual_seed(seed)
    sums = {"recon": 0.0, "kl": 0.0, "loss": 0.0, "neg_elbo": 0.0}
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size]
        terms = loss_terms(model(xb, generator=gen), xb, beta)
        for k in sums:
            sums[k] += terms[k].sum().item()
    model.train(was_training)
    return _mean_terms(sums, len(x))


def _lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    if cfg.lr_schedule == "constant":
        return cfg.lr
    floor = cfg.lr * cfg.min_lr_ratio  # cosine from lr down to the floor over all steps (Loshchilov and Hutter 2017)
    return floor + 0.5 * (cfg.lr - floor) * (1 + math.cos(math.pi * min(step, total) / total))


def train_epoch(model: torch.nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, cfg: TrainConfig,
                generator: torch.Generator, step: int, total_steps: int, progress: bool = False,
                epoch_label: str = "", eps_generator: torch.Generator | None = None,
                should_stop: Callable[[], bool] | None = None,
                on_batch: Callable[[int, int, dict[str, float]], None] | None = None,
                order: torch.Tensor | None = None) -> tuple[dict[str, float], int]:
    """One pass over `x` in shuffled batches; returns (mean train terms, next step).

    eps_generator: where a VAE's eps ~ N(0, I) come from (None: torch's global generator).
    should_stop: asked before every batch; True raises TrainingCancelled.
    on_batch(batch, n_batches, terms): called after every step with the batch's mean recon, kl and loss.
    order: the indices of `x` to take, in order (a process's share of the epoch under DDP); None: all of `x` in a
    fresh permutation from `generator`.
    Raises TrainingDiverged when the loss stops being finite.
    """
    model.train()
    if order is None:
        order = torch.randperm(len(x), generator=generator).to(x.device)
    n = len(order)
    sums = {"recon": 0.0, "kl": 0.0, "loss": 0.0, "neg_elbo": 0.0}
    batches = range(0, n, cfg.batch_size)
    bar = tqdm(batches, desc=epoch_label, leave=False, unit="batch", disable=not progress, file=sys.stderr)
    for i, start in enumerate(bar):
        if should_stop is not None and should_stop():
            raise TrainingCancelled(f"cancelled at {epoch_label}, batch {i + 1} of {len(batches)}")
        xb = x[order[start:start + cfg.batch_size]]
        for group in optimizer.param_groups:
            group["lr"] = _lr_at(step, total_steps, cfg)
        terms = loss_terms(model(xb, generator=eps_generator), xb, cfg.beta)
        loss = terms["loss"].mean()
        if not torch.isfinite(loss):
            raise TrainingDiverged(f"loss became {loss.item()} at {epoch_label} step {step}; lower --lr "
                                   f"(now {cfg.lr}) or check the data")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        with torch.no_grad():
            batch_sums = {k: terms[k].detach().sum().item() for k in sums}
        for k in sums:
            sums[k] += batch_sums[k]
        if on_batch is not None:
            on_batch(i + 1, len(batches), _mean_terms(batch_sums, len(xb)))
        if progress and step % 20 == 0:
            bar.set_postfix(loss=f"{loss.item():.1f}")
    return _mean_terms(sums, n), step


def _terms_text(terms: dict[str, float], kind: str) -> str:
    """"rec R kl K -elbo E" for a VAE; "rec R" for an AE, which has neither a KL term nor an ELBO."""
    if not registry.family(kind).has_posterior:
        return f"rec {terms['recon']:7.2f}"
    return f"rec {terms['recon']:7.2f} kl {terms['kl']:6.2f} -elbo {terms['neg_elbo']:7.2f}"


def run_epochs(model_config: ModelConfig, cfg: TrainConfig, mnist: data_mod.Mnist,
               device: torch.device | str = "cpu", progress: bool = False,
               should_stop: Callable[[], bool] | None = None,
               on_batch: Callable[[int, int, dict[str, float]], None] | None = None,
               world: World | None = None) -> Iterator[tuple[torch.nn.Module, dict]]:
    """Train a fresh model, yielding (model, metrics row) after every epoch; the model is in eval mode when yielded.

    Each run owns its random streams, so runs in several threads at once give the same numbers as one run alone:
    weights come from torch's global generator seeded with cfg.seed (under a lock), the VAE's eps from a generator
    that starts where the global one stood after initialisation (the numbers a single-threaded run would draw),
    the batch order from a generator seeded with cfg.seed. Raises TrainingCancelled when should_stop() says so.

    world: this process's place among several started by torchrun (vae/distributed.py): the model trains wrapped
    in DistributedDataParallel on this process's share of each epoch (cfg.batch_size stays the global batch), each
    process draws its own eps, the train terms are means over all processes' images, and every process evaluates
    the whole test set with the same weights. None: one process, numbers exactly as before.
    """
    with _INIT_LOCK:
        torch.manual_seed(cfg.seed)
        model = build_model(model_config).to(device)
        if world is not None:  # one eps stream per process
            eps_gen = torch.Generator(device=device).manual_seed(cfg.seed + 1 + world.rank)
        elif str(device) == "cpu":
            eps_gen = torch.Generator()
            eps_gen.set_state(torch.random.get_rng_state())
        else:  # an accelerator's generator cannot take the CPU's state: seed it on its own
            eps_gen = torch.Generator(device=device).manual_seed(cfg.seed + 1)
    batch_gen = torch.Generator().manual_seed(cfg.seed)  # batch order, independent of the model's draws
    net, step_cfg = model, cfg
    if world is not None:
        from torch.nn.parallel import DistributedDataParallel  # broadcasts rank 0's initial weights

        on_gpu = torch.device(device).type == "cuda"
        net = DistributedDataParallel(model, device_ids=[torch.device(device).index] if on_gpu else None)
        step_cfg = replace(cfg, batch_size=world.local_batch(cfg.batch_size))
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    x_train = images_to_tensor(mnist.x_train[:cfg.train_subset], device)
    x_test = images_to_tensor(mnist.x_test, device)
    orders = (lambda epoch: None) if world is None else (  # noqa: E731
        lambda epoch: world.epoch_order(len(x_train), cfg.seed, epoch - 1).to(device))
    n_local = len(x_train) if world is None else len(orders(1))
    total_steps = cfg.epochs * math.ceil(n_local / step_cfg.batch_size)
    step = 0
    for epoch in range(1, cfg.epochs + 1):
        t0 = time.perf_counter()
        order = orders(epoch)
        train_terms, step = train_epoch(net, optimizer, x_train, step_cfg, batch_gen, step, total_steps, progress,
                                        f"epoch {epoch}/{cfg.epochs}", eps_gen, should_stop, on_batch, order)
        if world is not None:  # means over every process's images
            sums = world.sum({**{k: v * len(order) for k, v in train_terms.items()}, "n": float(len(order))})
            n_all = sums.pop("n")
            train_terms = {k: v / n_all for k, v in sums.items()}
        test_terms = evaluate(model, x_test, cfg.beta)
        seconds = time.perf_counter() - t0
        model.eval()
        yield model, {"epoch": epoch, "seconds": round(seconds, 3), "lr": _lr_at(step, total_steps, cfg),
                      **{f"train_{k}": v for k, v in train_terms.items()},
                      **{f"test_{k}": v for k, v in test_terms.items()}}


def fit(model_config: ModelConfig, cfg: TrainConfig, mnist: data_mod.Mnist, device: torch.device | str = "cpu",
        progress: bool = False, log=None, world: World | None = None) -> tuple[torch.nn.Module, list[dict]]:
    """Train a fresh model; return it (in eval mode) and the per-epoch history of metric dicts."""
    log = log or (lambda line: print(line, flush=True))
    history: list[dict] = []
    model = None
    for model, row in run_epochs(model_config, cfg, mnist, device, progress, world=world):
        history.append(row)
        log(f"epoch {row['epoch']:3d}/{cfg.epochs}  train {_terms_text(_terms(row, 'train_'), model_config.kind)} | "
            f"test {_terms_text(_terms(row, 'test_'), model_config.kind)} | {row['seconds']:5.1f} s")
    return model, history


def _terms(row: dict, prefix: str) -> dict[str, float]:
    return {k[len(prefix):]: v for k, v in row.items() if k.startswith(prefix)}


def command_line(model_config: ModelConfig, cfg: TrainConfig, out: str, threads: int = 0) -> str:
    """The `python -m vae.train` command that trains `model_config` with `cfg` into `out` (with `threads` torch
    threads when > 0: the same thread count gives the same numbers, another one the same within float noise)."""
    argv = ["--model", model_config.kind, "--arch", model_config.arch, "--latent-dim", str(model_config.latent_dim),
            "--hidden", ",".join(str(w) for w in model_config.hidden), "--activation", model_config.activation,
            "--beta", f"{cfg.beta:g}", "--epochs", str(cfg.epochs), "--batch-size", str(cfg.batch_size),
            "--lr", f"{cfg.lr:g}", "--lr-schedule", cfg.lr_schedule, "--seed", str(cfg.seed),
            "--train-subset", str(cfg.train_subset), "--out", out]
    if threads > 0:
        argv[-2:-2] = ["--threads", str(threads)]
    return "python -m vae.train " + shlex.join(argv)


def training_manifest(model_config: ModelConfig, cfg: TrainConfig, history: list[dict], seconds: float,
                      data_path: str | Path, n_test: int, device: torch.device | str, command: str) -> dict:
    """The manifest of a trained model: its training settings, history, test metrics, data fingerprint, versions
    and the command that retrains it (everything save_checkpoint needs besides the model)."""
    test_metrics = _terms(history[-1], "test_")
    if not registry.family(model_config.kind).has_posterior:  # no ELBO: the -ELBO column would only repeat recon
        test_metrics = {"recon": test_metrics["recon"]}
    return {
        "training": asdict(cfg),
        "history": history,
        "test_metrics": test_metrics,
        "train_seconds": round(seconds, 1),
        "data": registry.data_record(data_mod.file_sha256(data_path), train_images=cfg.train_subset,
                                     test_images=n_test),
        "versions": platform_info(),  # library versions, maths library, CPU and its flags, threads
        "device": str(device),
        "threads": torch.get_num_threads(),
        "command": command,
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vae.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="vae", help=f"model kind: {', '.join(MODEL_KINDS)}")
    p.add_argument("--arch", default="mlp", help=f"encoder/decoder: {', '.join(ARCHITECTURES)}")
    p.add_argument("--latent-dim", type=int, default=2)
    p.add_argument("--hidden", default="512,256", help="MLP widths from the image inward, comma separated")
    p.add_argument("--activation", default="relu", help=f"one of {', '.join(ACTIVATIONS)}")
    p.add_argument("--beta", type=float, default=1.0, help="weight of the KL term (VAE only)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lr-schedule", default="constant", help=f"one of {', '.join(LR_SCHEDULES)}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-subset", type=int, default=60000, help="train on the first N training images")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--data", default=str(registry.dataset().path), help="the dataset's .npz file")
    p.add_argument("--out", required=True, help="checkpoint folder to write, e.g. checkpoints/vae-z2")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _parse_widths(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(w) for w in text.split(",") if w.strip())
    except ValueError:
        raise ConfigError(f"--hidden must be comma-separated integers like 512,256, got {text!r}.") from None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    world = World.from_env()  # set when torchrun started several processes
    try:
        model_config = ModelConfig(kind=args.model, latent_dim=args.latent_dim, arch=args.arch,
                                   hidden=_parse_widths(args.hidden), activation=args.activation)
        cfg = TrainConfig(beta=args.beta, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                          lr_schedule=args.lr_schedule, seed=args.seed, train_subset=args.train_subset)
        device = place(world, pick_device(args.device), cfg.batch_size)
        mnist = registry.dataset().load(args.data)
    except (ConfigError, ValueError, data_mod.DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if world is None:
        return _train_and_save(args, argv, model_config, cfg, device, mnist)
    world.start(device)
    try:
        return _train_and_save(args, argv, model_config, cfg, device, mnist, world)
    finally:
        world.stop()


def _train_and_save(args, argv: list[str], model_config: ModelConfig, cfg: TrainConfig, device, mnist,
                    world: World | None = None) -> int:
    """Train, then write the checkpoint (under torchrun: rank 0 alone prints and writes)."""
    lead = world is None or world.rank == 0
    say = print if lead else (lambda *a, **k: None)
    if not registry.family(model_config.kind).has_posterior and cfg.beta != 1.0:
        say("note: --beta has no effect on a plain AE (it has no KL term)", file=sys.stderr)
    where = f"{device}" if world is None else f"{world.size} processes ({world.describe(device)['backend']}, {device})"
    say(f"training {model_config.kind} ({model_config.arch}, latent {model_config.latent_dim}) on "
        f"{cfg.train_subset} images for {cfg.epochs} epochs on {where}, {torch.get_num_threads()} threads")
    t0 = time.perf_counter()
    try:
        model, history = fit(model_config, cfg, mnist, device, progress=lead and not args.no_progress,
                             log=None if lead else (lambda line: None), world=world)
    except TrainingDiverged as e:
        print(f"error: training diverged: {e}", file=sys.stderr)
        return 3
    if not lead:
        return 0
    seconds = time.perf_counter() - t0
    command = "python -m vae.train " + shlex.join(argv) if world is None else launch_command(argv)
    manifest = training_manifest(model_config, cfg, history, seconds, args.data, len(mnist.x_test), device, command)
    if world is not None:
        manifest["distributed"] = world.describe(device)
    test_metrics = manifest["test_metrics"]
    out = save_checkpoint(args.out, model, manifest)
    print(f"test: " + "  ".join(f"{k} {v:.2f}" for k, v in test_metrics.items()))
    print(f"wrote {out} in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
