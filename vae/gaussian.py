"""The simplest generative model of MNIST: one multivariate Gaussian over the 784 pixels.

    python -m vae.gaussian [--train-subset 60000] [--draws 10000] [--seed 2024] [--out checkpoints/gaussian-pixels]

Fit: the maximum-likelihood mean mu (784,) and covariance Sigma (784, 784) of the training images (pixels in [0, 1]),
then the Cholesky factor L with L L^T = Sigma + jitter * I. Sample: x = L z + mu with z ~ N(0, I_784), since then
Cov(x) = L Cov(z) L^T = L L^T. The class sees why that is not enough: the samples have the right mean image and the
right pixel-to-pixel correlations, yet are not digits.

The checkpoint's manifest records the test images' mean log-density and how the judge (vae.judge) rates 10,000
samples, with the same seed and number of draws as `python -m vae.evaluate`. The command line lives in
vae.gaussian_cli; this module reads and writes no checkpoint, so `vae.checkpoint` can build one without a circle.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
from torch import nn

from .judge import features as judge_features
from .judge import predict
from .metrics import CONFIDENT, frechet_distance
from .models import ConfigError

GAUSSIAN_KIND = "gaussian"
NAME = "gaussian-pixels"
PIXELS = 28 * 28
# Diagonal jitter tried in turn until the Cholesky factorisation succeeds (in float64). It is needed because the
# pixel covariance is singular: 67 border pixels are 0 in every training image (zero variance) and pixel values are
# linearly dependent besides. The ladder starts at 1e-6, about the variance of 8-bit rounding noise,
# (1/255)^2 / 12 = 1.3e-6: a spread that 8-bit pixel values cannot resolve anyway. A smaller jitter would only make
# the density spikier on the always-empty border pixels. 1e-6 works on MNIST (in float64).
JITTER_LADDER = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2)
SAMPLE_SEED = 2024  # the seed of the judged draws; vae.evaluate draws with the same one, so the figures agree
JUDGE_DRAWS = 10_000
MAX_DRAWS = 100_000  # 100,000 samples of 784 float32 pixels are 314 MB: more is refused
LOG_2PI = math.log(2 * math.pi)


class FitError(ArithmeticError):
    """The data cannot be fitted: not finite, too few images, or a covariance no jitter of the ladder repairs."""


@dataclass
class GaussianConfig:
    kind: str = GAUSSIAN_KIND  # tells the checkpoint reader which model this is
    dim: int = PIXELS  # number of pixels modelled jointly (784 for 28 x 28 images; tests use fewer)
    jitter: float = JITTER_LADDER[0]  # added to the covariance's diagonal before the Cholesky factorisation

    def __post_init__(self) -> None:
        if self.kind != GAUSSIAN_KIND:
            raise ConfigError(f"a pixel Gaussian config has kind {GAUSSIAN_KIND!r}, got {self.kind!r}.")
        if not isinstance(self.dim, int) or isinstance(self.dim, bool) or self.dim < 1:
            raise ConfigError(f"dim must be a positive integer, got {self.dim!r}.")
        if not (isinstance(self.jitter, (int, float)) and math.isfinite(self.jitter) and self.jitter >= 0):
            raise ConfigError(f"jitter must be a finite number >= 0, got {self.jitter!r}.")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "GaussianConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"Unknown pixel Gaussian config fields {unknown}. Known fields: "
                              f"{', '.join(sorted(known))}.")
        return cls(**d)


class PixelGaussian(nn.Module):
    """N(mean, scale_tril scale_tril^T) over flattened images; forward(z) = scale_tril z + mean.

    Buffers, not parameters: nothing here is trained by gradient descent, and buffers are saved in the state_dict,
    so the model goes through the project's checkpoint code (weights_only=True, strict=True) like the others.
    """

    def __init__(self, config: GaussianConfig):
        super().__init__()
        self.config = config
        self.register_buffer("mean", torch.zeros(config.dim))  # mu, (dim,)
        self.register_buffer("scale_tril", torch.eye(config.dim))  # L, (dim, dim), lower-triangular

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z (n, dim) -> x = L z + mu, (n, dim), unclipped."""
        return z @ self.scale_tril.T + self.mean

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log N(x; mu, L L^T) in nats, in float64: (n, dim) -> (n,).

        = -1/2 ||L^-1 (x - mu)||^2 - sum_i log L_ii - dim/2 log(2 pi), with L^-1 (x - mu) by a triangular solve.
        """
        L = self.scale_tril.double()
        diff = (x.double() - self.mean.double()).T  # (dim, n)
        white = torch.linalg.solve_triangular(L, diff, upper=False)
        return (-0.5 * white.pow(2).sum(0) - torch.log(torch.diagonal(L)).sum()
                - 0.5 * self.config.dim * LOG_2PI)

    def problem(self) -> str | None:
        """What is wrong with the buffers (non-finite values, L not lower-triangular with a positive diagonal)."""
        if not (torch.isfinite(self.mean).all() and torch.isfinite(self.scale_tril).all()):
            return "mean or scale_tril holds NaN or infinite values"
        if not torch.equal(self.scale_tril, torch.tril(self.scale_tril)):
            return "scale_tril is not lower-triangular"
        if not (torch.diagonal(self.scale_tril) > 0).all():
            return "scale_tril has a diagonal entry <= 0 (not a Cholesky factor)"
        return None

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """As nn.Module's, then refuse buffers that are no Cholesky factor (RuntimeError, as for a shape mismatch)."""
        result = super().load_state_dict(state_dict, strict=strict, assign=assign)
        problem = self.problem()
        if problem:
            raise RuntimeError(f"pixel Gaussian: {problem}")
        return result


# --- fitting ------------------------------------------------------------------------------------------------------

def flatten(images: np.ndarray) -> np.ndarray:
    """uint8 images (n, 28, 28) -> float64 (n, 784) in [0, 1] (k / 255, as vae.data.to_float); floats are kept."""
    x = np.asarray(images)
    x = x.astype(np.float64) / 255.0 if x.dtype == np.uint8 else x.astype(np.float64)
    return x.reshape(len(x), -1)


def fit_moments(x: np.ndarray, chunk: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood mean (d,) and covariance (d, d) of the rows of x (n, d), in float64.

    Two passes over chunks of rows: the mean, then the sum of outer products of the centred rows (centring first
    avoids the cancellation of E[x x^T] - mu mu^T). The covariance divides by n, not n - 1: the maximum-likelihood
    estimate, whose log-density the manifest reports.
    """
    n = len(x)
    if n < 2:
        raise FitError(f"a covariance needs at least 2 images, got {n}")
    total = np.zeros(x.shape[1])
    for start in range(0, n, chunk):
        block = np.asarray(x[start:start + chunk], np.float64)
        if not np.isfinite(block).all():
            raise FitError(f"rows {start}..{start + len(block) - 1} hold NaN or infinite values; check the data")
        total += block.sum(0)
    mu = total / n
    scatter = np.zeros((x.shape[1], x.shape[1]))
    for start in range(0, n, chunk):
        centred = np.asarray(x[start:start + chunk], np.float64) - mu
        scatter += centred.T @ centred
    return mu, scatter / n


def cholesky_with_jitter(cov: np.ndarray, ladder: tuple[float, ...] = JITTER_LADDER
                         ) -> tuple[np.ndarray, float, list[dict]]:
    """The Cholesky factor L (d, d) of cov + jitter * I in float64, with the smallest jitter of `ladder` that works.

    Returns (L, jitter, tries), tries being one {"jitter", "cholesky"} row per jitter attempted. Raises FitError
    when even the largest jitter fails.
    """
    eye = np.eye(len(cov))
    tries = []
    for jitter in ladder:
        try:
            L = np.linalg.cholesky(np.asarray(cov, np.float64) + jitter * eye)
        except np.linalg.LinAlgError:
            tries.append({"jitter": jitter, "cholesky": "failed: not positive definite"})
            continue
        tries.append({"jitter": jitter, "cholesky": "ok"})
        return L, jitter, tries
    raise FitError(f"the covariance is not positive definite even with jitter {ladder[-1]:g} on the diagonal; "
                   "check the data for constant or duplicated images")


def fit(images: np.ndarray, ladder: tuple[float, ...] = JITTER_LADDER) -> tuple[PixelGaussian, list[dict]]:
    """Fit the pixel Gaussian to images (n, 28, 28) uint8 or (n, d) floats: float64 moments and Cholesky, stored
    as float32 buffers. Returns the model (eval mode) and the jitter tries."""
    x = flatten(images)
    mu, cov = fit_moments(x)
    L, jitter, tries = cholesky_with_jitter(cov, ladder)
    model = PixelGaussian(GaussianConfig(dim=x.shape[1], jitter=jitter))
    model.mean.copy_(torch.from_numpy(mu))
    model.scale_tril.copy_(torch.from_numpy(L))
    return model.eval().requires_grad_(False), tries


# --- sampling and scoring -----------------------------------------------------------------------------------------

@torch.inference_mode()
def sample(model: PixelGaussian, n: int, seed: int, clip: bool = True) -> np.ndarray:
    """n samples x = L z + mu, float32 (n, 28, 28) when dim is 784, else (n, dim).

    z ~ N(0, I) comes from numpy's default_rng(seed).standard_normal((n, dim)): the same stream of draws that
    vae.latent.sample_codes feeds the decoders, and the first k samples of a seed do not depend on n. `clip`
    (the default) clips to [0, 1], the range of a pixel: the Gaussian puts mass outside it, and both the pictures
    and the judge need valid intensities.
    """
    if not 1 <= n <= MAX_DRAWS:
        raise ValueError(f"number of samples must be between 1 and {MAX_DRAWS}, got {n}.")
    z = np.random.default_rng(seed).standard_normal((n, model.config.dim)).astype(np.float32)
    x = model(torch.from_numpy(z).to(model.mean.device)).float().cpu().numpy()
    if clip:
        x = np.clip(x, 0.0, 1.0)
    return x.reshape(n, 28, 28) if model.config.dim == PIXELS else x


@torch.inference_mode()
def mean_log_density(model: PixelGaussian, images: np.ndarray, batch_size: int = 2000) -> float:
    """Mean log N(x; mu, L L^T) over images (n, 28, 28) uint8 or (n, d) floats in [0, 1], in nats per image.

    A continuous density over pixel values in [0, 1], not a probability of the 8-bit images: it is not comparable
    with the Bernoulli models' nats (which score each pixel as the probability of a binary outcome), and it
    moves with the jitter, the variance of the border pixels that no training image inks. Only Gaussians compare.
    """
    x = flatten(images)
    device = model.mean.device
    total = 0.0
    for start in range(0, len(x), batch_size):
        total += model.log_prob(torch.from_numpy(x[start:start + batch_size]).to(device)).sum().item()
    return total / len(x)


def judge_score(judge: nn.Module, images: np.ndarray, test_features: np.ndarray) -> dict:
    """How the judge rates images (n, 28, 28) in [0, 1]: the figures vae.metrics.completeness and internal_fid give
    for decoded codes. `confident`: share with max class probability >= 0.9; `label_entropy_bits`: entropy of the
    judge's label histogram (3.32 bits when all ten digits are equally common); `fid`: internal FID against the
    judge features of the test images."""
    p = predict(judge, images)
    hist = np.bincount(p.argmax(1), minlength=10) / len(p)
    nz = hist[hist > 0]
    return {"confident": float((p.max(1) >= CONFIDENT).mean()), "label_entropy_bits": float(-(nz * np.log2(nz)).sum()),
            "label_histogram": hist.round(4).tolist(),
            "fid": frechet_distance(judge_features(judge, images), test_features)}


if __name__ == "__main__":  # `python -m vae.gaussian`: the command line lives in vae.gaussian_cli
    from vae.gaussian_cli import main

    raise SystemExit(main())
