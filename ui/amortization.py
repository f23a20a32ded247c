"""The amortization gap, live: fit q(z|x) to the selected test digit on the server and set it beside the encoder's.

    from ui import amortization
    amortization.fit_panel(ckpt, index)        # button, progress, climbing ELBO curve, both ELBOs, the gap, decodes
    amortization.ellipses(ckpt, index)         # the fitted q's 1 and 2 sigma ellipses for the live plane (or [])
    amortization.shipped_summary()             # checkpoints/AMORTIZATION.json's rows, or None

The computation is vae.amortization.fit_posterior; this module only draws widgets and keeps the last fit in the
session (state.AMORT_FIT), so the plane can draw the fitted ellipse after the fragment reruns.
"""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from streamlit.errors import StreamlitAPIException

from vae import amortization as amo
from vae import latent, registry
from vae.checkpoint import Checkpoint
from vae.data import to_float

from . import projector, resources
from . import state as S
from .images import png_bytes

ENCODER_COLOR = "#D62728"  # the encoder's q(z|x): the same red as the plane's posterior ellipses
FITTED_COLOR = "#1B7837"  # the fitted q: green, told apart from the red by its label and dash too
CONFIG = amo.FitConfig()  # 200 Adam steps, 16 draws a step, both ELBOs under the same 2,000 draws


def current_fit(ckpt: Checkpoint, index: int | None) -> dict | None:
    """The session's fit for this model and test digit, or None."""
    fit = st.session_state.get(S.AMORT_FIT)
    if not fit or index is None or fit.get("model") != ckpt.name or fit.get("index") != index:
        return None
    return fit


def ellipses(ckpt: Checkpoint, index: int | None) -> list[dict]:
    """The fitted q's 1 and 2 sigma ellipses on the 2-D plane (the encoder's are drawn by ui/planes.py)."""
    fit = current_fit(ckpt, index)
    if fit is None or len(fit["mu"]) != 2:
        return []
    out = []
    for k in (1, 2):
        x, y = latent.covariance_ellipse(np.asarray(fit["mu"]), np.diag(np.exp(fit["logvar"])), k)
        out.append({"x": x, "y": y, "label": f"fitted q {k}\u03c3", "color": FITTED_COLOR, "dash": k == 2,
                    "width": 3.0})
    return out


def run_fit(ckpt: Checkpoint, index: int, config: amo.FitConfig = CONFIG, show_progress: bool = True) -> dict:
    """Fit q to test digit `index` with a progress bar and the ELBO curve drawn as it climbs; keep the result."""
    data = resources.mnist()
    image = to_float(data.x_test[index])
    bar = st.progress(0.0, text="Fitting q(z|x) to this digit alone") if show_progress else None
    chart = st.empty() if show_progress else None

    def progress(step: int, curve: np.ndarray) -> None:
        if bar is None:
            return
        bar.progress(step / config.steps, text=f"Adam step {step} of {config.steps}: ELBO {curve[-1, 0]:.1f} nats")
        chart.plotly_chart(_curve_figure(curve[:, 0], None, None), key=None, width="stretch")

    with st.spinner("Fitting") if not show_progress else _nothing():
        r = amo.fit_posterior(ckpt.model, image, config, callback=progress, every=20)
    if bar is not None:
        bar.empty()
        chart.empty()
    fit = {"model": ckpt.name, "index": int(index), "mu": r.mu[0].tolist(), "logvar": r.logvar[0].tolist(),
           "mu0": r.mu0[0].tolist(), "logvar0": r.logvar0[0].tolist(), "curve": r.curve[:, 0].round(3).tolist(),
           "encoder_elbo": float(r.encoder_elbo[0]), "fitted_elbo": float(r.fitted_elbo[0]), "gap": float(r.gap[0]),
           "kept_encoder": bool(r.kept_encoder[0]), "seconds": r.seconds, "steps": config.steps,
           "samples": config.samples, "eval_samples": config.eval_samples}
    st.session_state[S.AMORT_FIT] = fit
    return fit


def _rerun() -> None:
    """Rerun the fragment this panel is in, or the whole page outside a fragment."""
    try:
        st.rerun(scope="fragment")
    except StreamlitAPIException:
        st.rerun()


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _curve_figure(curve: np.ndarray, encoder: float | None, fitted: float | None) -> go.Figure:
    fig = go.Figure(go.Scatter(x=np.arange(len(curve)), y=curve, mode="lines", name="ELBO at each step's draws",
                               line=dict(color="#555555", width=1.5)))
    for value, color, name in ((encoder, ENCODER_COLOR, "encoder's q"), (fitted, FITTED_COLOR, "fitted q")):
        if value is not None:
            fig.add_hline(y=value, line=dict(color=color, width=3, dash="dash"), annotation_text=name,
                          annotation_position="bottom right")
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=36, b=10), plot_bgcolor="white", showlegend=False,
                      title=dict(text="ELBO as the fit climbs (nats)", font=dict(size=14)),
                      xaxis_title="Adam step", font=dict(size=13))
    fig.update_xaxes(gridcolor="#e6e6e6")
    fig.update_yaxes(gridcolor="#e6e6e6")
    return projector.figure(fig)


def _zoom_figure(fit: dict) -> go.Figure:
    """Both ellipses up close: around a digit's q the plane's own scale hides them (sigma is a few hundredths)."""
    fig = go.Figure()
    for (mu, logvar), color, name in (((fit["mu0"], fit["logvar0"]), ENCODER_COLOR, "encoder's q"),
                                      ((fit["mu"], fit["logvar"]), FITTED_COLOR, "fitted q")):
        for k in (1, 2):
            x, y = latent.covariance_ellipse(np.asarray(mu), np.diag(np.exp(logvar)), k)
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=f"{name} {k}\u03c3", showlegend=k == 1,
                                     line=dict(color=color, width=3 if k == 1 else 2, dash=None if k == 1 else "dash")))
        fig.add_trace(go.Scatter(x=[mu[0]], y=[mu[1]], mode="markers", showlegend=False,
                                 marker=dict(color=color, size=8)))
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=36, b=10), plot_bgcolor="white", font=dict(size=13),
                      title=dict(text="Up close: the two q(z|x) at 1\u03c3 and 2\u03c3", font=dict(size=14)),
                      legend=dict(orientation="h", y=-0.2), xaxis_title="z\u2081", yaxis_title="z\u2082")
    fig.update_yaxes(scaleanchor="x", scaleratio=1, gridcolor="#e6e6e6")
    fig.update_xaxes(gridcolor="#e6e6e6")
    return projector.figure(fig)


def fit_panel(ckpt: Checkpoint, index: int, key_prefix: str = "amort", compact: bool = False) -> dict | None:
    """The selected digit's amortization gap for one VAE: a button runs the fit (a few seconds), then both q's ELBOs,
    the gap, the curve, both ellipses up close and both decodes. Returns the fit shown, or None."""
    if not registry.has_posterior(ckpt.model):
        st.caption(f"{ckpt.name} is a plain AE: its code is a point, with no q(z|x) to fit and no ELBO.")
        return None
    fit = current_fit(ckpt, index)
    if st.button("Fit q(z|x) to this digit alone", key=f"{key_prefix}_fit_{ckpt.name}",
                 help=f"{CONFIG.steps} Adam steps on this image's own ELBO ({CONFIG.samples} draws \u03b5 a step), "
                      "starting from the encoder's q; the decoder stays fixed"):
        try:
            run_fit(ckpt, index)
        except amo.AmortizationError as e:
            st.error(f"Cannot fit this digit: {e}")
            return None
        _rerun()  # the plane above was drawn before the fit: run again so it shows the fitted ellipse
    if fit is None:
        st.caption("The encoder guesses q(z|x) for every image with one network. Fit q to this one image by "
                   "gradient steps on its own ELBO, and the difference is the amortization gap.")
        return None
    (show_compact if compact else show)(ckpt, fit)
    return fit


def show_compact(ckpt: Checkpoint, fit: dict) -> None:
    """For a narrow column on a projector: the ELBOs and the gap as a small table, both ellipses up close, both
    decodes side by side."""
    st.markdown(f"ELBO: encoder's q **{fit['encoder_elbo']:.2f}**, fitted q **{fit['fitted_elbo']:.2f}** nats; "
                f"gap **{fit['gap']:.2f}** nats")
    c = st.columns([3, 2])
    with c[0]:
        if len(fit["mu"]) == 2:
            fig = _zoom_figure(fit)
            fig.update_layout(height=230, title=None, margin=dict(l=10, r=10, t=10, b=10), showlegend=False)
            st.plotly_chart(fig, key=f"amort_zoom_small_{ckpt.name}", width="stretch")
    with c[1]:
        images = latent.decode(ckpt.model, np.array([fit["mu0"], fit["mu"]], np.float32))
        st.image(png_bytes(np.concatenate([images[0], np.ones((28, 2)), images[1]], 1), projector.digit_factor(3)),
                 caption="decoded: encoder's \u03bc | fitted mean", output_format="PNG")


def show(ckpt: Checkpoint, fit: dict) -> None:
    """Both ELBOs, the gap, the curve, the ellipses up close and both decodes of a kept fit."""
    m = st.columns(3)
    m[0].metric("encoder's q: ELBO", f"{fit['encoder_elbo']:.2f} nats")
    m[1].metric("fitted q: ELBO", f"{fit['fitted_elbo']:.2f} nats")
    m[2].metric("amortization gap", f"{fit['gap']:.2f} nats",
                help=f"fitted minus encoder, both estimated with the same {fit['eval_samples']:,} draws \u03b5")
    note = (" The fit did not beat the encoder under the evaluation draws, so the encoder's q is kept (gap 0)."
            if fit["kept_encoder"] else "")
    st.caption(f"{fit['steps']} Adam steps, {fit['samples']} draws a step, {fit['seconds']:.1f} s on the server. "
               f"\u03c3: encoder ({_sig(fit['logvar0'])}), fitted ({_sig(fit['logvar'])}).{note}")
    c = st.columns([3, 3, 2])
    with c[0]:
        st.plotly_chart(_curve_figure(np.asarray(fit["curve"]), fit["encoder_elbo"], fit["fitted_elbo"]),
                        key=f"amort_curve_{ckpt.name}", width="stretch")
    with c[1]:
        if len(fit["mu"]) == 2:
            st.plotly_chart(_zoom_figure(fit), key=f"amort_zoom_{ckpt.name}", width="stretch")
    with c[2]:
        images = latent.decode(ckpt.model, np.array([fit["mu0"], fit["mu"]], np.float32))
        st.image(png_bytes(images[0], projector.digit_factor(4)), caption="decoded at the encoder's \u03bc",
                 output_format="PNG")
        st.image(png_bytes(images[1], projector.digit_factor(4)), caption="decoded at the fitted mean",
                 output_format="PNG")


def _sig(logvar) -> str:
    s = np.exp(0.5 * np.asarray(logvar))
    return ", ".join(f"{v:.3f}" for v in s[:2]) + (", ..." if len(s) > 2 else "")


def shipped_summary() -> list[dict] | None:
    """The rows of checkpoints/AMORTIZATION.json (`python -m vae.amortization`), or None when it is missing."""
    try:
        return json.loads(amo.RESULTS_JSON.read_text())["results"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
