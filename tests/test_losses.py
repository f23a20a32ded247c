import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence as torch_kl

from vae.losses import kl_divergence, kl_per_dim, loss_terms, reconstruction_bce
from vae.models import ModelOutput


def test_kl_is_zero_exactly_at_the_prior():
    zeros = torch.zeros(4, 3)
    assert torch.equal(kl_per_dim(zeros, zeros), torch.zeros(4, 3))


def test_kl_is_non_negative_and_matches_torch_distributions():
    torch.manual_seed(0)
    mu, logvar = torch.randn(256, 5) * 3, torch.randn(256, 5) * 2
    kl = kl_per_dim(mu, logvar)
    assert (kl >= 0).all()
    reference = torch_kl(Normal(mu, torch.exp(0.5 * logvar)), Normal(torch.zeros_like(mu), torch.ones_like(mu)))
    assert torch.allclose(kl, reference, atol=1e-5, rtol=1e-5)
    assert torch.allclose(kl_divergence(mu, logvar), kl.sum(1))


def test_bce_is_summed_over_784_pixels_in_nats():
    logits = torch.zeros(2, 1, 28, 28)  # p = 0.5 for every pixel
    x = torch.rand(2, 784)
    assert torch.allclose(reconstruction_bce(logits, x), torch.full((2,), 784 * math.log(2)))
    logits = torch.randn(3, 1, 28, 28)
    x = torch.rand(3, 1, 28, 28)
    p = torch.sigmoid(logits)
    manual = -(x * p.log() + (1 - x) * (1 - p).log()).flatten(1).sum(1)
    assert torch.allclose(reconstruction_bce(logits, x), manual, atol=1e-3)


def test_loss_terms_weight_kl_by_beta_and_give_ae_no_kl():
    torch.manual_seed(1)
    x = torch.rand(4, 1, 28, 28)
    mu, logvar = torch.randn(4, 2), torch.randn(4, 2)
    out = ModelOutput(torch.randn(4, 1, 28, 28), mu, logvar, mu)
    t1, t4 = loss_terms(out, x, beta=1.0), loss_terms(out, x, beta=4.0)
    assert torch.allclose(t4["loss"], t4["recon"] + 4 * t4["kl"])
    assert torch.allclose(t1["neg_elbo"], t4["neg_elbo"]), "-ELBO does not depend on beta"
    assert (t1["kl"] > 0).all()
    ae = loss_terms(ModelOutput(out.logits, mu, None, mu), x, beta=4.0)
    assert torch.equal(ae["kl"], torch.zeros(4)) and torch.equal(ae["loss"], ae["recon"])
    with pytest.raises(ValueError, match="beta must be >= 0"):
        loss_terms(out, x, beta=-0.5)
