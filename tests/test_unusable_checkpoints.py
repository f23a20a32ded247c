"""A checkpoint folder that exists but cannot be used is listed, with the file and the reason, on the pages that would
offer it: the explorer's beta scrubber and the Draw page here (the Disentanglement page in test_disentanglement.py)."""

from __future__ import annotations

import json
import shutil
import time

import pytest
from streamlit.testing.v1 import AppTest

from ui import resources
from vae.checkpoint import CHECKPOINT_DIR, CHECKPOINT_DIR_ENV, MANIFEST_FILE

pytestmark = pytest.mark.slow  # shipped checkpoints, real MNIST
PAGES = CHECKPOINT_DIR.parent / "pages"


@pytest.fixture
def checkpoints(tmp_path, monkeypatch):
    """ae-z2, vae-z2 and the Gaussian baseline as shipped; vae-z2-beta2 whose manifest describes other layer shapes;
    vae-z2-beta4 left by an interrupted save (model.pt, no manifest); vae-z2-beta0.5 missing altogether."""
    for name in ("ae-z2", "vae-z2", "gaussian-pixels", "vae-z2-beta2", "vae-z2-beta0.1"):
        shutil.copytree(CHECKPOINT_DIR / name, tmp_path / name)
    manifest = json.loads((tmp_path / "vae-z2-beta2" / MANIFEST_FILE).read_text())
    manifest["model"]["hidden"] = [256, 128]
    (tmp_path / "vae-z2-beta2" / MANIFEST_FILE).write_text(json.dumps(manifest))
    (tmp_path / "vae-z2-beta4").mkdir()
    shutil.copy(CHECKPOINT_DIR / "vae-z2-beta4" / "model.pt", tmp_path / "vae-z2-beta4" / "model.pt")
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path))
    return tmp_path


def _listed(app: AppTest) -> dict[str, str]:
    return {c.value.split(": ", 2)[1]: c.value.split(": ", 2)[2] for c in app.caption
            if c.value.startswith("Not offered: ")}


def test_the_explorer_lists_the_family_members_it_cannot_offer(checkpoints):
    app = AppTest.from_file(str(PAGES / "explorer.py"), default_timeout=180).run()
    assert not app.exception
    assert list(app.select_slider(key="family_model").options) == ["AE", "\u03b2 0.1", "\u03b2 1"]
    listed = _listed(app)
    assert list(listed) == ["vae-z2-beta2", "vae-z2-beta4"], "a member that is simply not there is not listed"
    assert listed["vae-z2-beta2"].startswith("checkpoints/vae-z2-beta2/model.pt: weights do not match the model "
                                             "config in manifest.json (")
    assert listed["vae-z2-beta4"].startswith("checkpoints/vae-z2-beta4/manifest.json is missing (a save that was "
                                             "interrupted: it holds only model.pt)")
    assert all("\n" not in reason for reason in listed.values())

    (checkpoints / "vae-z2-beta0.1" / MANIFEST_FILE).write_text("{")  # damaged while the server runs
    time.sleep(resources.STAMP_TTL_S + 0.1)  # the page looks at a checkpoint's files once a second at most
    app.run()
    assert not app.exception
    assert list(app.select_slider(key="family_model").options) == ["AE", "\u03b2 1"]
    assert _listed(app)["vae-z2-beta0.1"].startswith("checkpoints/vae-z2-beta0.1/manifest.json: manifest is not "
                                                     "valid JSON")


def test_the_draw_page_names_the_file_of_a_model_it_cannot_load(checkpoints):
    (checkpoints / "vae-z2" / MANIFEST_FILE).unlink()
    app = AppTest.from_file(str(PAGES / "draw.py"), default_timeout=180).run()
    assert not app.exception
    errors = [e.value for e in app.error]
    assert any(e.startswith("Cannot load vae-z2: checkpoints/vae-z2/manifest.json: manifest.json is missing")
               for e in errors), errors
