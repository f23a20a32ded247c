"""Test harness for the live slice (tests/test_slice_browser.py): the two 20-D slices of the higher-dimensions page.

Checkpoints ae-z20 and vae-z20 come from $LATENT_EXPLORER_CHECKPOINTS when set, else checkpoints/. $SLICE_KIND picks
the plane ("prior", "code", "codes"), $SLICE_SEED its seed, $SLICE_DIGIT the test digit. Run it by hand with
`streamlit run tests/apps/slice_app.py`.
"""

from __future__ import annotations

import os

import streamlit as st

from ui import higher_dims as hd
from ui import runtime

st.set_page_config(page_title="Slice harness", layout="wide")
runtime.configure()
ckpts, errors = hd.models()
for e in errors:
    st.error(e)
planes = hd.planes(ckpts, os.environ.get("SLICE_KIND", "prior"), int(os.environ.get("SLICE_SEED", "0")),
                   int(os.environ.get("SLICE_DIGIT", "3")))
for col, ckpt in zip(st.columns(len(ckpts), gap="large"), ckpts):
    with col:
        hd.slice_plane(ckpt, planes[ckpt.name], "none")
st.text("slices mounted")
