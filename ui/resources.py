"""Cached models and data. Models are shared across sessions: pages only run them under torch.inference_mode()."""

from __future__ import annotations

from dataclasses import dataclass

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


def stamp(name: str) -> float:
    """The newest change (modification or inode change) time of a checkpoint's files: a retrained, repaired or
    copied checkpoint gets a new cache entry. -1 when a file is missing, so that no cached model stands in for a
    checkpoint that cannot be loaded (the loader raises, and errors are not cached)."""
    folder = ckpt_mod.resolve(name)
    try:
        stats = [p.stat() for p in (folder / ckpt_mod.MANIFEST_FILE, folder / ckpt_mod.WEIGHTS_FILE)]
    except OSError:
        return -1.0
    return max(max(s.st_mtime, s.st_ctime) for s in stats)


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
