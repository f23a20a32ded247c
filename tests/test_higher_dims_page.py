"""AppTest of the Higher dimensions page: samples under three samplers with scores, the live slices, New plane and
New draws, and bad input (the same digit twice, a missing model) answered with one line.

Runs on two untrained 20-D models of the shipped architecture saved to a temporary folder (with the shipped judge):
what is tested is the page, not the training."""

from __future__ import annotations

import re

import pytest
import torch
from streamlit.testing.v1 import AppTest

from vae import checkpoint as ckpt_mod
from vae.models import ModelConfig, build_model

pytestmark = pytest.mark.slow
PAGE = str(ckpt_mod.CHECKPOINT_DIR.parent / "pages" / "higher_dims.py")


def _save(folder, name: str, kind: str) -> None:
    torch.manual_seed(len(name))
    model = build_model(ModelConfig(kind=kind, latent_dim=20, hidden=(512, 256))).eval()
    manifest = {"training": {}, "history": [], "test_metrics": {}, "data": {}, "versions": {},
                "command": "tests/test_higher_dims_page.py (random weights)"}
    ckpt_mod.save_checkpoint(folder / name, model, manifest)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hd-checkpoints")
    _save(folder, "ae-z20", "ae")
    _save(folder, "vae-z20", "vae")
    (folder / "judge").symlink_to(ckpt_mod.CHECKPOINT_DIR / "judge", target_is_directory=True)
    return folder


@pytest.fixture
def at(folder, monkeypatch) -> AppTest:
    monkeypatch.setenv(ckpt_mod.CHECKPOINT_DIR_ENV, str(folder))
    app = AppTest.from_file(PAGE, default_timeout=600).run()
    assert not app.exception
    return app


def _captions(app: AppTest) -> list[str]:
    return [c.value for c in app.caption]


def _centre_distances(app: AppTest) -> list[str]:
    return [m.group(1) for c in _captions(app) if (m := re.search(r"centre is ([\d.]+) code SDs", c))]


def test_page_shows_both_models_under_three_samplers_with_scores_and_two_slices(at):
    assert not at.error
    captions = [img.caption for el in at.get("image") for img in el.proto.imgs]
    for sampler in ("N(0, I)", "Gaussian fitted to its codes", "10-component GMM fitted to its codes"):
        assert f"AE (ae-z20): z ~ {sampler}" in captions
        assert f"VAE (vae-z20): z ~ {sampler}" in captions
    scores = [m.value for m in at.markdown if m.value.startswith("judge-confident")]
    assert len(scores) == 6
    for s in scores:
        shares = [float(x) for x in re.findall(r"\*\*(\d+)%\*\*", s)]
        assert len(shares) >= 2 and all(0 <= x <= 100 for x in shares), s
    assert len(at.get("bidi_component")) == 2, "one live slice per model"
    assert len(_centre_distances(at)) == 2


def test_new_plane_moves_the_slice_and_new_draws_changes_the_samples(at):
    before = _centre_distances(at)
    images = [img.url for el in at.get("image") for img in el.proto.imgs]
    at.button(key="hd_new_plane").click().run()
    assert not at.exception and not at.error
    assert at.session_state["hd_slice_seed"] == 1
    assert _centre_distances(at) != before
    at.button(key="hd_new_draws").click().run()
    assert not at.exception
    assert at.session_state["hd_samples_seed"] == 1
    assert [img.url for el in at.get("image") for img in el.proto.imgs] != images


def test_other_planes_and_bad_input(at):
    at.radio(key="hd_slice_kind").set_value("code").run()
    assert not at.exception and not at.error
    assert any("a = 0 is the digit's code" in c for c in _captions(at))
    at.radio(key="hd_slice_kind").set_value("codes").run()
    at.number_input(key="hd_slice_digit").set_value(7).run()
    at.number_input(key="hd_slice_other").set_value(7).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["This slice cannot be drawn: the two test digits are the same one: one code "
                                           "twice spans no plane; pick two different digits."]
    assert len(at.get("bidi_component")) == 0
    at.number_input(key="hd_slice_other").set_value(8).run()
    assert not at.exception and not at.error
    assert len(at.get("bidi_component")) == 2


def test_a_missing_model_is_named_and_the_other_still_shows(folder, tmp_path, monkeypatch):
    (tmp_path / "vae-z20").symlink_to(folder / "vae-z20", target_is_directory=True)
    (tmp_path / "judge").symlink_to(folder / "judge", target_is_directory=True)
    monkeypatch.setenv(ckpt_mod.CHECKPOINT_DIR_ENV, str(tmp_path))
    app = AppTest.from_file(PAGE, default_timeout=600).run()
    assert not app.exception
    assert any(w.value.startswith("ae-z20 is not available") for w in app.warning)
    assert len(app.get("bidi_component")) == 1


def test_score_line_shows_the_evaluations_figures_with_the_seeds_spread(monkeypatch):
    from types import SimpleNamespace

    from ui import higher_dims as hd

    summary = {"sampling": {"N(0, I)": {"confident": 0.05, "precision": 0.99, "coverage": 0.02, "class_tv": 0.36}},
               "seeds": {"N(0, I)/confident": {"mean": 0.06, "std": 0.02, "n": 3},
                         "N(0, I)/coverage": {"mean": 0.03, "std": 0.01, "n": 3}}}
    monkeypatch.setattr(hd, "measured", lambda name: summary)
    line = hd.score_line(SimpleNamespace(name="ae-z20"), "prior")
    assert line.startswith("judge-confident **6%** \u00b1 2% \u00b7 on the data (precision) **99%** \u00b7 "
                           "test digits reached (coverage) **3%** \u00b1 1% \u00b7 class imbalance (TV) **0.36**")
    assert "mean \u00b1 SD over 3 training seeds" in line
    summary["seeds"] = {}
    assert "(this checkpoint; `python -m vae.evaluate`" in hd.score_line(SimpleNamespace(name="ae-z20"), "prior")


def test_short_score_line_for_the_projector_keeps_each_figure_with_its_name(monkeypatch):
    from types import SimpleNamespace

    from ui import higher_dims as hd

    summary = {"sampling": {"GMM-10": {"confident": 0.41, "precision": 0.9, "coverage": 0.3, "class_tv": 0.12}},
               "seeds": {"GMM-10/confident": {"mean": 0.4, "std": 0.03, "n": 3}}}
    monkeypatch.setattr(hd, "measured", lambda name: summary)
    line = hd.score_line(SimpleNamespace(name="ae-z20"), "gmm", short=True)
    assert line == ("confident\u00a0**40%**\u00a0\u00b1\u00a03% \u00b7 precision\u00a0**90%** \u00b7 "
                    "coverage\u00a0**30%** \u00b7 class\u00a0TV\u00a0**0.12**")
    assert "vae.evaluate" in hd.score_line(SimpleNamespace(name="ae-z20"), "gmm"), "the long line names its source"


def test_projector_mode_shows_one_view_at_a_time(folder, monkeypatch):
    from ui import state as S

    monkeypatch.setenv(ckpt_mod.CHECKPOINT_DIR_ENV, str(folder))
    app = AppTest.from_file(PAGE, default_timeout=600)
    app.session_state[S.PROJECTOR] = True
    app.run()
    assert not app.exception and not app.error
    assert len(app.get("bidi_component")) == 2, "the live slice first"
    assert not [img for el in app.get("image") for img in el.proto.imgs], "and no samples under it"
    assert [c.value for c in app.caption][0].startswith("Map: distance to the nearest code"), "the map's key"
    app.button(key="hd_new_plane").click().run()
    assert app.session_state["hd_slice_seed"] == 1
    app.session_state["hd_slice_kind"] = "codes"
    app.session_state["hd_slice_other"] = 3  # the same digit twice: one line, the page stays up
    app.run()
    assert not app.exception
    assert [e.value for e in app.error] == ["This slice cannot be drawn: the two test digits are the same one: one "
                                            "code twice spans no plane; pick two different digits."]
    app.session_state["hd_view"] = "samples"
    app.session_state["hd_sampler"] = "gmm"
    app.run()
    assert not app.exception and len(app.get("bidi_component")) == 0
    captions = [img.caption for el in app.get("image") for img in el.proto.imgs]
    assert captions == ["AE (ae-z20): z ~ 10-component GMM fitted to its codes",
                        "VAE (vae-z20): z ~ 10-component GMM fitted to its codes"]
    scores = [m.value for m in app.markdown if m.value.startswith("confident\u00a0")]
    assert len(scores) == 2
