"""The live latent explorer: AE beside VAE, decoded in the browser under the pointer, pinned z checked on the server."""

from __future__ import annotations

import numpy as np
import streamlit as st

from ui import panels, resources, runtime
from ui import state as S
from ui.planes import new_click, plane_for
from vae.latent import check_z

AE_NAME, VAE_NAME = "ae-z2", "vae-z2"
Z_LIMIT = 100.0  # typed z beyond this is refused: the AE's codes reach tens, the VAE's a few units

st.set_page_config(page_title="Explorer \u00b7 Latent Explorer", page_icon="\u2728", layout="wide")
runtime.route_through_app()
runtime.configure()
S.init_state()

st.title("Explorer")
st.markdown(
    "Move the pointer over a plane: the digit beside it is decoded **in your browser** from the z under the pointer, "
    "every frame. Arrow keys nudge z, Enter or a click **pins** it (the server then decodes it too, as a check, and "
    "looks for its nearest neighbours). Clicking on a test digit also **selects** it: the VAE shows its posterior "
    "q(z|x) as 1\u03c3 and 2\u03c3 ellipses. With *same z* on, one cursor decodes the same z through both models."
)

data = resources.mnist()
loaded = {name: resources.load_model(name) for name in (AE_NAME, VAE_NAME)}
for name, result in loaded.items():
    if result.error:
        st.error(f"Cannot load {name}: {result.error}")
models = [r.checkpoint for r in loaded.values() if r.checkpoint is not None]
if data is None or not models:
    st.stop()

def _pin(z, source: str) -> bool:
    """Pin z if it is finite and in range; otherwise keep the last good z and say why."""
    try:
        good = check_z(np.asarray(z, dtype=np.float64), 2, limit=Z_LIMIT)[0]
    except (ValueError, TypeError) as e:
        st.session_state[S.NOTICE] = f"Ignored z from {source}: {e} The last pinned z is kept."
        return False
    st.session_state[S.PINNED_Z] = [float(good[0]), float(good[1])]
    st.session_state[S.Z_INPUT[0]], st.session_state[S.Z_INPUT[1]] = float(good[0]), float(good[1])
    return True


def _pin_from_inputs() -> None:
    _pin([st.session_state[S.Z_INPUT[0]], st.session_state[S.Z_INPUT[1]]], "the number inputs")


for ckpt in models:  # clicks since the last run: applied before anything is drawn
    click = new_click(ckpt)
    if click is not None and _pin(click.get("z"), "the plane"):
        idx = click.get("nearest_index")
        if isinstance(idx, int) and 0 <= idx < len(data.y_test):
            st.session_state[S.SELECTED] = idx
            st.session_state[S.SHOW_EPS] = False

notice = st.session_state[S.NOTICE]
if notice:
    st.warning(notice)
    st.session_state[S.NOTICE] = None

top = st.columns([2, 2, 3])
top[0].toggle("Same z in both models", key=S.LINKED,
              help="Hovering one plane decodes the same z through the other model too")


with top[1]:
    st.caption("Keyboard path to z (press Enter to pin):")
zc = top[2].columns(2)
zc[0].number_input("z\u2081", -Z_LIMIT, Z_LIMIT, step=0.1, format="%.3f", key=S.Z_INPUT[0], on_change=_pin_from_inputs)
zc[1].number_input("z\u2082", -Z_LIMIT, Z_LIMIT, step=0.1, format="%.3f", key=S.Z_INPUT[1], on_change=_pin_from_inputs)

cols = st.columns(len(models), gap="large")
for col, ckpt in zip(cols, models):
    with col:
        plane_for(ckpt, data.y_test)

z = st.session_state[S.PINNED_Z]
st.subheader(f"Pinned z = ({z[0]:.3f}, {z[1]:.3f})")
panels.pinned_panel(models, z)

selected = st.session_state[S.SELECTED]
if selected is not None:
    st.subheader(f"Selected test digit #{selected}")
    panels.selected_panel(models, selected)

st.divider()
st.subheader("Continuity and completeness")
grid_tab, interp_tab, samples_tab = st.tabs(["Manifold grid", "Interpolation", "Prior samples"])
with grid_tab:
    panels.grid_panel(models)
with interp_tab:
    panels.interpolation_panel(models)
with samples_tab:
    panels.samples_panel(models)
