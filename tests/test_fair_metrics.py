"""The scale-free measures of vae.metrics: prdc against the authors' package, class balance, and invariance of the
continuity measures to a rescaling of z (a model whose codes are c times wider, decoding z / c)."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch

from helpers import tiny_config
from vae.judge import Judge, JudgeConfig
from vae.metrics import (GMM, MetricError, class_balance_tv, continuity_measures, jacobian_norm, knn_radii,
                         label_histogram, path_measures, prdc, region_points, spikiness, whitened_jacobian_norm)
from vae.models import build_model


def _judge() -> Judge:
    """A tiny random judge; its body's weights doubled so that its label moves with the image."""
    torch.manual_seed(0)
    judge = Judge(JudgeConfig(channels=(4, 8), features=16)).eval()
    with torch.no_grad():
        for p in judge.body.parameters():
            p.mul_(2.0)
    return judge


def test_prdc_equals_the_authors_package():
    from prdc import compute_prdc
    rng = np.random.default_rng(0)
    real = rng.standard_normal((600, 12)).astype(np.float32)
    fake = (rng.standard_normal((400, 12)) * 1.3 + 0.4).astype(np.float32)
    with contextlib.redirect_stdout(io.StringIO()):  # the package prints the set sizes
        want = compute_prdc(real, fake, nearest_k=3)
    got = prdc(real, fake, k=3, chunk=128)  # chunked, to run the accumulation across chunks
    for key in ("precision", "recall", "density", "coverage"):
        assert got[key] == pytest.approx(float(want[key]), abs=1e-6), key
    assert 0 < got["precision"] < 1 and 0 < got["coverage"] < 1, "a test set that exercises both sides"


def test_prdc_extremes_and_precomputed_radii():
    rng = np.random.default_rng(1)
    real = rng.standard_normal((300, 8)).astype(np.float32)
    same = prdc(real, real + 1e-4)
    assert same["precision"] == 1.0 and same["recall"] == 1.0 and same["coverage"] == 1.0
    far = prdc(real, real + 100.0)
    assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}
    fake = rng.standard_normal((200, 8)).astype(np.float32)
    assert prdc(real, fake, real_radii=knn_radii(real)) == prdc(real, fake)


def test_prdc_and_friends_refuse_bad_input():
    real = np.zeros((10, 4), np.float32)
    with pytest.raises(MetricError, match="non-empty"):
        prdc(real, np.zeros((0, 4), np.float32))
    with pytest.raises(MetricError, match="width"):
        prdc(real, np.zeros((5, 3), np.float32))
    with pytest.raises(MetricError, match="k < number of points"):
        knn_radii(real[:3], k=3)
    with pytest.raises(MetricError, match="empty"):
        spikiness(np.array([]))
    with pytest.raises(MetricError, match="non-empty"):
        label_histogram(np.zeros((0, 10)))
    with pytest.raises(MetricError, match="more than 3 codes"):
        whitened_jacobian_norm(build_model(tiny_config("ae", latent_dim=3)), np.zeros((1, 3)), np.zeros((3, 3)))
    with pytest.raises(MetricError, match="needs at least"):
        GMM(10).fit(np.zeros((5, 2)))


def test_posterior_figures_refuse_a_plain_ae():
    from vae.metrics import iwae_log_likelihood, kl_per_dimension
    ae = build_model(tiny_config("ae"))
    with pytest.raises(MetricError, match="applies to a VAE, not a plain AE"):
        kl_per_dimension(np.zeros((4, 2)), None)
    with pytest.raises(MetricError, match="applies to a VAE, not a plain AE"):
        iwae_log_likelihood(ae, torch.zeros(1, 1, 28, 28))
    with pytest.raises(MetricError, match="non-empty"):
        kl_per_dimension(np.zeros((0, 2)), np.zeros((0, 2)))


def test_class_balance_tv():
    uniform = np.full(10, 0.1)
    no_ones = np.array([0.1 / 0.9] * 10)
    no_ones[1] = 0.0
    assert class_balance_tv(uniform, uniform) == 0.0
    assert class_balance_tv(no_ones, uniform) == pytest.approx(0.1)
    assert class_balance_tv(np.eye(10)[3], uniform) == pytest.approx(0.9)
    with pytest.raises(MetricError, match="sum to 1"):
        class_balance_tv(np.full(10, 0.2), uniform)
    with pytest.raises(MetricError, match="same non-empty shape"):
        class_balance_tv(np.full(5, 0.2), uniform)


class Rescaled(torch.nn.Module):
    """The same model with z stretched by c: codes c * mu (and posterior s.d. times c), decoder d(z / c). Every
    image it makes is the inner model's; only the units of z differ."""

    def __init__(self, inner: torch.nn.Module, c: float):
        super().__init__()
        self.inner, self.c, self.config = inner, c, inner.config

    def encode(self, x):
        mu, logvar = self.inner.encode(x)
        return mu * self.c, None if logvar is None else logvar + 2 * np.log(self.c)

    def decode(self, z):
        return self.inner.decode(z / self.c)


@pytest.fixture(scope="module")
def sharp_model():
    """A tiny AE whose random decoder has large weights, so that images and judge labels change along paths."""
    torch.manual_seed(3)
    model = build_model(tiny_config("ae", latent_dim=3)).eval()
    with torch.no_grad():
        for p in model.decoder.parameters():
            p.mul_(4.0)
    codes = np.random.default_rng(0).standard_normal((200, 3)).astype(np.float32) * np.array([5.0, 1.0, 0.2],
                                                                                             np.float32)
    return model, codes


@pytest.mark.parametrize("c", [0.1, 7.0])
def test_continuity_measures_do_not_change_when_z_is_rescaled(sharp_model, c):
    model, codes = sharp_model
    judge = _judge()
    base = continuity_measures(model, judge, codes, points=200, pairs=60, steps=8)
    scaled = continuity_measures(Rescaled(model, c), judge, codes * c, points=200, pairs=60, steps=8)
    for key in ("jacobian_whitened_median", "jacobian_spikiness", "max_step_share", "path_ratio"):
        assert scaled[key] == pytest.approx(base[key], rel=1e-4), key
    for key in ("label_changes", "label_changes_min", "excess_label_changes"):
        assert scaled[key] == base[key], key
    assert base["label_changes"] > 0, "the fixture's paths cross labels, so the count is really compared"
    # the raw Jacobian is the figure that does move: c times wider codes read c times smoother
    assert scaled["jacobian_norm"] == pytest.approx(base["jacobian_norm"] / c, rel=1e-4)


def test_whitened_jacobian_is_the_raw_one_times_the_code_spread_in_1d():
    torch.manual_seed(0)
    model = build_model(tiny_config("ae", latent_dim=1)).eval()
    codes = np.random.default_rng(0).normal(0, 3.0, (500, 1)).astype(np.float32)
    z = codes[:20]
    assert whitened_jacobian_norm(model, z, codes) == pytest.approx(jacobian_norm(model, z) * codes.std(ddof=1),
                                                                    rel=1e-3)


def test_path_label_changes_count_and_minimum(monkeypatch):
    """Labels along a path a, a, b, a, b against ends (a, b): 3 changes, minimum 1, excess 2."""
    import vae.metrics as metrics

    x = np.random.default_rng(0).random((1, 5, 784))
    monkeypatch.setattr(metrics, "_path_images", lambda *a, **k: x)
    labels = np.array([0, 0, 1, 0, 1])
    monkeypatch.setattr(metrics, "_judge_both", lambda judge, images: (None, np.eye(10)[labels]))
    out = path_measures(None, None, np.zeros((2, 2)), pairs=1, steps=4)
    assert (out["label_changes"], out["label_changes_min"], out["excess_label_changes"]) == (3.0, 1.0, 2.0)


def test_region_points_lie_between_codes():
    codes = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]], np.float32)
    pts = region_points(codes, 100, seed=1)
    assert pts.shape == (100, 2)
    assert (pts >= -1e-6).all() and (pts.sum(1) <= 10 + 1e-4).all(), "inside the codes' convex hull"
    with pytest.raises(MetricError, match="at least 2"):
        region_points(codes[:1], 10)
