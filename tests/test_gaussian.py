"""The Gaussian on pixels (vae.gaussian): fit, Cholesky with jitter, sampling, log-density, checkpoints, the shipped
baseline, its rows in RESULTS.md and checkpoints/README.md, and its samples in the explorer."""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import open_explorer_tab
from vae import gaussian as G
from vae import gaussian_cli
from vae.checkpoint import (CHECKPOINT_DIR, CHECKPOINT_DIR_ENV, MANIFEST_FILE, WEIGHTS_FILE, CheckpointError,
                            load_checkpoint, save_checkpoint)
from vae.data import file_sha256

MANIFEST = {"training": {"jitter": 1e-6}, "history": [{"jitter": 1e-6, "cholesky": "ok"}],
            "test_metrics": {"log_density_nats": 1.0}, "data": {"sha256": "x", "train_images": 50},
            "versions": {"torch": torch.__version__}, "command": "python -m vae.gaussian"}


def _data(n: int = 400, d: int = 6, seed: int = 0) -> np.ndarray:
    """Correlated random 'images' (n, d) in [0, 1], with a last column that is always 0 (like MNIST's border)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, d)) @ rng.random((d, d)) / d
    x[:, -1] = 0.0
    return x


def _model(d: int = 4) -> G.PixelGaussian:
    """A known Gaussian: mean (d,), a lower-triangular L with a positive diagonal."""
    rng = np.random.default_rng(1)
    L = np.tril(rng.normal(size=(d, d)) * 0.3)
    np.fill_diagonal(L, np.abs(np.diag(L)) + 0.5)
    model = G.PixelGaussian(G.GaussianConfig(dim=d, jitter=0.0))
    model.mean.copy_(torch.from_numpy(rng.normal(size=d)))
    model.scale_tril.copy_(torch.from_numpy(L))
    return model.eval()


# --- fitting ------------------------------------------------------------------------------------------------------

def test_moments_in_chunks_equal_the_maximum_likelihood_estimates():
    x = _data()
    mu, cov = G.fit_moments(x, chunk=37)  # chunks that do not divide n
    assert np.allclose(mu, x.mean(0), atol=1e-14)
    assert np.allclose(cov, np.cov(x, rowvar=False, bias=True), atol=1e-14), "divided by n, not n - 1"


def test_cholesky_reconstructs_the_jittered_covariance_with_the_smallest_jitter_that_works():
    x = _data()
    mu, cov = G.fit_moments(x)
    assert np.linalg.eigvalsh(cov)[0] < 1e-12, "a constant pixel makes the covariance singular"
    L, jitter, tries = G.cholesky_with_jitter(cov, ladder=(0.0, 1e-6, 1e-3))
    assert jitter == 1e-6, "0 fails on the singular covariance, 1e-6 is the smallest that works"
    assert [t["cholesky"] for t in tries] == ["failed: not positive definite", "ok"]
    assert np.allclose(L, np.tril(L)) and (np.diag(L) > 0).all()
    assert np.abs(L @ L.T - (cov + 1e-6 * np.eye(len(cov)))).max() < 1e-14
    model, tries = G.fit(x)  # the default ladder; stored in float32
    assert model.config.jitter == G.JITTER_LADDER[0] and tries[-1]["cholesky"] == "ok"
    Lf = model.scale_tril.double()
    assert torch.allclose(Lf @ Lf.T, torch.from_numpy(cov + model.config.jitter * np.eye(len(cov))), atol=1e-7)
    assert model.mean.dtype == torch.float32 and model.scale_tril.dtype == torch.float32
    assert model.scale_tril[-1, -1].item() == pytest.approx(1e-3, rel=1e-5), "the constant pixel: sqrt(jitter)"


def test_a_covariance_no_jitter_repairs_raises_fit_error():
    cov = np.array([[1.0, 2.0], [2.0, 1.0]])  # eigenvalues 3 and -1
    with pytest.raises(G.FitError, match="not positive definite even with jitter 0.001"):
        G.cholesky_with_jitter(cov, ladder=(1e-6, 1e-3))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_data_is_refused(bad):
    x = _data()
    x[5, 2] = bad
    with pytest.raises(G.FitError, match="rows 0..399 hold NaN or infinite values"):
        G.fit(x)
    with pytest.raises(G.FitError, match="at least 2 images"):
        G.fit(x[:1])


def test_uint8_images_are_scaled_to_the_unit_interval():
    images = np.random.default_rng(0).integers(0, 256, (50, 28, 28), dtype=np.uint8)
    model, _ = G.fit(images)
    assert model.config.dim == 784
    assert torch.allclose(model.mean.double(), torch.from_numpy(images.reshape(50, -1).mean(0) / 255.0), atol=1e-6)


# --- sampling and density -----------------------------------------------------------------------------------------

def test_sample_mean_and_covariance_converge_to_the_model():
    model = _model()
    x = G.sample(model, 100_000, seed=3, clip=False).astype(np.float64)
    L = model.scale_tril.double().numpy()
    assert np.abs(x.mean(0) - model.mean.numpy()).max() < 0.02
    assert np.abs(np.cov(x, rowvar=False) - L @ L.T).max() < 0.03


def test_same_seed_same_samples_and_clipping():
    model = _model()
    a, b = G.sample(model, 50, seed=7, clip=False), G.sample(model, 50, seed=7, clip=False)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, G.sample(model, 50, seed=8, clip=False))
    assert np.array_equal(G.sample(model, 10, seed=7, clip=False), a[:10]), "the first draws do not depend on n"
    assert (a < 0).any() and (a > 1).any(), "the Gaussian puts mass outside [0, 1]"
    clipped = G.sample(model, 50, seed=7)
    assert clipped.min() >= 0 and clipped.max() <= 1 and np.array_equal(clipped, np.clip(a, 0, 1))
    with pytest.raises(ValueError, match="between 1 and 100000"):
        G.sample(model, 0, seed=0)


def test_784_pixel_samples_come_as_images():
    model = G.PixelGaussian(G.GaussianConfig())
    x = G.sample(model, 3, seed=0)
    assert x.shape == (3, 28, 28) and x.dtype == np.float32


def test_log_density_matches_torch_multivariate_normal():
    model = _model()
    x = torch.from_numpy(G.sample(model, 20, seed=1, clip=False)).double()
    ref = torch.distributions.MultivariateNormal(model.mean.double(), scale_tril=model.scale_tril.double())
    assert torch.allclose(model.log_prob(x), ref.log_prob(x), atol=1e-9)
    assert G.mean_log_density(model, x.numpy(), batch_size=7) == pytest.approx(ref.log_prob(x).mean().item(),
                                                                                 abs=1e-9)


def test_judge_score_counts_confident_images_label_entropy_and_fid(monkeypatch):
    images = np.zeros((4, 28, 28), np.float32)
    probs = np.array([[0.95] + [0.05 / 9] * 9, [0.5, 0.5] + [0.0] * 8, [0.0, 0.99] + [0.01 / 8] * 8,
                      [0.0, 0.92] + [0.08 / 8] * 8])
    monkeypatch.setattr(G, "predict", lambda judge, x: probs)
    monkeypatch.setattr(G, "judge_features", lambda judge, x: np.eye(4))
    score = G.judge_score(None, images, np.eye(4))
    assert score["confident"] == 0.75
    assert score["label_entropy_bits"] == pytest.approx(-(0.5 * np.log2(0.5) * 2)), "labels 0, 0, 1, 1"
    assert score["label_histogram"][:2] == [0.5, 0.5]
    assert score["fid"] == pytest.approx(0.0, abs=1e-9), "the same features: distance 0"


# --- checkpoints --------------------------------------------------------------------------------------------------

def _saved(tmp_path: Path) -> tuple[Path, G.PixelGaussian]:
    model, _ = G.fit(_data())
    return save_checkpoint(tmp_path / "gp", model, MANIFEST), model


def _rewrite_weights(folder: Path, change) -> None:
    state = torch.load(folder / WEIGHTS_FILE, weights_only=True)
    change(state)
    torch.save(state, folder / WEIGHTS_FILE)
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    manifest["weights_sha256"] = file_sha256(folder / WEIGHTS_FILE)
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))


def _rewrite_manifest(folder: Path, change) -> None:
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    change(manifest)
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))


def test_checkpoint_round_trip_restores_every_buffer(tmp_path):
    folder, model = _saved(tmp_path)
    loaded = load_checkpoint(folder)
    assert isinstance(loaded.model, G.PixelGaussian) and loaded.config == model.config
    original, restored = model.state_dict(), loaded.model.state_dict()
    assert sorted(original) == ["mean", "scale_tril"] and original.keys() == restored.keys()
    for key in original:
        assert torch.equal(original[key], restored[key]), key
    assert not loaded.model.training
    assert loaded.manifest["model"] == {"kind": "gaussian", "dim": 6, "jitter": 1e-6}
    assert np.array_equal(G.sample(loaded.model, 5, 0), G.sample(model, 5, 0))


@pytest.mark.parametrize("change,message", [
    (lambda s: s.update(scale_tril=s["scale_tril"] + torch.triu(torch.ones_like(s["scale_tril"]), 1)),
     "scale_tril is not lower-triangular"),
    (lambda s: s["scale_tril"].diagonal().mul_(-1), "diagonal entry <= 0"),
    (lambda s: s["mean"].__setitem__(0, float("nan")), "NaN or infinite"),
    (lambda s: s.update(mean=s["mean"][:5]), "size mismatch for mean"),
    (lambda s: s.pop("scale_tril"), 'Missing key\\(s\\) in state_dict: "scale_tril"'),
])
def test_corrupt_buffers_with_a_matching_hash_raise_checkpoint_error(tmp_path, change, message):
    folder, _ = _saved(tmp_path)
    _rewrite_weights(folder, change)
    with pytest.raises(CheckpointError, match=f"weights do not match the model config.*{message}"):
        load_checkpoint(folder)


def test_mismatched_or_invalid_gaussian_configs_raise_checkpoint_error(tmp_path):
    folder, _ = _saved(tmp_path)
    _rewrite_manifest(folder, lambda m: m["model"].update(dim=784))
    with pytest.raises(CheckpointError, match="weights do not match the model config"):
        load_checkpoint(folder)
    _rewrite_manifest(folder, lambda m: m["model"].update(dim=6, jitter=-1.0))
    with pytest.raises(CheckpointError, match="model config is invalid \\(jitter must be a finite number >= 0"):
        load_checkpoint(folder)
    _rewrite_manifest(folder, lambda m: m["model"].update(jitter=1e-6, rank=3))
    with pytest.raises(CheckpointError, match="Unknown pixel Gaussian config fields \\['rank'\\]"):
        load_checkpoint(folder)


def test_truncated_gaussian_weights_raise_checkpoint_error(tmp_path):
    folder, _ = _saved(tmp_path)
    data = (folder / WEIGHTS_FILE).read_bytes()
    (folder / WEIGHTS_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="does not match the sha256"):
        load_checkpoint(folder)


# --- the tables ---------------------------------------------------------------------------------------------------

def _sampling(confident, entropy, fid):
    return {"confident": confident, "label_entropy_bits": entropy, "label_histogram": [0.1] * 10, "fid": fid,
            "precision": 0.9, "holes": 0.1, "recall": 0.5, "density": 1.0, "coverage": 0.5, "class_tv": 0.1}


def test_results_table_gives_the_gaussian_its_judge_figures_and_dashes_with_footnotes():
    from vae.evaluate import GAUSSIAN_SAMPLER, NA, render
    continuity = {"path_ratio": 2.0, "max_step_share": 0.2, "jacobian_norm": 10.0, "jacobian_whitened_median": 20.0,
                  "jacobian_spikiness": 2.0, "label_changes": 2.0, "label_changes_min": 0.9,
                  "excess_label_changes": 1.1}
    results = [
        {"name": "gaussian-pixels", "kind": "gaussian", "latent_dim": 784, "beta": None, "weights_sha256": "g" * 64,
         "jitter": 1e-6, "log_density_nats": 1532.81, "sampling": {GAUSSIAN_SAMPLER: _sampling(0.26, 2.74, 775.4)}},
        {"name": "ae-z2", "kind": "ae", "latent_dim": 2, "beta": 1.0, "weights_sha256": "a" * 64,
         "test_metrics": {"recon": 125.9}, "continuity": continuity,
         "sampling": {"N(0, I)": _sampling(0.82, 2.92, 439.8), "GMM-10": _sampling(0.85, 3.3, 283.4)}},
        {"name": "vae-z2", "kind": "vae", "latent_dim": 2, "beta": 1.0, "weights_sha256": "v" * 64,
         "test_metrics": {"recon": 128.0, "kl": 7.1, "neg_elbo": 135.1}, "continuity": continuity,
         "sampling": {"N(0, I)": _sampling(0.81, 3.27, 332.0)},
         "likelihood": {"log_px_bound": -134.0}, "latent_usage": {"kl_per_dim": [3.6, 3.5], "active_units": 2}},
    ]
    args = argparse.Namespace(draws=10000, pairs=1000, steps=10, iwae_k=50, iwae_n=2000)
    judge = {"command": "python -m vae.judge", "test_metrics": {"accuracy": 0.99}, "weights_sha256": "j" * 64}
    text = render(results, judge, args, 1.0)
    assert f"| `gaussian-pixels` | {NA} | 784 | {GAUSSIAN_SAMPLER} | 26.0% | 2.74 | 775.40 |" in text
    assert f"| `gaussian-pixels` | {NA} | 784 | {NA} | {NA} | {NA} |" in text, "continuity does not apply"
    assert f"| `gaussian-pixels` | {NA} | 784 | {NA} | {NA} | {NA} | {NA} | {NA} | {NA} |" in text
    assert text.count(f"\n{NA}: does not apply.") == 3, "one footnote under each table"
    assert "1532.8 nats per image" in text and "not comparable" in text
    assert "judge is confident on 26.0% of its samples (AE under N(0, I) 82.0%, VAE 81.0%)" in text
    assert ("best to worst: the VAE, the AE under N(0, I), the Gaussian on pixels" in text)
    assert f"| `gaussian-pixels` | `{'g' * 64}` |" in text


def test_checkpoint_readme_lists_the_gaussian(tmp_path):
    from vae.report import render
    model, _ = G.fit(_data())
    manifest = {**MANIFEST, "training": {"judge_draws": 10000}, "train_seconds": 1.5,
                "test_metrics": {"log_density_nats": 12.345, "confident": 0.26, "label_entropy_bits": 2.74,
                                 "fid": 775.44}}
    save_checkpoint(tmp_path / "gaussian-pixels", model, manifest)
    text = render(tmp_path)
    assert ("The baseline `gaussian-pixels` (one multivariate Gaussian over the 784 pixels, samples x = L z + \u03bc "
            "with L L^T = \u03a3 + 1e-06 I, fitted to 50 training images in 1.5 s)") in text
    assert "confident on 26.0% of 10,000 samples" in text and "internal FID 775.4" in text
    assert "12.3 nats per image" in text
    assert "# gaussian-pixels\npython -m vae.gaussian\n" in text


# --- the shipped baseline (real data) -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped():
    return load_checkpoint(G.NAME)


@pytest.fixture(scope="module")
def mnist():
    from vae.data import load_mnist
    return load_mnist()


@pytest.mark.slow
def test_shipped_checkpoint_is_the_fit_its_command_makes(shipped, mnist):
    m = shipped.manifest
    assert shipped.path == CHECKPOINT_DIR / G.NAME
    words = shlex.split(m["command"])
    assert words[:3] == ["python", "-m", "vae.gaussian"]
    args = gaussian_cli.build_parser().parse_args(words[3:])
    assert args.out == f"checkpoints/{G.NAME}"
    assert (args.train_subset, args.draws, args.seed) == (m["data"]["train_images"], m["training"]["judge_draws"],
                                                          m["training"]["judge_seed"])
    from vae.data import DEFAULT_PATH
    assert m["data"]["sha256"] == file_sha256(DEFAULT_PATH)
    assert shipped.config.jitter == m["training"]["jitter"] == m["history"][-1]["jitter"]
    assert (CHECKPOINT_DIR / G.NAME / WEIGHTS_FILE).stat().st_size < 3_000_000, "small enough to commit"
    refit, tries = G.fit(mnist.x_train[:args.train_subset])
    assert tries == m["history"]
    assert torch.allclose(refit.mean, shipped.model.mean, atol=1e-7)
    assert torch.allclose(refit.scale_tril, shipped.model.scale_tril, atol=1e-5)


@pytest.mark.slow
def test_shipped_manifest_metrics_reproduce(shipped, mnist):
    from vae.judge import features
    t = shipped.manifest["test_metrics"]
    assert G.mean_log_density(shipped.model, mnist.x_test) == pytest.approx(t["log_density_nats"], abs=1e-3)
    judge = load_checkpoint("judge").model
    n = 2000  # the first 2,000 of the manifest's 10,000 draws (the same seed gives the same first draws)
    score = G.judge_score(judge, G.sample(shipped.model, n, shipped.manifest["training"]["judge_seed"]),
                          features(judge, mnist.x_test))
    assert score["confident"] == pytest.approx(t["confident"], abs=0.03)
    assert score["label_entropy_bits"] == pytest.approx(t["label_entropy_bits"], abs=0.1)
    assert score["fid"] == pytest.approx(t["fid"], rel=0.05)
    assert t["confident"] < 0.5, "the lesson: most samples of one Gaussian on pixels are not digits"


@pytest.mark.slow
def test_cli_refuses_bad_arguments_and_a_missing_judge(tmp_path, monkeypatch, capsys):
    assert gaussian_cli.main(["--train-subset", "1", "--out", str(tmp_path / "x")]) == 2
    assert "--train-subset must be in 2..60000" in capsys.readouterr().err
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path))
    assert gaussian_cli.main(["--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "checkpoint folder not found" in err and "python -m vae.judge --out checkpoints/judge" in err
    assert not (tmp_path / "x").exists()


# --- the explorer -------------------------------------------------------------------------------------------------

def _explorer(timeout: int = 180):
    from streamlit.testing.v1 import AppTest
    return AppTest.from_file(str(CHECKPOINT_DIR.parent / "pages" / "explorer.py"), default_timeout=timeout)


def _captions(app) -> list[str]:
    return [img.caption for el in app.get("image") for img in el.proto.imgs]


@pytest.mark.slow
def test_explorer_samples_tab_shows_the_gaussian_beside_the_models():
    app = open_explorer_tab(_explorer().run(), "samples")
    assert not app.exception
    app.slider(key="samples_m").set_value(12).run()
    assert not app.exception
    captions = _captions(app)
    gauss = [c for c in captions if c.startswith("Gaussian on pixels: x = L z + \u03bc")]
    assert len(gauss) == 1, captions
    assert sum(c.endswith(": z ~ N(0, I)") for c in captions) == 2, "and the two models' samples"
    notice = [c.value for c in app.caption if c.value.startswith("Notice: these samples have the training digits'")]
    m = load_checkpoint(G.NAME).manifest
    share = f"(the judge is sure of only {m['test_metrics']['confident']:.0%} of {m['training']['judge_draws']:,})"
    assert len(notice) == 1 and share in notice[0], notice
    downloads = [d for d in app.get("download_button") if d.proto.id.endswith("export_samples_gaussian-pixels")]
    assert len(downloads) == 1 and downloads[0].proto.label == "Samples (PNG)"
    assert not app.info


@pytest.mark.slow
def test_explorer_says_how_to_fit_a_missing_gaussian(tmp_path, monkeypatch):
    for name in ("ae-z2", "vae-z2"):
        shutil.copytree(CHECKPOINT_DIR / name, tmp_path / name)
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path))
    app = open_explorer_tab(_explorer().run(), "samples")
    assert not app.exception
    notes = [i.value for i in app.info]
    assert notes == ["No Gaussian baseline here: the checkpoint gaussian-pixels is missing; fit it with "
                     "`python -m vae.gaussian` (a few seconds)."]
    assert not any(c.startswith("Gaussian on pixels") for c in _captions(app))
    assert sum(c.endswith(": z ~ N(0, I)") for c in _captions(app)) == 2, "the models' samples still show"
