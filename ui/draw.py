"""The draw page's panels: the models it compares and the judge, the judge's reading of a digit, and for each model
where it puts the drawn digit (its plane, its code, its reconstruction, the nearest test codes and, for a model with a
posterior, a close-up of q(z|x)). The figures are built in ui.draw_figures; whether a model has a posterior comes from
the model family registry (vae.registry)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st
import torch

from vae import latent, registry
from vae.checkpoint import Checkpoint
from vae.judge import predict
from vae.preprocess import quantize

from . import projector, resources
from .draw_figures import closeup_figure, plane_figure
from .images import png_bytes, tile
from .panels import label

AE_NAME, VAE_NAME, JUDGE_NAME = "ae-z2", "vae-z2", "judge"
CHART_CONFIG = {"displaylogo": False, "scrollZoom": True}


def reading(judge: torch.nn.Module, image: np.ndarray) -> tuple[int, float]:
    """The judge's predicted digit and its probability for one (28, 28) image: uint8 0..255 or float in [0, 1]."""
    p = predict(judge, image[None])[0]
    return int(p.argmax()), float(p.max())


def reading_text(judge: torch.nn.Module | None, image: np.ndarray) -> str:
    """"judge reads a **3** (p = 0.98)" in Markdown, or "" without a judge."""
    if judge is None:
        return ""
    digit, p = reading(judge, image)
    return f"judge reads a **{digit}** (p = {p:.2f})"


def load_models(names: Sequence[str]) -> tuple[list[Checkpoint], torch.nn.Module | None]:
    """Load the models `names` (the AE's and the VAE's) and the judge; one error line for each that cannot load.
    Returns the checkpoints that loaded, in order, and the judge's model (None when it cannot load)."""
    loaded = {name: resources.load_model(name) for name in (*names, JUDGE_NAME)}
    for name, result in loaded.items():
        if result.error:
            hint = " (train it with `python -m vae.judge --out checkpoints/judge`)" if name == JUDGE_NAME else ""
            st.error(f"Cannot load {name}: {result.error}{hint}")
    judge = loaded[JUDGE_NAME].checkpoint.model if loaded[JUDGE_NAME].checkpoint else None
    return [loaded[n].checkpoint for n in names if loaded[n].checkpoint is not None], judge


def model_panel(ckpt: Checkpoint, digit: np.ndarray, judge: torch.nn.Module | None, data) -> None:
    """Where `ckpt` puts the digit: its plane, its code, its reconstruction and the 5 nearest test codes; for a
    model with a posterior also a close-up of q(z|x)."""
    posterior = registry.has_posterior(ckpt.model)
    enc = latent.encode_images(ckpt.model, quantize(digit)[None])  # the uint8 image the page shows
    mu = enc.mu[0]
    logvar = enc.logvar[0] if posterior else None
    codes, _ = resources.encoded(ckpt.name)
    st.plotly_chart(projector.figure(plane_figure(codes, data.y_test, label(ckpt), mu, logvar)),
                    key=f"draw_plane_{ckpt.name}", width="stretch", config=CHART_CONFIG)
    st.caption("\u2605 your digit's code" + (
        "; red: its posterior q(z|x) at 1\u03c3 (solid) and 2\u03c3 (dashed), tiny at this scale (see the close-up "
        "below)" if posterior else ""))
    if posterior:
        sigma = np.exp(0.5 * logvar)
        st.markdown(f"**{label(ckpt)}**: z = \u03bc = ({mu[0]:.4f}, {mu[1]:.4f}), "
                    f"\u03c3 = ({sigma[0]:.3f}, {sigma[1]:.3f})")
    else:
        st.markdown(f"**{label(ckpt)}**: z = ({mu[0]:.4f}, {mu[1]:.4f})")
    recon = latent.decode(ckpt.model, mu[None])[0]
    near = latent.nearest(codes, mu, k=5)
    left, right = st.columns([1, 1.6])
    with left:
        st.image(png_bytes(recon, projector.digit_factor(6)), output_format="PNG",
                 caption="reconstruction: decode(\u03bc)")
        if judge is not None:
            st.markdown(f"Reconstruction: {reading_text(judge, recon)}")
        st.download_button("Reconstruction (PNG)", png_bytes(recon), file_name=f"{ckpt.name}-reconstruction.png",
                           mime="image/png", key=f"draw_download_{ckpt.name}", on_click="ignore")
    with right:
        st.image(png_bytes(tile(data.x_test[near] / 255.0, 5, pad=2), projector.digit_factor(3)),
                 output_format="PNG", caption="5 nearest test codes: " + ", ".join(
                     f"{data.y_test[i]} ({np.linalg.norm(codes[i] - mu):.2f})" for i in near))
    if posterior:
        st.plotly_chart(projector.figure(closeup_figure(codes, data.y_test, mu, logvar)),
                        key=f"draw_closeup_{ckpt.name}", width="stretch", config=CHART_CONFIG)
    else:
        st.caption("A plain AE gives a point, not a distribution: there is no q(z|x) to draw.")
