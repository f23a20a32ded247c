"""The Disentanglement page's Streamlit side: the checkpoints it can offer (from the cached scan), posterior
statistics and traversals cached per checkpoint version, and the widgets and panels that draw them.

Everything computed here comes from modules without Streamlit: posterior statistics and traversal codes from
vae.traversal, the KL chart, the click -> dimension mapping, model choices and labels from ui.disentangle_figures,
and the pictures (grid PNG, sweep GIF, comparison) from ui.images.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st

from vae import checkpoint as ckpt_mod
from vae.metrics import ACTIVE_UNIT_THRESHOLD
from vae.traversal import PosteriorStats, decode_traversal, stats_from_posteriors, sweep_values

from . import downloads, projector, resources
from . import state as S
from .disentangle_figures import (VaeInfo, beta_of, center_part, center_text, default_comparison, default_model,
                                  dimension_from_selection, family_first, grid_factor, kl_figure, offered, row_labels)
from .images import png_bytes, side_by_side_png, traversal_gif, traversal_png

GIF_STEPS = 21  # values from -3 to 3 in the GIF (steps of 0.3); the sweep goes there and back


# --- which checkpoints -----------------------------------------------------------------------------------------

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
        if offered(manifest):
            found.append(VaeInfo(name, manifest["model"]["latent_dim"], beta_of(manifest)))
    unusable = []
    for name, reason in scan.broken:
        try:
            manifest = ckpt_mod.read_manifest(name)
        except ckpt_mod.CheckpointError:
            manifest = None
        if offered(manifest):
            unusable.append((name, reason))
    return family_first(found), unusable


# --- KL per dimension and traversals, cached per checkpoint version ----------------------------------------------

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


@st.cache_data(show_spinner=False, max_entries=256)
def _traversal(name: str, stamp: float, device_name: str, index: int | None, dims: tuple[int, ...],
               values: tuple[float, ...]) -> np.ndarray:
    model = resources.load_model(name).checkpoint.model
    return decode_traversal(model, center_code(name, index), dims, np.asarray(values, np.float32))


def traversal(name: str, index: int | None, dims: Sequence[int], values: np.ndarray) -> np.ndarray:
    """Cached `decode_traversal` for checkpoint `name` around test digit `index` (None: around 0)."""
    return _traversal(name, resources.stamp(name), resources.device(), index, tuple(int(d) for d in dims),
                      tuple(float(v) for v in values))


@st.cache_data(show_spinner=False, max_entries=64)
def _gif(name: str, stamp: float, device_name: str, index: int | None, dim: int) -> bytes:
    values = sweep_values(GIF_STEPS)
    images = _traversal(name, stamp, device_name, index, (dim,), tuple(float(v) for v in values))[0]
    return traversal_gif(images, values)


def sweep_gif(name: str, index: int | None, dim: int) -> bytes:
    """Cached GIF of dimension `dim` of checkpoint `name` swept from -3 to 3 and back around the chosen centre."""
    return _gif(name, resources.stamp(name), resources.device(), index, int(dim))


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


def closeup_gif(info: VaeInfo, stats: PosteriorStats, dim: int, index: int | None) -> None:
    """The chosen dimension as an animated sweep, with its download."""
    st.markdown(f"#### z{dim} up close: KL {stats.kl[dim]:.2f} nats, "
                f"{'active' if stats.active[dim] else 'inactive'}")
    gif = sweep_gif(info.name, index, dim)
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
                           downloads.file_name("beta-comparison", *names, center_part(index), f"{n_rows}-rows",
                                               ext="png"),
                           downloads.PNG, key="dis_download_cmp_all",
                           help="The traversals above side by side, each under its \u03b2: one picture for a slide")
