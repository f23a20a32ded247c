"""Cached models and data. Models are shared across sessions: pages only run them under torch.inference_mode()."""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import streamlit as st

from vae import checkpoint as ckpt_mod
from vae.data import DataError, load_mnist
from vae.device import pick_device
from vae.latent import EncodedSet, encode_images


@dataclass(frozen=True)
class LoadResult:
    checkpoint: ckpt_mod.Checkpoint | None
    error: str | None


STAMP_TTL_S = 1.0  # a checkpoint's files are looked at once a second at most: a click asks for its stamps ten times
_STAMPS: dict[tuple, tuple[float, float]] = {}  # (name, folders) -> (when looked at, monotonic s; its stamp)


def _file_stamp(folder: Path) -> float:
    try:
        stats = [p.stat() for p in (folder / ckpt_mod.MANIFEST_FILE, folder / ckpt_mod.WEIGHTS_FILE)]
    except OSError:
        return -1.0
    return max(max(s.st_mtime, s.st_ctime) for s in stats)


def stamp(name: str) -> float:
    """The newest change (modification or inode change) time of a checkpoint's files: a retrained, repaired or
    copied checkpoint gets a new cache entry. -1 when a file is missing, so that no cached model stands in for a
    checkpoint that cannot be loaded (the loader raises, and errors are not cached).

    Kept per folder for STAMP_TTL_S, so a change shows within a second; a missing file is looked for again at once.
    A name's folder depends only on the two folders' environment variables (vae.checkpoint.resolve), so the key is
    made of those, without building the path.
    """
    if isinstance(name, Path) or "/" in name or os.sep in name:  # a path, not a name: looked at every time
        return _file_stamp(ckpt_mod.resolve(name))
    key = (name, os.environ.get(ckpt_mod.CHECKPOINT_DIR_ENV), os.environ.get(ckpt_mod.SCRATCH_DIR_ENV))
    now = time.monotonic()
    hit = _STAMPS.get(key)
    if hit is not None and now - hit[0] < STAMP_TTL_S:
        return hit[1]
    value = _file_stamp(ckpt_mod.resolve(name))
    if value >= 0:
        if len(_STAMPS) > 256:  # folders of many sessions' models: start again rather than grow
            _STAMPS.clear()
        _STAMPS[key] = (now, value)
    return value


T = TypeVar("T")
KEPT_SIZE = 128  # values kept by `kept`, oldest dropped first (a few per model version)
_KEPT: OrderedDict[tuple, object] = OrderedDict()
_KEPT_LOCK = threading.Lock()


def kept(what: str, name: str, make: Callable[[float], T]) -> T:
    """`make(stamp)`, made once per (what, version of checkpoint `name`) in this process and shared by every session.

    For values read on every click: a st.cache_data lookup hashes its arguments and copies the value back (0.1 ms
    for a model's 10,000 codes), more than the work it saves. A retrained checkpoint gets a new entry (its stamp);
    no client can clear these (see ui/runtime.py). Values must not be changed by their users (arrays are kept
    read-only).
    """
    key = (what, name, stamp(name))
    with _KEPT_LOCK:
        if key in _KEPT:
            return _KEPT[key]
    value = make(key[2])
    with _KEPT_LOCK:
        _KEPT[key] = value
        while len(_KEPT) > KEPT_SIZE:
            _KEPT.popitem(last=False)
    return value


def read_only(a: np.ndarray) -> np.ndarray:
    """`a` itself, made read-only: a value shared by every session cannot be changed by one of them by mistake."""
    a.flags.writeable = False
    return a


@st.cache_resource(show_spinner="Picking a device")
def device() -> str:
    return str(pick_device())


@st.cache_resource(show_spinner="Loading model", max_entries=32)
def _load_checkpoint(name: str, stamp: float, device_name: str) -> ckpt_mod.Checkpoint:
    return ckpt_mod.load_checkpoint(name, device=device_name)


def load_model(name: str) -> LoadResult:
    """The checkpoint `name`, loaded once per server on the picked device; an error message instead of raising."""
    try:
        return LoadResult(_load_checkpoint(name, stamp(name), device()), None)
    except ckpt_mod.CheckpointError as e:
        return LoadResult(None, f"{ckpt_mod.display_path(e.path)}: {e.problem}")


def _fingerprint() -> tuple:
    """The checkpoint folder as far as a scan is concerned: its path, and each entry's manifest and weights (size and
    modification time). Any save, repair or damage changes it."""
    root = ckpt_mod.checkpoint_dir()
    entries = []
    if root.is_dir():
        for folder in sorted(root.iterdir()):
            files = []
            for f in (folder / ckpt_mod.MANIFEST_FILE, folder / ckpt_mod.WEIGHTS_FILE):
                try:
                    st_ = f.stat()
                    files.append((st_.st_size, st_.st_mtime_ns, st_.st_ctime_ns))
                except OSError:
                    files.append(None)
            entries.append((folder.name, folder.is_dir(), *files))
    return str(root), tuple(entries)


@st.cache_data(show_spinner="Checking the checkpoints", max_entries=16)
def _scan(fingerprint: tuple, names: tuple[str, ...] | None) -> ckpt_mod.Scan:
    return ckpt_mod.scan(names=names, load=lambda name: _load_checkpoint(name, stamp(name), device()))


def checkpoint_scan(names: tuple[str, ...] | None = None) -> ckpt_mod.Scan:
    """vae.checkpoint.scan() of the checkpoint folder (or of `names` in it), through the model cache; scanned again
    only when a checkpoint's files change."""
    return _scan(_fingerprint(), tuple(names) if names is not None else None)


def show_unusable(broken: list[tuple[str, str]]) -> None:
    """One caption for each checkpoint that exists but cannot be used: its name and why, naming the file (a page
    that would offer it lists it, so that nothing disappears without a word)."""
    for name, reason in broken:
        st.caption(f"Not offered: {name}: {reason}")


@st.cache_resource(show_spinner="Loading MNIST")
def _mnist():
    return load_mnist()


def mnist():
    """The offline MNIST arrays, or None after showing the one-line error that says how to restore them."""
    try:
        return _mnist()
    except DataError as e:
        st.error(str(e))
        return None


@st.cache_data(show_spinner="Encoding the 10,000 test digits", max_entries=64)
def encoded_test_set(name: str, stamp: float, device_name: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Posterior means (and log-variances) of the test digits under the checkpoint `name`."""
    model = _load_checkpoint(name, stamp, device_name).model
    enc: EncodedSet = encode_images(model, _mnist().x_test)
    return enc.mu, enc.logvar


def encoded(name: str) -> tuple[np.ndarray, np.ndarray | None]:
    return encoded_test_set(name, stamp(name), device())
