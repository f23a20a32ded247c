"""The draw page's figures, without Streamlit: a model's latent plane (the test digits' codes) with the drawing's
code on top, and a close-up of the drawing's posterior q(z|x). A model with a posterior passes its logvar and gets
q(z|x) drawn at 1 and 2 sigma; a plain AE passes None and gets its point alone."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from vae import latent

from .plots import DIGIT_COLORS, latent_scatter

POSTERIOR_COLOR = "#D62728"
CLOSEUP_SIGMAS = 4.0  # the close-up spans this many of the larger posterior sigma each way around mu


def code_traces(fig: go.Figure, mu: np.ndarray, logvar: np.ndarray | None, size: int) -> list[float]:
    """Add the drawing's code mu (2,) as a star and, when `logvar` (2,) is given, its posterior q(z|x) at 1 and
    2 sigma (drawn over the star); return the x and y extent of what was added: [xmin, xmax, ymin, ymax]."""
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


def plane_figure(codes: np.ndarray, y_test: np.ndarray, title: str, mu: np.ndarray,
                 logvar: np.ndarray | None = None) -> go.Figure:
    """The test digits' codes (n, 2) coloured by label with the drawing's code on top; the view widens (staying
    square) to keep the code and its ellipses in it."""
    fig = latent_scatter(codes, y_test, title, height=480)
    xmin, xmax, ymin, ymax = code_traces(fig, mu, logvar, 18)
    (x0, x1), (y0, y1) = fig.layout.xaxis.range, fig.layout.yaxis.range
    lo, hi = np.minimum([x0, y0], [xmin, ymin]), np.maximum([x1, y1], [xmax, ymax])
    if (lo < [x0, y0]).any() or (hi > [x1, y1]).any():
        half = float((hi - lo).max()) / 2 * 1.08
        centre = (lo + hi) / 2
        fig.update_xaxes(range=[centre[0] - half, centre[0] + half])
        fig.update_yaxes(range=[centre[1] - half, centre[1] + half])
    return fig


def closeup_figure(codes: np.ndarray, y_test: np.ndarray, mu: np.ndarray, logvar: np.ndarray) -> go.Figure:
    """A zoom on q(z|x): a square of CLOSEUP_SIGMAS of the larger sigma each way around mu (2,), with the test codes
    (n, 2) that fall inside it."""
    half = CLOSEUP_SIGMAS * float(np.exp(0.5 * logvar).max())
    inside = (np.abs(codes - mu) <= half).all(1)
    fig = go.Figure()
    for d in range(10):
        pts = codes[inside & (y_test == d)]
        fig.add_trace(go.Scattergl(x=pts[:, 0], y=pts[:, 1], mode="markers", name=str(d), showlegend=False,
                                   marker=dict(size=6, color=DIGIT_COLORS[d], opacity=0.85),
                                   hovertemplate=f"digit {d}<br>z = (%{{x:.3f}}, %{{y:.3f}})<extra></extra>"))
    code_traces(fig, mu, logvar, 16)
    fig.update_layout(title=dict(text=f"close-up: q(z|x) at 1\u03c3 and 2\u03c3 ({int(inside.sum())} test codes)",
                                 font=dict(size=14)),
                      height=300, margin=dict(l=10, r=10, t=40, b=10), showlegend=False, plot_bgcolor="white")
    axis = dict(showgrid=True, gridcolor="#e6e6e6", zeroline=False, tickfont=dict(size=12))
    fig.update_xaxes(range=[mu[0] - half, mu[0] + half], **axis)
    fig.update_yaxes(range=[mu[1] - half, mu[1] + half], scaleanchor="x", scaleratio=1, **axis)
    return fig
