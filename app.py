"""Latent Explorer: the entry point. It names the pages and holds the home page (what an AE and a VAE learn, their
2-D latent spaces side by side)."""

from __future__ import annotations

import streamlit as st

from ui import classroom, projector, resources, runtime
from ui import state as S
from ui.plots import latent_scatter
from vae import registry

AE_NAME, VAE_NAME = "ae-z2", "vae-z2"


def home() -> None:
    st.title("Latent Explorer")
    st.markdown(
        "An **autoencoder** squeezes each 28\u00d728 MNIST digit through a 2-number code *z* and learns to rebuild it. "
        "A **variational autoencoder** (VAE) does the same with a probabilistic code: the encoder gives a Gaussian "
        "q(z|x) = N(\u03bc, \u03c3\u00b2), training samples z = \u03bc + \u03c3\u00b7\u03b5 with \u03b5 ~ N(0, I) "
        "(the reparametrization trick), and a KL term pulls every q(z|x) towards the prior p(z) = N(0, I)."
    )
    st.latex(r"\mathrm{ELBO}(x) = \underbrace{\mathbb{E}_{q(z|x)}[\log p(x|z)]}_{\text{reconstruction}}"
             r" - \beta\,\underbrace{\mathrm{KL}\big(q(z|x)\,\|\,p(z)\big)}_{\text{keeps codes near } N(0,I)}")
    st.markdown(
        "Each dot below is one of the 10,000 **test** digits, placed at its code (the VAE's \u03bc). Compare the two "
        "planes: the AE puts its codes wherever it likes, at any scale, with gaps between the digits; the VAE's KL "
        "term packs them into the prior's circles, so that a z drawn from N(0, I) lands among real digits. Click a "
        "digit in a legend to hide it, double-click to show it alone."
    )

    st.page_link("pages/explorer.py", label="Open the Explorer: move through z and watch digits morph, AE beside VAE",
                 icon="\U0001f9ed")

    data = resources.mnist()
    columns = st.columns(2, gap="large")
    for column, name, title in ((columns[0], AE_NAME, "Plain autoencoder (ae-z2)"),
                                (columns[1], VAE_NAME, "Variational autoencoder, \u03b2 = 1 (vae-z2)")):
        with column:
            loaded = resources.load_model(name)
            if loaded.error:
                st.error(f"Cannot load {name}: {loaded.error}")
                continue
            if data is None:
                continue
            mu, _ = resources.encoded(name)
            st.plotly_chart(projector.figure(latent_scatter(mu, data.y_test, title)), key=f"latent_{name}",
                            width="stretch",
                            config={"displaylogo": False, "scrollZoom": True})
            metrics = loaded.checkpoint.manifest["test_metrics"]
            cols = st.columns(3)
            cols[0].metric("reconstruction (BCE)", f"{metrics['recon']:.1f} nats",
                           help="-log p(x|z) summed over 784 pixels, mean over the 10k test digits")
            if "kl" in metrics and registry.has_posterior(loaded.checkpoint.model):
                cols[1].metric("KL(q(z|x) \u2016 p(z))", f"{metrics['kl']:.2f} nats")
                cols[2].metric("\u2212ELBO", f"{metrics['neg_elbo']:.1f} nats",
                               help="reconstruction + KL: an upper bound on -log p(x)")
            else:
                cols[1].metric("KL", "none", help="a plain AE has no prior and no KL term")
                cols[2].metric("\u2212ELBO", "undefined", help="without a posterior and a prior there is no ELBO")

    with st.sidebar:
        st.subheader("Running on")
        st.write(f"device: `{resources.device()}`")
        st.caption("Picked automatically (CUDA, then Apple MPS, then CPU); set LATENT_EXPLORER_DEVICE to override.")
        st.caption("Models: checkpoints/ae-z2 and checkpoints/vae-z2, trained by `python -m vae.train` "
                   "(see checkpoints/README.md). Data: MNIST test set, 10,000 digits.")


st.set_page_config(page_title="Latent Explorer", page_icon="\u2728", layout="wide")
runtime.configure()
S.init_state()
navigation = st.navigation([
    st.Page(home, title="Home", icon="\U0001f3e0", default=True),
    st.Page("pages/explorer.py", title="Explorer", icon="\U0001f9ed", url_path="explorer"),
    st.Page("pages/higher_dims.py", title="Higher dimensions", icon="\U0001f52d", url_path="higher_dims"),
    st.Page("pages/lesson.py", title="Lesson", icon="\U0001f393", url_path="lesson"),
    st.Page("pages/draw.py", title="Draw a digit", icon="\u270f\ufe0f", url_path="draw"),
    st.Page("pages/disentanglement.py", title="Disentanglement", icon="\U0001f9e9", url_path="disentanglement"),
    st.Page("pages/train.py", title="Train live", icon="\U0001f3cb\ufe0f", url_path="train"),
    # url_path = the file's name: a server that has not yet run app.py resolves a first visit by file name
    st.Page("pages/import_model.py", title="Import a model", icon="\U0001f4e5", url_path="import_model"),
])
projector.toggle()
classroom.sidebar()  # "Class link": how students join (make classroom)
projector.apply()
navigation.run()
