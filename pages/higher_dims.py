"""Higher dimensions: a 20-D AE beside a 20-D VAE, where the VAE's completeness shows: prior samples under three
samplers with their scores, and a live 2-D slice through the 20-D latent space decoded under the pointer.

In projector mode the page is a presentation: one view at a time (the live slice or the samples), chosen at the top,
each with its controls in one row and fitting the window; the notes wait below it."""

from __future__ import annotations

import streamlit as st

from ui import higher_dims as hd
from ui import importer, projector, resources, runtime
from ui import state as S
from vae import samplers
from vae import slice as sl

HD_LATENT_DIM = 20  # ae-z20 and vae-z20: an imported VAE takes vae-z20's place when its z has this size

st.set_page_config(page_title="Higher dimensions \u00b7 Latent Explorer", page_icon="\u2728", layout="wide")
runtime.route_through_app()
runtime.configure()
S.init_state()
hd.init_state()
on = projector.is_on()

INTRO = ("In 2-D both models fill their plane with clean digits, because a small MLP decoder draws *some* digit "
         "everywhere. In **20 dimensions** the difference the KL term makes is large: the AE's codes sit far from "
         "where N(0, I) puts its mass, so its prior samples are faint broken strokes, while the VAE's are digits. "
         "Below, the same draws go through `ae-z20` and `vae-z20` (same architecture, seed and recipe; only the KL "
         "term differs).")
SLICE_INTRO = ("A plane z = z\u2080 + a\u00b7u + b\u00b7v through the 20 dimensions, decoded **in your browser** "
               "under the pointer, for both models at once (the other plane follows with a dashed crosshair). Beside "
               "each digit: how far that z is from the model's nearest code, in standard deviations of its own codes.")

# presentation: small gaps between the page's parts, so the view's controls, key and planes fit one screen
page = st.container(gap="xsmall" if on else "small")
with page:
    if on:  # presentation: the title and the view chooser share one row under the header
        head = st.columns([1, 1.3], vertical_alignment="center")
        head[0].title("Higher dimensions")
        view = head[1].segmented_control("View", list(hd.VIEWS), key=hd.VIEW, format_func=hd.VIEWS.get,
                                         required=True, label_visibility="collapsed")
    else:
        st.title("Higher dimensions")
        st.markdown(INTRO)
        view = None  # both, one under the other

vae_name = hd.VAE_NAME
mine = importer.newest_with_latent_dim(HD_LATENT_DIM)  # a VAE imported on the Import a model page, when 20-D


def import_toggle() -> None:
    st.toggle(f"Put {mine.label} in place of {hd.VAE_NAME}", key=S.HD_USE_IMPORT,
              help="The same draws and slices go through your model beside the AE")


if mine is not None:
    if not on:
        with page:
            import_toggle()
    if st.session_state.get(S.HD_USE_IMPORT):  # in projector mode the switch waits at the bottom
        vae_name = mine.name
ckpts, errors = hd.models(vae_name)
for e in errors:
    page.warning(e)
data = resources.mnist()
if data is None or not ckpts:
    st.stop()


def new_draws() -> None:
    st.session_state[hd.SAMPLES_SEED] += 1


def new_plane() -> None:
    st.session_state[hd.SLICE_SEED] += 1


SAMPLES_CAPTION = (f"{hd.SHOWN} draws per model and sampler, the same \u03b5 for both models. {{norms}}. Numbers: "
                   "the judge's share of confident digits, the share of samples whose judge features fall near a real "
                   "test digit (precision, k = 3; 1 \u2212 precision are the holes), the share of test digits with a "
                   "sample near them (coverage) and the total variation distance of their label histogram from the "
                   "test set's (class TV; 0 = balanced).")


# --- prior samples ------------------------------------------------------------------------------------------------
def samples_normal() -> None:
    st.subheader("Samples under three samplers")
    c1, c2 = st.columns([4, 1])
    c1.caption(SAMPLES_CAPTION.format(norms=hd.norm_note(ckpts)))
    c2.button("New draws", key="hd_new_draws", on_click=new_draws)
    seed = st.session_state[hd.SAMPLES_SEED]
    for kind, name in samplers.SAMPLERS.items():
        st.markdown(f"**z ~ {name}**")
        for col, ckpt in zip(st.columns(len(ckpts), gap="large"), ckpts):
            with col:
                st.image(hd.mosaic_png(hd.sample_mosaic(ckpt, kind, seed)), output_format="PNG", width="stretch",
                         caption=f"{hd.label(ckpt)}: z ~ {name}")
                st.markdown(hd.score_line(ckpt, kind))
    st.info(hd.SAMPLES_NOTE)


def samples_projector() -> None:
    """One sampler at a time, both models' mosaics side by side with their numbers, in the window."""
    row = st.columns([3, 1], vertical_alignment="bottom")
    kind = row[0].segmented_control("Sampler: z ~", list(samplers.SAMPLERS), key=hd.SAMPLER, required=True,
                                    persist_state="page", format_func=hd.BACKEND_SAMPLER.get)
    row[1].button("New draws", key="hd_new_draws", on_click=new_draws)
    seed = st.session_state[hd.SAMPLES_SEED]
    for col, ckpt in zip(st.columns(len(ckpts)), ckpts):
        with col:
            st.image(hd.mosaic_png(hd.sample_mosaic(ckpt, kind, seed)), output_format="PNG", width="stretch",
                     caption=f"{hd.label(ckpt)}: z ~ {samplers.SAMPLERS[kind]}")
            with st.container(key=f"hd_scores_{ckpt.config.kind}"):  # one size down (ui/projector.py)
                st.markdown(hd.score_line(ckpt, kind, short=True))
    st.caption(SAMPLES_CAPTION.format(norms=hd.norm_note(ckpts)) + " Figures: " + "; ".join(
        f"{hd.label(c)}, {hd.score_source(c, kind)}" for c in ckpts) + ".")
    st.info(hd.SAMPLES_NOTE)


# --- the live slice -----------------------------------------------------------------------------------------------
def slice_controls() -> tuple[str, int, int, str]:
    """The plane, its test digits, New plane and the map: radios in the normal layout; in projector mode one row
    of short choices, with only the digit fields the plane uses."""
    n_digits = len(data.y_test)
    if on:
        kind = st.session_state[hd.SLICE_KIND]
        # widths in px at 1280x720 (they scale with the window): the plane choices need 530, a digit field 130,
        # New plane 170, the map's drop-down 170; the prior-draw plane's row still fits with the sidebar left open
        widths = {"prior": [760, 230, 270], "code": [645, 135, 210, 270], "codes": [560, 135, 135, 200, 230]}[kind]
        k = st.columns(widths, vertical_alignment="bottom")
        kind = k[0].segmented_control("Plane", list(hd.SLICE_KINDS), key=hd.SLICE_KIND, required=True,
                                      persist_state="page", format_func=hd.SLICE_KINDS_SHORT.get, help="; ".join(
                                          f"{hd.SLICE_KINDS_SHORT[x]}: {hd.SLICE_KINDS[x]}" for x in hd.SLICE_KINDS))
        digit_cols = k[1:-2]
        index, other = st.session_state[hd.SLICE_DIGIT], st.session_state[hd.SLICE_OTHER]
        if digit_cols:
            index = digit_cols[0].number_input("Digit #", 0, n_digits - 1, step=1, key=hd.SLICE_DIGIT,
                                               persist_state="page",
                                               help="The test digit whose code the plane starts from")
        if len(digit_cols) > 1:
            other = digit_cols[1].number_input("2nd #", 0, n_digits - 1, step=1, key=hd.SLICE_OTHER,
                                               persist_state="page",
                                               help="The plane through two codes also passes through this one")
        k[-2].button("New plane", key="hd_new_plane", help="Draw another z\u2080 and other directions",
                     on_click=new_plane)
        map_kind = k[-1].selectbox("Map", list(hd.SLICE_MAPS), key=hd.SLICE_MAP, format_func=hd.SLICE_MAPS_SHORT.get,
                                    persist_state="page", help="; ".join(
                                        f"{hd.SLICE_MAPS_SHORT[x]}: {hd.SLICE_MAPS[x]}" for x in hd.SLICE_MAPS))
        return kind, index, other, map_kind
    k1, k2, k3, k4 = st.columns([3, 1.4, 1.2, 2])
    kind = k1.radio("Plane", list(hd.SLICE_KINDS), key=hd.SLICE_KIND, format_func=hd.SLICE_KINDS.get)
    index = k2.number_input("Test digit #", 0, n_digits - 1, step=1, key=hd.SLICE_DIGIT, disabled=kind == "prior",
                            help="The digit whose code the plane starts from")
    other = k2.number_input("Second test digit #", 0, n_digits - 1, step=1, key=hd.SLICE_OTHER,
                            disabled=kind != "codes", help="The plane through two codes also passes through this one")
    k3.button("New plane", key="hd_new_plane", help="Draw another z\u2080 and other directions", on_click=new_plane)
    map_kind = k4.radio("Map under the codes", list(hd.SLICE_MAPS), key=hd.SLICE_MAP, format_func=hd.SLICE_MAPS.get)
    return kind, index, other, map_kind


def live_slice() -> None:
    if not on:
        st.subheader("A live slice through the 20-D latent space")
        st.markdown(SLICE_INTRO)
    kind, index, other, map_kind = slice_controls()
    if not on:
        st.caption(hd.SLICE_NOTES[kind])
    try:
        planes = hd.planes(ckpts, kind, st.session_state[hd.SLICE_SEED], index, other)
    except sl.SliceError as e:
        st.error(f"This slice cannot be drawn: {e}.")
        return
    if on and map_kind in hd.MAP_KEYS:  # the colours' key, where the class sees the colours
        st.caption(hd.MAP_KEYS[map_kind])
    notes = []
    for col, ckpt in zip(st.columns(len(ckpts), gap="small" if on else "large"), ckpts):
        with col:
            caption = hd.slice_plane(ckpt, planes[ckpt.name], map_kind)
            warning = hd.far_warning(ckpt, planes[ckpt.name])
            if not on:  # under its plane; in projector mode below the view, where they do not push the planes
                if caption:
                    st.caption(caption)
                if warning:
                    st.warning(warning)
            notes.append((caption, warning))
    if on:  # the map's key first (the colours on the planes need it), then what the planes show
        if map_kind in hd.MAP_CAPTIONS:
            st.caption(hd.MAP_CAPTIONS[map_kind])
        st.markdown(SLICE_INTRO + " " + hd.SLICE_NOTES[kind])
        for col, (caption, warning) in zip(st.columns(len(ckpts), gap="small"), notes):
            with col:
                if caption:
                    st.caption(caption)
                if warning:
                    st.warning(warning)
    elif map_kind in hd.MAP_CAPTIONS:
        st.caption(hd.MAP_CAPTIONS[map_kind])


with page:
    if on:
        if view == "samples":
            samples_projector()
        else:
            live_slice()
        with st.expander("About this page"):
            st.markdown(INTRO)
            if mine is not None:
                import_toggle()
    else:
        samples_normal()
        live_slice()
