"""The smaller defects of the lesson issue, each pinned by a test: the Train page's recipe text, the
Disentanglement page's promise, the interpolation chart's title on a phone, touch scrolling over plots."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from helpers import open_explorer_tab
from vae.checkpoint import CHECKPOINT_DIR, read_manifest
from vae.live import TrainRequest

ROOT = CHECKPOINT_DIR.parent
pytestmark = pytest.mark.slow


def test_train_page_states_the_architecture_it_trains_and_the_shipped_one():
    at = AppTest.from_file(str(ROOT / "pages" / "train.py"), default_timeout=120).run()
    assert not at.exception
    text = " ".join(c.value for c in at.caption)
    trained = TrainRequest().model_config("vae")
    layers = "\u2013".join(str(w) for w in (784, *trained.hidden, trained.latent_dim))
    shipped = read_manifest(CHECKPOINT_DIR / "vae-z2")
    shipped_layers = "\u2013".join(str(w) for w in (784, *shipped["model"]["hidden"], 2))
    assert f"MLP {layers}," in text
    assert f"MLP {shipped_layers}, a {shipped['training']['lr_schedule']} schedule" in text
    assert "as in the shipped models" not in text


def test_disentanglement_text_does_not_promise_style_factors():
    at = AppTest.from_file(str(ROOT / "pages" / "disentanglement.py"), default_timeout=180).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "slant, width or" not in text and "tend each to take one factor" not in text
    assert "which digit" in text


def test_interpolation_chart_title_fits_a_phone():
    at = AppTest.from_file(str(ROOT / "pages" / "explorer.py"), default_timeout=180).run()
    open_explorer_tab(at, "interpolation")  # the chart is drawn when its tab is open
    assert not at.exception
    charts = [json.loads(e.proto.spec) for e in at.get("plotly_chart")]
    titles = [c["layout"].get("title", {}).get("text", "") for c in charts]
    (title,) = [t for t in titles if "per step" in t]
    assert all(len(line) <= 34 for line in title.replace("<sup>", "").replace("</sup>", "").split("<br>"))
