"""The amortization gap on the explorer: a selected digit's q fitted on the server, beside the encoder's."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from vae.checkpoint import CHECKPOINT_DIR

pytestmark = pytest.mark.slow
EXPLORER = str(CHECKPOINT_DIR.parent / "pages" / "explorer.py")


def _metric(app: AppTest, label: str) -> float:
    (m,) = [m for m in app.metric if m.label == label]
    return float(m.value.split()[0])


def test_fit_button_shows_both_elbos_the_gap_and_the_fitted_ellipse():
    app = AppTest.from_file(EXPLORER, default_timeout=180).run()
    app.session_state["plane_vae-z2"] = {"pinned": {"z": [0.4, -0.3], "nearest_index": 7, "seq": 1}}
    app.run()
    assert not app.exception
    assert not [m for m in app.metric if m.label == "amortization gap"], "nothing is fitted before the button"
    app.button(key="amort_fit_vae-z2").click().run()
    assert not app.exception, app.exception
    encoder, fitted, gap = (_metric(app, k) for k in ("encoder's q: ELBO", "fitted q: ELBO", "amortization gap"))
    assert fitted >= encoder and gap == pytest.approx(fitted - encoder, abs=0.011) and gap >= 0
    assert -400 < encoder < -10
    fit = app.session_state["amortization_fit"]
    assert fit["model"] == "vae-z2" and fit["index"] == 7 and len(fit["curve"]) == fit["steps"] + 1
    captions = [img.caption for el in app.get("image") for img in el.proto.imgs]
    assert "decoded at the encoder's \u03bc" in captions and "decoded at the fitted mean" in captions


def test_ellipse_helper_follows_the_session_fit(monkeypatch):
    import streamlit as st

    from ui import amortization
    from vae.checkpoint import load_checkpoint

    ckpt = load_checkpoint("vae-z2")
    fake = {"model": "vae-z2", "index": 5, "mu": [0.1, 0.2], "logvar": [-6.0, -5.0]}
    monkeypatch.setattr(st, "session_state", {"amortization_fit": fake})
    got = amortization.ellipses(ckpt, 5)
    assert [e["label"] for e in got] == ["fitted q 1\u03c3", "fitted q 2\u03c3"]
    assert max(got[0]["x"]) == pytest.approx(0.1 + 1 * (2.718281828 ** -3), rel=1e-3)
    assert amortization.ellipses(ckpt, 6) == [], "another digit: nothing drawn"
