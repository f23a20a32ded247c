"""Live training for the app: an AE and/or a VAE trained in a background thread while a page watches.

A `TrainingPool` runs at most `max_jobs` trainings at once (one thread each) and refuses the next one with
`PoolBusy`, whose message says when a slot should free up: a class of thirty pressing Start together gets two
trainings and twenty-eight clear answers, not thirty trainings that each crawl. A `LiveJob` holds everything a page
draws while it runs: progress, per-batch curves of the reconstruction and KL terms, per-epoch test metrics, and a
snapshot of the latent codes of a fixed set of test digits after each epoch (the replay of how the space formed).
When both models train, their epochs alternate, so the two replays advance together. A server has one pool
(`shared_pool`), and the pool cancels the training of a session that has gone away, so a closed tab frees its slot.

Finished models wait in the checkpoint module's scratch folder under "session-..." names (so every page can load them
by name) and become checkpoints in checkpoints/ only through `save_to_checkpoints`, which creates the folder
atomically (two saves of one name: one succeeds, the other is told the name is taken).
No Streamlit here: ui/training.py draws the page.
"""

from __future__ import annotations

import functools
import math
import os
import re
import shutil
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import checkpoint as ckpt_mod
from . import registry
from .data import Mnist
from .latent import encode_images
from .models import ModelConfig
from .train import (TrainConfig, TrainingCancelled, TrainingDiverged, command_line, run_epochs,
                    training_manifest)

MAX_JOBS_ENV = "LATENT_EXPLORER_MAX_TRAININGS"  # trainings one server runs at once
DEFAULT_MAX_JOBS = 2
GRACE_ENV = "LATENT_EXPLORER_SESSION_GRACE"  # seconds a training waits for its disconnected session to come back
DEFAULT_GRACE_SECONDS = 20.0
KEEP_UNSAVED_SECONDS = 150.0  # an ended session's unsaved models go after this (Streamlit keeps a lost one 2 min)
WATCH_SECONDS = 1.0  # how often the pool asks whether the sessions that own its jobs are still there
MAX_SUBSET = 60000  # the whole MNIST training set
MAX_EPOCHS = 50
SNAPSHOT_DIGITS = 2000  # test digits whose codes are recorded after every epoch (first 2,000, all ten classes)
CURVE_EVERY = 5  # one curve point per this many batches (the mean of those batches)
KINDS = registry.EXPLORABLE_KINDS  # ("ae", "vae")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


class PoolBusy(RuntimeError):
    """All training slots are taken; the message says how many and when one should free up."""


class LiveError(ValueError):
    """A training request or a save request that cannot be carried out; the message says what to change."""


@dataclass(frozen=True)
class TrainRequest:
    kinds: tuple[str, ...] = KINDS  # which models to train, in this order: ("ae",), ("vae",) or both
    beta: float = 1.0  # weight of the KL term (the VAE only)
    train_subset: int = 10000  # the first N MNIST training images
    epochs: int = 10
    seed: int = 0
    latent_dim: int = 2  # the plane the app draws

    def __post_init__(self) -> None:
        if not self.kinds or any(k not in KINDS for k in self.kinds) or len(set(self.kinds)) != len(self.kinds):
            raise LiveError(f"Pick the AE, the VAE or both, got {self.kinds!r}.")
        if not (isinstance(self.beta, (int, float)) and math.isfinite(self.beta) and 0 <= self.beta <= 100):
            raise LiveError(f"beta must be a number from 0 to 100, got {self.beta!r}.")
        if not (isinstance(self.train_subset, int) and 100 <= self.train_subset <= MAX_SUBSET):
            raise LiveError(f"The training subset must hold 100 to {MAX_SUBSET:,} images, got {self.train_subset!r}.")
        if not (isinstance(self.epochs, int) and 1 <= self.epochs <= MAX_EPOCHS):
            raise LiveError(f"Epochs must be 1 to {MAX_EPOCHS}, got {self.epochs!r}.")
        if self.latent_dim != 2:
            raise LiveError("Live training uses a 2-D latent space, the one the planes can show.")

    def train_config(self, kind: str) -> TrainConfig:
        return TrainConfig(beta=self.beta if registry.family(kind).has_posterior else 1.0, epochs=self.epochs,
                           train_subset=self.train_subset, seed=self.seed)

    def model_config(self, kind: str) -> ModelConfig:
        return ModelConfig(kind=kind, latent_dim=self.latent_dim)  # the shipped 2-D models' MLP, 512-256

    def describe(self, kind: str) -> str:
        what = registry.label(kind) + (f" \u03b2 {self.beta:g}" if registry.family(kind).has_posterior else "")
        return f"{what}, {self.train_subset:,} images, {self.epochs} epochs, seed {self.seed}"


@dataclass
class Curve:
    """Running training terms: x in epochs (fractional), the mean recon and KL of the last CURVE_EVERY batches."""
    x: list[float] = field(default_factory=list)
    recon: list[float] = field(default_factory=list)
    kl: list[float] = field(default_factory=list)


class LiveJob:
    """One session's training: read by the page (any thread), written by the job's thread under `lock`."""

    def __init__(self, request: TrainRequest, snapshot_labels: np.ndarray):
        self.id = uuid.uuid4().hex[:10]
        self.request = request
        self.owner: str | None = None  # the id of the session that started it (None: a script or a test)
        self.cancel_reason: str | None = None  # set when something other than its own Cancel button stopped it
        self.lock = threading.Lock()
        self.cancel_event = threading.Event()
        self.state = "running"  # running, done, cancelled, failed
        self.error: str | None = None
        self.started = time.time()
        self.finished: float | None = None
        self.batches_done = 0
        self.batches_total = len(request.kinds) * request.epochs * math.ceil(request.train_subset / 128)
        self.current = ""  # e.g. "VAE, epoch 3 of 10"
        self.curves = {k: Curve() for k in request.kinds}
        self.history: dict[str, list[dict]] = {k: [] for k in request.kinds}
        self.snapshots: dict[str, list[np.ndarray]] = {k: [] for k in request.kinds}  # per epoch, (n, 2) float32
        self.snapshot_labels = snapshot_labels
        self.models: dict[str, str] = {}  # kind -> "session-..." name, once the training finished
        self.train_seconds: dict[str, float] = {}
        self._pending: dict[str, list[dict]] = {k: [] for k in request.kinds}

    # --- read side -----------------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.state == "running"

    def elapsed(self) -> float:
        return (self.finished or time.time()) - self.started

    def fraction(self) -> float:
        return min(1.0, self.batches_done / max(1, self.batches_total))

    def seconds_left(self) -> float | None:
        """Remaining time at the pace so far (None before the first few batches)."""
        done = self.fraction()
        if not self.running:
            return 0.0
        if done < 0.02:
            return None
        return self.elapsed() * (1 - done) / done

    def epochs_done(self) -> int:
        with self.lock:
            return min(len(s) for s in self.snapshots.values())

    def copy_curves(self) -> dict[str, Curve]:
        with self.lock:
            return {k: Curve(list(c.x), list(c.recon), list(c.kl)) for k, c in self.curves.items()}

    def copy_history(self) -> dict[str, list[dict]]:
        with self.lock:
            return {k: list(h) for k, h in self.history.items()}

    def snapshot(self, kind: str, epoch: int) -> np.ndarray:
        """Codes (SNAPSHOT_DIGITS, 2) of the snapshot digits after `epoch` (1-based)."""
        with self.lock:
            return self.snapshots[kind][epoch - 1]

    def all_snapshots(self, kind: str) -> list[np.ndarray]:
        with self.lock:
            return list(self.snapshots[kind])

    def cancel(self, reason: str | None = None) -> None:
        if reason and not self.cancel_event.is_set():
            self.cancel_reason = reason
        self.cancel_event.set()

    # --- write side (the job's thread) -----------------------------------------------------------------------
    def _on_batch(self, kind: str, batch: int, n_batches: int, terms: dict[str, float]) -> None:
        epoch = len(self.history[kind]) + 1  # the epoch under way: history gains its row when the epoch ends
        pending = self._pending[kind]
        pending.append(terms)
        with self.lock:
            self.batches_done += 1
            self.current = f"{registry.label(kind)}: epoch {epoch} of {self.request.epochs}, " \
                           f"batch {batch} of {n_batches}"
            if len(pending) >= CURVE_EVERY or batch == n_batches:
                curve = self.curves[kind]
                curve.x.append(epoch - 1 + batch / n_batches)
                curve.recon.append(float(np.mean([t["recon"] for t in pending])))
                curve.kl.append(float(np.mean([t["kl"] for t in pending])))
                pending.clear()

    def _on_epoch(self, kind: str, row: dict, codes: np.ndarray) -> None:
        with self.lock:
            self.history[kind].append(row)
            self.snapshots[kind].append(codes)

    def _finish(self, state: str, error: str | None = None) -> None:
        with self.lock:
            self.state = state
            self.error = error
            self.finished = time.time()


def max_jobs_from_env() -> int:
    """$LATENT_EXPLORER_MAX_TRAININGS as a positive int, else DEFAULT_MAX_JOBS."""
    text = os.environ.get(MAX_JOBS_ENV, "")
    try:
        value = int(text)
    except ValueError:
        return DEFAULT_MAX_JOBS
    return value if value >= 1 else DEFAULT_MAX_JOBS


def _busy_text(jobs: list[LiveJob]) -> str:
    left = [s for s in (j.seconds_left() for j in jobs) if s is not None]
    when = f" The first should finish in about {max(1, round(min(left)))} s." if left else ""
    return (f"The server is already running {len(jobs)} training{'s' if len(jobs) != 1 else ''}, its limit "
            f"(set {MAX_JOBS_ENV} to change it), so that training stays quick for everyone.{when} "
            "Try again then: your settings are kept.")


def grace_from_env() -> float:
    """$LATENT_EXPLORER_SESSION_GRACE as a number of seconds >= 0, else DEFAULT_GRACE_SECONDS."""
    try:
        value = float(os.environ.get(GRACE_ENV, ""))
    except ValueError:
        return DEFAULT_GRACE_SECONDS
    return value if math.isfinite(value) and value >= 0 else DEFAULT_GRACE_SECONDS


class TrainingPool:
    """At most `max_jobs` trainings at once in this process, each in its own daemon thread.

    A job may name its `owner` (the session that started it). Given `is_alive(owner) -> bool`, the pool watches the
    owners from one daemon thread: a session gone for `grace_seconds` (tab closed, connection lost and not back,
    session expired) has its training cancelled, which frees its slot, and a session gone for `keep_seconds` has its
    unsaved models deleted. An owner has one training at a time, whatever its page remembers.
    """

    def __init__(self, max_jobs: int | None = None, device: str = "cpu", data_path: str | Path | None = None,
                 is_alive: Callable[[str], bool] | None = None, grace_seconds: float | None = None,
                 keep_seconds: float = KEEP_UNSAVED_SECONDS, watch_seconds: float = WATCH_SECONDS):
        self.max_jobs = max_jobs if max_jobs is not None else max_jobs_from_env()
        self.device = device
        self.data_path = Path(data_path) if data_path is not None else registry.dataset().path  # for manifests
        self.is_alive = is_alive
        self.grace_seconds = grace_seconds if grace_seconds is not None else grace_from_env()
        self.keep_seconds = keep_seconds
        self.watch_seconds = watch_seconds
        self._lock = threading.Lock()
        self._running: list[LiveJob] = []
        self._threads: dict[str, threading.Thread] = {}
        self._owned: dict[str, LiveJob] = {}  # owner -> its latest job
        self._gone_since: dict[str, float] = {}  # owner -> when it was first seen gone (time.monotonic)
        self._watcher: threading.Thread | None = None

    def running_jobs(self) -> list[LiveJob]:
        with self._lock:
            return [j for j in self._running if j.running]

    def busy_message(self) -> str:
        with self._lock:
            return _busy_text([j for j in self._running if j.running])

    def submit(self, request: TrainRequest, mnist: Mnist, owner: str | None = None) -> LiveJob:
        """Start `request` in a new thread, or raise PoolBusy when every slot is taken (LiveError when `owner`
        already has a training running). The owner's previous job's unsaved models are deleted."""
        with self._lock:
            self._running = [j for j in self._running if j.running]
            previous = self._owned.get(owner) if owner is not None else None
            if previous is not None and previous.running:
                raise LiveError("A training is already running in this session: wait for it or cancel it before "
                                "starting another.")
            if len(self._running) >= self.max_jobs:
                raise PoolBusy(_busy_text(self._running))
            job = LiveJob(request, mnist.y_test[:SNAPSHOT_DIGITS].copy())
            job.owner = owner
            self._running.append(job)
            if owner is not None:
                self._owned[owner] = job
        if previous is not None:
            discard(previous)
        thread = threading.Thread(target=self._run, args=(job, mnist), name=f"live-training-{job.id}", daemon=True)
        self._threads[job.id] = thread
        thread.start()
        if owner is not None and self.is_alive is not None:
            self._ensure_watcher()
        return job

    def _ensure_watcher(self) -> None:
        with self._lock:
            if self._watcher is None:
                self._watcher = threading.Thread(target=self._watch, name="live-training-owners", daemon=True)
                self._watcher.start()

    def _watch(self) -> None:
        """Call reap() every watch_seconds while any job has an owner; the thread ends when none has."""
        while True:
            time.sleep(self.watch_seconds)
            try:
                self.reap()
            except Exception:  # never let the watcher die silently: log and keep watching
                traceback.print_exc()
            with self._lock:
                if not self._owned:
                    self._watcher = None
                    return

    def _alive(self, owner: str) -> bool:
        try:
            return bool(self.is_alive(owner))
        except Exception:  # an owner we cannot check is treated as present
            traceback.print_exc()
            return True

    def reap(self, now: float | None = None) -> list[LiveJob]:
        """Cancel the trainings of owners gone for grace_seconds; delete the unsaved models of owners gone for
        keep_seconds (and forget them). Returns the jobs acted on."""
        if self.is_alive is None:
            return []
        now = time.monotonic() if now is None else now
        with self._lock:
            owned = list(self._owned.items())
        acted = []
        for owner, job in owned:
            if self._alive(owner):
                self._gone_since.pop(owner, None)
                continue
            gone = now - self._gone_since.setdefault(owner, now)
            if job.running:
                if gone >= self.grace_seconds and not job.cancel_event.is_set():
                    job.cancel(f"its session ended (no connection to it for {self.grace_seconds:g} s)")
                    acted.append(job)
            elif gone >= self.keep_seconds:
                discard(job)
                with self._lock:
                    if self._owned.get(owner) is job:
                        del self._owned[owner]
                    self._gone_since.pop(owner, None)
                acted.append(job)
        return acted

    def join(self, job: LiveJob, timeout: float | None = None) -> bool:
        """Wait for a job's thread (tests and benchmarks); True when it has ended."""
        thread = self._threads.get(job.id)
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def _run(self, job: LiveJob, mnist: Mnist) -> None:
        request = job.request
        snapshot_images = mnist.x_test[:SNAPSHOT_DIGITS]
        try:
            runs = {kind: run_epochs(request.model_config(kind), request.train_config(kind), mnist, self.device,
                                     should_stop=job.cancel_event.is_set,
                                     on_batch=functools.partial(job._on_batch, kind))
                    for kind in request.kinds}
            models = {}
            for _ in range(request.epochs):  # alternate the models epoch by epoch: both replays advance together
                for kind, run in runs.items():
                    model, row = next(run)
                    with torch.inference_mode():
                        codes = encode_images(model, snapshot_images).mu.astype(np.float32)
                    job._on_epoch(kind, row, codes)
                    job.train_seconds[kind] = job.train_seconds.get(kind, 0.0) + row["seconds"]
                    models[kind] = model
            for kind, model in models.items():
                job.models[kind] = self._keep(job, kind, model, len(mnist.x_test))
            job._finish("done")
        except TrainingCancelled:
            job._finish("cancelled")
        except TrainingDiverged as e:
            job._finish("failed", f"training diverged: {e}. Try a smaller beta or another seed.")
        except Exception as e:  # the page shows the one line; the full traceback goes to the server log
            traceback.print_exc()
            job._finish("failed", f"training stopped: {type(e).__name__}: {e}")
        finally:
            with self._lock:
                self._running = [j for j in self._running if j.running]
            self._threads.pop(job.id, None)

    def _keep(self, job: LiveJob, kind: str, model: torch.nn.Module, n_test: int) -> str:
        """Write a finished model into the scratch folder; return its "session-..." name."""
        request = job.request
        name = f"{ckpt_mod.SESSION_PREFIX}{job.id}-{kind}"
        manifest = training_manifest(
            request.model_config(kind), request.train_config(kind), job.history[kind], job.train_seconds[kind],
            self.data_path, n_test, self.device,
            command_line(request.model_config(kind), request.train_config(kind), "checkpoints/NAME", threads=1))
        manifest["trained_in"] = "the app's Train page (live training, one torch thread)"
        ckpt_mod.save_checkpoint(ckpt_mod.scratch_dir() / name, model, manifest, new=True)
        return name


_shared: TrainingPool | None = None
_shared_lock = threading.Lock()


def shared_pool(device: str = "cpu", is_alive: Callable[[str], bool] | None = None) -> TrainingPool:
    """The process's one training pool, made on first use (with that call's device and is_alive).

    A module-level object, not a cache entry: nothing a client sends (Streamlit's clear_cache empties every cache)
    can replace it with a fresh pool that has all its slots free."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = TrainingPool(device=device, is_alive=is_alive)
        return _shared


def discard(job: LiveJob) -> None:
    """Remove a finished job's unsaved models from the scratch folder (a session that trains again replaces them)."""
    for name in job.models.values():
        shutil.rmtree(ckpt_mod.scratch_dir() / name, ignore_errors=True)
    job.models = {}


def free_name(name: str) -> str:
    """`name` if no folder of that name is in checkpoints/, else the first free "name-2", "name-3", ..."""
    folder = ckpt_mod.checkpoint_dir()
    if not (folder / name).exists():
        return name
    n = 2
    while (folder / f"{name[:58]}-{n}").exists():
        n += 1
    return f"{name[:58]}-{n}"


def _taken(name: str) -> LiveError:
    return LiveError(f"checkpoints/{name} already exists: pick another name, e.g. {free_name(name)} (nothing was "
                     "overwritten).")


def check_name(name: str) -> str:
    """A new checkpoint name: lower-case letters, digits, '.', '_' or '-', not taken, not a session name.

    A name is taken when any folder of that name is in checkpoints/ (a complete checkpoint or not); it is a folder
    there and nowhere else (vae.checkpoint.resolve), so "data" or "ui" are names like any other."""
    name = (name or "").strip()
    if not NAME_PATTERN.match(name):
        raise LiveError("Name the checkpoint with 1 to 63 lower-case letters, digits, '.', '_' or '-', starting "
                        f"with a letter or digit (got {name[:40]!r}).")
    if name.startswith(ckpt_mod.SESSION_PREFIX):
        raise LiveError(f"Names starting with {ckpt_mod.SESSION_PREFIX!r} are kept for unsaved models: pick another.")
    if (ckpt_mod.checkpoint_dir() / name).exists():
        raise _taken(name)
    return name


def save_to_checkpoints(session_name: str, name: str) -> Path:
    """Copy a session model into checkpoints/`name` with a manifest whose command retrains it into that folder.

    The folder is created atomically: of two saves of one name at the same moment exactly one succeeds, and the
    other gets LiveError (already exists) having written nothing."""
    name = check_name(name)
    loaded = ckpt_mod.load_checkpoint(session_name)
    manifest = {k: v for k, v in loaded.manifest.items()
                if k not in ("format_version", "name", "model", "weights_sha256")}
    manifest["command"] = manifest["command"].replace("checkpoints/NAME", f"checkpoints/{name}")
    try:
        return ckpt_mod.save_checkpoint(ckpt_mod.checkpoint_dir() / name, loaded.model, manifest, new=True)
    except ckpt_mod.NameTaken:
        raise _taken(name) from None
