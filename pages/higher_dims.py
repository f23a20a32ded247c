"""Higher dimensions: a 20-D AE beside a 20-D VAE, where the VAE's completeness shows: prior samples under three
samplers with their scores, and a live 2-D slice through the 20-D latent space decoded under the pointer."""

from __future__ import annotations

import streamlit as st

from ui import higher_dims as hd
from ui import importer, resources, runtime
from ui import state as S
from vae import samplers
from vae import slice as sl

HD_LATENT_DIM = 20  # ae-z20 and vae-z20: an imported VAE takes vae-z20's place when its z has this size

st.set_page_config(page_title="Higher dimensions \u00b7 Latent Explorer", page_icon="\u2728", layout="wide")
runtime.route_through_app()
runtime.configure()
S.init_state()
hd.init_state()

st.title("Higher dimensions")
st.markdown(
    "In 2-D both models fill their plane with clean digits, because a small MLP decoder draws *some* digit "
    "everywhere. In **20 dimensions** the difference the KL term makes is large: the AE's codes sit far from where "
    "N(0, I) puts its mass, so its prior samples are faint broken strokes, while the VAE's are digits. Below, the "
    "same draws go through `ae-z20` and `vae-z20` (same architecture, seed and recipe; only the KL term differs)."
)

vae_name = hd.VAE_NAME
mine = importer.newest_with_latent_dim(HD_LATENT_DIM)  # a VAE imported on the Import a model page, when 20-D
if mine is not None and st.toggle(f"Put {mine.label} in place of {hd.VAE_NAME}", key=S.HD_USE_IMPORT,
                                  help="The same draws and slices go through your model beside the AE"):
    vae_name = mine.name
ckpts, errors = hd.models(vae_name)
for e in errors:
    st.warning(e)
data = resources.mnist()
if data is None or not ckpts:
    st.stop()

# --- prior samples ------------------------------------------------------------------------------------------------
st.subheader("Samples under three samplers")
c1, c2 = st.columns([4, 1])
c1.caption(f"{hd.SHOWN} draws per model and sampler, the same \u03b5 for both models. "
           + hd.norm_note(ckpts) + ". Numbers: the judge's share of confident digits, the share of samples whose "
           "judge features fall near a real test digit (precision, k = 3; 1 \u2212 precision are the holes), the "
           "share of test digits with a sample near them (coverage) and the total variation distance of their label "
           "histogram from the test set's (0 = balanced).")
c2.button("New draws", key="hd_new_draws", on_click=lambda: st.session_state.update(
    {hd.SAMPLES_SEED: st.session_state[hd.SAMPLES_SEED] + 1}))
seed = st.session_state[hd.SAMPLES_SEED]
for kind, name in samplers.SAMPLERS.items():
    st.markdown(f"**z ~ {name}**")
    cols = st.columns(len(ckpts), gap="large")
    for col, ckpt in zip(cols, ckpts):
        with col:
            st.image(hd.mosaic_png(hd.sample_mosaic(ckpt, kind, seed)), output_format="PNG", width="stretch",
                     caption=f"{hd.label(ckpt)}: z ~ {name}")
            st.markdown(hd.score_line(ckpt, kind))
st.info(hd.SAMPLES_NOTE)

# --- the live slice -----------------------------------------------------------------------------------------------
st.subheader("A live slice through the 20-D latent space")
st.markdown(
    "A plane z = z\u2080 + a\u00b7u + b\u00b7v through the 20 dimensions, decoded **in your browser** under the "
    "pointer, for both models at once (the other plane follows with a dashed crosshair). Beside each digit: how far "
    "that z is from the model's nearest code, in standard deviations of its own codes."
)
k1, k2, k3, k4 = st.columns([3, 1.4, 1.2, 2])
kind = k1.radio("Plane", list(hd.SLICE_KINDS), key=hd.SLICE_KIND, format_func=hd.SLICE_KINDS.get)
n_digits = len(data.y_test)
index = k2.number_input("Test digit #", 0, n_digits - 1, step=1, key=hd.SLICE_DIGIT, disabled=kind == "prior",
                        help="The digit whose code the plane starts from")
other = k2.number_input("Second test digit #", 0, n_digits - 1, step=1, key=hd.SLICE_OTHER,
                        disabled=kind != "codes", help="The plane through two codes also passes through this one")
k3.button("New plane", key="hd_new_plane", help="Draw another z\u2080 and other directions",
          on_click=lambda: st.session_state.update({hd.SLICE_SEED: st.session_state[hd.SLICE_SEED] + 1}))
map_kind = k4.radio("Map under the codes", list(hd.SLICE_MAPS), key=hd.SLICE_MAP, format_func=hd.SLICE_MAPS.get)
st.caption(hd.SLICE_NOTES[kind])
try:
    planes = hd.planes(ckpts, kind, st.session_state[hd.SLICE_SEED], index, other)
except sl.SliceError as e:
    st.error(f"This slice cannot be drawn: {e}.")
    st.stop()
cols = st.columns(len(ckpts), gap="large")
for col, ckpt in zip(cols, ckpts):
    with col:
        hd.slice_plane(ckpt, planes[ckpt.name], map_kind)
        warning = hd.far_warning(ckpt, planes[ckpt.name])
        if warning:
            st.warning(warning)
if map_kind in hd.MAP_CAPTIONS:
    st.caption(hd.MAP_CAPTIONS[map_kind])
