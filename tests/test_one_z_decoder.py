"""latent.OneZDecoder: the pinned z's server-side decode without nn.Module dispatch, the same pixels as decode()."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import tiny_config
from vae import latent
from vae.models import build_model


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_an_mlp_decoder_gives_the_pixels_of_decode(kind):
    torch.manual_seed(0)
    model = build_model(tiny_config(kind)).eval()
    fast = latent.OneZDecoder(model)
    assert fast.layers is not None, "an MLP decoder takes the fast path"
    for z in ([0.0, 0.0], [1.5, -2.25], [-40.0, 60.0]):
        want = latent.decode(model, np.array([z]))[0]
        got = fast(np.array(z))
        assert got.shape == (28, 28) and got.dtype == np.float32
        assert np.abs(got - want).max() < 1e-5


def test_a_conv_decoder_falls_back_to_decode():
    torch.manual_seed(0)
    model = build_model(tiny_config("vae", "conv")).eval()
    fast = latent.OneZDecoder(model)
    assert fast.layers is None
    z = np.array([0.3, -0.7])
    assert np.array_equal(fast(z), latent.decode(model, z[None])[0])


@pytest.mark.parametrize("bad", [[np.nan, 0.0], [np.inf, 1.0], [1.0, 2.0, 3.0]])
def test_bad_z_is_refused_like_decode(bad):
    model = build_model(tiny_config("vae")).eval()
    with pytest.raises(ValueError):
        latent.OneZDecoder(model)(np.array(bad))
