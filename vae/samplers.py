"""Drawing codes for a decoder to turn into samples, and telling, sample by sample, whether a decoded image lies near
the real ones in the judge's feature space.

Three samplers, for any model: the prior N(0, I); a Gaussian fitted to the model's test codes; a mixture of Gaussians
fitted to them (Ghosh et al. 2020 turn a deterministic autoencoder into a generative model this way). The scores of a
whole set of samples (precision, coverage, class balance, ...) are vae.metrics' (`sampler_scores`); here is the
per-sample test behind precision, for maps: is a sample inside the k-nearest-neighbour ball (k = 3) of at least one
real test image (Kynkaanniemi et al. 2019)? Outside every ball, it sits in a *hole*. Neither needs a latent distance,
so an AE and a VAE compare fairly whatever scale each gave its codes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import latent

SAMPLERS = {
    "prior": "N(0, I)",
    "gaussian": "Gaussian fitted to its codes",
    "gmm": "10-component GMM fitted to its codes",
}
K_NEAREST = 3  # Kynkaanniemi et al.'s k
CONFIDENT = 0.9


class SamplerError(ValueError):
    """An unknown sampler, or too few codes to fit one."""


def draw(kind: str, codes: np.ndarray, n: int, seed: int, gmm_components: int = 10) -> np.ndarray:
    """n codes (n, d) float32 from sampler `kind` (a key of SAMPLERS), fitted to `codes` (m, d) where it needs them."""
    if kind not in SAMPLERS:
        raise SamplerError(f"unknown sampler {kind!r}; choose one of {', '.join(SAMPLERS)}")
    codes = np.asarray(codes, np.float64)
    d = codes.shape[1]
    if kind == "prior":
        return latent.sample_codes(n, d, seed, limit=max(n, 1))
    if len(codes) <= d:
        raise SamplerError(f"fitting a Gaussian in {d}-D needs more than {d} codes, got {len(codes)}")
    if kind == "gaussian":
        return latent.sample_codes(n, d, seed, latent.fit_gaussian(codes), limit=max(n, 1))
    return fit_gmm(codes, gmm_components).sample(n, seed)


def fit_gmm(codes: np.ndarray, components: int = 10, seed: int = 0, max_codes: int = 3000, iterations: int = 50):
    """A full-covariance Gaussian mixture fitted by EM to codes (m, d); .sample(n, seed) -> (n, d) float32."""
    from .metrics import GMM

    codes = np.asarray(codes, np.float64)
    if len(codes) > max_codes:  # EM on a random subset: the mixture of 10 components settles long before 10,000
        codes = codes[np.random.default_rng(seed).choice(len(codes), max_codes, replace=False)]
    return GMM(n_components=components, iterations=iterations, seed=seed).fit(codes)


class RealBalls(NamedTuple):
    """The real images' judge features and the radius of each one's k-nearest-neighbour ball."""

    features: np.ndarray  # (m, f) float32
    radii: np.ndarray  # (m,) distance to the k-th nearest other real feature
    label_hist: np.ndarray  # (10,) the judge's label histogram of the real images


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T, 0.0)


def real_balls(features: np.ndarray, probs: np.ndarray, k: int = K_NEAREST, chunk: int = 1000) -> RealBalls:
    """Radii of the k-NN balls of the real features (m, f) (self excluded), and their label histogram from the
    judge's class probabilities (m, 10)."""
    f = np.asarray(features, np.float32)
    if len(f) <= k:
        raise SamplerError(f"k-NN balls need more than k = {k} real images, got {len(f)}")
    radii = np.empty(len(f), np.float32)
    for i in range(0, len(f), chunk):
        d2 = _sq_dists(f[i:i + chunk], f)
        radii[i:i + chunk] = np.sqrt(np.partition(d2, k, axis=1)[:, k])  # column 0 is the point itself
    hist = np.bincount(np.asarray(probs).argmax(1), minlength=10) / len(probs)
    return RealBalls(f, radii, hist)


def inside_balls(features: np.ndarray, real: RealBalls, chunk: int = 1000,
                 reached: np.ndarray | None = None) -> np.ndarray:
    """For each sample's features (n, f): does it fall inside at least one real k-NN ball? (n,) bool. `reached`
    (m,) bool, if given, is set True for every real ball that holds at least one sample (for the coverage)."""
    f = np.asarray(features, np.float32)
    inside = np.zeros(len(f), bool)
    for i in range(0, len(f), chunk):
        hit = _sq_dists(f[i:i + chunk], real.features) < real.radii[None, :] ** 2  # strict, as the prdc package
        inside[i:i + chunk] = hit.any(1)
        if reached is not None:
            reached |= hit.any(0)
    return inside


__all__ = ["SAMPLERS", "draw", "fit_gmm", "real_balls", "inside_balls", "RealBalls", "SamplerError"]
