"""Test harness for the live slice (tests/test_slice_browser.py): the two 20-D slices of the higher-dimensions page.

Checkpoints ae-z20 and vae-z20 come from $LATENT_EXPLORER_CHECKPOINTS when set, else checkpoints/. $SLICE_KIND picks
the plane ("prior", "code", "codes"), $SLICE_SEED its seed, $SLICE_DIGIT the test digit; $SLICE_WHITENED_2D=ae-z2
mounts that 2-D model's plane in whitened units instead (the explorer's toggle). Run it by hand with
`streamlit run tests/apps/slice_app.py`.
"""

from __future__ import annotations

import os

import streamlit as st

from ui import higher_dims as hd
from ui import runtime

st.set_page_config(page_title="Slice harness", layout="wide")
runtime.configure()
if os.environ.get("SLICE_WHITENED_2D"):  # a 2-D model drawn in whitened units, as on the explorer
    from ui import latent_plane as lp
    from ui import maps

    name = os.environ["SLICE_WHITENED_2D"]
    built = lp.plane_payload(name)
    s = maps.spread(name)
    lp.latent_plane(key=f"white_{name}", payload=built.payload, title=name, circles=(),
                    view=lp.default_view(s.whitener(maps.cloud(name))), projection=maps.whitened_projection(name),
                    axis_labels=("w1", "w2", "w"))
    st.text("whitened plane mounted")
    st.stop()
ckpts, errors = hd.models()
for e in errors:
    st.error(e)
planes = hd.planes(ckpts, os.environ.get("SLICE_KIND", "prior"), int(os.environ.get("SLICE_SEED", "0")),
                   int(os.environ.get("SLICE_DIGIT", "3")))
for col, ckpt in zip(st.columns(len(ckpts), gap="large"), ckpts):
    with col:
        hd.slice_plane(ckpt, planes[ckpt.name], "none")
st.text("slices mounted")
