"""The live latent explorer: AE beside VAE, decoded in the browser under the pointer, pinned z checked on the server."""

from __future__ import annotations

import numpy as np
import streamlit as st

from ui import amortization, importer, maps, panels, projector, resources, runtime, share
from ui import state as S
from ui.planes import WHITENED, WHITENED_NOTE, far_outside, map_explanation, new_click, plane_for, whitened
from vae import registry
from vae.latent import check_z

AE_NAME = "ae-z2"
# The 2-D family in order of beta, AE first (beta 0: no KL term): the scrubber puts one on the right-hand plane.
FAMILY = {"ae-z2": "AE", "vae-z2-beta0.1": "\u03b2 0.1", "vae-z2-beta0.5": "\u03b2 0.5", "vae-z2": "\u03b2 1",
          "vae-z2-beta2": "\u03b2 2", "vae-z2-beta4": "\u03b2 4"}
Z_LIMIT = 100.0  # typed z beyond this is refused: the AE's codes reach tens, the VAE's a few units

st.set_page_config(page_title="Explorer \u00b7 Latent Explorer", page_icon="\u2728", layout="wide")
runtime.route_through_app()
runtime.configure()
S.init_state()


def intro() -> None:
    """What the planes do; on a projector it waits folded at the bottom, so the planes come first."""
    with st.expander("How the planes work") if projector.is_on() else st.container():
        st.markdown(
            "Move the pointer over a plane: the digit beside it is decoded **in your browser** from the z under "
            "the pointer, every frame. Arrow keys nudge z, Enter or a click **pins** it (the server then decodes it "
            "too, as a check, and looks for its nearest neighbours). Clicking on a test digit also **selects** it: "
            "the VAE shows its posterior q(z|x) as 1\u03c3 and 2\u03c3 ellipses. With *same z* on, one cursor "
            "decodes the same z through both models. The wheel zooms a plane about the pointer; a double-click "
            "shows the whole view again."
        )


if not projector.is_on():  # presentation: the sidebar and the tab name the page; the planes get the room
    st.title("Explorer")
    intro()

data = resources.mnist()
family_scan = resources.checkpoint_scan(tuple(FAMILY))  # a family member that exists but cannot load is listed
family = [name for name in FAMILY if name in family_scan.usable] or ["vae-z2"]
share.sync(share.EXPLORER, share.Offer(  # a link's model must be one this page offers now
    tuple(family), "vae-z2" if "vae-z2" in family else family[-1],
    n_digits=0 if data is None else len(data.y_test), z_limit=Z_LIMIT), box_here=not projector.is_on())
if st.session_state[S.FAMILY_MODEL] not in family:
    st.session_state[S.FAMILY_MODEL] = "vae-z2" if "vae-z2" in family else family[-1]
right = st.session_state[S.FAMILY_MODEL]
left = AE_NAME
mine = importer.session_models()  # models trained on the Train live page or imported in this session
if mine and st.session_state[S.USE_SESSION_MODELS]:
    left, right = mine.get("ae", AE_NAME), mine.get("vae", right)
loaded = {name: resources.load_model(name) for name in dict.fromkeys((left, right))}
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


# (model, second) per plane: the scrubber on the AE shows it on both sides, under two keys
sides = [(models[0], False), (models[0], True)] if right == left else [(m, False) for m in models]

# presentation (projector mode): one row of controls, the map as a drop-down, so the planes fit the screen
top = st.columns([1, 1, 1, 2.1] if projector.is_on() else [2, 3])
top[0].toggle("Same z" if projector.is_on() else "Same z in both models", key=S.LINKED,
              help="Hovering one plane decodes the same z through the other model too")
(top[2].selectbox if projector.is_on() else top[0].radio)(
    "Map under the digits", list(maps.MAPS), key=S.MAP_KIND, format_func=maps.MAPS.get,
    help="Computed on the server over a 48 x 48 grid of z for each plane; dark = low, bright = high")
top[1 if projector.is_on() else 0].toggle("Whitened units" if projector.is_on() else "Both planes in whitened units",
                                          key=WHITENED,
              help="Each plane in standard deviations of its own codes, so both share one scale")
if st.session_state[S.MAP_KIND] in maps.NEEDS_JUDGE and maps.judge_error():
    st.info(f"No such map: {maps.judge_error()}.")
if mine:
    top[-1].toggle(f"Show the models you {importer.made_in_session()}", key=S.USE_SESSION_MODELS,
                  help="Off: the shipped ae-z2 and the β scrubber's model. Yours stay for this session only.")
    if st.session_state[S.USE_SESSION_MODELS]:
        top[-1].caption(" · ".join(importer.session_label(n) for n in dict.fromkeys((left, right))
                                       if n.startswith("session-")))
if len(family) > 1 and not (mine and st.session_state[S.USE_SESSION_MODELS] and "vae" in mine):
    top[-1].select_slider("\u03b2 scrubber: the right-hand plane's model" if projector.is_on() else
                          "\u03b2 scrubber: the right-hand plane's model, from the plain AE to a strong KL term",
                         family, key=S.FAMILY_MODEL, format_func=FAMILY.get,
                         help="Same seed and architecture, trained with the KL term weighted by \u03b2: watch the "
                              "codes pack into the prior's circles as \u03b2 grows")
with top[-1]:
    resources.show_unusable(family_scan.broken)


def keyboard_row(z: list[float]) -> None:
    """The pinned z and the keyboard path to it: one flex row, a layout message and three elements."""
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
    row.subheader(f"Pinned z = ({z[0]:.3f}, {z[1]:.3f})",
                  help="Click a plane, or type a coordinate beside this and press Enter (the keyboard path to z)")
    for i, label in enumerate(("z\u2081 (Enter pins)", "z\u2082 (Enter pins)")):
        row.number_input(label, -Z_LIMIT, Z_LIMIT, step=0.1, format="%.3f", key=S.Z_INPUT[i],
                         on_change=_pin_from_inputs, width=170)


def planes_row(z: list[float]) -> None:
    """Each model's live plane, and under it what the server makes of the pinned z (once per model)."""
    panels.prepare_pinned([ckpt for ckpt, second in sides if not second], z)  # both models' searches in one pass
    for col, (ckpt, second) in zip(st.columns(2, gap="large"), sides):
        with col:
            plane_for(ckpt, data.y_test, st.session_state[S.MAP_KIND], second=second)
            if not second:
                panels.pinned_block(ckpt, z)


@st.fragment
@share.syncing
def live_section() -> None:
    """Planes, keyboard path, pinned z and selected digit: a click reruns only this part of the page."""
    for ckpt, second in sides:  # clicks since the last run: applied before anything is drawn
        click = new_click(ckpt, second)
        if click is not None and _pin(click.get("z"), "the plane"):
            idx = click.get("nearest_index")
            if isinstance(idx, int) and 0 <= idx < len(data.y_test):
                st.session_state[S.SELECTED] = idx
                st.session_state[S.SHOW_EPS] = False
    notice = st.session_state[S.NOTICE]
    if notice:
        st.warning(notice)
        st.session_state[S.NOTICE] = None
    z = st.session_state[S.PINNED_Z]
    # presentation: the planes come first. No containers to hold the two rows in place: each element a run sends is
    # a message, and this part runs on every click of every session
    for row in (planes_row, keyboard_row) if projector.is_on() else (keyboard_row, planes_row):
        row(z)
    for ckpt in models:  # "same z" puts one z through both models: say when it is far outside a model's codes
        warning = far_outside(ckpt, z) if len(models) > 1 else None
        if warning:
            st.warning(warning)
    explanation = map_explanation(st.session_state[S.MAP_KIND])
    if explanation:
        st.caption(explanation)
    if whitened():
        st.caption(WHITENED_NOTE)
    selected = st.session_state[S.SELECTED]
    if selected is not None:
        st.subheader(f"Selected test digit #{selected}")
        panels.selected_panel(models, selected)
        for ckpt in [m for m in models if registry.has_posterior(m.model)][:1]:  # the right-hand VAE
            st.markdown(f"**Amortization gap** of {panels.label(ckpt)} on digit #{selected}")
            amortization.fit_panel(ckpt, selected)


live_section()

st.divider()
st.subheader("Continuity and completeness")
grid_tab, interp_tab, samples_tab = st.tabs(list(share.EXPLORER_TABS.values()), key=S.EXPLORER_TAB,
                                            on_change="rerun")  # the open tab is in the share link (`tab`)
# Only the open tab runs (Streamlit's lazy tabs): a first visit does not fetch the 4.7 MB plotly bundle that the
# interpolation tab's chart needs before the planes' own JavaScript, and a full run does a third of the work.
if grid_tab.open:
    with grid_tab:
        panels.grid_panel(models)
if interp_tab.open:
    with interp_tab:
        panels.interpolation_panel(models)
if samples_tab.open:
    with samples_tab:
        panels.samples_panel(models)

if projector.is_on():  # presentation: the page's notes and its link wait at the bottom
    intro()
    share.reserve_box()
share.update()  # the URL and the share box follow this run's state
