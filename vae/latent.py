"""Moving between images and the latent space: encode a dataset, decode codes, prior circles."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from .data import to_float


class EncodedSet(NamedTuple):
    mu: np.ndarray  # (n, latent_dim) float32 posterior means (the AE's codes)
    logvar: np.ndarray | None  # (n, latent_dim) float32, None for the AE


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.inference_mode()
def encode_images(model: torch.nn.Module, images: np.ndarray, batch_size: int = 2000) -> EncodedSet:
    """uint8 images (n, 28, 28) -> posterior means and log-variances, in eval mode (deterministic)."""
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"Expected images of shape (n, 28, 28), got {images.shape}.")
    device = _device_of(model)
    mus, logvars = [], []
    for start in range(0, len(images), batch_size):
        x = torch.from_numpy(to_float(images[start:start + batch_size])).unsqueeze(1).to(device)
        mu, logvar = model.encode(x)
        mus.append(mu.float().cpu().numpy())
        if logvar is not None:
            logvars.append(logvar.float().cpu().numpy())
    return EncodedSet(np.concatenate(mus), np.concatenate(logvars) if logvars else None)


def check_z(z: np.ndarray, latent_dim: int, limit: float = 1e3) -> np.ndarray:
    """Return z as a float32 (n, latent_dim) array, or raise ValueError for a wrong shape, NaN, inf or |z| > limit."""
    z = np.asarray(z, dtype=np.float64)
    if z.ndim == 1:
        z = z[None, :]
    if z.ndim != 2 or z.shape[1] != latent_dim:
        raise ValueError(f"z must have {latent_dim} coordinates, got shape {z.shape}.")
    if not np.isfinite(z).all():
        raise ValueError("z holds NaN or infinite values; enter finite numbers.")
    if np.abs(z).max(initial=0.0) > limit:
        raise ValueError(f"z is out of range: every coordinate must lie within +-{limit:g}.")
    return z.astype(np.float32)


@torch.inference_mode()
def decode(model: torch.nn.Module, z: np.ndarray) -> np.ndarray:
    """z (n, latent_dim) -> pixel means sigmoid(logits), float32 (n, 28, 28) in [0, 1]."""
    z = check_z(z, model.config.latent_dim)
    logits = model.decode(torch.from_numpy(z).to(_device_of(model)))
    return torch.sigmoid(logits).squeeze(1).float().cpu().numpy()


def sigma_circle(radius: float, n: int = 121) -> tuple[np.ndarray, np.ndarray]:
    """Points of the circle |z| = radius: the N(0, I) prior's radius-sigma contour in 2-D.

    In 2-D, |z|^2 is chi-square with 2 degrees of freedom, so the circle of radius r holds 1 - exp(-r^2 / 2) of the
    prior's mass: 39.3% (1 sigma), 86.5% (2), 98.9% (3).
    """
    t = np.linspace(0.0, 2.0 * np.pi, n)
    return radius * np.cos(t), radius * np.sin(t)


def prior_mass_within(radius: float) -> float:
    """Share of the 2-D standard normal inside |z| <= radius."""
    return float(1.0 - np.exp(-radius ** 2 / 2.0))
