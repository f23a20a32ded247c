"""The disentanglement page's helpers: which checkpoints are beta-VAEs worth inspecting, their KL per dimension and
active units (cached per checkpoint), latent traversals decoded on the server, and the pictures made from them.

Pure functions here (no Streamlit, unit-tested in tests/test_disentanglement.py): `dimension_from_selection` (a bar
clicked in the KL chart -> the latent dimension it stands for), `sweep_values`, `traversal_png` and `traversal_gif`
(image rendering, like ui/images.py). The maths (KL per dimension, active units, traversal codes, decoding) comes
from vae.metrics and vae.latent unchanged.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from PIL import Image, ImageDraw, ImageFont

from vae import checkpoint as ckpt_mod
from vae import latent, registry
from vae.metrics import ACTIVE_UNIT_THRESHOLD, active_units, kl_per_dimension

from . import downloads, projector, resources
from . import state as S
from .images import bounce_order, gif_bytes, image_png, png_bytes, to_uint8, upscale

TRAVERSAL_RANGE = 3.0  # traversals run over z_j in [-3, 3]: +-3 standard deviations of the N(0, 1) prior
GIF_STEPS = 21  # values from -3 to 3 in the GIF (steps of 0.3); the sweep goes there and back
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


def _beta_of(manifest: dict) -> float:
    beta = manifest.get("training", {}).get("beta", 1.0)
    return float(beta) if isinstance(beta, (int, float)) and not isinstance(beta, bool) else float("nan")


def _offered(manifest: dict | None) -> bool:
    """Whether this page offers a checkpoint with this manifest: a VAE with latent_dim > 2 (None: unreadable, so
    perhaps one). AEs have no posterior and 2-D VAEs have nothing to disentangle."""
    if manifest is None:
        return True
    model = manifest.get("model")
    if not isinstance(model, dict):
        return True
    dim = model.get("latent_dim")
    return registry.posterior(model.get("kind")) and isinstance(dim, int) and not isinstance(dim, bool) and dim > 2


def vae_checkpoints() -> tuple[list[VaeInfo], list[tuple[str, str]]]:
    """The VAEs with latent_dim > 2 among the checkpoints that load (resources.checkpoint_scan), the beta family
    first by beta, then the rest by name; and (name, one-line reason naming the file) for each checkpoint folder that
    exists but cannot be used and might be one of them (its manifest says so, or cannot be read)."""
    scan = resources.checkpoint_scan()
    found = []
    for name in scan.usable:
        try:
            manifest = ckpt_mod.read_manifest(name)
        except ckpt_mod.CheckpointError:  # removed since the scan: the next run's scan sees it
            continue
        if _offered(manifest):
            found.append(VaeInfo(name, manifest["model"]["latent_dim"], _beta_of(manifest)))
    unusable = []
    for name, reason in scan.broken:
        try:
            manifest = ckpt_mod.read_manifest(name)
        except ckpt_mod.CheckpointError:
            manifest = None
        if _offered(manifest):
            unusable.append((name, reason))
    family = sorted((v for v in found if v.name.startswith(FAMILY_PREFIX)), key=lambda v: (v.beta, v.name))
    rest = [v for v in found if not v.name.startswith(FAMILY_PREFIX)]
    return family + rest, unusable


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


# --- KL per dimension and active units ---------------------------------------------------------------------------

class PosteriorStats(NamedTuple):
    kl: np.ndarray  # (d,) mean over the 10k test digits of KL(q(z_j|x) || N(0, 1)), nats
    var_mu: np.ndarray  # (d,) variance over the test digits of the posterior mean mu_j(x)
    active: np.ndarray  # (d,) bool: var_mu > 0.01 (Burda et al. 2016)
    order: np.ndarray  # (d,) int: dimensions by decreasing KL (ties by index)

    @property
    def total_kl(self) -> float:
        """Sum over dimensions = the model's average KL(q(z|x) || p(z)) over the test set (the KL is a sum over
        independent dimensions because both q and p are diagonal Gaussians)."""
        return float(self.kl.sum())

    @property
    def n_active(self) -> int:
        return int(self.active.sum())


def stats_from_posteriors(mu: np.ndarray, logvar: np.ndarray) -> PosteriorStats:
    kl = kl_per_dimension(mu, logvar)
    order = np.lexsort((np.arange(len(kl)), -kl))  # last key is primary: KL descending, then index ascending
    return PosteriorStats(kl, np.asarray(mu, np.float64).var(0), active_units(mu), order)


@st.cache_data(show_spinner="KL per dimension", max_entries=32)
def _posterior_stats(name: str, stamp: float, device_name: str) -> PosteriorStats:
    mu, logvar = resources.encoded(name)
    return stats_from_posteriors(mu, logvar)


def posterior_stats(name: str) -> PosteriorStats:
    """KL per dimension and active units of checkpoint `name` over the test digits, computed once per checkpoint
    version."""
    return _posterior_stats(name, resources.stamp(name), resources.device())


def center_code(name: str, index: int | None) -> np.ndarray:
    """The traversal's centre: test digit `index`'s posterior mean, or 0 (the prior's mean) when index is None."""
    mu, _ = resources.encoded(name)
    return np.zeros(mu.shape[1], np.float32) if index is None else mu[index].astype(np.float32)


# --- bar clicked -> dimension -------------------------------------------------------------------------------------

def dimension_from_selection(event, trace_dims: Sequence[Sequence[int]]) -> int | None:
    """The latent dimension of the first bar in a plotly selection event, or None for no usable point.

    `event` is what st.plotly_chart(on_select=...) leaves in st.session_state: {"selection": {"points": [{
    "curve_number", "point_index", ...}]}}. `trace_dims[c][i]` is the dimension drawn as bar i of trace c. An empty
    selection (a second click on a bar toggles it off) means "no change", so it gives None too.
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


# --- the KL bar chart ---------------------------------------------------------------------------------------------

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
    fig.update_layout(
        title=dict(text=title, font=dict(size=18)), height=height, barmode="overlay", bargap=0.15,
        margin=dict(l=10, r=10, t=50, b=10), plot_bgcolor="white", font=dict(size=16), clickmode="event+select",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0, font=dict(size=14)),
    )
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=[f"z{j}" for j in order],
                     title="latent dimension (sorted by KL)", tickfont=dict(size=15))
    fig.update_yaxes(title="KL (nats)", gridcolor="#e6e6e6", rangemode="tozero",
                     range=[0, y_max] if y_max else None, tickfont=dict(size=15))
    return fig, traces


# --- traversals ---------------------------------------------------------------------------------------------------

def sweep_values(n: int, limit: float = TRAVERSAL_RANGE) -> np.ndarray:
    """n evenly spaced values from -limit to limit: the columns of a traversal."""
    if n < 2:
        raise ValueError(f"a traversal needs at least 2 values, got {n}.")
    return np.linspace(-limit, limit, n).astype(np.float32)


def decode_traversal(model, center: np.ndarray, dims: Sequence[int], values: np.ndarray) -> np.ndarray:
    """Decode `center` with each of `dims` swept over `values`: (len(dims), len(values), 28, 28) in [0, 1]."""
    codes = latent.traverse(center, dims, values)
    return latent.decode(model, codes).reshape(len(dims), len(values), 28, 28)


@st.cache_data(show_spinner=False, max_entries=256)
def _traversal(name: str, stamp: float, device_name: str, index: int | None, dims: tuple[int, ...],
               values: tuple[float, ...]) -> np.ndarray:
    model = resources.load_model(name).checkpoint.model
    return decode_traversal(model, center_code(name, index), dims, np.asarray(values, np.float32))


def traversal(name: str, index: int | None, dims: Sequence[int], values: np.ndarray) -> np.ndarray:
    """Cached `decode_traversal` for checkpoint `name` around test digit `index` (None: around 0)."""
    return _traversal(name, resources.stamp(name), resources.device(), index, tuple(int(d) for d in dims),
                      tuple(float(v) for v in values))


def _font(size: int):
    return ImageFont.load_default(size=size)


def traversal_png(images: np.ndarray, row_labels: Sequence[str], values: Sequence[float], factor: int = 3,
                  pad: int = 2) -> bytes:
    """A traversal grid (rows, cols, 28, 28) in [0, 1] as one PNG: digits upscaled nearest-neighbour (crisp), each
    row labelled on the left, each column headed by its value of z_j."""
    rows, cols = images.shape[:2]
    cell = 28 * factor
    font = _font(max(14, int(cell * 0.3)))
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    label_w = max([int(probe.textlength(t, font=font)) for t in row_labels] + [0]) + 16
    header_h = font.size + 12
    canvas = Image.new("L", (label_w + cols * (cell + pad) - pad, header_h + rows * (cell + pad) - pad), 255)
    draw = ImageDraw.Draw(canvas)
    for c, v in enumerate(values):
        x = label_w + c * (cell + pad) + cell // 2
        draw.text((x, header_h // 2), f"{v:+.1f}" if abs(v) > 1e-6 else "0", fill=0, font=font, anchor="mm")
    for r in range(rows):
        y = header_h + r * (cell + pad)
        draw.text((label_w - 10, y + cell // 2), row_labels[r], fill=0, font=font, anchor="rm")
        for c in range(cols):
            canvas.paste(Image.fromarray(to_uint8(upscale(images[r, c], factor)), mode="L"),
                         (label_w + c * (cell + pad), y))
    buf = io.BytesIO()
    canvas.save(buf, format="PNG")
    return buf.getvalue()


def sweep_order(n: int) -> list[int]:
    """Frame order of a there-and-back sweep over n values: 0..n-1 then n-2..1 (no repeated ends): 2n - 2 frames."""
    return bounce_order(n)


def traversal_gif(images: np.ndarray, values: Sequence[float], factor: int = 10, frame_ms: int = 80,
                  limit: float = TRAVERSAL_RANGE) -> bytes:
    """An animated GIF of one dimension swept from -limit to limit and back, looping forever.

    images: (n, 28, 28) in [0, 1] decoded at `values` (increasing). Each frame is the digit upscaled by `factor`
    (nearest neighbour) over a strip with a marker at the current value, so the viewer sees where in the sweep it is
    (and consecutive frames always differ, which keeps GIF encoders from merging them). 2n - 2 frames,
    28 * factor wide, 28 * factor + strip tall.
    """
    n = len(images)
    side = 28 * factor
    strip = max(8, 2 * factor)
    frames = []
    for k in range(n):
        frame = Image.new("L", (side, side + strip), 0)
        frame.paste(Image.fromarray(to_uint8(upscale(images[k], factor)), mode="L"), (0, 0))
        draw = ImageDraw.Draw(frame)
        y = side + strip // 2
        draw.line([(2, y), (side - 3, y)], fill=110, width=2)
        x = 2 + (float(values[k]) + limit) / (2 * limit) * (side - 5)
        draw.rectangle([x - strip // 3, side + 1, x + strip // 3, side + strip - 2], fill=255)
        frames.append(frame)
    return gif_bytes(frames, frame_ms=frame_ms, bounce=True, hold_ms=None)  # there and back: sweep_order(n)


@st.cache_data(show_spinner=False, max_entries=64)
def _gif(name: str, stamp: float, device_name: str, index: int | None, dim: int) -> bytes:
    values = sweep_values(GIF_STEPS)
    images = _traversal(name, stamp, device_name, index, (dim,), tuple(float(v) for v in values))[0]
    return traversal_gif(images, values)


def gif_bytes(name: str, index: int | None, dim: int) -> bytes:
    """Cached GIF of dimension `dim` of checkpoint `name` swept from -3 to 3 and back around the chosen centre."""
    return _gif(name, resources.stamp(name), resources.device(), index, int(dim))


def row_labels(stats: PosteriorStats, dims: Sequence[int]) -> list[str]:
    return [f"z{j}  KL {stats.kl[j]:.2f}" for j in dims]


# --- widgets and panels (draw, then return plain values) ----------------------------------------------------------

CENTERS = {"digit": "a test digit's posterior mean \u03bc(x)", "prior": "the prior's mean z = 0"}
ROW_CHOICES = ("active", "all")


def _keep_valid(key: str, valid, fallback) -> None:
    """Before a widget is drawn: replace a session value the widget could not show (a model that disappeared, a
    dimension of another model) by `fallback`."""
    if st.session_state.get(key) not in valid:
        st.session_state[key] = fallback


def model_picker(infos: Sequence[VaeInfo]) -> VaeInfo:
    """The model selectbox (VAEs with latent_dim > 2 only); returns the chosen one."""
    by_name = {v.name: v for v in infos}
    _keep_valid(S.DIS_MODEL, by_name, default_model(infos))
    name = st.selectbox("Model (\u03b2-VAEs with more than 2 latent dimensions)", list(by_name), key=S.DIS_MODEL,
                        format_func=lambda n: by_name[n].label,
                        on_change=lambda: st.session_state.update({S.DIS_DIM: None}))
    return by_name[name]


def totals(info: VaeInfo, stats: PosteriorStats) -> None:
    """The model's beta, size, total KL and active units as metrics."""
    cols = st.columns([1, 1, 1.4, 1.4])
    cols[0].metric("\u03b2", f"{info.beta:g}", help="The weight of the KL term in the training loss")
    cols[1].metric("latent size d", f"{info.latent_dim}")
    cols[2].metric("\u03a3 KL (nats)", f"{stats.total_kl:.2f}",
                   help="Sum of the bars = the model's average KL(q(z|x) \u2016 p(z)) over the 10,000 test digits")
    cols[3].metric("active units", f"{stats.n_active} of {info.latent_dim}",
                   help=f"Dimensions whose posterior mean varies over the data: Var[\u03bc\u2c7c(x)] > "
                        f"{ACTIVE_UNIT_THRESHOLD:g} (Burda, Grosse and Salakhutdinov 2016)")


def traversal_controls(x_test: np.ndarray, y_test: np.ndarray) -> tuple[int | None, int]:
    """Centre, test digit (shown) and number of columns; returns (centre: test index, or None for the prior,
    columns)."""
    c1, c2, c3, c4 = st.columns([3, 2, 3, 1])
    center = c1.radio("Traverse around", list(CENTERS), format_func=CENTERS.get, key=S.DIS_CENTER)
    index = int(c2.number_input("Test digit #", 0, len(y_test) - 1, step=1, key=S.DIS_INDEX,
                                help="One of the 10,000 test digits; its posterior mean is the traversal's centre"))
    n_cols = int(c3.slider("Columns: values of z\u2c7c from \u22123 to +3", 7, 15, step=2, key=S.DIS_COLUMNS))
    c4.image(png_bytes(x_test[index] / 255.0, 3), output_format="PNG",
             caption=f"#{index}: a {y_test[index]}" + ("" if center == "digit" else " (not used)"))
    return (index if center == "digit" else None), n_cols


def center_text(index: int | None) -> str:
    return "z = 0 (the prior's mean)" if index is None else f"\u03bc(x) of test digit #{index}"


def center_part(index: int | None) -> str:
    """The traversal's centre in a file name."""
    return "prior-mean" if index is None else f"digit-{index}"


def kl_chart(info: VaeInfo, stats: PosteriorStats) -> int:
    """The clickable KL chart and its keyboard fallback; returns the dimension to show up close.

    A click on a bar sets the dimension through the chart's callback; an empty selection (a bar clicked again)
    changes nothing. The selectbox shows the same value and takes the keyboard.
    """
    chart_key = f"dis_kl_{info.name}"
    fig, trace_dims = kl_figure(stats, f"KL per dimension: {info.name} (\u03b2 = {info.beta:g})")

    def on_bar_click() -> None:
        dim = dimension_from_selection(st.session_state.get(chart_key), trace_dims)
        if dim is not None:
            st.session_state[S.DIS_DIM] = dim

    st.plotly_chart(projector.figure(fig), key=chart_key, on_select=on_bar_click, selection_mode="points",
                    width="stretch", config={"displaylogo": False, "displayModeBar": False})
    st.caption(f"Mean over the 10,000 test digits of KL(q(z\u2c7c|x) \u2016 N(0, 1)), largest first. "
               f"Sum: {stats.total_kl:.2f} nats = the model's average KL; {stats.n_active} of {len(stats.kl)} "
               "dimensions active. **Click a bar** to see that dimension's traversal up close.")
    order = [int(j) for j in stats.order]
    _keep_valid(S.DIS_DIM, order, order[0])
    dim = st.selectbox("Dimension up close (or click a bar)", order, key=S.DIS_DIM,
                       format_func=lambda j: f"z{j}  \u00b7  KL {stats.kl[j]:.2f} nats"
                                             + ("" if stats.active[j] else "  \u00b7  inactive"))
    return int(dim)


def grid_factor(n_cols: int, width: int = 1000) -> int:
    """Integer upscale that keeps a row of n_cols digits (plus labels) within about `width` pixels: 2 to 4."""
    return max(2, min(4, width // (n_cols * 30)))


def closeup_gif(info: VaeInfo, stats: PosteriorStats, dim: int, index: int | None) -> None:
    """The chosen dimension as an animated sweep, with its download."""
    st.markdown(f"#### z{dim} up close: KL {stats.kl[dim]:.2f} nats, "
                f"{'active' if stats.active[dim] else 'inactive'}")
    gif = gif_bytes(info.name, index, dim)
    st.image(gif, caption=f"z{dim} swept \u22123 \u2192 +3 \u2192 \u22123 around {center_text(index)}")
    st.download_button("Download this sweep as GIF", gif,
                       file_name=downloads.file_name(info.name, f"z{dim}", "traversal", center_part(index), ext="gif"),
                       mime="image/gif", key="dis_download_gif", on_click="ignore", icon=":material/download:",
                       help=f"{2 * GIF_STEPS - 2} frames: {GIF_STEPS} values from \u22123 to +3 and back, looping")


def closeup_row(info: VaeInfo, stats: PosteriorStats, dim: int, index: int | None, n_cols: int) -> None:
    """The chosen dimension's traversal as one large row."""
    values = sweep_values(n_cols)
    images = traversal(info.name, index, [dim], values)
    png = traversal_png(images, [f"z{dim}"], values, factor=grid_factor(n_cols, 1100))
    st.image(png, output_format="PNG", caption=f"z{dim} from \u22123 to +3 around {center_text(index)}")
    st.download_button("Download this row as PNG", png, file_name=downloads.file_name(
        info.name, f"z{dim}", "traversal-row", center_part(index), f"{n_cols}-cols", ext="png"), mime="image/png",
        key="dis_download_row", on_click="ignore", icon=":material/download:")


def traversal_grid(info: VaeInfo, stats: PosteriorStats, index: int | None, n_cols: int) -> None:
    """The traversal grid: rows = dimensions by decreasing KL (all, or the top k active), columns = values."""
    d = len(stats.kl)
    c1, c2, _ = st.columns([3, 1, 2])
    rows = c1.radio("Rows", ROW_CHOICES, key=S.DIS_ROWS, horizontal=True,
                    format_func={"active": "the top k active dimensions", "all": f"all {d} dimensions"}.get)
    active_order = [int(j) for j in stats.order if stats.active[j]]
    if rows == "active" and active_order:
        _keep_valid(S.DIS_TOP_K, range(1, len(active_order) + 1), min(8, len(active_order)))
        k = int(c2.number_input("k", 1, len(active_order), step=1, key=S.DIS_TOP_K,
                                help=f"At most {len(active_order)}: the number of active dimensions"))
        dims = active_order[:k]
    else:
        if rows == "active":
            st.info("No dimension is active: every posterior mean stays at the prior (posterior collapse). "
                    "Showing all dimensions.")
        dims = [int(j) for j in stats.order]
    values = sweep_values(n_cols)
    images = traversal(info.name, index, dims, values)
    png = traversal_png(images, row_labels(stats, dims), values, factor=grid_factor(n_cols, 1100))
    st.image(png, output_format="PNG",
             caption=f"{info.name}: rows z\u2c7c by decreasing KL ({len(dims)} of {d}), {n_cols} columns from "
                     f"\u22123 to +3, around {center_text(index)}")
    st.download_button("Download the grid as PNG", png, mime="image/png", file_name=downloads.file_name(
        info.name, "traversal-grid", center_part(index), f"{n_cols}-cols", f"{len(dims)}-dims", ext="png"),
        key="dis_download_png", on_click="ignore", icon=":material/download:")


def comparison(infos: Sequence[VaeInfo], index: int | None) -> None:
    """Two or three models side by side: KL bars on a shared scale and the traversal of each one's top dimensions
    around the same centre."""
    by_name = {v.name: v for v in infos}
    chosen = st.session_state.get(S.DIS_COMPARE)
    kept = [n for n in chosen if n in by_name][:3] if isinstance(chosen, list) else []
    st.session_state[S.DIS_COMPARE] = kept if chosen is not None else default_comparison(infos)
    c1, c2 = st.columns([3, 1])
    names = c1.multiselect("Models to compare (two or three)", list(by_name), key=S.DIS_COMPARE, max_selections=3,
                           format_func=lambda n: by_name[n].label)
    n_rows = int(c2.slider("Rows (top dimensions by KL)", 1, 10, key=S.DIS_COMPARE_ROWS))
    if len(by_name) < 2:
        st.info("Only one VAE with more than 2 latent dimensions is here. The \u03b2 family (vae-z10-beta1, "
                "vae-z10-beta4, vae-z10-beta8: same seed and architecture) appears in this list once trained.")
    if len(names) < 2:
        st.caption("Pick two or three models to see them side by side.")
        return
    loaded = {n: resources.load_model(n) for n in names}
    stats = {n: posterior_stats(n) for n, r in loaded.items() if r.error is None}
    y_max = 1.08 * max((float(s.kl.max()) for s in stats.values()), default=0.0) or None
    values = sweep_values(7 if len(names) == 2 else 5)  # narrow columns for three models: fewer, larger digits
    pngs = {}
    for col, n in zip(st.columns(len(names), gap="medium"), names):
        with col:
            info = by_name[n]
            st.markdown(f"**{info.name}**: \u03b2 = {info.beta:g}, d = {info.latent_dim}")
            if loaded[n].error:
                st.error(f"Cannot load {n}: {loaded[n].error}")
                continue
            s = stats[n]
            fig, _ = kl_figure(s, f"\u03b2 = {info.beta:g}: \u03a3 KL {s.total_kl:.1f} nats, "
                                  f"{s.n_active}/{info.latent_dim} active", height=300, y_max=y_max)
            fig.update_layout(showlegend=False, title_font_size=16)
            st.plotly_chart(projector.figure(fig), key=f"dis_cmp_kl_{n}", width="stretch",
                            config={"displaylogo": False, "displayModeBar": False})
            dims = [int(j) for j in s.order[:n_rows]]
            images = traversal(n, index, dims, values)
            png = traversal_png(images, [f"z{j} {s.kl[j]:.1f}" for j in dims], values, factor=2)
            pngs[f"beta = {info.beta:g}  ({n})"] = png  # ASCII: PIL's default font has no \u03b2
            st.image(png, output_format="PNG", width="stretch",
                     caption=f"{n}: top {len(dims)} dimensions by KL around {center_text(index)}")
            st.download_button("Download PNG", png, mime="image/png", file_name=downloads.file_name(
                n, "top-dims-traversal", center_part(index), f"{len(dims)}-rows", ext="png"),
                key=f"dis_download_cmp_{n}", on_click="ignore", icon=":material/download:")
    if len(pngs) >= 2:
        downloads.download("Download the comparison as one PNG", lambda: side_by_side_png(pngs),
                        downloads.file_name("beta-comparison", *names, center_part(index), f"{n_rows}-rows", ext="png"),
                        downloads.PNG, key="dis_download_cmp_all",
                        help="The traversals above side by side, each under its \u03b2: one picture for a slide")


def side_by_side_png(pngs: Mapping[str, bytes], gap: int = 32) -> bytes:
    """PNG images side by side on white, each under its title (the \u03b2 comparison as one picture)."""
    images = [Image.open(io.BytesIO(b)).convert("L") for b in pngs.values()]
    font = _font(max(16, images[0].height // 12 if images else 16))
    head = font.size + 16
    canvas = Image.new("L", (sum(im.width for im in images) + gap * (len(images) - 1),
                             head + max(im.height for im in images)), 255)
    draw = ImageDraw.Draw(canvas)
    x = 0
    for title, im in zip(pngs, images):
        draw.text((x + im.width // 2, head // 2), title, fill=0, font=font, anchor="mm")
        canvas.paste(im, (x, head))
        x += im.width + gap
    return image_png(canvas)
