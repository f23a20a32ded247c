"""The Disentanglement page's figures and the choices behind them, without Streamlit: which checkpoints the page
offers and shows first, the KL-per-dimension bar chart and which dimension a click on one of its bars stands for, and
the labels and file-name parts its pictures carry. The maths (posterior statistics, traversal codes) is in
vae.traversal; the pictures (traversal grid PNG, sweep GIF) are rendered by ui.images; ui.disentangle caches and
draws them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import plotly.graph_objects as go

from vae import registry
from vae.metrics import ACTIVE_UNIT_THRESHOLD
from vae.traversal import PosteriorStats

FAMILY_PREFIX = "vae-z10-beta"  # the beta family trained for this page (same seed and architecture, beta 1/4/8)
ACTIVE_COLOR, INACTIVE_COLOR = "#332288", "#BBBBBB"  # CARTO Safe indigo and a neutral grey


# --- which checkpoints -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VaeInfo:
    name: str  # checkpoint folder name
    latent_dim: int
    beta: float

    @property
    def label(self) -> str:
        return f"{self.name}  \u00b7  \u03b2 = {self.beta:g}  \u00b7  {self.latent_dim}-D"


def beta_of(manifest: dict) -> float:
    """The KL weight a manifest's training entry records (1 when absent, NaN when it is not a number)."""
    beta = manifest.get("training", {}).get("beta", 1.0)
    return float(beta) if isinstance(beta, (int, float)) and not isinstance(beta, bool) else float("nan")


def offered(manifest: dict | None) -> bool:
    """Whether the page offers a checkpoint with this manifest: a model with a posterior and latent_dim > 2 (None:
    unreadable, so perhaps one). An AE has no posterior and a 2-D VAE has nothing to disentangle."""
    if manifest is None:
        return True
    model = manifest.get("model")
    if not isinstance(model, dict):
        return True
    dim = model.get("latent_dim")
    return registry.posterior(model.get("kind")) and isinstance(dim, int) and not isinstance(dim, bool) and dim > 2


def family_first(found: Sequence[VaeInfo]) -> list[VaeInfo]:
    """The beta family first, by beta, then the rest in the order given."""
    family = sorted((v for v in found if v.name.startswith(FAMILY_PREFIX)), key=lambda v: (v.beta, v.name))
    return family + [v for v in found if not v.name.startswith(FAMILY_PREFIX)]


def default_model(infos: Sequence[VaeInfo]) -> str | None:
    """The model shown first: the middle of the beta family (beta 4 of 1/4/8) when present, else vae-z20, else the
    first one."""
    family = [v.name for v in infos if v.name.startswith(FAMILY_PREFIX)]
    if family:
        return family[len(family) // 2]
    names = [v.name for v in infos]
    if "vae-z20" in names:
        return "vae-z20"
    return names[0] if names else None


def default_comparison(infos: Sequence[VaeInfo]) -> list[str]:
    """Up to three models to compare: the beta family when trained, else the first models offered."""
    family = [v.name for v in infos if v.name.startswith(FAMILY_PREFIX)]
    return (family or [v.name for v in infos])[:3]


# --- the KL bar chart, and a bar clicked -> its dimension ---------------------------------------------------------

def kl_figure(stats: PosteriorStats, title: str, height: int = 380,
              y_max: float | None = None) -> tuple[go.Figure, list[list[int]]]:
    """Bars of KL per dimension, sorted in decreasing order, active units in colour and the rest grey.

    Returns the figure and trace_dims (the dimension of each bar of each trace) for `dimension_from_selection`.
    The figure depends on the model only, so a selection survives reruns (the chart's id hashes the figure).
    """
    order = [int(j) for j in stats.order]
    traces = [[j for j in order if stats.active[j]], [j for j in order if not stats.active[j]]]
    names = (f"active: Var[\u03bc\u2c7c(x)] > {ACTIVE_UNIT_THRESHOLD:g}", "inactive: collapsed to the prior")
    fig = go.Figure()
    for dims, name, color in zip(traces, names, (ACTIVE_COLOR, INACTIVE_COLOR)):
        fig.add_trace(go.Bar(
            x=[f"z{j}" for j in dims], y=[float(stats.kl[j]) for j in dims], name=name, marker_color=color,
            customdata=[[j, float(stats.var_mu[j])] for j in dims], showlegend=True,
            selected=dict(marker=dict(opacity=1.0)), unselected=dict(marker=dict(opacity=0.45)),
            hovertemplate="z%{customdata[0]}: KL %{y:.3f} nats<br>Var[\u03bc] %{customdata[1]:.3f}<extra></extra>",
        ))
    fig.update_layout(  # the legend goes under the axis: at its right in the title's row it ran over the title
        title=dict(text=title, font=dict(size=18)), height=height, barmode="overlay", bargap=0.15,
        margin=dict(l=10, r=10, t=50, b=10), plot_bgcolor="white", font=dict(size=16), clickmode="event+select",
        legend=dict(orientation="h", yanchor="top", y=-0.3, xanchor="left", x=0.0, font=dict(size=14)),
    )
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=[f"z{j}" for j in order],
                     title="latent dimension (sorted by KL)", tickfont=dict(size=15))
    fig.update_yaxes(title="KL (nats)", gridcolor="#e6e6e6", rangemode="tozero",
                     range=[0, y_max] if y_max else None, tickfont=dict(size=15))
    return fig, traces


def dimension_from_selection(event, trace_dims: Sequence[Sequence[int]]) -> int | None:
    """The latent dimension of the first bar in a plotly selection event, or None for no usable point.

    `event` is what st.plotly_chart(on_select=...) leaves in st.session_state: {"selection": {"points": [{
    "curve_number", "point_index", ...}]}}. `trace_dims[c][i]` is the dimension drawn as bar i of trace c (as
    `kl_figure` returns it). An empty selection (a second click on a bar toggles it off) means "no change", so it
    gives None too.
    """
    selection = event.get("selection") if isinstance(event, Mapping) else getattr(event, "selection", None)
    points = selection.get("points") if isinstance(selection, Mapping) else None
    for point in points or []:
        if not isinstance(point, Mapping):
            continue
        c, i = point.get("curve_number"), point.get("point_index", point.get("point_number"))
        if (isinstance(c, int) and isinstance(i, int) and not isinstance(c, bool) and not isinstance(i, bool)
                and 0 <= c < len(trace_dims) and 0 <= i < len(trace_dims[c])):
            return int(trace_dims[c][i])
    return None


# --- labels ------------------------------------------------------------------------------------------------------

def row_labels(stats: PosteriorStats, dims: Sequence[int]) -> list[str]:
    """The traversal grid's row labels: each dimension with its KL."""
    return [f"z{j}  KL {stats.kl[j]:.2f}" for j in dims]


def center_text(index: int | None) -> str:
    """The traversal's centre in a caption: a test digit's posterior mean, or the prior's mean (index None)."""
    return "z = 0 (the prior's mean)" if index is None else f"\u03bc(x) of test digit #{index}"


def center_part(index: int | None) -> str:
    """The traversal's centre in a file name."""
    return "prior-mean" if index is None else f"digit-{index}"


def grid_factor(n_cols: int, width: int = 1000) -> int:
    """Integer upscale that keeps a row of n_cols digits (plus labels) within about `width` pixels: 2 to 4."""
    return max(2, min(4, width // (n_cols * 30)))
