import pytest
import torch

from helpers import KINDS_ARCHS, tiny_config
from vae.models import AE, VAE, ConfigError, ModelConfig, build_model, reparameterize


@pytest.mark.parametrize("kind,arch", KINDS_ARCHS)
def test_shapes_of_encode_decode_forward(kind, arch):
    torch.manual_seed(0)
    model = build_model(tiny_config(kind, arch, latent_dim=3))
    x = torch.rand(5, 1, 28, 28)
    mu, logvar = model.encode(x)
    assert mu.shape == (5, 3)
    assert (logvar is None) == (kind == "ae")
    if logvar is not None:
        assert logvar.shape == (5, 3)
    assert model.decode(torch.randn(7, 3)).shape == (7, 1, 28, 28)
    out = model(x)
    assert out.logits.shape == (5, 1, 28, 28) and out.z.shape == (5, 3) and out.mu.shape == (5, 3)
    assert torch.equal(model.encode(x.view(5, 784)).mu, mu), "flat and image-shaped input must encode the same"


@pytest.mark.parametrize("kind,arch", KINDS_ARCHS)
def test_eval_mode_encode_is_deterministic(kind, arch):
    model = build_model(tiny_config(kind, arch)).eval()
    x = torch.rand(4, 1, 28, 28)
    first, second = model.encode(x), model.encode(x)
    assert torch.equal(first.mu, second.mu)
    if kind == "vae":
        assert torch.equal(first.logvar, second.logvar)


def test_vae_forward_samples_and_ae_forward_does_not():
    x = torch.rand(64, 1, 28, 28)
    vae = build_model(tiny_config("vae")).eval()
    out = vae(x)
    assert not torch.equal(out.z, out.mu), "a VAE decodes a sampled z = mu + sigma * eps"
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(vae(x, generator=g1).z, vae(x, generator=g2).z)
    ae = build_model(tiny_config("ae"))
    out = ae(x)
    assert out.logvar is None and torch.equal(out.z, out.mu)


def test_reparameterization_gradient_reaches_mu_and_logvar():
    mu = torch.tensor([[0.5, -1.0]], requires_grad=True)
    logvar = torch.tensor([[0.2, -0.4]], requires_grad=True)
    eps = torch.tensor([[1.5, -0.3]])
    z = reparameterize(mu, logvar, eps)
    z.sum().backward()
    assert torch.allclose(mu.grad, torch.ones_like(mu))  # dz/dmu = 1
    assert torch.allclose(logvar.grad, 0.5 * torch.exp(0.5 * logvar.detach()) * eps)  # dz/dlogvar = sigma * eps / 2
    assert torch.allclose(z, mu.detach() + torch.exp(0.5 * logvar.detach()) * eps)


def test_model_classes_and_config_round_trip():
    cfg = tiny_config("vae", "conv", latent_dim=4)
    assert isinstance(build_model(cfg), VAE) and isinstance(build_model(tiny_config("ae")), AE)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize("kwargs,message", [
    (dict(kind="gan"), "Unknown model kind 'gan'. Possible values: ae, vae."),
    (dict(arch="rnn"), "Unknown architecture 'rnn'. Possible values: mlp, conv."),
    (dict(latent_dim=0), "latent_dim must be an integer >= 1"),
    (dict(latent_dim=True), "latent_dim must be an integer >= 1"),
    (dict(hidden=()), "hidden must list one or more positive layer widths"),
    (dict(activation="gelu"), "Unknown activation 'gelu'. Possible values: relu, elu, tanh."),
])
def test_bad_config_raises_one_clear_error(kwargs, message):
    with pytest.raises(ConfigError) as err:
        ModelConfig(**kwargs)
    assert message in str(err.value)


def test_unknown_config_field_is_named():
    with pytest.raises(ConfigError, match="Unknown model config fields \\['depth'\\]"):
        ModelConfig.from_dict({"kind": "vae", "depth": 3})


def test_wrong_input_shapes_raise_value_error():
    model = build_model(tiny_config("vae", latent_dim=2))
    with pytest.raises(ValueError, match="Expected z of shape \\(batch, 2\\)"):
        model.decode(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="Expected images of shape"):
        model.encode(torch.zeros(3, 28, 28))
