"""The course notebook's VAE (seed 002) retrained through our loop, epoch by epoch beside the notebook's printed log.

    python -m benchmarks.seed_vae [--epochs 10] [--seed 0] [--threads 0] [--device cpu]

The notebook trains a 784-400-20 VAE (ReLU hidden layers, sigmoid output, summed BCE + analytic KL) with Adam at 1e-3,
batches of 128, shuffled, for 10 epochs on the 60,000 MNIST training images, and prints after each epoch the mean
training loss and the mean test loss over the 10,000 test images (one z drawn per image, in eval mode). Here the same
model is `ModelConfig(kind="vae", latent_dim=20, hidden=(400,))` trained by `vae.train.run_epochs` with the same
optimiser, batch size and data; the test loss is our -ELBO per image from `vae.train.evaluate` (one eps draw per
image). Both runs start from different random weights and batch orders, so the epochs agree within run-to-run noise,
not to the digit; the table prints the difference.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from vae import registry
from vae.device import pick_device
from vae.models import ModelConfig
from vae.train import TrainConfig, run_epochs

# The notebook's printed log (seed 002): epoch -> (mean training loss, test set loss), nats per image.
SEED_LOG = {
    1: (164.3802, 127.3049), 2: (121.6398, 115.7936), 3: (114.6564, 112.2248), 4: (111.6810, 109.6389),
    5: (109.9291, 108.5438), 6: (108.7957, 107.6961), 7: (107.9552, 107.0711), 8: (107.3205, 106.6568),
    9: (106.7969, 106.0421), 10: (106.3689, 105.5585),
}
SEED_MODEL = ModelConfig(kind="vae", latent_dim=20, hidden=(400,), activation="relu")


def seed_train_config(epochs: int = 10, seed: int = 0) -> TrainConfig:
    """The notebook's optimiser settings: Adam at a constant 1e-3, batches of 128, all 60,000 training images."""
    return TrainConfig(beta=1.0, epochs=epochs, batch_size=128, lr=1e-3, lr_schedule="constant", seed=seed,
                       train_subset=60000)


def table_row(epoch: int, train_loss: float, test_loss: float) -> str:
    """One line of the comparison: ours beside the notebook's, and ours minus the notebook's."""
    seed_train, seed_test = SEED_LOG.get(epoch, (float("nan"), float("nan")))
    return (f"| {epoch:5d} | {seed_train:9.2f} | {train_loss:9.2f} | {train_loss - seed_train:+6.2f} "
            f"| {seed_test:9.2f} | {test_loss:9.2f} | {test_loss - seed_test:+6.2f} |")


HEADER = ("| epoch | notebook train | ours train | diff | notebook test | ours test | diff |\n"
          "|------:|----------:|----------:|-------:|----------:|----------:|-------:|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.seed_vae", description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs to train (the notebook's log has 10)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--device", default="cpu", help="auto, cpu, cuda or mps")
    args = parser.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    mnist = registry.dataset().load()
    cfg = seed_train_config(args.epochs, args.seed)
    print(f"seed 002's VAE 784-400-20 through vae.train.run_epochs: Adam {cfg.lr:g}, batch {cfg.batch_size}, "
          f"{cfg.epochs} epochs, seed {cfg.seed}, {device}, {torch.get_num_threads()} threads "
          "(loss: -ELBO in nats per image)", flush=True)
    print(HEADER, flush=True)
    t0 = time.perf_counter()
    last = None
    for _, row in run_epochs(SEED_MODEL, cfg, mnist, device):
        print(table_row(row["epoch"], row["train_loss"], row["test_neg_elbo"]), flush=True)
        last = row
    print(f"{time.perf_counter() - t0:.0f} s in all")
    if last is not None and last["epoch"] in SEED_LOG:
        diff = last["test_neg_elbo"] - SEED_LOG[last["epoch"]][1]
        print(f"after epoch {last['epoch']}: ours {last['test_neg_elbo']:.2f}, notebook "
              f"{SEED_LOG[last['epoch']][1]:.2f}, difference {diff:+.2f} nats ({diff / SEED_LOG[last['epoch']][1]:+.2%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
