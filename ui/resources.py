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
    """The newest modification time of a checkpoint's files: a retrained checkpoint gets a new cache entry."""
    folder = ckpt_mod.resolve(name)
    times = [p.stat().st_mtime for p in (folder / ckpt_mod.MANIFEST_FILE, folder / ckpt_mod.WEIGHTS_FILE)
             if p.exists()]
    return max(times, default=0.0)


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
        return LoadResult(None, str(e))


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
