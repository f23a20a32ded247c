"""Disentanglement: how beta shapes a VAE's latent space. KL per dimension, active units, latent traversals, and
beta values side by side."""

from __future__ import annotations

import streamlit as st

from ui import disentangle as D
from ui import disentangle_figures as F
from ui import importer, resources, runtime, share
from ui import state as S

st.set_page_config(page_title="Disentanglement \u00b7 Latent Explorer", page_icon="\u2728", layout="wide")
runtime.route_through_app()
runtime.configure()
S.init_state()

st.title("Disentanglement")
st.markdown(
    "A \u03b2-VAE (Higgins et al. 2017) is a VAE whose training maximises the ELBO with its KL term scaled by "
    "**\u03b2**: reconstruction \u2212 \u03b2\u00b7KL(q(z|x) \u2016 N(0, I)); \u03b2 = 1 is the plain VAE. A larger "
    "\u03b2 makes every bit of information in z more expensive and pushes each posterior q(z|x) towards the prior "
    "N(0, I). Dimensions not worth their cost collapse onto the prior and become **inactive** (they no longer depend "
    "on the digit), so fewer dimensions carry the code, and z holds less about the digit: reconstructions get "
    "**blurrier**. Do not expect each active dimension to be one style factor here: on these MNIST models most "
    "traversal rows, at \u03b2 4 and 8 too, change **which digit** is drawn along with its slant or stroke, and a "
    "row that changes only the style of one digit is the exception. The bars show how much information (KL, in "
    "nats) each dimension carries. A **traversal** keeps "
    "one code fixed, sweeps a single dimension z\u2c7c from \u22123 to +3 (the prior's \u00b13\u03c3) and decodes "
    "every step: a disentangled dimension changes one thing about the digit along its row, and an inactive one "
    "changes nothing."
)

infos, unusable = D.vae_checkpoints()
imported = importer.disentanglement_infos()  # models imported in this session, newest first: shown first
infos = [*imported, *infos]
resources.show_unusable(unusable)  # a checkpoint that exists but cannot be used is listed, with the reason
if not infos:
    st.info("No VAE with more than 2 latent dimensions is in checkpoints/. Train one, e.g. `python -m vae.train "
            "--model vae --latent-dim 10 --beta 4 --out checkpoints/vae-z10-beta4`, then reload this page.")
    st.stop()
data = resources.mnist()
if data is None:
    st.stop()
share.sync(share.DISENTANGLEMENT, share.Offer(
    tuple(v.name for v in infos), F.default_model(infos), n_digits=len(data.y_test),
    latent_dims={v.name: v.latent_dim for v in infos}, default_compare=tuple(F.default_comparison(infos))))

if imported and st.session_state[S.DIS_MODEL] is None:  # no model chosen yet: the newest import first
    st.session_state[S.DIS_MODEL] = imported[0].name
top = st.columns([2, 3], vertical_alignment="bottom")
with top[0]:
    info = D.model_picker(infos)
loaded = resources.load_model(info.name)
stats = None
if loaded.error:
    st.error(f"Cannot load {info.name}: {loaded.error}")
else:
    stats = D.posterior_stats(info.name)
    with top[1]:
        D.totals(info, stats)

st.subheader("Traversals")
center, n_cols = D.traversal_controls(data.x_test, data.y_test)
if stats is not None:
    left, right = st.columns([3, 2], gap="large")
    with left:
        dim = D.kl_chart(info, stats)
    with right:
        D.closeup_gif(info, stats, dim, center)
    D.closeup_row(info, stats, dim, center, n_cols)
    st.markdown("#### Traversal grid")
    D.traversal_grid(info, stats, center, n_cols)

st.divider()
st.subheader("Compare \u03b2 side by side")
D.comparison(infos, center)

if stats is not None:  # what the page picked for this model: left out of the link
    share.update(top_dims={info.name: int(stats.order[0])}, n_active={info.name: stats.n_active})
else:
    share.update()
