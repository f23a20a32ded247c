"""The Import a model page in headless Chromium: a notebook VAE's state_dict goes through the server's real upload
endpoint, is imported, and its live plane is decoded in the browser on the Explorer; a file over the limit is
refused before anything reaches the importer."""

from __future__ import annotations

import pytest
import torch

from test_import_model import NotebookVAE
from tests.conftest import start_app, stop_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import os

    from vae import checkpoint as ckpt_mod

    scratch = tmp_path_factory.mktemp("scratch")
    saved = os.environ.get(ckpt_mod.SCRATCH_DIR_ENV)
    os.environ[ckpt_mod.SCRATCH_DIR_ENV] = str(scratch)
    try:
        proc, url = start_app()
    finally:
        if saved is None:
            os.environ.pop(ckpt_mod.SCRATCH_DIR_ENV, None)
        else:
            os.environ[ckpt_mod.SCRATCH_DIR_ENV] = saved
    yield url, scratch
    stop_app(proc)


@pytest.fixture
def page(browser, server):
    page = browser.new_page()
    page.set_viewport_size({"width": 1500, "height": 1300})
    page.goto(f"{server[0]}/import_model")
    page.get_by_text("No model imported in this session yet.").wait_for(timeout=120_000)
    yield page
    page.close()


def test_an_uploaded_notebook_vae_is_imported_and_decoded_on_the_explorer(page, server, tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "vae.pt"
    torch.save(NotebookVAE(hidden_dim=64, latent_dim=2).state_dict(), path)
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(path))
    page.get_by_text("Imported your imported VAE 784-64-2 (vae.pt).").wait_for(timeout=60_000)
    assert any(p.name.startswith("session-import-") for p in server[1].iterdir())
    page.get_by_role("link", name="Explore it").click()
    page.wait_for_function("() => { const h = window.__latentPlane; return h && Object.keys(h).some("
                           "(k) => k.includes('session-import-') && h[k].lastDecode); }", timeout=120_000)
    assert page.get_by_text("Show the models you imported on the Import a model page").count() == 1


def test_a_file_over_the_limit_is_refused_by_the_uploader(page, server, tmp_path):
    big = tmp_path / "big.pt"
    big.write_bytes(b"\0" * (10 * 2**20 + 1))
    before = sorted(p.name for p in server[1].iterdir())
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(big))
    page.get_by_text("File must be 10.0MB or smaller.").wait_for(timeout=30_000)
    assert page.get_by_text("No model imported in this session yet.").count() == 1
    assert sorted(p.name for p in server[1].iterdir()) == before
