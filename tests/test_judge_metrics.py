"""The judge, the completeness/continuity/FID metrics and the GMM, on tiny models and synthetic data."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import tiny_config
from vae.checkpoint import load_checkpoint, save_checkpoint
from vae.judge import Judge, JudgeConfig, features, predict
from vae.metrics import (GMM, MetricError, completeness, frechet_distance, jacobian_norm, path_continuity)
from vae.models import build_model


def _judge() -> Judge:
    torch.manual_seed(0)
    return Judge(JudgeConfig(channels=(4, 8), features=16)).eval()


def test_judge_round_trip_through_the_checkpoint_reader(tmp_path):
    judge = _judge()
    manifest = {"training": {}, "history": [], "test_metrics": {"accuracy": 0.5}, "data": {}, "versions": {},
                "command": "python -m vae.judge"}
    save_checkpoint(tmp_path / "judge", judge, manifest)
    loaded = load_checkpoint(tmp_path / "judge").model
    assert isinstance(loaded, Judge) and loaded.config == judge.config
    x = torch.rand(3, 1, 28, 28)
    assert torch.equal(loaded(x), judge(x))
    probs = predict(loaded, np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8))
    assert probs.shape == (5, 10) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert features(loaded, np.zeros((2, 28, 28), np.float32)).shape == (2, 16)


def test_completeness_counts_confident_draws_and_label_entropy(monkeypatch):
    model = build_model(tiny_config("vae"))
    import vae.judge as judge_mod
    # a fake judge: confident class 3 for bright images, unsure for dark ones
    def fake_predict(judge, images):
        bright = images.reshape(len(images), -1).mean(1) > 0.5
        p = np.full((len(images), 10), 0.1)
        p[bright] = 0.0
        p[bright, 3] = 1.0
        return p
    monkeypatch.setattr(judge_mod, "predict", fake_predict)
    monkeypatch.setattr("vae.metrics._decode_all", lambda m, z: np.where(z[:, :1, None] > 0, 1.0, 0.0)
                        * np.ones((len(z), 28, 28)))
    z = np.array([[1.0, 0], [1.0, 0], [-1.0, 0], [-1.0, 0]], np.float32)
    out = completeness(model, None, z)
    assert out["confident"] == 0.5
    assert out["label_entropy_bits"] == pytest.approx(1.0), "half class 3, half class 0 (argmax of a flat row)"
    with pytest.raises(MetricError, match="number of draws"):
        completeness(model, None, np.zeros((0, 2), np.float32))


def test_path_continuity_of_a_linear_decoder_is_a_straight_morph():
    """A decoder that is linear in z before a monotone squashing still morphs almost straight; the measure's
    bounds hold: ratio >= 1 and the largest step at least 1/steps."""
    torch.manual_seed(0)
    model = build_model(tiny_config("vae")).eval()
    mu = np.random.default_rng(0).normal(size=(200, 2)).astype(np.float32)
    out = path_continuity(model, mu, pairs=50, steps=8)
    assert out["path_ratio"] >= 1.0 and out["max_step_share"] >= 1 / 8 - 1e-9
    with pytest.raises(MetricError):
        path_continuity(model, mu, pairs=0)


def test_jacobian_norm_matches_finite_differences():
    torch.manual_seed(0)
    model = build_model(tiny_config("vae")).eval()
    z = np.array([[0.3, -0.2], [1.0, 0.5]], np.float32)
    got = jacobian_norm(model, z)
    eps = 1e-3
    for i, zi in enumerate(z):
        cols = []
        for d in range(2):
            dz = np.zeros(2, np.float32)
            dz[d] = eps
            with torch.no_grad():
                hi = torch.sigmoid(model.decode(torch.from_numpy((zi + dz)[None]))).flatten()
                lo = torch.sigmoid(model.decode(torch.from_numpy((zi - dz)[None]))).flatten()
            cols.append(((hi - lo) / (2 * eps)).numpy())
        assert got[i] == pytest.approx(np.linalg.norm(np.stack(cols)), rel=1e-2)


def test_frechet_distance_of_gaussians():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(20000, 3))
    assert frechet_distance(a, rng.normal(size=(20000, 3))) < 0.01
    shifted = rng.normal(size=(20000, 3)) + np.array([2.0, 0, 0])
    assert frechet_distance(a, shifted) == pytest.approx(4.0, abs=0.1), "|m_a - m_b|^2 with equal covariances"
    scaled = rng.normal(size=(20000, 3)) * 2
    assert frechet_distance(a, scaled) == pytest.approx(3 * (1 + 4 - 2 * 2), abs=0.15)


def test_gmm_recovers_well_separated_clusters():
    rng = np.random.default_rng(1)
    centres = np.array([[-5.0, 0], [5.0, 0], [0, 6.0]])
    x = np.concatenate([rng.normal(c, 0.5, size=(1000, 2)) for c in centres])
    gmm = GMM(3, iterations=60, seed=3).fit(x)
    found = np.array(sorted(gmm.means.tolist()))
    assert np.allclose(found, np.array(sorted(centres.tolist())), atol=0.15)
    s = gmm.sample(3000, seed=0)
    assert s.shape == (3000, 2)
    assert gmm.log_likelihood(x) > GMM(1, iterations=5).fit(x).log_likelihood(x)


def test_the_judge_command_line_trains_and_writes_a_checkpoint_with_its_command(tmp_path, monkeypatch, capsys):
    """`python -m vae.judge ...` runs vae.judge_cli.main: one epoch on 300 synthetic images (not the real data)."""
    from vae import judge_cli, registry
    from vae.data import Mnist
    from vae.device import platform_info

    rng = np.random.default_rng(0)
    fake = Mnist(rng.integers(0, 256, (300, 28, 28), dtype=np.uint8), rng.integers(0, 10, 300, dtype=np.uint8),
                 rng.integers(0, 256, (50, 28, 28), dtype=np.uint8), rng.integers(0, 10, 50, dtype=np.uint8))
    monkeypatch.setattr(registry.Dataset, "load", lambda self, path=None: fake)
    assert judge_cli.main(["--epochs", "0", "--out", str(tmp_path / "j")]) == 2
    assert capsys.readouterr().err.startswith("error: epochs and batch size must be >= 1")
    argv = ["--epochs", "1", "--batch-size", "100", "--device", "cpu", "--out", str(tmp_path / "j")]
    assert judge_cli.main(argv) == 0
    loaded = load_checkpoint(tmp_path / "j")
    assert isinstance(loaded.model, Judge)
    m = loaded.manifest
    assert m["command"] == "python -m vae.judge " + " ".join(argv)
    assert m["data"]["dataset"] == "mnist" and (m["data"]["train_images"], m["data"]["test_images"]) == (300, 50)
    assert set(m["versions"]) == set(platform_info()) and len(m["history"]) == 1
