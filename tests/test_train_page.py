"""AppTests of the Train live page: start, progress, scrubber, save, a second start, a full server."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from helpers import live_planes, open_explorer_tab
from vae import checkpoint as ckpt_mod
from vae.checkpoint import CHECKPOINT_DIR

pytestmark = pytest.mark.slow
APP = str(CHECKPOINT_DIR.parent / "app.py")  # through app.py's st.navigation, so the page's links resolve


@pytest.fixture(autouse=True)
def scratch(tmp_path, monkeypatch):
    monkeypatch.setenv(ckpt_mod.SCRATCH_DIR_ENV, str(tmp_path / "scratch"))
    return tmp_path


def _page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/train.py").run()
    assert not at.exception and at.title[0].value == "Train live"
    return at


def _wait(job, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while job.running and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not job.running, "the training did not end in time"


def _start(at: AppTest, kinds: str, subset: int, epochs: int) -> AppTest:
    at.radio(key="train_kinds").set_value(kinds)
    at.select_slider(key="train_subset").set_value(subset)
    at.slider(key="train_epochs").set_value(epochs)
    return at.button(key="train_start").click().run()


def test_the_page_offers_the_settings_and_waits_for_start():
    at = _page()
    assert [i.value for i in at.info] == ["Pick the settings and press **Start training**."]
    assert at.radio(key="train_kinds").options == ["AE and VAE, side by side", "VAE only", "AE only"]
    assert at.select_slider(key="train_subset").value == 10000 and at.slider(key="train_epochs").value == 10
    assert "About " in at.caption[0].value and "at most 2 trainings run on the server at once" in at.caption[0].value


def test_a_training_shows_progress_then_curves_a_scrubber_and_the_save_section(scratch, monkeypatch):
    at = _start(_page(), "both", 1000, 2)
    assert not at.exception
    job = at.session_state["train_job"]
    assert job.request.kinds == ("ae", "vae") and job.request.train_subset == 1000 and job.request.epochs == 2
    assert at.button(key="train_start").disabled, "no second start while this one runs"
    _wait(job)
    at.run()
    assert not at.exception and job.state == "done"
    assert at.success[0].value.startswith("Trained AE, 1,000 images, 2 epochs, seed 0 and VAE \u03b2 1, 1,000 images")
    scrubber = at.slider(key="train_epoch")
    assert (scrubber.min, scrubber.max, scrubber.value) == (1, 2, 2)
    captions = [c.value for c in at.caption]
    assert any(c.startswith("Epoch 2: test reconstruction") and "KL" in c for c in captions)
    scrubber.set_value(1).run()
    vae_row = job.copy_history()["vae"][0]
    assert any(c.value.startswith(f"Epoch 1: test reconstruction {vae_row['test_recon']:.1f} nats, "
                                  f"KL {vae_row['test_kl']:.2f} nats") for c in at.caption)
    assert [t.label for t in at.text_input] == ["Checkpoint name for your AE", "Checkpoint name for your VAE"]
    assert at.text_input(key="train_save_name_vae").value == f"my-vae-z2-beta1-1k-2ep-{job.id[:4]}"
    monkeypatch.setenv(ckpt_mod.CHECKPOINT_DIR_ENV, str(scratch / "checkpoints"))  # saves go there
    at.text_input(key="train_save_name_vae").set_value("Bad Name!").run()
    at.button(key="train_save_vae").click().run()
    assert "Name the checkpoint with 1 to 63 lower-case letters" in at.error[0].value
    assert not (scratch / "checkpoints").exists()
    at.text_input(key="train_save_name_vae").set_value("class-vae").run()
    at.button(key="train_save_vae").click().run()
    assert at.success[-1].value.startswith("Saved your VAE as checkpoints/class-vae")
    assert ckpt_mod.available(scratch / "checkpoints") == ["class-vae"]
    assert not at.exception
    monkeypatch.delenv(ckpt_mod.CHECKPOINT_DIR_ENV)  # the shipped checkpoints again

    at.switch_page("pages/explorer.py").run()  # the session's models, on the other pages
    assert not at.exception and at.toggle(key="use_session_models").value is True
    planes = [c.proto.id for c in live_planes(at)]
    assert len(planes) == 2 and all(job.id in p for p in planes), planes
    open_explorer_tab(at, "interpolation")  # its film strips carry each model's title
    assert any("your VAE (β 1, 1,000 images, 2 epochs)" in m.value for m in at.markdown)
    at.toggle(key="use_session_models").set_value(False).run()
    assert not any(job.id in c.proto.id for c in live_planes(at))
    at.switch_page("pages/draw.py").run()
    assert not at.exception
    assert at.toggle(key="use_session_models").label == "Use the models you trained on the Train live page"


def test_cancel_keeps_the_curves_and_says_nothing_was_saved():
    at = _start(_page(), "vae", 60000, 30)
    job = at.session_state["train_job"]
    deadline = time.monotonic() + 60
    while job.batches_done < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    at.run()
    assert at.button(key="train_cancel").label == "Cancel training"
    assert at.button(key="train_start").disabled, "a second start is refused while this one runs"
    at.button(key="train_cancel").click().run()
    _wait(job, 30)
    at.run()
    assert job.state == "cancelled" and job.models == {}
    assert at.info[0].value.startswith("Cancelled after 0 of 30 epochs")
    assert not at.exception and not at.button(key="train_start").disabled


def test_the_server_runs_two_trainings_and_tells_the_third_session_why_it_waits():
    sessions = [_page() for _ in range(3)]
    jobs = []
    try:
        for at in sessions[:2]:
            _start(at, "vae", 60000, 30)
            jobs.append(at.session_state["train_job"])
            assert jobs[-1].running
        third = _start(sessions[2], "vae", 1000, 1)
        assert third.session_state["train_job"] is None
        warning = third.warning[0].value
        assert warning.startswith("The server is already running 2 trainings, its limit")
        assert "your settings are kept" in warning
        assert third.select_slider(key="train_subset").value == 1000 and third.slider(key="train_epochs").value == 1
    finally:
        for job in jobs:
            job.cancel()
        for job in jobs:
            _wait(job, 30)
    assert [j.state for j in jobs] == ["cancelled", "cancelled"]
