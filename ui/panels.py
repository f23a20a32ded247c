"""Server-side panels of the explorer: pinned z, manifold grid, interpolation, prior samples.

Each panel draws widgets, calls `vae.latent` for the numbers, and shows both models side by side.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from typing import NamedTuple

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from vae import gaussian, latent, registry
from vae.checkpoint import SESSION_PREFIX, Checkpoint, resolve

from . import downloads, maps, projector, resources, share
from . import state as S
from .images import gif_bytes, image_png, interpolation_frames, labelled_row, png_bytes, png_data_uri, tile

MODEL_LABEL = {kind: registry.label(kind) for kind in registry.EXPLORABLE_KINDS}  # {"ae": "AE", "vae": "VAE"}


def label(ckpt: Checkpoint) -> str:
    """"VAE (vae-z2)"; a model trained on the Train live page: "your VAE (β 1, 10,000 images, 10 epochs)"."""
    imported = ckpt.manifest.get("imported_from")
    if isinstance(imported, dict) and ckpt.name.startswith(SESSION_PREFIX):  # imported in this session
        return f"your imported {MODEL_LABEL[ckpt.config.kind]} ({imported.get('file', ckpt.name)})"
    if ckpt.name.startswith(SESSION_PREFIX):
        training = ckpt.manifest.get("training", {})
        beta = f"β {training.get('beta', 1):g}, " if registry.has_posterior(ckpt.model) else ""
        return (f"your {MODEL_LABEL[ckpt.config.kind]} ({beta}{training.get('train_subset', 0):,} images, "
                f"{training.get('epochs', 0)} epochs)")
    return f"{MODEL_LABEL[ckpt.config.kind]} ({ckpt.name})"


_PINNED_LOCK = threading.RLock()  # guards the pinned panel's caches and the index's one-time build
_TRAIN_INDEX: list[latent.PixelIndex] = []  # built once per process; a module global, not st.cache_resource: it
# is read on every click, where a cache lookup cost about as much as the search itself, and no client can clear it


TRAIN_INDEX_COMPONENTS = 32  # principal directions of its bounds: with 48 a query read 11.5 MB and still left about
# 20 images in doubt, with 32 it reads 7.7 MB and leaves about 40 (both well within the first 64 candidates); measured
# on 300 decoded digits of ae-z2 and vae-z2: 0.89 -> 0.75 ms per query with warm caches, 1.30 -> 1.06 ms with cold
TRAIN_INDEX_REFINE = 64  # the second bound's directions, for a digit unlike all training images: vae-z2 decodes the
# AE plane's z far outside its codes. Both models' search at z uniform over either plane's view, CPU caches flushed,
# 400 clicks: mean 3.5 to 4.1 ms and max 63 to 224 ms without, 2.5 to 2.6 ms and max 7 to 8 ms with 64 (128: the same
# mean, twice the memory). 64 more floats per image: 15 MB.


def train_index() -> latent.PixelIndex:
    if not _TRAIN_INDEX:
        with _PINNED_LOCK, st.spinner("Indexing the 60,000 training digits"):
            if not _TRAIN_INDEX:
                _TRAIN_INDEX.append(latent.PixelIndex(resources.mnist().x_train, components=TRAIN_INDEX_COMPONENTS,
                                                       refine=TRAIN_INDEX_REFINE))
    return _TRAIN_INDEX[0]


def fitted_gaussian(ckpt: Checkpoint) -> latent.Gaussian:
    """The Gaussian fitted to a model's test-set codes (for the AE: the fair prior to sample from); fitted once per
    model version (the live planes draw it on every click)."""
    return resources.kept("fitted_gaussian", ckpt.name, lambda stamp: latent.fit_gaussian(_codes(ckpt.name)))


def _codes(name: str) -> np.ndarray:
    """The test digits' codes under `name`, kept per model version and read-only (resources.encoded copies them on
    every call)."""
    return resources.kept("codes", name, lambda stamp: resources.read_only(resources.encoded(name)[0]))


def digit(image: np.ndarray, caption: str | None = None, factor: int = 6) -> None:
    st.image(png_bytes(image, factor), caption=caption, output_format="PNG")


# --- pinned z ---------------------------------------------------------------------------------------------------

class _Pinned(NamedTuple):
    """What the pinned-z panel shows for one model at one z (computed once per model version and z)."""
    image: np.ndarray  # (28, 28) the server's decode of z
    decoded: str  # data: URIs of the three pictures
    near: str
    train: str
    near_caption: str
    train_caption: str


_PINNED_CACHE: OrderedDict[tuple, _Pinned] = OrderedDict()
PINNED_CACHE_SIZE = 512  # entries of about 8 KB: a rerun with the same z (a toggle, a selection) costs nothing


PICTURES_SIZE = 4096  # data: URIs of 1 to 3 KB each: the neighbours of many clicks repeat, a decoded z seldom does


@functools.lru_cache(maxsize=PICTURES_SIZE)
def _test_row_uri(indices: tuple[int, ...]) -> str:
    """The data: URI of a row of test digits, encoded once."""
    return png_data_uri(tile(resources.mnist().x_test[list(indices)] / 255.0, 5, pad=2), 3)


@functools.lru_cache(maxsize=PICTURES_SIZE)
def _train_uri(index: int) -> str:
    """The data: URI of one training image, encoded once."""
    return png_data_uri(resources.mnist().x_train[index] / 255.0, 5)


def one_z_decoder(ckpt: Checkpoint) -> latent.OneZDecoder:
    """The decoder of `ckpt` for one z at a time (the pinned z on every click), made once per model version."""
    return resources.kept("one_z_decoder", ckpt.name, lambda stamp: latent.OneZDecoder(ckpt.model))


def _pinned(ckpt: Checkpoint, z: tuple[float, float]) -> _Pinned:
    return prepare_pinned([ckpt], z)[0]


def prepare_pinned(ckpts: list[Checkpoint], z: tuple[float, float]) -> list[_Pinned]:
    """What the pinned panels of `ckpts` show at z, each kept per (model version, z). The models not kept yet are
    computed together: their decoded digits' nearest training images come from one pass over the training index
    (PixelIndex.query_many), which is the larger part of a click's own work."""
    z = (float(z[0]), float(z[1]))
    keys = [(c.name, resources.stamp(c.name), z) for c in ckpts]
    found: dict[tuple, _Pinned] = {}
    with _PINNED_LOCK:
        for key in keys:
            hit = _PINNED_CACHE.get(key)
            if hit is not None:
                _PINNED_CACHE.move_to_end(key)
                found[key] = hit
    todo = [(key, c) for key, c in zip(keys, ckpts) if key not in found]
    if todo:
        data = resources.mnist()
        images = [one_z_decoder(c)(np.array(z)) for _, c in todo]
        nearest_train = train_index().query_many(images, k=1)
        for (key, ckpt), image, (train_idx, train_dist) in zip(todo, images, nearest_train):
            mu = _codes(ckpt.name)
            near = maps.nearest_codes(ckpt.name, z, k=5)
            dist = np.sqrt(((mu[near] - np.asarray(z)) ** 2).sum(1))  # one pass, not five np.linalg.norm calls
            t = int(train_idx[0])
            found[key] = _Pinned(
                image, png_data_uri(image, 5),
                _test_row_uri(tuple(near.tolist())), _train_uri(t),
                "5 nearest test codes: " + ", ".join(f"{data.y_test[i]} ({d:.2f})" for i, d in zip(near, dist)),
                f"nearest training image: a {data.y_train[t]}, RMS distance {train_dist[0]:.3f}")
        with _PINNED_LOCK:
            for key, _ in todo:
                _PINNED_CACHE[key] = found[key]
            while len(_PINNED_CACHE) > PINNED_CACHE_SIZE:
                _PINNED_CACHE.popitem(last=False)
    return [found[key] for key in keys]


def pinned_block(ckpt: Checkpoint, z: list[float]) -> None:
    """Under a model's plane: the server-decoded digit at z, its 5 nearest encoded test digits, its nearest training
    image, and the digit's download.

    Every click runs this for every session, so it is lean: results are kept per (model version, z), the pictures go
    inline as data: URIs (no media files, no extra requests), and the three pictures are one element (each element
    is a message); the plane above it names the model, the heading above the planes names z.
    """
    zt = (float(z[0]), float(z[1]))
    shown = _pinned(ckpt, zt)
    st.image([shown.decoded, shown.near, shown.train],
             caption=["decoded here (server)", shown.near_caption, shown.train_caption])
    downloads.download_png("Digit (PNG)", shown.image, downloads.file_name(
        ckpt.name, "decoded", "z1", zt[0], "z2", zt[1], ext="png"),
        key=f"export_pinned_{ckpt.name}", factor=downloads.DIGIT_FACTOR)


def selected_panel(models: list[Checkpoint], index: int) -> None:
    """The selected test digit, its codes, and for a VAE the reparametrization draws z = mu + sigma * eps."""
    data = resources.mnist()
    cols = st.columns([1, 3, 3], gap="medium")
    with cols[0]:
        digit(data.x_test[index] / 255.0, f"test digit #{index}: a {data.y_test[index]}", 5)
        if st.button("Resample \u03b5", key="resample_eps",
                     help="Draw new \u03b5 ~ N(0, I) for z = \u03bc + \u03c3\u00b7\u03b5"):
            st.session_state[S.EPS_SEED] += 1
            st.session_state[S.SHOW_EPS] = True
        _download_reconstructions(models, index)
    for col, ckpt in zip(cols[1:], models):
        mu, logvar = resources.encoded(ckpt.name)
        with col:
            if not registry.has_posterior(ckpt.model):
                st.markdown(f"**{label(ckpt)}**: code z = ({mu[index, 0]:.2f}, {mu[index, 1]:.2f}). A plain AE gives "
                            "one point, no distribution: nothing to sample.")
                continue
            sigma = np.exp(0.5 * logvar[index])
            st.markdown(f"**{label(ckpt)}**: q(z|x) = N(\u03bc = ({mu[index, 0]:.2f}, {mu[index, 1]:.2f}), "
                        f"\u03c3 = ({sigma[0]:.3f}, {sigma[1]:.3f})); ellipses on the plane at 1\u03c3 and 2\u03c3.")
            if st.session_state[S.SHOW_EPS]:
                seed = st.session_state[S.EPS_SEED]
                draws = latent.posterior_samples(mu[index], logvar[index], 8, seed)
                mosaic = tile(latent.decode(ckpt.model, draws), 8)
                st.image(png_bytes(mosaic, 3), output_format="PNG",
                         caption="decoded draws z = \u03bc + \u03c3\u00b7\u03b5: one input, many codes, similar digits")
                downloads.download_png("Draws (PNG)", mosaic, downloads.file_name(
                    ckpt.name, f"digit-{index}", "posterior-draws", f"seed-{seed}", ext="png"),
                    key=f"export_draws_{ckpt.name}")


def _download_reconstructions(models: list[Checkpoint], index: int) -> None:
    """The selected digit beside each model's reconstruction decode(mu(x)), labelled, as one PNG."""
    data = resources.mnist()
    row = [data.x_test[index] / 255.0] + [
        latent.decode(c.model, resources.encoded(c.name)[0][index:index + 1])[0] for c in models]
    names = ["input"] + [c.name for c in models]
    title = f"test digit #{index} (a {data.y_test[index]}) and its reconstructions"
    downloads.download("Digit + reconstructions (PNG)",
                    lambda: image_png(labelled_row(row, names, 8, title=title)),
                    downloads.file_name(f"digit-{index}", "reconstructions", *(c.name for c in models), ext="png"),
                    downloads.PNG, key="export_reconstructions",
                    help="The test digit and decode(\u03bc(x)) of each model, labelled, for a slide")


def eps_draws(ckpt: Checkpoint, index: int, n: int = 40) -> np.ndarray | None:
    """The draws shown on the VAE plane for the selected digit (None for an AE or when hidden)."""
    mu, logvar = resources.encoded(ckpt.name)
    if not registry.has_posterior(ckpt.model) or not st.session_state[S.SHOW_EPS]:
        return None
    return latent.posterior_samples(mu[index], logvar[index], n, st.session_state[S.EPS_SEED])


# --- manifold grid ----------------------------------------------------------------------------------------------

@st.fragment
@share.syncing
def grid_panel(models: list[Checkpoint]) -> None:
    c1, c2, c3 = st.columns(3)
    n = c1.slider("Grid size N (N x N digits)", 2, latent.MAX_GRID, key=S.GRID_N)
    extent = c2.slider("Range (\u00b1 standard deviations of the prior)", 0.5, 4.0, step=0.25, key=S.GRID_EXTENT)
    spacing = c3.radio("Spacing", latent.GRID_SPACINGS, horizontal=True, key=S.GRID_SPACING,
                       format_func={"linear": "even in z", "gaussian": "even in prior mass (inverse CDF)"}.get)
    st.caption("Each cell decodes one z; rows run from high z\u2082 (top) to low, columns from low z\u2081 to high. "
               "The same z grid goes through both decoders. The AE's codes live at a different scale, so its grid also "
               "shows the same N x N over the box that holds its codes.")
    cols = st.columns(len(models), gap="large")
    for col, ckpt in zip(cols, models):
        with col:
            codes = latent.grid_codes(n, extent, spacing)
            mosaic = tile(latent.decode(ckpt.model, codes), n, pad=0)
            st.image(png_bytes(mosaic, max(1, 420 // (28 * n)) or 1),
                     caption=f"{label(ckpt)} over z in \u00b1{extent:g} (prior scale)", output_format="PNG",
                     width="stretch")
            downloads.download_png("Grid (PNG)", mosaic, downloads.file_name(
                ckpt.name, "grid", f"{n}x{n}", "extent", float(extent), spacing, ext="png"),
                key=f"export_grid_{ckpt.name}")
            if not registry.has_prior(ckpt.model):  # the Gaussian fitted to its codes
                g = fitted_gaussian(ckpt)
                sd = np.sqrt(np.diag(g.cov))
                codes = latent.grid_codes(n, extent, spacing, center=tuple(g.mean), scale=tuple(sd))
                mosaic = tile(latent.decode(ckpt.model, codes), n, pad=0)
                st.image(png_bytes(mosaic, max(1, 420 // (28 * n))),
                         caption=f"{label(ckpt)} over its own codes: centre ({g.mean[0]:.1f}, {g.mean[1]:.1f}), "
                                 f"\u00b1{extent:g} of their standard deviations ({sd[0]:.1f}, {sd[1]:.1f})",
                         output_format="PNG", width="stretch")
                downloads.download_png("Grid over its codes (PNG)", mosaic, downloads.file_name(
                    ckpt.name, "grid-own-codes", f"{n}x{n}", "extent", float(extent), spacing, ext="png"),
                    key=f"export_grid_own_{ckpt.name}")


# --- interpolation ----------------------------------------------------------------------------------------------

@st.fragment
@share.syncing
def interpolation_panel(models: list[Checkpoint]) -> None:
    data = resources.mnist()
    c1, c2, c3, c4 = st.columns(4)
    start = c1.number_input("Start: test digit #", 0, len(data.y_test) - 1, step=1, key=S.INTERP_START)
    end = c2.number_input("End: test digit #", 0, len(data.y_test) - 1, step=1, key=S.INTERP_END)
    steps = c3.slider("Steps K", 2, latent.MAX_STEPS, key=S.INTERP_STEPS)
    kind = c4.radio("Path", latent.PATH_KINDS, horizontal=True, key=S.INTERP_KIND)
    st.caption(f"From a {data.y_test[start]} (#{start}) to a {data.y_test[end]} (#{end}): each model encodes both "
               "digits and decodes K codes along the path between its own two codes. Click a digit on a plane, then "
               "use the buttons to make it an end.")
    b1, b2, _ = st.columns([1, 1, 4])
    b1.button("Selected digit \u2192 start", key="sel_to_start", on_click=_from_selected, args=(S.INTERP_START,))
    b2.button("Selected digit \u2192 end", key="sel_to_end", on_click=_from_selected, args=(S.INTERP_END,))
    changes, films, crossings = {}, {}, {}
    setting = (f"{start}-to-{end}", f"{steps}-steps", kind)
    for ckpt in models:
        mu, _ = resources.encoded(ckpt.name)
        path = latent.interpolate_path(mu[start], mu[end], steps, kind)
        images = latent.decode(ckpt.model, path.codes)
        changes[label(ckpt)] = latent.step_changes(images)
        films[ckpt.name] = images
        st.markdown(f"**{label(ckpt)}**")
        if path.method not in latent.PATH_KINDS:  # a fallback: say which path was drawn instead
            st.caption(f"Path: {latent.PATH_METHODS[path.method]}.")
        strip = tile(images, steps, pad=1)
        st.image(png_bytes(strip, 2 if steps > 24 else 3), output_format="PNG")
        reading = maps.path_reading(images)
        if reading:
            st.caption(reading)
            crossings[label(ckpt)] = maps.path_crossings(images)
        downloads.download_png("Film strip (PNG)", strip,
                            downloads.file_name(ckpt.name, "interpolation", *setting, ext="png"),
                            key=f"export_strip_{ckpt.name}")
    # ASCII "->": the font drawn into the picture (PIL's default) has no arrow
    title = f"#{start} (a {data.y_test[start]}) -> #{end} (a {data.y_test[end]}), {kind}, {steps} steps"
    downloads.download(
        "Animated GIF, models side by side",
        lambda: gif_bytes(interpolation_frames(list(films.values()), list(films), 8, title=title),
                                 frame_ms=max(40, min(150, 1500 // steps))),
        downloads.file_name("interpolation", *setting, "_vs_".join(films), ext="gif"), downloads.GIF,
        key="export_interp_gif",
        help="Both models morph in step, there and back, looping: one file for a slide, so the two paths play side "
             "by side. The ends are held a little longer.")
    note = maps.crossing_note(crossings)
    if note:
        st.markdown(note)
    fig = go.Figure()
    for (name, ch), color in zip(changes.items(), ("#CC6677", "#332288")):
        fig.add_trace(go.Scatter(x=np.arange(1, steps), y=ch, mode="lines+markers", name=name,
                                 line=dict(color=color, width=3)))
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=40, b=10), plot_bgcolor="white",
                      title=dict(text="Pixel change per step (RMS)<br><sup>a spike is a jump</sup>",
                                 automargin=True),
                      xaxis_title="step", yaxis_title="RMS change", font=dict(size=14))
    fig.update_xaxes(gridcolor="#e6e6e6")
    fig.update_yaxes(gridcolor="#e6e6e6", rangemode="tozero")
    st.plotly_chart(projector.figure(fig), key="interp_changes", width="stretch")


def _from_selected(key: str) -> None:
    """Make the digit selected on a plane (read when the button is pressed) an end of the path."""
    selected = st.session_state[S.SELECTED]
    if selected is None:
        st.toast("Select a digit first: click one on a plane.")
    else:
        st.session_state[key] = selected


# --- prior samples ----------------------------------------------------------------------------------------------

@st.fragment
@share.syncing
def samples_panel(models: list[Checkpoint]) -> None:
    c1, c2 = st.columns([3, 1])
    m = c1.slider("Samples M", 1, 100, key=S.SAMPLES_M)
    c2.button("New draws", key="new_draws", on_click=lambda: st.session_state.update(
        {S.SAMPLES_SEED: st.session_state[S.SAMPLES_SEED] + 1}))
    seed = st.session_state[S.SAMPLES_SEED]
    st.caption(f"The same M draws \u03b5 ~ N(0, I) (seed {seed}) go through every decoder. A VAE was trained so that "
               "N(0, I) is where its codes live; a plain AE was not, so it also gets the fairer prior: a Gaussian "
               "fitted to its own codes, z = mean + L\u00b7\u03b5 with L the Cholesky factor of their covariance.")
    cols = st.columns(len(models) + 1, gap="large")  # the last column: the Gaussian on pixels
    per_row = 10 if m >= 10 else m
    for col, ckpt in zip(cols, models):
        with col:
            z = latent.sample_codes(m, ckpt.config.latent_dim, seed)
            mosaic = tile(latent.decode(ckpt.model, z), per_row)
            st.image(png_bytes(mosaic, 2), output_format="PNG", caption=f"{label(ckpt)}: z ~ N(0, I)",
                     width="stretch")
            downloads.download_png("Samples (PNG)", mosaic, downloads.file_name(
                ckpt.name, "prior-samples", f"M-{m}", f"seed-{seed}", ext="png"), key=f"export_samples_{ckpt.name}")
            if not registry.has_prior(ckpt.model):
                z = latent.sample_codes(m, ckpt.config.latent_dim, seed, fitted_gaussian(ckpt))
                mosaic = tile(latent.decode(ckpt.model, z), per_row)
                st.image(png_bytes(mosaic, 2), output_format="PNG",
                         caption=f"{label(ckpt)}: z ~ Gaussian fitted to its codes", width="stretch")
                downloads.download_png("Samples (PNG)", mosaic, downloads.file_name(
                    ckpt.name, "fitted-gaussian-samples", f"M-{m}", f"seed-{seed}", ext="png"),
                    key=f"export_samples_fit_{ckpt.name}")
    with cols[-1]:
        gaussian_samples(m, seed, per_row)
    note = maps.missing_digits_note({c.name: label(c) for c in models})
    if note:
        st.markdown(note)


GAUSSIAN_NAME = "gaussian-pixels"


def gaussian_samples(m: int, seed: int, per_row: int) -> None:
    """The baseline beside the decoders: M samples x = L z + mu of one Gaussian fitted to the 784 training pixels,
    drawn with the same seed, clipped to [0, 1], with a PNG download (ui.downloads, like the models' samples)."""
    loaded = resources.load_model(GAUSSIAN_NAME)
    if loaded.checkpoint is None:
        if not resolve(GAUSSIAN_NAME).is_dir():
            st.info(f"No Gaussian baseline here: the checkpoint {GAUSSIAN_NAME} is missing; fit it with "
                    "`python -m vae.gaussian` (a few seconds).")
        else:
            st.info(f"No Gaussian baseline: {loaded.error}")
        return
    mosaic = tile(gaussian.sample(loaded.checkpoint.model, m, seed), per_row)
    st.image(png_bytes(mosaic, 2), output_format="PNG", width="stretch",
             caption="Gaussian on pixels: x = L z + \u03bc, z ~ N(0, I\u2087\u2088\u2084), clipped to [0, 1]")
    downloads.download_png("Samples (PNG)", mosaic, downloads.file_name(
        GAUSSIAN_NAME, "samples", f"M-{m}", f"seed-{seed}", ext="png"), key=f"export_samples_{GAUSSIAN_NAME}")
    manifest = loaded.checkpoint.manifest
    confident, draws = manifest["test_metrics"].get("confident"), manifest["training"].get("judge_draws")
    judged = (f" (the judge is sure of only {confident:.0%} of {draws:,})"
              if isinstance(confident, float) and isinstance(draws, int) else "")
    st.caption("Notice: these samples have the training digits' mean and every pixel-to-pixel correlation, yet they "
               f"are smudges rather than digits{judged}: one Gaussian is a single bump around the average image, "
               "while a decoder maps a small z onto the few shapes a digit can take.")
