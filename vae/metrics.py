"""Model metrics beyond the training loss.

    python -m vae.metrics iwae vae-z2 [--k 1000] [--n 10000]

prints the importance-weighted bound on log p(x) over the test set.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np
import torch

from . import data as data_mod
from .checkpoint import CheckpointError, load_checkpoint, record_metrics
from .losses import reconstruction_bce
from .models import VAE

LOG_2PI = math.log(2 * math.pi)


class MetricError(ValueError):
    """A metric was asked of a model it does not apply to, or with arguments out of range."""


def log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))) summed over the last dimension: (..., latent_dim) -> (...)."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) / logvar.exp()).sum(-1)


@torch.no_grad()
def iwae_log_likelihood(model: torch.nn.Module, x: torch.Tensor, k: int = 1000, chunk: int = 250,
                        seed: int = 0) -> torch.Tensor:
    """Importance-weighted lower bound on log p(x) (Burda, Grosse and Salakhutdinov 2016, eq. 8), per image:

    L_k(x) = log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x),  z_i ~ q(z|x).

    L_1 is the ELBO and L_k rises towards log p(x) as k grows. x: (batch_size, 1, 28, 28) in [0, 1] ->
    (batch_size,) in nats (negative numbers; -L_k is comparable with -ELBO). Only a VAE has q(z|x).
    """
    if not isinstance(model, VAE):
        raise MetricError("the importance-weighted bound needs a posterior q(z|x): it applies to a VAE, not a plain AE")
    if k < 1:
        raise MetricError(f"k must be >= 1, got {k}")
    gen = torch.Generator(device=x.device).manual_seed(seed)
    mu, logvar = model.encode(x)
    zeros = torch.zeros_like(mu)
    log_w = []
    for start in range(0, k, chunk):
        n = min(chunk, k - start)
        eps = torch.randn((n, *mu.shape), generator=gen, device=x.device, dtype=mu.dtype)
        z = mu + torch.exp(0.5 * logvar) * eps  # (n, batch, latent_dim)
        logits = model.decode(z.reshape(-1, mu.shape[1]))
        log_px_z = -reconstruction_bce(logits, x.repeat(n, 1, 1, 1)).view(n, -1)
        log_w.append(log_px_z + log_normal(z, zeros, zeros) - log_normal(z, mu, logvar))
    return torch.logsumexp(torch.cat(log_w), dim=0) - math.log(k)


def test_set_iwae(model: torch.nn.Module, x: torch.Tensor, k: int, batch_size: int = 20) -> float:
    """Mean L_k over the images x (n, 1, 28, 28), in nats."""
    total = 0.0
    for start in range(0, len(x), batch_size):
        total += iwae_log_likelihood(model, x[start:start + batch_size], k=k, seed=start).sum().item()
    return total / len(x)


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
        x = torch.from_numpy(data_mod.to_float(data_mod.load_mnist().x_test[:args.n])).unsqueeze(1)
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


# --- per-dimension statistics of the posterior ------------------------------------------------------------------

ACTIVE_UNIT_THRESHOLD = 0.01


def kl_per_dimension(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """Mean over the data of KL(q(z_j|x) || N(0, 1)) for each latent dimension j, in nats: (n, d), (n, d) -> (d,).

    The analytic KL of Kingma and Welling (2014, Appendix B), split by dimension; beta-VAE analyses (Higgins et al.
    2017; Burgess et al. 2018) read it as how much information each dimension carries.
    """
    mu, logvar = np.asarray(mu, np.float64), np.asarray(logvar, np.float64)
    return (0.5 * (mu ** 2 + np.exp(logvar) - 1.0 - logvar)).mean(0)


def active_units(mu: np.ndarray, threshold: float = ACTIVE_UNIT_THRESHOLD) -> np.ndarray:
    """Which dimensions are active: Var over the data of E_q[z_j | x] (the posterior mean) > `threshold`
    (Burda, Grosse and Salakhutdinov 2016, section 5.2, with their 0.01). mu: (n, d) -> (d,) bool."""
    return np.asarray(mu, np.float64).var(0) > threshold
