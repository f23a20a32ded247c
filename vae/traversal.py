"""Latent traversals of a VAE and the per-dimension statistics that choose which dimensions to traverse.

A traversal keeps one code fixed and sweeps a single coordinate z_j over values of the prior N(0, 1) (Higgins et al.
2017, fig. 7); `decode_traversal` decodes the rows of such sweeps. `stats_from_posteriors` summarises the posteriors
q(z|x) of a test set dimension by dimension: KL per dimension (vae.metrics.kl_per_dimension), active units
(Burda et al. 2016, vae.metrics.active_units) and the order of the dimensions by KL, which is the order of the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch

from . import latent
from .metrics import active_units, kl_per_dimension

TRAVERSAL_RANGE = 3.0  # traversals run over z_j in [-3, 3]: +-3 standard deviations of the N(0, 1) prior


class PosteriorStats(NamedTuple):
    kl: np.ndarray  # (d,) mean over the test digits of KL(q(z_j|x) || N(0, 1)), nats
    var_mu: np.ndarray  # (d,) variance over the test digits of the posterior mean mu_j(x)
    active: np.ndarray  # (d,) bool: var_mu > 0.01 (Burda et al. 2016)
    order: np.ndarray  # (d,) int: dimensions by decreasing KL (ties by index)

    @property
    def total_kl(self) -> float:
        """Sum over dimensions = the model's average KL(q(z|x) || p(z)) over the test set (the KL is a sum over
        independent dimensions because both q and p are diagonal Gaussians)."""
        return float(self.kl.sum())

    @property
    def n_active(self) -> int:
        return int(self.active.sum())


def stats_from_posteriors(mu: np.ndarray, logvar: np.ndarray) -> PosteriorStats:
    """KL per dimension, variance of mu, active units and KL order of posteriors mu, logvar: (n, d) each."""
    kl = kl_per_dimension(mu, logvar)
    order = np.lexsort((np.arange(len(kl)), -kl))  # last key is primary: KL descending, then index ascending
    return PosteriorStats(kl, np.asarray(mu, np.float64).var(0), active_units(mu), order)


def sweep_values(n: int, limit: float = TRAVERSAL_RANGE) -> np.ndarray:
    """n evenly spaced values from -limit to limit: the columns of a traversal. Shape (n,), float32."""
    if n < 2:
        raise ValueError(f"a traversal needs at least 2 values, got {n}.")
    return np.linspace(-limit, limit, n).astype(np.float32)


def decode_traversal(model: torch.nn.Module, center: np.ndarray, dims: Sequence[int],
                     values: np.ndarray) -> np.ndarray:
    """Decode `center` (d,) with each of `dims` swept over `values` (k,): (len(dims), k, 28, 28) in [0, 1]."""
    codes = latent.traverse(center, dims, values)
    return latent.decode(model, codes).reshape(len(dims), len(values), 28, 28)
