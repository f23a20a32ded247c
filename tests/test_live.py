"""Live training (vae.live): requests, the pool's limit, cancel, reproducibility against the CLI's fit, saving."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from vae import checkpoint as ckpt_mod
from vae import live
from vae.data import load_mnist
from vae.train import fit


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


@pytest.fixture(autouse=True)
def scratch(tmp_path, monkeypatch):
    monkeypatch.setenv(ckpt_mod.SCRATCH_DIR_ENV, str(tmp_path / "scratch"))
    monkeypatch.setenv(ckpt_mod.CHECKPOINT_DIR_ENV, str(tmp_path / "checkpoints"))
    (tmp_path / "checkpoints").mkdir()
    return tmp_path


@pytest.mark.parametrize("kwargs, message", [
    (dict(kinds=()), "Pick the AE, the VAE or both"),
    (dict(kinds=("vae", "vae")), "Pick the AE, the VAE or both"),
    (dict(kinds=("gan",)), "Pick the AE, the VAE or both"),
    (dict(beta=float("nan")), "beta must be a number from 0 to 100"),
    (dict(beta=-1.0), "beta must be a number from 0 to 100"),
    (dict(train_subset=50), "100 to 60,000 images"),
    (dict(train_subset=70000), "100 to 60,000 images"),
    (dict(epochs=0), "Epochs must be 1 to 50"),
    (dict(latent_dim=3), "2-D latent space"),
])
def test_bad_requests_are_refused_with_a_message(kwargs, message):
    with pytest.raises(live.LiveError, match=message):
        live.TrainRequest(**kwargs)


@pytest.mark.slow  # trains on the real MNIST images
def test_a_job_records_curves_history_and_one_snapshot_per_epoch_then_keeps_both_models(mnist):
    pool = live.TrainingPool(max_jobs=2)
    job = pool.submit(live.TrainRequest(kinds=("ae", "vae"), train_subset=1536, epochs=2, seed=1), mnist)
    assert pool.join(job, timeout=120)
    assert job.state == "done", job.error
    assert job.fraction() == 1.0 and job.batches_done == job.batches_total == 2 * 2 * 12
    for kind in ("ae", "vae"):
        assert [row["epoch"] for row in job.copy_history()[kind]] == [1, 2]
        snaps = job.all_snapshots(kind)
        assert len(snaps) == 2 and snaps[0].shape == (live.SNAPSHOT_DIGITS, 2)
        assert not np.array_equal(snaps[0], snaps[1])  # the codes moved during the second epoch
        curve = job.copy_curves()[kind]
        # 12 batches an epoch: a point after batches 5 and 10 (means of 5) and at the epoch's end (mean of 2)
        assert curve.x == pytest.approx([5 / 12, 10 / 12, 1.0, 1 + 5 / 12, 1 + 10 / 12, 2.0])
        assert curve.recon[-1] < curve.recon[0]
        loaded = ckpt_mod.load_checkpoint(job.models[kind])
        assert loaded.config.kind == kind and loaded.config.latent_dim == 2
        assert "--threads 1" in loaded.manifest["command"] and "--out checkpoints/NAME" in loaded.manifest["command"]
    assert job.copy_curves()["ae"].kl == [0.0] * len(job.copy_curves()["ae"].kl)  # an AE has no KL term
    assert all(k > 0 for k in job.copy_curves()["vae"].kl)
    np.testing.assert_array_equal(job.snapshot_labels, mnist.y_test[:live.SNAPSHOT_DIGITS])


@pytest.mark.slow  # trains on the real MNIST images
def test_app_training_gives_the_same_weights_as_the_command_line_fit(mnist):
    """Alternating the AE's and the VAE's epochs in one thread must not change either: each run owns its random
    streams. So the manifest's command reproduces an app-trained model exactly (same thread count)."""
    request = live.TrainRequest(kinds=("ae", "vae"), train_subset=300, epochs=2, seed=7, beta=2.0)
    pool = live.TrainingPool(max_jobs=1)
    job = pool.submit(request, mnist)
    assert pool.join(job, timeout=120) and job.state == "done", job.error
    for kind in ("ae", "vae"):
        reference, history = fit(request.model_config(kind), request.train_config(kind), mnist, log=lambda _: None)
        app_model = ckpt_mod.load_checkpoint(job.models[kind]).model
        for (name, a), b in zip(reference.state_dict().items(), app_model.state_dict().values()):
            assert torch.equal(a, b), f"{kind}: {name} differs"
        assert history[-1]["test_recon"] == pytest.approx(job.copy_history()[kind][-1]["test_recon"])


@pytest.mark.slow  # trains on the real MNIST images
def test_cancel_stops_within_a_batch_keeps_what_was_drawn_and_frees_the_slot(mnist):
    pool = live.TrainingPool(max_jobs=1)
    job = pool.submit(live.TrainRequest(kinds=("vae",), train_subset=60000, epochs=50), mnist)
    deadline = time.monotonic() + 60
    while job.batches_done < live.CURVE_EVERY + 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    with pytest.raises(live.PoolBusy, match="already running 1 training, its limit"):
        pool.submit(live.TrainRequest(kinds=("ae",), train_subset=200, epochs=1), mnist)
    t0 = time.monotonic()
    job.cancel()
    assert pool.join(job, timeout=30)
    assert time.monotonic() - t0 < 5
    assert job.state == "cancelled" and job.models == {}
    assert live.CURVE_EVERY < job.batches_done < job.batches_total
    assert len(job.copy_curves()["vae"].x) >= 1  # the curve so far stays
    second = pool.submit(live.TrainRequest(kinds=("ae",), train_subset=200, epochs=1), mnist)
    assert pool.join(second, timeout=60) and second.state == "done"


@pytest.mark.slow  # trains on the real MNIST images
def test_busy_message_says_when_a_slot_should_free_up(mnist):
    pool = live.TrainingPool(max_jobs=1)
    job = pool.submit(live.TrainRequest(kinds=("vae",), train_subset=60000, epochs=5), mnist)
    try:
        deadline = time.monotonic() + 60
        while job.fraction() < 0.021 and time.monotonic() < deadline:
            time.sleep(0.05)
        message = pool.busy_message()
        assert "LATENT_EXPLORER_MAX_TRAININGS" in message and "should finish in about" in message
        assert "your settings are kept" in message
    finally:
        job.cancel()
        pool.join(job, timeout=30)


def test_max_jobs_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(live.MAX_JOBS_ENV, "5")
    assert live.TrainingPool().max_jobs == 5
    for bad in ("0", "-3", "many", ""):
        monkeypatch.setenv(live.MAX_JOBS_ENV, bad)
        assert live.TrainingPool().max_jobs == live.DEFAULT_MAX_JOBS


@pytest.mark.slow  # trains on the real MNIST images
def test_a_session_model_becomes_a_checkpoint_only_when_saved(mnist, scratch):
    pool = live.TrainingPool()
    job = pool.submit(live.TrainRequest(kinds=("vae",), train_subset=200, epochs=1, beta=4.0), mnist)
    assert pool.join(job, timeout=60) and job.state == "done"
    assert ckpt_mod.available() == []  # nothing in checkpoints/ yet
    path = live.save_to_checkpoints(job.models["vae"], "class-vae")
    assert path == scratch / "checkpoints" / "class-vae" and ckpt_mod.available() == ["class-vae"]
    saved = ckpt_mod.load_checkpoint("class-vae")
    assert saved.manifest["name"] == "class-vae"
    assert saved.manifest["command"].endswith("--threads 1 --out checkpoints/class-vae")
    assert "--beta 4 " in saved.manifest["command"] and saved.manifest["training"]["train_subset"] == 200
    session = ckpt_mod.load_checkpoint(job.models["vae"])
    for a, b in zip(session.model.state_dict().values(), saved.model.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(live.LiveError, match="already exists"):
        live.save_to_checkpoints(job.models["vae"], "class-vae")
    for bad in ("", "Big Name", "../escape", "x" * 80, "session-mine"):
        with pytest.raises(live.LiveError):
            live.save_to_checkpoints(job.models["vae"], bad)
    assert ckpt_mod.available() == ["class-vae"]


@pytest.mark.slow  # trains on the real MNIST images
def test_discard_removes_a_jobs_unsaved_models_but_not_its_saved_checkpoint(mnist, scratch):
    pool = live.TrainingPool()
    job = pool.submit(live.TrainRequest(kinds=("ae", "vae"), train_subset=200, epochs=1), mnist)
    assert pool.join(job, timeout=60) and job.state == "done"
    live.save_to_checkpoints(job.models["ae"], "kept-ae")
    folders = [ckpt_mod.resolve(n) for n in job.models.values()]
    assert all(f.is_dir() for f in folders)
    live.discard(job)
    assert job.models == {} and not any(f.exists() for f in folders)
    assert ckpt_mod.load_checkpoint("kept-ae").config.kind == "ae"


# --- the limit holds whatever a client does; a session that ends gives its slot back ------------------------------

def _wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


@pytest.mark.slow  # trains on the real MNIST images
def test_a_session_that_ends_has_its_training_cancelled_and_its_slot_freed(mnist):
    present = {"tab-a", "tab-b"}
    pool = live.TrainingPool(max_jobs=1, is_alive=present.__contains__, grace_seconds=0.5, watch_seconds=0.1)
    long = live.TrainRequest(kinds=("vae",), train_subset=60000, epochs=50)
    job = pool.submit(long, mnist, owner="tab-a")
    try:
        time.sleep(1.0)  # the owner is there: the watcher leaves the training alone
        assert job.running and not job.cancel_event.is_set()
        with pytest.raises(live.PoolBusy):
            pool.submit(live.TrainRequest(kinds=("ae",), train_subset=200, epochs=1), mnist, owner="tab-b")
        present.discard("tab-a")  # the tab closed
        t0 = time.monotonic()
        assert pool.join(job, timeout=30) and job.state == "cancelled"
        assert 0.5 <= time.monotonic() - t0 < 10, "cancelled after the grace period, not before"
        assert job.cancel_reason == "its session ended (no connection to it for 0.5 s)"
        second = pool.submit(live.TrainRequest(kinds=("ae",), train_subset=200, epochs=1), mnist, owner="tab-b")
        assert pool.join(second, timeout=60) and second.state == "done"
    finally:
        job.cancel()
        pool.join(job, timeout=30)


@pytest.mark.slow  # trains on the real MNIST images
def test_a_session_that_comes_back_within_the_grace_period_keeps_its_training(mnist):
    present = {"tab-a"}
    pool = live.TrainingPool(max_jobs=1, is_alive=present.__contains__, grace_seconds=60, watch_seconds=0.05)
    job = pool.submit(live.TrainRequest(kinds=("vae",), train_subset=60000, epochs=50), mnist, owner="tab-a")
    try:
        present.discard("tab-a")
        time.sleep(0.5)
        present.add("tab-a")  # reconnected
        time.sleep(0.3)
        assert job.running and not job.cancel_event.is_set()
    finally:
        job.cancel()
        pool.join(job, timeout=30)


@pytest.mark.slow  # trains on the real MNIST images
def test_an_ended_sessions_unsaved_models_are_deleted_after_the_keep_time(mnist):
    present = {"tab-c"}
    pool = live.TrainingPool(is_alive=present.__contains__, grace_seconds=1, keep_seconds=100, watch_seconds=3600)
    job = pool.submit(live.TrainRequest(kinds=("ae",), train_subset=200, epochs=1), mnist, owner="tab-c")
    assert pool.join(job, timeout=60) and job.state == "done"
    folder = ckpt_mod.resolve(job.models["ae"])
    assert pool.reap(now=0.0) == [] and folder.is_dir()
    present.clear()
    assert pool.reap(now=1000.0) == [] and folder.is_dir()  # gone since 1000 s
    assert pool.reap(now=1099.0) == [] and folder.is_dir()
    assert pool.reap(now=1100.0) == [job] and not folder.exists() and job.models == {}


@pytest.mark.slow  # trains on the real MNIST images
def test_one_session_runs_one_training_even_when_its_page_forgot_the_first(mnist):
    """Streamlit's clear_cache also empties the sender's session_state: the pool, not the page, must refuse."""
    pool = live.TrainingPool(max_jobs=3)
    job = pool.submit(live.TrainRequest(kinds=("vae",), train_subset=60000, epochs=50), mnist, owner="tab-a")
    try:
        with pytest.raises(live.LiveError, match="A training is already running in this session"):
            pool.submit(live.TrainRequest(kinds=("ae",), train_subset=200, epochs=1), mnist, owner="tab-a")
    finally:
        job.cancel()
        pool.join(job, timeout=30)
    again = pool.submit(live.TrainRequest(kinds=("ae",), train_subset=200, epochs=1), mnist, owner="tab-a")
    assert pool.join(again, timeout=60) and again.state == "done"


def test_the_shared_pool_is_one_object_per_process(monkeypatch):
    monkeypatch.setattr(live, "_shared", None)
    first = live.shared_pool(device="cpu")
    assert live.shared_pool(device="cuda") is first and first.device == "cpu"


def test_grace_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(live.GRACE_ENV, "2.5")
    assert live.TrainingPool().grace_seconds == 2.5
    for bad in ("-1", "nan", "inf", "soon", ""):
        monkeypatch.setenv(live.GRACE_ENV, bad)
        assert live.TrainingPool().grace_seconds == live.DEFAULT_GRACE_SECONDS


# --- saving: one name, two students at once ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained(mnist, tmp_path_factory):
    """One finished AE+VAE job whose scratch folder outlives the per-test scratch fixture."""
    scratch = tmp_path_factory.mktemp("kept-scratch")
    old = os.environ.get(ckpt_mod.SCRATCH_DIR_ENV)
    os.environ[ckpt_mod.SCRATCH_DIR_ENV] = str(scratch)
    try:
        pool = live.TrainingPool()
        job = pool.submit(live.TrainRequest(kinds=("ae", "vae"), train_subset=200, epochs=1), mnist)
        assert pool.join(job, timeout=60) and job.state == "done"
        return {kind: str(scratch / name) for kind, name in job.models.items()}
    finally:
        if old is None:
            del os.environ[ckpt_mod.SCRATCH_DIR_ENV]
        else:
            os.environ[ckpt_mod.SCRATCH_DIR_ENV] = old


@pytest.mark.slow  # trains on the real MNIST images
def test_two_saves_of_one_name_at_the_same_moment_one_wins_the_other_is_told(trained, scratch):
    for attempt in range(10):
        name = f"class-vae-{attempt}"
        barrier = threading.Barrier(2)
        outcomes = {}

        def save(kind: str) -> None:
            barrier.wait()
            try:
                outcomes[kind] = live.save_to_checkpoints(trained[kind], name)
            except live.LiveError as e:
                outcomes[kind] = e

        threads = [threading.Thread(target=save, args=(kind,)) for kind in ("ae", "vae")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        saved = [k for k, v in outcomes.items() if isinstance(v, Path)]
        refused = [str(v) for v in outcomes.values() if isinstance(v, live.LiveError)]
        assert len(saved) == 1 and len(refused) == 1, outcomes
        assert refused[0] == (f"checkpoints/{name} already exists: pick another name, e.g. {name}-2 (nothing was "
                              "overwritten).")
        loaded = ckpt_mod.load_checkpoint(name)  # sha256 checked
        assert loaded.config.kind == saved[0] and loaded.manifest["name"] == name
    assert ckpt_mod.scan().broken == []


def test_the_suggested_name_is_the_next_free_one(scratch):
    for name in ("my-vae", "my-vae-2", "my-vae-3"):
        (scratch / "checkpoints" / name).mkdir()
    assert live.free_name("my-vae") == "my-vae-4" and live.free_name("other") == "other"
    (scratch / "checkpoints" / ("x" * 63)).mkdir()
    assert live.free_name("x" * 63) == "x" * 58 + "-2"
    assert live.NAME_PATTERN.match(live.free_name("x" * 63))


@pytest.mark.slow  # trains on the real MNIST images
@pytest.mark.parametrize("name", ["data", "docs", "ui", "vae", "pages", "tests", "benchmarks", "checkpoints"])
def test_names_of_repository_folders_are_saved_and_loaded_in_checkpoints(trained, scratch, monkeypatch, name):
    monkeypatch.chdir(ckpt_mod.REPO_ROOT)
    path = live.save_to_checkpoints(trained["vae"], name)
    assert path == scratch / "checkpoints" / name
    assert ckpt_mod.load_checkpoint(name).path == path and ckpt_mod.scan().usable == [name]
