"""Draw a digit (or upload one): preprocessed as MNIST was, encoded by the AE and the VAE, placed on their latent
planes, reconstructed, and read by the judge."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from ui import canvas, importer, projector, resources, runtime
from ui import state as S
from ui.images import png_bytes, tile
from ui.panels import label
from ui.plots import DIGIT_COLORS, latent_scatter
from vae import latent
from vae.checkpoint import Checkpoint
from vae.judge import predict
from vae.preprocess import MAX_UPLOAD_BYTES, MAX_UPLOAD_PIXELS, quantize

AE_NAME, VAE_NAME, JUDGE_NAME = "ae-z2", "vae-z2", "judge"
POSTERIOR_COLOR = "#D62728"

st.set_page_config(page_title="Draw a digit \u00b7 Latent Explorer", page_icon="\u2728", layout="wide")
runtime.route_through_app()
runtime.configure()
S.init_state()

st.title("Draw a digit")
st.markdown(
    "Draw a digit, or upload a photo of one, and see where each model puts it. First it is made into an MNIST digit "
    "the way MNIST itself was made: the ink's bounding box is scaled so that its longer side is 20 pixels (keeping "
    "the aspect ratio, with grey anti-aliased edges) and placed in a 28\u00d728 field with its **centre of mass** "
    "at the centre. The encoders only ever saw such digits, written by American students and clerks; a drawing far "
    "from that style (hair-thin or very bold strokes, a crossed 7, a 1 with a base, a digit touching a frame) is "
    "off the data they learned, so its code can land between the clusters or among another digit's codes, and the "
    "reconstruction shows what the model made of it."
)


def _reading(judge, image: np.ndarray) -> tuple[int, float]:
    """The judge's predicted digit and its probability for one (28, 28) image: uint8 0..255 or float in [0, 1]."""
    p = predict(judge, image[None])[0]
    return int(p.argmax()), float(p.max())


def _reading_text(judge, image: np.ndarray) -> str:
    if judge is None:
        return ""
    digit, p = _reading(judge, image)
    return f"judge reads a **{digit}** (p = {p:.2f})"


def _code_traces(fig: go.Figure, mu: np.ndarray, logvar: np.ndarray | None, size: int) -> list[float]:
    """Add the drawing's code (a star) and, for a VAE, its posterior q(z|x) at 1 and 2 sigma (drawn over the star);
    return the x and y extent of what was added: [xmin, xmax, ymin, ymax]."""
    fig.add_trace(go.Scattergl(x=[mu[0]], y=[mu[1]], mode="markers", name="your digit", showlegend=False,
                               marker=dict(symbol="star", size=size, color="#000000",
                                           line=dict(color="#ffffff", width=1.5)),
                               hovertemplate="your digit<br>z = (%{x:.3f}, %{y:.3f})<extra></extra>"))
    extent = [float(mu[0]), float(mu[0]), float(mu[1]), float(mu[1])]
    if logvar is not None:
        for k in (1, 2):
            ex, ey = latent.covariance_ellipse(mu, np.diag(np.exp(logvar)), k)
            fig.add_trace(go.Scattergl(x=ex, y=ey, mode="lines", name=f"q(z|x) {k}\u03c3", showlegend=False,
                                       line=dict(color=POSTERIOR_COLOR, width=2.5, dash="solid" if k == 1 else "dash"),
                                       hoverinfo="skip"))
            extent = [min(extent[0], float(ex.min())), max(extent[1], float(ex.max())),
                      min(extent[2], float(ey.min())), max(extent[3], float(ey.max()))]
    return extent


def _plane(ckpt: Checkpoint, y_test: np.ndarray, mu: np.ndarray, logvar: np.ndarray | None) -> go.Figure:
    """The test digits' codes with the drawing's code on top; the view widens to keep the code in it."""
    codes, _ = resources.encoded(ckpt.name)
    fig = latent_scatter(codes, y_test, label(ckpt), height=480)
    xmin, xmax, ymin, ymax = _code_traces(fig, mu, logvar, 18)
    (x0, x1), (y0, y1) = fig.layout.xaxis.range, fig.layout.yaxis.range
    lo, hi = np.minimum([x0, y0], [xmin, ymin]), np.maximum([x1, y1], [xmax, ymax])
    if (lo < [x0, y0]).any() or (hi > [x1, y1]).any():
        half = float((hi - lo).max()) / 2 * 1.08
        centre = (lo + hi) / 2
        fig.update_xaxes(range=[centre[0] - half, centre[0] + half])
        fig.update_yaxes(range=[centre[1] - half, centre[1] + half])
    return fig


def _closeup(ckpt: Checkpoint, y_test: np.ndarray, mu: np.ndarray, logvar: np.ndarray) -> go.Figure:
    """A zoom on q(z|x): a square of 4 of the larger sigma each way around mu, with the test codes inside it."""
    codes, _ = resources.encoded(ckpt.name)
    half = 4.0 * float(np.exp(0.5 * logvar).max())
    inside = (np.abs(codes - mu) <= half).all(1)
    fig = go.Figure()
    for d in range(10):
        pts = codes[inside & (y_test == d)]
        fig.add_trace(go.Scattergl(x=pts[:, 0], y=pts[:, 1], mode="markers", name=str(d), showlegend=False,
                                   marker=dict(size=6, color=DIGIT_COLORS[d], opacity=0.85),
                                   hovertemplate=f"digit {d}<br>z = (%{{x:.3f}}, %{{y:.3f}})<extra></extra>"))
    _code_traces(fig, mu, logvar, 16)
    fig.update_layout(title=dict(text=f"close-up: q(z|x) at 1\u03c3 and 2\u03c3 ({int(inside.sum())} test codes)",
                                 font=dict(size=14)),
                      height=300, margin=dict(l=10, r=10, t=40, b=10), showlegend=False, plot_bgcolor="white")
    axis = dict(showgrid=True, gridcolor="#e6e6e6", zeroline=False, tickfont=dict(size=12))
    fig.update_xaxes(range=[mu[0] - half, mu[0] + half], **axis)
    fig.update_yaxes(range=[mu[1] - half, mu[1] + half], scaleanchor="x", scaleratio=1, **axis)
    return fig


def model_panel(ckpt: Checkpoint, digit: np.ndarray, judge, data) -> None:
    """Where `ckpt` puts the digit: its plane, its code, its reconstruction and the 5 nearest test codes."""
    enc = latent.encode_images(ckpt.model, quantize(digit)[None])  # the uint8 image the page shows
    mu = enc.mu[0]
    logvar = None if enc.logvar is None else enc.logvar[0]
    config = {"displaylogo": False, "scrollZoom": True}
    st.plotly_chart(projector.figure(_plane(ckpt, data.y_test, mu, logvar)), key=f"draw_plane_{ckpt.name}",
                    width="stretch", config=config)
    st.caption("\u2605 your digit's code" + ("" if logvar is None else
               "; red: its posterior q(z|x) at 1\u03c3 (solid) and 2\u03c3 (dashed), tiny at this scale (see the "
               "close-up below)"))
    if logvar is None:
        st.markdown(f"**{label(ckpt)}**: z = ({mu[0]:.4f}, {mu[1]:.4f})")
    else:
        sigma = np.exp(0.5 * logvar)
        st.markdown(f"**{label(ckpt)}**: z = \u03bc = ({mu[0]:.4f}, {mu[1]:.4f}), "
                    f"\u03c3 = ({sigma[0]:.3f}, {sigma[1]:.3f})")
    recon = latent.decode(ckpt.model, mu[None])[0]
    codes, _ = resources.encoded(ckpt.name)
    near = latent.nearest(codes, mu, k=5)
    left, right = st.columns([1, 1.6])
    with left:
        st.image(png_bytes(recon, projector.digit_factor(6)), output_format="PNG",
                 caption="reconstruction: decode(\u03bc)")
        if judge is not None:
            st.markdown(f"Reconstruction: {_reading_text(judge, recon)}")
        st.download_button("Reconstruction (PNG)", png_bytes(recon), file_name=f"{ckpt.name}-reconstruction.png",
                           mime="image/png", key=f"draw_download_{ckpt.name}", on_click="ignore")
    with right:
        st.image(png_bytes(tile(data.x_test[near] / 255.0, 5, pad=2), projector.digit_factor(3)),
                 output_format="PNG", caption="5 nearest test codes: " + ", ".join(
                     f"{data.y_test[i]} ({np.linalg.norm(codes[i] - mu):.2f})" for i in near))
    if logvar is not None:
        st.plotly_chart(projector.figure(_closeup(ckpt, data.y_test, mu, logvar)), key=f"draw_closeup_{ckpt.name}",
                        width="stretch", config=config)
    else:
        st.caption("A plain AE gives a point, not a distribution: there is no q(z|x) to draw.")


top = st.columns([1.15, 1, 1], gap="large")
with top[0]:
    st.markdown("**Draw** one digit, large: white ink on black, like MNIST")
    drawing = canvas.drawing_canvas()
with top[1]:
    upload = st.file_uploader(
        "**Or upload** a photo or scan of one digit", key=S.DRAW_UPLOAD,
        max_upload_size=MAX_UPLOAD_BYTES // 2**20,
        help="PNG, JPEG, GIF, BMP, WebP or TIFF. Dark ink on light paper is inverted automatically. Up to "
             f"{MAX_UPLOAD_BYTES // 2**20} MB and {MAX_UPLOAD_PIXELS / 1e6:g} megapixels (a JPEG photo may have more: "
             "it is decoded at a reduced scale).")
    choice = canvas.choose(drawing, upload)
    st.caption("The newest input is shown: a new stroke replaces the upload, a new upload replaces the drawing.")
    if choice.message:
        st.warning(choice.message)
    if choice.digit is None and not choice.message:
        st.info("Draw a digit first (or upload an image of one): it appears here as the models see it.")
    elif choice.digit is not None:
        note = " (the last one that worked)" if choice.stale else ""
        st.markdown(f"Shown: **{choice.label}**{note}")

data = resources.mnist()
mine = importer.session_models()  # models trained on the Train live page or imported in this session
use_mine = bool(mine) and st.session_state[S.USE_SESSION_MODELS]
ae_name, vae_name = (mine.get("ae", AE_NAME), mine.get("vae", VAE_NAME)) if use_mine else (AE_NAME, VAE_NAME)
loaded = {name: resources.load_model(name) for name in (ae_name, vae_name, JUDGE_NAME)}
for name, result in loaded.items():
    if result.error:
        hint = " (train it with `python -m vae.judge --out checkpoints/judge`)" if name == JUDGE_NAME else ""
        st.error(f"Cannot load {name}: {result.error}{hint}")
judge = loaded[JUDGE_NAME].checkpoint.model if loaded[JUDGE_NAME].checkpoint else None
models = [loaded[n].checkpoint for n in (ae_name, vae_name) if loaded[n].checkpoint is not None]
if mine:
    st.toggle(f"Use the models you {importer.made_in_session()}", key=S.USE_SESSION_MODELS,
              help="Off: the shipped ae-z2 and vae-z2. Yours stay for this session only.")

with top[2]:
    if choice.digit is not None:
        st.image(png_bytes(choice.digit, projector.digit_factor(8)), output_format="PNG",
                 caption="what the models see: 28\u00d728, box 20 px, centre of mass at (14, 14)")
        if judge is not None:
            st.markdown(f"Your digit: {_reading_text(judge, quantize(choice.digit))}")
        st.download_button("Preprocessed digit (PNG, 28\u00d728)", png_bytes(choice.digit), file_name="digit-28x28.png",
                           mime="image/png", key="draw_download_digit", on_click="ignore")

if choice.digit is None or data is None or not models:
    st.stop()

st.divider()
cols = st.columns(len(models), gap="large")
for col, ckpt in zip(cols, models):
    with col:
        model_panel(ckpt, choice.digit, judge, data)
