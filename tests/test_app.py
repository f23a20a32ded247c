"""AppTest: the home page runs, shows both models with their manifest metrics, and survives a broken checkpoint."""

from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from vae.checkpoint import CHECKPOINT_DIR, CHECKPOINT_DIR_ENV, read_manifest

pytestmark = pytest.mark.slow
APP = str(CHECKPOINT_DIR.parent / "app.py")


def _plotly_charts(at: AppTest) -> list:
    return [el for el in at.main if el.type == "plotly_chart"]


def test_home_page_shows_both_latent_spaces_and_metrics():
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert not at.error
    assert len(_plotly_charts(at)) == 2
    vae = read_manifest(CHECKPOINT_DIR / "vae-z2")["test_metrics"]
    ae = read_manifest(CHECKPOINT_DIR / "ae-z2")["test_metrics"]
    values = {(m.label, m.value) for m in at.metric}
    assert ("reconstruction (BCE)", f"{ae['recon']:.1f} nats") in values
    assert ("\u2212ELBO", f"{vae['neg_elbo']:.1f} nats") in values
    assert ("\u2212ELBO", "undefined") in values, "the AE has no ELBO"
    assert any("device:" in md.value for md in at.sidebar.markdown)


def test_a_broken_checkpoint_shows_one_error_and_the_other_model_still_renders(tmp_path, monkeypatch):
    for name in ("ae-z2", "vae-z2"):
        shutil.copytree(CHECKPOINT_DIR / name, tmp_path / name)
    (tmp_path / "ae-z2" / "model.pt").write_bytes(b"truncated")
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert len(at.error) == 1
    message = at.error[0].value
    assert message.startswith("Cannot load ae-z2:") and "model.pt" in message and "retrain" in message
    assert len(_plotly_charts(at)) == 1, "the VAE's plane still renders"
