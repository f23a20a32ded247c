"""Maps under the latent planes, computed on the server once per model and cached: where z decodes to a digit the
judge is sure of (completeness), and how fast the decoded image changes with z (continuity)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from vae import latent
from vae.judge import predict
from vae.metrics import jacobian_norm

from . import resources

JUDGE_NAME = "judge"
MAP_SIZE = 48  # grid cells per side
MAPS = {
    "none": "no map",
    "completeness": "completeness: judge's confidence in the decoded digit",
    "continuity": "continuity: how fast the digit changes with z (Jacobian norm)",
}


def judge_error() -> str | None:
    """Why the completeness map is unavailable, or None."""
    loaded = resources.load_model(JUDGE_NAME)
    return None if loaded.checkpoint else (f"the completeness map needs the judge: {loaded.error} "
                                           "(train it with `python -m vae.judge --out checkpoints/judge`)")


@st.cache_data(show_spinner="Computing the map", max_entries=64)
def _map(name: str, stamp: float, kind: str, view_x: tuple[float, float], view_y: tuple[float, float]) -> dict:
    model = resources.load_model(name).checkpoint.model
    xs = np.linspace(view_x[0], view_x[1], MAP_SIZE)
    ys = np.linspace(view_y[1], view_y[0], MAP_SIZE)  # top row first
    gx, gy = np.meshgrid(xs, ys)
    z = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
    if kind == "completeness":
        judge = resources.load_model(JUDGE_NAME).checkpoint.model
        values, vmin, vmax = predict(judge, latent.decode(model, z)).max(1), 0.1, 1.0
    else:
        values = jacobian_norm(model, z)
        vmin, vmax = 0.0, float(np.percentile(values, 99))  # a few huge cells would wash out the rest
    return {"values": values.reshape(MAP_SIZE, MAP_SIZE), "x": list(view_x), "y": list(view_y),
            "vmin": vmin, "vmax": vmax, "mean": float(values.mean())}


def plane_map(name: str, kind: str, view: dict) -> dict | None:
    """The `kind` map of checkpoint `name` over `view` ({"x": [lo, hi], "y": [lo, hi]}), or None for "none"."""
    if kind == "none" or (kind == "completeness" and judge_error()):
        return None
    return _map(name, resources.stamp(name), kind, tuple(view["x"]), tuple(view["y"]))
