"""Test harness for the live latent plane (tests/test_latent_plane_browser.py): two linked planes and their state.

Checkpoints come from $LATENT_EXPLORER_CHECKPOINTS when set (the test writes small models there), else checkpoints/.
$LATENT_PLANE_MODELS picks them (default "ae-z2,vae-z2"); $LATENT_PLANE_BROKEN=1 adds a plane with a damaged payload.
Run it by hand with `streamlit run tests/apps/latent_plane_app.py`.
"""

from __future__ import annotations

import os

import numpy as np
import streamlit as st

from ui import latent_plane as lp
from ui import resources, runtime
from vae.latent import covariance_ellipse, posterior_samples

st.set_page_config(page_title="Latent plane harness", layout="wide")
runtime.configure()
st.session_state["runs"] = st.session_state.get("runs", 0) + 1

names = os.environ.get("LATENT_PLANE_MODELS", "ae-z2,vae-z2").split(",")
st.subheader("Live latent planes: hover to decode in the browser, click to pin")
columns = st.columns(len(names), gap="large")
for column, name in zip(columns, names):
    key = f"plane_{name}"
    with column:
        built = lp.plane_payload(name)
        if built.error:
            st.error(f"{name}: {built.error}")
            continue
        state_pinned = (st.session_state.get(key) or {}).get("pinned")
        ellipses, overlay = [], None
        if state_pinned and state_pinned.get("nearest_index") is not None:
            i = state_pinned["nearest_index"]
            mu, logvar = resources.encoded(name)
            if logvar is not None:  # q(z|x) of the digit next to the click, and draws z = mu + sigma * eps
                cov = np.diag(np.exp(logvar[i]))
                for n_sigma in (1, 2):
                    x, y = covariance_ellipse(mu[i], cov, n_sigma)
                    ellipses.append({"x": x, "y": y, "label": "q(z|x): 1\u03c3, 2\u03c3" if n_sigma == 2 else None,
                                     "color": "#d62728", "dash": n_sigma == 2})
                overlay = {"xy": posterior_samples(mu[i], logvar[i], 8, seed=0), "color": "#000000"}
        state = lp.latent_plane(
            key=key, payload=built.payload, title=name, view=lp.default_view(built.codes),
            extra_ellipses=ellipses, overlay_points=overlay,
            pinned_z=state_pinned["z"] if state_pinned else None, link_group="harness", height=460)
        pinned = state["pinned"]
        if pinned:
            st.text(f"{key}: pinned z = ({pinned['z'][0]:.6f}, {pinned['z'][1]:.6f}) "
                    f"nearest = {pinned['nearest_index']} seq = {pinned['seq']}")
        else:
            st.text(f"{key}: pinned z = none")

if os.environ.get("LATENT_PLANE_BROKEN") == "1":
    good = lp.plane_payload(names[0]).payload or b""
    lp.latent_plane(key="plane_broken", payload=good[:5000], title="damaged payload", height=300)
st.text(f"runs = {st.session_state['runs']}")
