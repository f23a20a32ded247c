"""A Streamlit app that answers the explorer's clicks with none of the explorer's work: the floor under a click's CPU.

Served by `python -m benchmarks.click_floor` (not part of the product). It has one page, `explorer`, whose live
`st.fragment` holds what the real page's fragment sends on a click, chosen by the FLOOR_PARTS environment variable:

- `plane`: the two live planes (this project's component, remounted with the new pinned z, as on every click) and the
  "Pinned z = (x, y)" heading that the benchmark's client checks. The least any design that reruns on a click sends.
- `elements`: every message the explorer's fragment sends on a click in its default view: the heading with its two
  number inputs in one row, the two planes with the same kinds of options, under each the three pictures (inline
  PNGs of real digits) with their captions and the PNG download, a warning when z lies outside vae-z2's view (the
  explorer warns when z is far from its codes), and the URL's new z. Every picture, caption and option is made once
  at start: a click costs Streamlit's work for these messages and nothing else (tests/test_click_floor.py checks that
  a click on either plane sends the same kinds of messages as the explorer's).

The planes carry the shipped ae-z2 and vae-z2 decoders, so a browser draws and decodes them as on the explorer
(`python -m benchmarks.explorer_browser --only-load --url ...` measures its cold load). The protocol-level client of
benchmarks.concurrent_sessions drives it unchanged: the planes' keys, their state
({"pinned": {"z", "nearest_index", "seq"}}) and the heading are the explorer's.
"""

from __future__ import annotations

import os

import numpy as np
import streamlit as st

from ui import downloads, runtime
from ui import latent_plane as lp
from ui.images import png_data_uri, tile
from vae.data import load_mnist

PARTS = os.environ.get("FLOOR_PARTS", "plane")
if PARTS not in ("plane", "elements"):
    raise SystemExit(f"FLOOR_PARTS must be 'plane' or 'elements', not {PARTS!r}")
KEYS = ("plane_ae-z2", "plane_vae-z2")  # the explorer's plane keys (ui.planes.plane_key), which the client looks for
Z_KEYS = ("floor_z1", "floor_z2")


@st.cache_resource
def _fixed() -> dict:
    """What every click shows, made once: the planes' payloads (the shipped models' decoders and codes, so that a
    browser can draw them too) and views, three pictures of real digits and their captions per panel."""
    data = load_mnist()
    payloads = {k: lp.plane_payload(k.split("_", 1)[1]) for k in KEYS}
    digit = data.x_test[0] / 255.0
    row = tile(data.x_test[:5] / 255.0, 5, pad=2)
    return {
        "payloads": {k: p.payload for k, p in payloads.items()},
        "views": {k: lp.default_view(p.codes) for k, p in payloads.items()},
        "pictures": [png_data_uri(digit, 5), png_data_uri(row, 3), png_data_uri(data.x_train[0] / 255.0, 5)],
        "captions": ["decoded here (server)", "5 nearest test codes: 1 (0.12), 7 (0.20), 1 (0.31), 4 (0.33), 9 (0.40)",
                     "nearest training image: a 1, RMS distance 0.123"],
        "digit": digit,
        "whiten": {"mean": np.zeros(2), "matrix": np.eye(2), "gap": 0.05, "far": 6.0},
    }


def _pinned_z() -> list[float]:
    """The newest click's z over both planes (each click carries a new seq), else the origin."""
    clicks = [(st.session_state.get(k) or {}).get("pinned") for k in KEYS]
    clicks = [c for c in clicks if c and isinstance(c.get("z"), list) and len(c["z"]) == 2]
    if not clicks:
        return [0.0, 0.0]
    newest = max(clicks, key=lambda c: c.get("seq") or 0)
    return [float(newest["z"][0]), float(newest["z"][1])]


def _plane(key: str, z: list[float], fixed: dict) -> None:
    lp.latent_plane(key=key, payload=fixed["payloads"][key], title=key.split("_", 1)[1], view=fixed["views"][key],
                    pinned_z=z, link_group="explorer", height=440, digit_px=224,
                    whiten=fixed["whiten"] if PARTS == "elements" else None)


@st.fragment
def live() -> None:
    fixed = _fixed()
    z = _pinned_z()
    heading = f"Pinned z = ({z[0]:.3f}, {z[1]:.3f})"
    if PARTS == "plane":
        st.subheader(heading)
        for col, key in zip(st.columns(2), KEYS):
            with col:
                _plane(key, z, fixed)
        return
    st.session_state[Z_KEYS[0]], st.session_state[Z_KEYS[1]] = z
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
    row.subheader(heading, help="Click a plane, or type a coordinate beside this and press Enter")
    for i, key in enumerate(Z_KEYS):
        row.number_input(f"z{i + 1} (Enter pins)", -100.0, 100.0, step=0.1, format="%.3f", key=key, width=170)
    for col, key in zip(st.columns(2, gap="large"), KEYS):
        with col:
            _plane(key, z, fixed)
            st.image(fixed["pictures"], caption=fixed["captions"])
            downloads.download_png("Digit (PNG)", fixed["digit"], f"{key}-decoded.png", key=f"export_{key}",
                                   factor=downloads.DIGIT_FACTOR)
    vae_view = fixed["views"][KEYS[1]]
    if not (vae_view["x"][0] <= z[0] <= vae_view["x"][1] and vae_view["y"][0] <= z[1] <= vae_view["y"][1]):
        st.warning(f"z = ({z[0]:.2f}, {z[1]:.2f}) is far outside the codes of vae-z2.")  # the explorer's far_outside
    st.query_params["z"] = f"{z[0]:.3f},{z[1]:.3f}"  # the explorer's share link follows every click (ui/share.py)


def explorer() -> None:
    live()


def home() -> None:
    st.write("The click floor's app: open the Explorer page.")


runtime.configure()
st.navigation([st.Page(home, title="Home", default=True),  # a default page is served at "/", not at its url_path
               st.Page(explorer, title="Explorer", url_path="explorer")]).run()
