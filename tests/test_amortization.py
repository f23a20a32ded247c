"""The per-image posterior fit behind the amortization gap (vae.amortization)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from vae import amortization as A
from vae.models import ModelConfig, build_model

FAST = A.FitConfig(steps=60, samples=8, lr=0.05, eval_samples=400, seed=3)


def _tiny(kind: str = "vae", latent_dim: int = 2):
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind=kind, latent_dim=latent_dim, hidden=(32,)))
    return model.eval().requires_grad_(False)


def _images(n: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    x = np.zeros((n, 28, 28), np.float32)
    for i in range(n):  # a bright bar at a different place in each image: easy to tell apart, far from random init
        r = 4 + 3 * i
        x[i, r:r + 4, 6:22] = 1.0
    return np.clip(x + 0.05 * rng.random(x.shape, dtype=np.float32), 0, 1)


def test_fit_beats_a_random_encoder_and_never_falls_below_it():
    model = _tiny()
    r = A.fit_posterior(model, _images(4), FAST)
    assert r.curve.shape == (FAST.steps + 1, 4) and r.mu.shape == (4, 2) and r.logvar.shape == (4, 2)
    # An untrained encoder is far from each image's best q: the fit must find a clearly better one for every image.
    assert not r.kept_encoder.any()
    assert (r.gap > 0.5).all(), r.gap
    assert (r.fitted_elbo >= r.encoder_elbo).all()
    np.testing.assert_allclose(r.gap, r.fitted_elbo - r.encoder_elbo)
    # the curve climbs: the last tenth of the steps beats the start on average
    assert r.curve[-6:].mean(0).min() > r.curve[0].min()
    # the fit starts at the encoder's q
    mu0, logvar0 = model.encode(torch.from_numpy(_images(4)).unsqueeze(1))
    np.testing.assert_allclose(r.mu0, mu0.numpy(), atol=1e-6)
    np.testing.assert_allclose(r.logvar0, logvar0.numpy(), atol=1e-6)


def test_reported_elbos_are_the_common_draws_estimate():
    """Re-estimating both ELBOs with many fresh draws agrees with the reported figures (within Monte Carlo error)."""
    model = _tiny()
    x = torch.from_numpy(_images(2)).unsqueeze(1)
    r = A.fit_posterior(model, x, FAST)
    eps = torch.randn((4000, 2, 2), generator=torch.Generator().manual_seed(99))
    with torch.no_grad():
        enc = A.elbo_samples(model, x, torch.from_numpy(r.mu0), torch.from_numpy(r.logvar0), eps).mean(0).numpy()
        fit = A.elbo_samples(model, x, torch.from_numpy(r.mu), torch.from_numpy(r.logvar), eps).mean(0).numpy()
    np.testing.assert_allclose(enc, r.encoder_elbo, atol=0.5)
    np.testing.assert_allclose(fit, r.fitted_elbo, atol=0.5)


def test_deterministic_under_a_seed_and_seed_matters():
    model = _tiny()
    x = _images(2)
    a = A.fit_posterior(model, x, FAST)
    b = A.fit_posterior(model, x, FAST)
    for name in ("curve", "mu", "logvar", "encoder_elbo", "fitted_elbo", "gap"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    c = A.fit_posterior(model, x, A.FitConfig(**{**FAST.__dict__, "seed": 4}))
    assert not np.array_equal(a.curve, c.curve)


def test_callback_sees_the_growing_curve():
    seen = []
    A.fit_posterior(_tiny(), _images(1)[0], FAST, callback=lambda step, curve: seen.append((step, curve.shape)),
                    every=20)
    assert seen == [(0, (1, 1)), (20, (21, 1)), (40, (41, 1)), (60, (61, 1))]


def test_model_is_left_untouched():
    model = _tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    A.fit_posterior(model, _images(1), FAST)
    assert not model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("bad, match", [
    (dict(steps=0), "steps"), (dict(samples=0), "samples"), (dict(lr=float("nan")), "lr"),
    (dict(eval_samples=0), "eval_samples")])
def test_bad_settings_are_refused(bad, match):
    with pytest.raises(A.AmortizationError, match=match):
        A.fit_posterior(_tiny(), _images(1), A.FitConfig(**bad))


def test_ae_and_bad_images_are_refused():
    with pytest.raises(A.AmortizationError, match="VAE"):
        A.fit_posterior(_tiny("ae"), _images(1), FAST)
    with pytest.raises(A.AmortizationError, match="shape"):
        A.fit_posterior(_tiny(), np.zeros((3, 3)), FAST)
    with pytest.raises(A.AmortizationError, match=r"\[0, 1\]"):
        A.fit_posterior(_tiny(), np.full((28, 28), 255.0), FAST)


def test_results_section_goes_before_provenance_and_replaces_an_older_one(tmp_path):
    summary = A.summarize(np.array([1.0, 2.0, 3.0]))
    assert summary["mean"] == 2.0 and summary["std"] == 1.0 and summary["median"] == 2.0
    doc = {"config": FitConfig_dict(), "command": "python -m vae.amortization --n 3", "results": [
        {"model": "vae-z2", "latent_dim": 2, "images": 3, "encoder_elbo": A.summarize(np.array([-140.0, -130.0])),
         "fitted_elbo": A.summarize(np.array([-139.0, -128.0])), "gap": summary, "seconds": 4.0}]}
    js = tmp_path / "a.json"
    js.write_text(json.dumps(doc))
    md = tmp_path / "RESULTS.md"
    md.write_text("# Results\n\n## Reading\n\ntext\n\n## Provenance\n\n| a | b |\n")
    assert A.update_results_md(md, js)
    text = md.read_text()
    assert text.index(A.SECTION_TITLE) < text.index("## Provenance") and text.index("## Reading") < text.index(
        A.SECTION_TITLE)
    assert "| `vae-z2` | 2 | -135.00 | -133.50 | 2.00 ± 1.00 | 2.00 |" in text
    doc["results"][0]["gap"] = A.summarize(np.array([5.0, 7.0]))
    js.write_text(json.dumps(doc))
    A.update_results_md(md, js)
    text2 = md.read_text()
    assert text2.count(A.SECTION_TITLE) == 1 and "6.00 ± 1.41" in text2 and text2.endswith("| a | b |\n")
    assert A.results_section(tmp_path / "missing.json") == []


def FitConfig_dict() -> dict:
    return dict(A.FitConfig().__dict__)


@pytest.mark.slow
def test_shipped_vae_z2_gap_is_positive_on_test_digits():
    from vae import data
    from vae.checkpoint import load_checkpoint

    model = load_checkpoint("vae-z2").model
    r = A.fit_posterior(model, data.to_float(data.load_mnist().x_test[:4]), A.FitConfig(steps=100, seed=0))
    assert (r.fitted_elbo >= r.encoder_elbo).all()
    assert r.gap.mean() > 0.05  # a trained encoder is good, but not the best q for every image
    assert (r.encoder_elbo < -10).all() and (r.encoder_elbo > -400).all()  # nats per image (a "1" costs about 40)
