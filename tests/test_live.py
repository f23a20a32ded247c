"""Live training (vae.live): requests, the pool's limit, cancel, reproducibility against the CLI's fit, saving."""

from __future__ import annotations

import time

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
