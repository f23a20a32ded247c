"""Reconstruction and KL terms of the ELBO, as pure functions. All values are in nats, per image.

ELBO(x) = E_q(z|x)[log p(x|z)] - KL(q(z|x) || p(z)) (Kingma and Welling 2014, eq. 3). With p(x|z) a product of
784 Bernoullis over the grayscale pixels, -log p(x|z) is the binary cross-entropy summed over pixels, the objective
of PyTorch's and Keras' MNIST VAE examples. beta-VAE (Higgins et al. 2017) minimises recon + beta * KL; beta = 1 is
the VAE, and the plain AE has no KL term at all.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .models import ModelOutput


def reconstruction_bce(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x|z) for Bernoulli pixels: BCE summed over the 784 pixels.

    logits, x: (batch_size, 1, 28, 28) or (batch_size, 784), x in [0, 1] -> (batch_size,) in nats.
    """
    x = x.reshape(logits.shape)
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, 1)) for each latent dimension, analytic (Kingma and Welling 2014, Appendix B):

    KL_j = 0.5 * (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2).

    mu, logvar: (batch_size, latent_dim) -> (batch_size, latent_dim), each >= 0, zero exactly at mu = 0, logvar = 0.
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || p(z)) summed over latent dimensions: (batch_size, latent_dim) -> (batch_size,)."""
    return kl_per_dim(mu, logvar).sum(1)


def loss_terms(output: ModelOutput, x: torch.Tensor, beta: float = 1.0) -> dict[str, torch.Tensor]:
    """Per-image terms, each shape (batch_size,):

    recon: -log p(x|z) at the decoded z; kl: KL(q(z|x) || p(z)) (zeros for the AE); loss: recon + beta * kl, the
    training objective; neg_elbo: recon + kl, the negative ELBO (for the AE it equals recon and is not a bound).
    """
    if beta < 0:
        raise ValueError(f"beta must be >= 0, got {beta}.")
    recon = reconstruction_bce(output.logits, x)
    if output.logvar is None:
        kl = torch.zeros_like(recon)
    else:
        kl = kl_divergence(output.mu, output.logvar)
    return {"recon": recon, "kl": kl, "loss": recon + beta * kl, "neg_elbo": recon + kl}
