"""The draw page's figures (ui/draw_figures.py) on random codes; the page itself is tested in test_draw_page.py."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from ui.draw_figures import CLOSEUP_SIGMAS, closeup_figure, code_traces, plane_figure
from vae import registry
from vae.checkpoint import CHECKPOINT_DIR
from vae.models import build_model

from helpers import tiny_config


def _codes(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 2)).astype(np.float32), rng.integers(0, 10, n)


def _ranges(fig) -> tuple[list[float], list[float]]:
    return list(fig.layout.xaxis.range), list(fig.layout.yaxis.range)


def test_without_a_posterior_only_the_code_is_drawn():
    codes, labels = _codes()
    mu = np.array([0.5, -0.25], np.float32)
    fig = plane_figure(codes, labels, "AE", mu)
    added = fig.data[-1]
    assert added.name == "your digit" and (added.x[0], added.y[0]) == (0.5, -0.25)
    assert not any(t.name.startswith("q(z|x)") for t in fig.data)


def test_the_posterior_ellipses_pass_through_mu_plus_k_sigma():
    import plotly.graph_objects as go

    mu, logvar = np.array([0.3, -0.2]), np.log(np.array([0.04, 0.01]))
    fig = go.Figure()
    xmin, xmax, ymin, ymax = code_traces(fig, mu, logvar, 10)
    names = [t.name for t in fig.data]
    assert names == ["your digit", "q(z|x) 1\u03c3", "q(z|x) 2\u03c3"]
    sigma = np.exp(0.5 * logvar)
    for k, trace in zip((1, 2), fig.data[1:]):
        x, y = np.asarray(trace.x), np.asarray(trace.y)
        assert x.max() == pytest.approx(mu[0] + k * sigma[0]) and y.min() == pytest.approx(mu[1] - k * sigma[1])
    assert (xmin, xmax) == pytest.approx((mu[0] - 2 * sigma[0], mu[0] + 2 * sigma[0]))
    assert (ymin, ymax) == pytest.approx((mu[1] - 2 * sigma[1], mu[1] + 2 * sigma[1]))


def test_a_code_far_outside_the_plane_widens_the_view_square():
    codes, labels = _codes()
    inside = plane_figure(codes, labels, "VAE", np.zeros(2, np.float32))
    far = plane_figure(codes, labels, "VAE", np.array([40.0, -3.0], np.float32), np.log(np.full(2, 0.25)))
    assert _ranges(inside) == _ranges(plane_figure(codes, labels, "VAE", np.ones(2, np.float32))), \
        "a code inside the view leaves it as it was"
    (x0, x1), (y0, y1) = _ranges(far)
    assert x0 < 0 < 41.0 < x1, "the code and its 2-sigma ellipse stay in view"
    assert x1 - x0 == pytest.approx(y1 - y0), "still square: circles stay round"


def test_the_closeup_holds_exactly_the_codes_within_its_square():
    codes, labels = _codes(2000)
    mu, logvar = np.array([0.1, 0.2]), np.log(np.array([0.09, 0.04]))
    fig = closeup_figure(codes, labels, mu, logvar)
    half = CLOSEUP_SIGMAS * 0.3
    inside = (np.abs(codes - mu) <= half).all(1)
    shown = sum(len(t.x) for t in fig.data[:10])
    assert shown == int(inside.sum()) > 0
    assert f"({int(inside.sum())} test codes)" in fig.layout.title.text
    assert list(fig.layout.xaxis.range) == pytest.approx([mu[0] - half, mu[0] + half])
    for d, trace in enumerate(fig.data[:10]):
        assert np.array_equal(np.asarray(trace.x, np.float32), codes[inside & (labels == d), 0])


@pytest.mark.parametrize("kind", registry.EXPLORABLE_KINDS)
def test_the_registry_and_the_encoding_agree_on_which_families_have_a_posterior(kind):
    """ui.draw asks the registry whether to draw q(z|x), and takes logvar from the encoding when it says yes."""
    from vae.latent import encode_images

    model = build_model(tiny_config(kind))
    enc = encode_images(model, np.zeros((1, 28, 28), np.uint8))
    assert registry.has_posterior(model) == registry.family(kind).has_posterior == (enc.logvar is not None)


def test_the_figures_import_without_streamlit():
    code = "import sys, ui.draw_figures; print(sorted(m for m in sys.modules if m.split('.')[0] == 'streamlit'))"
    out = subprocess.run([sys.executable, "-c", code], cwd=CHECKPOINT_DIR.parent, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
