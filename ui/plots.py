"""Plotly figures for latent spaces. Built once per model and cached: reruns reuse the same static figure."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from vae.latent import prior_mass_within, sigma_circle

# CARTO "Safe" qualitative palette (plotly.colors.qualitative.Safe): designed to stay distinct for colour-blind viewers.
DIGIT_COLORS = ("#88CCEE", "#CC6677", "#DDCC77", "#117733", "#332288",
                "#AA4499", "#44AA99", "#999933", "#882255", "#661100")
PRIOR_SIGMAS = (1, 2, 3)


def latent_scatter(mu: np.ndarray, labels: np.ndarray, title: str, height: int = 520) -> go.Figure:
    """Encoded digits (n, 2) as one Scattergl trace per digit (the legend toggles digits), with the N(0, I) prior's
    1-, 2- and 3-sigma circles. Axes keep equal scale so circles stay round."""
    if mu.ndim != 2 or mu.shape[1] != 2:
        raise ValueError(f"latent_scatter draws 2-D codes, got shape {mu.shape}.")
    fig = go.Figure()
    for digit in range(10):
        pts = mu[labels == digit]
        fig.add_trace(go.Scattergl(
            x=pts[:, 0], y=pts[:, 1], mode="markers", name=str(digit),
            marker=dict(size=4, color=DIGIT_COLORS[digit], opacity=0.75),
            hovertemplate=f"digit {digit}<br>z = (%{{x:.2f}}, %{{y:.2f}})<extra></extra>",
        ))
    for r in PRIOR_SIGMAS:
        cx, cy = sigma_circle(r)
        fig.add_trace(go.Scattergl(
            x=cx, y=cy, mode="lines", name=f"prior {r}\u03c3 ({prior_mass_within(r):.0%})",
            line=dict(color="#222222", width=1.5, dash="dash" if r > 1 else "solid"),
            hoverinfo="skip", legendgroup="prior", showlegend=(r == 1),
        ))
    fig.data[-3].name = "N(0, I): 1\u03c3, 2\u03c3, 3\u03c3"
    lo, hi = np.percentile(mu, [0.5, 99.5], axis=0)
    span = max(float((hi - lo).max()), 6.5) / 2 * 1.1  # always room for the 3-sigma circle
    center = (lo + hi) / 2 if span > 3.6 else np.zeros(2)
    fig.update_layout(
        title=dict(text=title, font=dict(size=18)), height=height, margin=dict(l=10, r=10, t=50, b=10),
        legend=dict(title="digit", itemsizing="constant", font=dict(size=14)),
        plot_bgcolor="white", dragmode="pan",
    )
    axis = dict(showgrid=True, gridcolor="#e6e6e6", zeroline=True, zerolinecolor="#bbbbbb", tickfont=dict(size=13))
    fig.update_xaxes(title="z\u2081", range=[center[0] - span, center[0] + span], **axis)
    fig.update_yaxes(title="z\u2082", range=[center[1] - span, center[1] + span], scaleanchor="x", scaleratio=1, **axis)
    return fig
