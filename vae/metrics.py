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


# --- completeness, continuity, FID (need the judge: vae.judge) ----------------------------------------------------

CONFIDENT = 0.9  # the judge's max class probability at or above which a decoded image counts as a digit
MAX_DRAWS = 100_000
MAX_PATH_STEPS = 64


def _decode_all(model: torch.nn.Module, z: np.ndarray, batch_size: int = 2000) -> np.ndarray:
    """Pixel means (n, 28, 28) for codes (n, d), batched, without gradients."""
    device = next(model.parameters()).device
    out = []
    with torch.inference_mode():
        for i in range(0, len(z), batch_size):
            zb = torch.as_tensor(np.asarray(z[i:i + batch_size], np.float32), device=device)
            out.append(torch.sigmoid(model.decode(zb)).squeeze(1).float().cpu().numpy())
    return np.concatenate(out)


def completeness(model: torch.nn.Module, judge: torch.nn.Module, z: np.ndarray) -> dict[str, float]:
    """How much of a sampler's mass decodes to digits.

    Decode the codes z (M, d) and let the judge classify them. `confident` is the share whose max class probability
    is >= 0.9 (the judge's confidence as a proxy for "looks like a digit", in the spirit of the Inception Score of
    Salimans et al. 2016); `label_entropy_bits` is the entropy of the judge's label histogram over all M draws
    (log2 10 = 3.32 bits when all ten digits are equally common; low when the samples collapse onto a few digits).
    """
    from .judge import predict

    if not 1 <= len(z) <= MAX_DRAWS:
        raise MetricError(f"the number of draws must be in 1..{MAX_DRAWS}, got {len(z)}")
    p = predict(judge, _decode_all(model, z))
    hist = np.bincount(p.argmax(1), minlength=10) / len(p)
    nz = hist[hist > 0]
    return {"confident": float((p.max(1) >= CONFIDENT).mean()), "label_entropy_bits": float(-(nz * np.log2(nz)).sum()),
            "label_histogram": hist.round(4).tolist()}


def path_continuity(model: torch.nn.Module, mu: np.ndarray, pairs: int = 1000, steps: int = 10,
                    seed: int = 0) -> dict[str, float]:
    """How smoothly the decoder morphs along straight lines between the codes of random test pairs.

    For each of `pairs` random pairs (i, j) of test codes, decode the `steps`-step linear path z_t = (1 - t) mu_i +
    t mu_j, t = 0, 1/steps, ..., 1, and measure in pixel space (L2 over the 784 pixel means):
    `path_ratio` = sum_t ||x_{t+1} - x_t|| / ||x_1 - x_0|| (1.0 for a straight morph; large when the path wanders
    through other digits or blur), and `max_step_share` = max_t ||x_{t+1} - x_t|| / sum_t ||x_{t+1} - x_t||
    (1 / steps for an even morph; near 1 when one step jumps). Means over pairs. The path-length view follows the
    latent-space smoothness measures of Berthelot et al. (2019) and the perceptual path length of Karras et al.
    (2019), here in pixels.
    """
    if not 1 <= pairs <= 100_000 or not 2 <= steps <= MAX_PATH_STEPS:
        raise MetricError(f"pairs must be in 1..100000 and steps in 2..{MAX_PATH_STEPS}, got {pairs} and {steps}")
    rng = np.random.default_rng(seed)
    i = rng.integers(0, len(mu), pairs)
    j = (i + rng.integers(1, len(mu), pairs)) % len(mu)  # j != i
    t = np.linspace(0, 1, steps + 1, dtype=np.float32)[None, :, None]
    z = (1 - t) * mu[i][:, None, :] + t * mu[j][:, None, :]  # (pairs, steps + 1, d)
    x = _decode_all(model, z.reshape(-1, mu.shape[1])).reshape(pairs, steps + 1, -1).astype(np.float64)
    step = np.linalg.norm(np.diff(x, axis=1), axis=2)  # (pairs, steps)
    length = step.sum(1)
    ends = np.linalg.norm(x[:, -1] - x[:, 0], axis=1)
    ok = ends > 1e-6
    return {"path_ratio": float((length[ok] / ends[ok]).mean()),
            "max_step_share": float((step.max(1)[length > 0] / length[length > 0]).mean())}


def jacobian_norm(model: torch.nn.Module, z: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Frobenius norm of the decoder's Jacobian d sigmoid(decode(z)) / dz at each code: (n, d) -> (n,).

    How fast the decoded image changes per unit step in z (Rifai et al. 2011 penalise the encoder's; here it maps
    the decoder's local stretch): small and even means continuous, spikes mark edges between digit regions.
    """
    import warnings

    with warnings.catch_warnings():  # torch.func's import path touches torch.jit, which warns about its own future
        warnings.simplefilter("ignore", FutureWarning)
        from torch.func import jacfwd, vmap

    device = next(model.parameters()).device

    def image(zi: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(model.decode(zi[None])).reshape(-1)

    out = []
    for i in range(0, len(z), batch_size):
        zb = torch.as_tensor(np.asarray(z[i:i + batch_size], np.float32), device=device)
        with torch.no_grad():
            jac = vmap(jacfwd(image))(zb)  # (b, 784, d)
        out.append(jac.flatten(1).norm(dim=1).cpu().numpy())
    return np.concatenate(out)


def frechet_distance(feats_a: np.ndarray, feats_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017, the FID formula):

    ||m_a - m_b||^2 + Tr(C_a + C_b - 2 (C_a^1/2 C_b C_a^1/2)^1/2).

    With the judge's penultimate features this is an *internal* FID: comparable only within this project (the
    original uses Inception-v3 features of natural images).
    """
    a, b = np.asarray(feats_a, np.float64), np.asarray(feats_b, np.float64)
    ma, mb = a.mean(0), b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    va, ea = np.linalg.eigh(ca)
    sqrt_ca = (ea * np.sqrt(np.clip(va, 0, None))) @ ea.T
    middle = np.linalg.eigvalsh(sqrt_ca @ cb @ sqrt_ca)
    return float(((ma - mb) ** 2).sum() + np.trace(ca) + np.trace(cb) - 2 * np.sqrt(np.clip(middle, 0, None)).sum())


def internal_fid(model: torch.nn.Module, judge: torch.nn.Module, z: np.ndarray, test_features: np.ndarray) -> float:
    """FID between decoded samples at codes z and the test images, in the judge's feature space."""
    from .judge import features

    return frechet_distance(features(judge, _decode_all(model, z)), test_features)


class GMM:
    """A Gaussian mixture with full covariances fitted by EM (Dempster et al. 1977), numpy only: the sampler that
    Ghosh et al. (2020) fit to a deterministic autoencoder's codes to turn it into a generative model."""

    def __init__(self, n_components: int = 10, iterations: int = 100, seed: int = 0, reg: float = 1e-6):
        self.k, self.iterations, self.seed, self.reg = n_components, iterations, seed, reg

    def fit(self, x: np.ndarray) -> "GMM":
        x = np.asarray(x, np.float64)
        n, d = x.shape
        rng = np.random.default_rng(self.seed)
        self.means = x[rng.choice(n, self.k, replace=False)]
        self.covs = np.repeat(np.cov(x, rowvar=False).reshape(1, d, d), self.k, axis=0)
        self.weights = np.full(self.k, 1.0 / self.k)
        for _ in range(self.iterations):
            log_r = self._log_joint(x)
            log_r -= log_r.max(1, keepdims=True)
            r = np.exp(log_r)
            r /= r.sum(1, keepdims=True)
            nk = r.sum(0) + 1e-12
            self.weights = nk / n
            self.means = (r.T @ x) / nk[:, None]
            for c in range(self.k):
                diff = x - self.means[c]
                self.covs[c] = (r[:, c, None] * diff).T @ diff / nk[c] + self.reg * np.eye(d)
        return self

    def _log_joint(self, x: np.ndarray) -> np.ndarray:
        n, d = x.shape
        out = np.empty((n, self.k))
        for c in range(self.k):
            chol = np.linalg.cholesky(self.covs[c])
            sol = np.linalg.solve(chol, (x - self.means[c]).T)
            out[:, c] = (np.log(self.weights[c]) - 0.5 * (sol ** 2).sum(0) - np.log(np.diag(chol)).sum()
                         - 0.5 * d * LOG_2PI)
        return out

    def log_likelihood(self, x: np.ndarray) -> float:
        lj = self._log_joint(np.asarray(x, np.float64))
        m = lj.max(1, keepdims=True)
        return float((m[:, 0] + np.log(np.exp(lj - m).sum(1))).mean())

    def sample(self, n: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        comp = rng.choice(self.k, size=n, p=self.weights)
        eps = rng.standard_normal((n, self.means.shape[1]))
        out = np.empty_like(eps)
        for c in range(self.k):
            sel = comp == c
            out[sel] = self.means[c] + eps[sel] @ np.linalg.cholesky(self.covs[c]).T
        return out.astype(np.float32)
