import numpy as np
import pytest
import torch
from torch.distributions import Normal

from helpers import tiny_config
from vae.device import pick_device
from vae.latent import check_z, decode, encode_images, prior_mass_within, sigma_circle
from vae.metrics import MetricError, iwae_log_likelihood, log_normal
from vae.models import build_model


def test_check_z_rejects_nan_inf_out_of_range_and_wrong_shape():
    assert check_z([0.5, -1.0], 2).shape == (1, 2)
    for bad, message in [([np.nan, 0], "NaN or infinite"), ([np.inf, 0], "NaN or infinite"),
                         ([5000.0, 0], "out of range"), ([1, 2, 3], "must have 2 coordinates")]:
        with pytest.raises(ValueError, match=message):
            check_z(bad, 2)


def test_decode_gives_pixel_means_and_encode_is_deterministic():
    torch.manual_seed(0)
    model = build_model(tiny_config("vae")).eval()
    images = decode(model, np.zeros((3, 2)))
    assert images.shape == (3, 28, 28) and images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1
    x = np.random.default_rng(0).integers(0, 256, (10, 28, 28), dtype=np.uint8)
    a, b = encode_images(model, x), encode_images(model, x)
    assert np.array_equal(a.mu, b.mu) and np.array_equal(a.logvar, b.logvar) and a.mu.shape == (10, 2)
    assert np.allclose(encode_images(model, x, batch_size=3).mu, a.mu, atol=1e-6), "batching must not change codes"
    assert encode_images(build_model(tiny_config("ae")), x).logvar is None


def test_prior_circles():
    assert prior_mass_within(1) == pytest.approx(0.3935, abs=1e-4)
    assert prior_mass_within(3) == pytest.approx(0.9889, abs=1e-4)
    x, y = sigma_circle(2.0)
    assert np.allclose(np.hypot(x, y), 2.0)


def test_log_normal_matches_torch_distributions():
    z, mu, logvar = torch.randn(6, 3), torch.randn(6, 3), torch.randn(6, 3)
    expected = Normal(mu, torch.exp(0.5 * logvar)).log_prob(z).sum(-1)
    assert torch.allclose(log_normal(z, mu, logvar), expected, atol=1e-5)


def test_iwae_bound_tightens_with_k_and_k1_is_the_elbo_in_expectation():
    torch.manual_seed(0)
    model = build_model(tiny_config("vae")).eval()
    x = torch.rand(16, 1, 28, 28)
    l1 = iwae_log_likelihood(model, x, k=1, seed=0)
    l1_mean = torch.stack([iwae_log_likelihood(model, x, k=1, seed=s) for s in range(50)]).mean(0)
    l64 = iwae_log_likelihood(model, x, k=64, chunk=16, seed=0)
    assert l1.shape == (16,)
    assert l64.mean() > l1_mean.mean(), "L_64 must not fall below the ELBO"
    from vae.losses import loss_terms
    neg_elbo = torch.stack([loss_terms(model(x, generator=torch.Generator().manual_seed(s)), x)["neg_elbo"]
                            for s in range(50)]).mean(0)
    assert torch.allclose(-l1_mean, neg_elbo, rtol=0.02), "L_1 averages to the ELBO"


def test_iwae_refuses_a_plain_autoencoder():
    with pytest.raises(MetricError, match="applies to a VAE, not a plain AE"):
        iwae_log_likelihood(build_model(tiny_config("ae")), torch.rand(2, 1, 28, 28), k=4)


def test_pick_device():
    assert pick_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert pick_device("auto").type == expected
    with pytest.raises(ValueError, match="Unknown device 'tpu'. Possible values: auto, cpu, cuda, mps"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            pick_device("cuda")


def test_pick_device_reads_the_environment(monkeypatch):
    monkeypatch.setenv("LATENT_EXPLORER_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")
    monkeypatch.setenv("LATENT_EXPLORER_DEVICE", "tpu")  # read from the environment: on any machine, refused
    with pytest.raises(ValueError, match="Unknown device 'tpu'"):
        pick_device()
    assert pick_device("cpu") == torch.device("cpu"), "an explicit choice wins over the environment"


def test_kl_per_dimension_and_active_units():
    from vae.losses import kl_per_dim
    from vae.metrics import active_units, kl_per_dimension
    rng = np.random.default_rng(0)
    mu = np.stack([rng.normal(0, 1.0, 5000), rng.normal(0, 0.05, 5000), np.zeros(5000)], 1)
    logvar = np.stack([np.full(5000, -4.0), np.full(5000, -0.1), np.zeros(5000)], 1)
    kl = kl_per_dimension(mu, logvar)
    expected = kl_per_dim(torch.tensor(mu), torch.tensor(logvar)).mean(0).numpy()
    assert np.allclose(kl, expected) and kl[2] == 0.0 and kl[0] > kl[1]
    assert active_units(mu).tolist() == [True, False, False]
