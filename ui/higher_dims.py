"""The higher-dimensions page: a 20-D AE beside a 20-D VAE, where their difference is large.

Prior samples under three samplers with their scores, and a live slice: a 2-D plane z = z0 + a u + b v through the
20-D latent space, decoded in the browser under the pointer for both models (ui/latent_plane.js with a projection).
Everything a model's codes are compared with is in units of that model's own code spread (vae.slice.Whitener); a
VAE's codes are one draw z ~ q(z|x) per test digit (its aggregate posterior), an AE's its codes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import streamlit as st

from vae import latent, registry, samplers
from vae import slice as sl
from vae.checkpoint import CHECKPOINT_DIR, Checkpoint
from vae.decoder_bytes import UnsupportedDecoder, decoder_payload

from . import latent_plane as lp
from . import projector, resources
from .images import png_bytes, tile
from .panels import label

AE_NAME, VAE_NAME, JUDGE_NAME = "ae-z20", "vae-z20", "judge"
SAMPLES_SEED, SLICE_SEED = "hd_samples_seed", "hd_slice_seed"  # session state: "New draws", "New plane"
SLICE_KIND, SLICE_DIGIT, SLICE_MAP = "hd_slice_kind", "hd_slice_digit", "hd_slice_map"
SLICE_OTHER = "hd_slice_other"  # the second test digit of the plane through two codes
SLICE_KINDS = {
    "prior": "through a prior draw z\u2080 ~ N(0, I), two random directions",
    "code": "from a test digit's code towards a prior draw",
    "codes": "through two test digits' codes and the codes' centre",
}
SLICE_MAPS = {"none": "no map", "distance": "distance to the nearest code", "judge": "judge's confidence"}
# Projector mode (the presentation layout): one view at a time, each fitting the window, chosen at the top; the
# controls' choices as short names in one row (the long ones above are the normal layout's and the notes').
VIEW, SAMPLER = "hd_view", "hd_sampler"  # session state: the view shown, the sampler of the samples view
VIEWS = {"slice": "Live slice", "samples": "Samples"}
SLICE_KINDS_SHORT = {"prior": "Prior draw", "code": "Digit → prior", "codes": "Two digits"}
SLICE_MAPS_SHORT = {"none": "none", "distance": "distance", "judge": "judge"}
DEFAULTS = {SAMPLES_SEED: 0, SLICE_SEED: 0, SLICE_KIND: "prior", SLICE_DIGIT: 3, SLICE_OTHER: 2,
            SLICE_MAP: "distance", VIEW: "slice", SAMPLER: "prior"}
SHOWN = 32  # samples shown per model and sampler
SCORED = 1000  # draws scored per model and sampler when the back end's figures are missing
MAP_N = 32  # slice map cells a side
# "Far from its codes": more than this many times the codes' own nearest-neighbour gap. Measured on 9 x 9 points of
# three prior-draw planes: vae-z20's lie at 0.85 to 1.0 gaps (median), ae-z20's at 1.5 to 1.7.
FAR_GAPS = 1.4
CODE_SEED = 0  # the draw z ~ q(z|x) that stands for each test digit in a VAE's code cloud


SAMPLES_NOTE = (
    "Why the AE's N(0, I) samples fail here: its codes lie far from the origin (compare the norms above) and N(0, I) "
    "puts its mass on a shell its decoder never saw. A Gaussian fitted to its codes lands nearer, but in 20 "
    "dimensions one Gaussian still covers much space between the codes, where the decoder mixes digits into hybrids "
    "and blobs; a mixture fitted to the codes does best. The VAE was trained so that N(0, I) is where its codes live. "
    "Read precision with care: it counts a sample as on the data when it falls inside *any* real digit's "
    "neighbourhood in the judge's features, and faint strokes land in the wide neighbourhoods of a few unusual real "
    "digits, so the AE's N(0, I) draws can score high precision; their low confidence and low coverage (few real "
    "digits reached) show what they are.")
SLICE_NOTES = {
    "prior": "The plane passes through a draw from N(0, I) and spans ±2 along two random directions: the "
             "region a generative model must decode into digits. Move the pointer: the VAE draws digits, the AE "
             "faint strokes, because none of its codes is near (see the distance beside each digit).",
    "code": "a = 0 is the digit's code, a = 1 a draw from N(0, I) (the same draw for both models), b runs along a "
            "random direction at right angles, in the same units. Walk from a = 0 to a = 1: the AE's digit fades "
            "into nothing, the VAE's turns into other digits.",
    "codes": "The plane through the codes' centre (a = b = 0), the first digit's code (a = 1) and the second's. "
             " It stays among the data, and here the AE shows no holes either: the difference between the "
             "models is off the data.",
}


def init_state() -> None:
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)


# --- models and their code clouds -----------------------------------------------------------------------------------

def models(vae_name: str = VAE_NAME) -> tuple[list[Checkpoint], list[str]]:
    """The AE and the VAE (`vae_name`: vae-z20, or a 20-D VAE imported in this session) that load, and a one-line
    reason for each that does not."""
    out, errors = [], []
    for name in (AE_NAME, vae_name):
        loaded = resources.load_model(name)
        if loaded.checkpoint is None:
            errors.append(f"{name} is not available ({loaded.error}); train it with `make train-all`.")
        else:
            out.append(loaded.checkpoint)
    return out, errors


@st.cache_data(show_spinner="Encoding the test digits", max_entries=8)
def _cloud(name: str, stamp: float) -> np.ndarray:
    mu, logvar = resources.encoded(name)
    if registry.has_posterior(resources.load_model(name).checkpoint.model):
        return sl.aggregate_posterior(mu, logvar, CODE_SEED)
    return mu


def cloud(ckpt: Checkpoint) -> np.ndarray:
    """(10000, d): the AE's codes, or one draw z ~ q(z|x) per test digit for a VAE (its aggregate posterior).

    A VAE's posterior means alone sit in a thin shell (unused dimensions have means near 0 and sigma near 1): measured
    against them, every prior draw looks far off; against draws from q(z|x) it does not."""
    return _cloud(ckpt.name, resources.stamp(ckpt.name))


class Spread(NamedTuple):
    whitener: sl.Whitener
    gap: float  # median distance from a code to its nearest other code, whitened


@st.cache_resource(show_spinner="Measuring the codes' spread", max_entries=8)
def _spread(name: str, stamp: float) -> Spread:
    codes = _cloud(name, stamp)
    w = sl.Whitener.fit(codes)
    return Spread(w, w.typical_gap(codes))


def spread(ckpt: Checkpoint) -> Spread:
    return _spread(ckpt.name, resources.stamp(ckpt.name))


@st.cache_resource(show_spinner="Preparing the live slice", max_entries=8)
def _slice_payload(name: str, stamp: float) -> bytes:
    ckpt = resources.load_model(name).checkpoint
    extra = {"points": _cloud(name, stamp).astype(np.float16), "labels": resources.mnist().y_test.astype(np.uint8)}
    return decoder_payload(ckpt.model, "float16", extra=extra, meta={"checkpoint": name, "slice": True})


def slice_payload(ckpt: Checkpoint) -> tuple[bytes | None, str | None]:
    """The browser decoder of `ckpt` with its code cloud, or the reason there is none (a conv decoder)."""
    try:
        return _slice_payload(ckpt.name, resources.stamp(ckpt.name)), None
    except UnsupportedDecoder as e:
        return None, str(e)


# --- samples and their scores ---------------------------------------------------------------------------------------

@st.cache_resource(show_spinner="Fitting a Gaussian mixture to the codes", max_entries=8)
def _gmm(name: str, stamp: float):
    return samplers.fit_gmm(_cloud(name, stamp))


def draws(ckpt: Checkpoint, kind: str, n: int, seed: int) -> np.ndarray:
    """n codes from sampler `kind` for `ckpt` (the GMM fitted once per model and kept)."""
    if kind == "gmm":
        return _gmm(ckpt.name, resources.stamp(ckpt.name)).sample(n, seed)
    return samplers.draw(kind, cloud(ckpt), n, seed)


def sample_mosaic(ckpt: Checkpoint, kind: str, seed: int, n: int = SHOWN, per_row: int = 8) -> np.ndarray:
    return tile(latent.decode(ckpt.model, draws(ckpt, kind, n, seed)), per_row)


@st.cache_resource(show_spinner="Placing the test digits in the judge's feature space", max_entries=2)
def _real_set(stamp: float):
    from vae.metrics import real_set

    judge = resources.load_model(JUDGE_NAME).checkpoint.model
    return real_set(judge, resources.mnist().x_test, prdc_n=SCORED)  # as many real images as draws (Naeem et al.)


@st.cache_data(show_spinner="Scoring samples with the judge", max_entries=32)
def _live_scores(name: str, stamp: float, kind: str) -> dict:
    from vae.metrics import sampler_scores

    ckpt = resources.load_model(name).checkpoint
    judge = resources.load_model(JUDGE_NAME).checkpoint.model
    z = draws(ckpt, kind, SCORED, seed=12345)
    return {"n": SCORED, **sampler_scores(ckpt.model, judge, z, _real_set(resources.stamp(JUDGE_NAME)))}


BACKEND_SAMPLER = {"prior": "N(0, I)", "gaussian": "fitted Gaussian", "gmm": "GMM-10"}  # vae.evaluate.summary_for
# (key, name, name in projector mode, a share?)
SHOWN_MEASURES = (("confident", "judge-confident", "confident", True),
                  ("precision", "on the data (precision)", "precision", True),
                  ("coverage", "test digits reached (coverage)", "coverage", True),
                  ("class_tv", "class imbalance (TV)", "class\u00a0TV", False))


@st.cache_data(show_spinner=False, max_entries=16)
def _measured(name: str, stamps: tuple[float, ...]) -> dict | None:
    from vae import evaluate, metrics

    try:
        return evaluate.summary_for(name)
    except (metrics.MetricError, OSError, ValueError, KeyError):
        return None


def measured(name: str) -> dict | None:
    """What `python -m vae.evaluate` measured for checkpoint `name` (vae.evaluate.summary_for, re-read when
    RESULTS.json or SEEDS.json change), or None."""
    files = [CHECKPOINT_DIR / "RESULTS.json", CHECKPOINT_DIR / "SEEDS.json"]
    return _measured(name, tuple(f.stat().st_mtime if f.exists() else 0.0 for f in files))


def _fmt(value: float, pct: bool) -> str:
    return f"{value:.0%}" if pct else f"{value:.2f}"


def score_source(ckpt: Checkpoint, kind: str) -> str:
    """Where score_line's figures come from: the evaluation (over how many training seeds) or this page."""
    summary = measured(ckpt.name)
    sampler = BACKEND_SAMPLER[kind]
    if (summary or {}).get("sampling", {}).get(sampler):
        n = max((v.get("n", 0) for k, v in summary.get("seeds", {}).items() if k.startswith(sampler + "/")),
                default=0)
        where = f"mean \u00b1 SD over {n} training seeds" if n > 1 else "this checkpoint"
        return f"{where}; `python -m vae.evaluate`, checkpoints/RESULTS.md"
    return f"measured here on {SCORED:,} draws of this checkpoint"


def score_line(ckpt: Checkpoint, kind: str, short: bool = False) -> str:
    """"judge-confident **5%** ± 2% · ..." for one model and sampler: the evaluation's figures (mean ± SD over the
    training seeds where it has them), else the page's own measure on 1,000 draws of this checkpoint.
    short: the measures' short names and no source (projector mode, where the page says the source below)."""
    summary = measured(ckpt.name)
    sampler = BACKEND_SAMPLER[kind]
    got = (summary or {}).get("sampling", {}).get(sampler)
    if got:
        seeds = summary.get("seeds", {})
        parts = []
        for key, long_name, short_name, pct in SHOWN_MEASURES:
            name = short_name if short else long_name
            if not isinstance(got.get(key), (int, float)):
                continue
            spread = seeds.get(f"{sampler}/{key}")
            sp = "\u00a0" if short else " "  # short: a measure's name, figure and spread never part at a line end
            if spread and spread.get("n", 0) > 1:
                parts.append(f"{name}{sp}**{_fmt(spread['mean'], pct)}**{sp}\u00b1{sp}{_fmt(spread['std'], pct)}")
            else:
                parts.append(f"{name}{sp}**{_fmt(got[key], pct)}**")
        if short:
            return " \u00b7 ".join(parts)
        return " \u00b7 ".join(parts) + f" ({score_source(ckpt, kind)})"
    if resources.load_model(JUDGE_NAME).checkpoint is None:
        return "No scores: the judge is missing (`python -m vae.judge --out checkpoints/judge`)."
    s = _live_scores(ckpt.name, resources.stamp(ckpt.name), kind)
    if short:
        return (f"confident\u00a0**{s['confident']:.0%}** \u00b7 precision\u00a0**{s['precision']:.0%}** \u00b7 "
                f"coverage\u00a0**{s['coverage']:.0%}** \u00b7 class\u00a0TV\u00a0**{s['class_tv']:.2f}**")
    return (f"judge-confident **{s['confident']:.0%}** \u00b7 on the data (precision) **{s['precision']:.0%}** "
            f"\u00b7 test digits reached (coverage) **{s['coverage']:.0%}** \u00b7 class imbalance (TV) "
            f"**{s['class_tv']:.2f}** (measured here on {s['n']:,} draws of this checkpoint)")


# --- the slice ------------------------------------------------------------------------------------------------------

def planes(ckpts: list[Checkpoint], kind: str, seed: int, index: int | None = None,
           other: int | None = None) -> dict[str, sl.Plane]:
    """One plane per model. The prior-draw plane is the same for both (same prior); the others go through each
    model's own codes (test digit `index`, and `other` for the plane through two codes), in coordinates that line
    the two up (fractions of the way). Raises vae.slice.SliceError for a missing digit or identical codes."""
    d = ckpts[0].config.latent_dim
    if kind == "prior":
        plane = sl.random_plane(d, seed)
        return {c.name: plane for c in ckpts}
    n = len(resources.mnist().y_test)
    for what, i in (("a test digit", index), ("a second test digit", other if kind == "codes" else 0)):
        if i is None or not 0 <= int(i) < n:
            raise sl.SliceError(f"this plane needs {what} (a number from 0 to {n - 1}); type one in")
    if kind == "codes" and int(index) == int(other):
        raise sl.SliceError("the two test digits are the same one: one code twice spans no plane; pick two "
                            "different digits")
    draw = np.random.default_rng(seed).standard_normal(d)  # the same prior draw for both models
    out = {}
    for c in ckpts:
        codes = cloud(c)
        if kind == "code":
            out[c.name] = sl.code_to_draw_plane(codes[int(index)], draw, seed)
        else:
            out[c.name] = sl.three_point_plane(codes.mean(0), codes[int(index)], codes[int(other)])
    return out


def view_of(plane: sl.Plane) -> dict:
    return {"x": list(map(float, plane.a_range)), "y": list(map(float, plane.b_range))}


@st.cache_data(show_spinner="Computing the slice's map", max_entries=32)
def _slice_map(name: str, stamp: float, kind: str, z0: tuple, u: tuple, v: tuple, a_range: tuple,
               b_range: tuple) -> dict:
    plane = sl.Plane(np.array(z0), np.array(u), np.array(v), a_range, b_range)
    _, _, z = plane.grid(MAP_N)
    if kind == "distance":
        s = _spread(name, stamp)
        values = s.whitener.nearest_distance(z, _cloud(name, stamp)) / s.gap
        vmin, vmax = 0.5, 2.0  # shared by both models: in units of each one's own nearest-code gap
    else:
        from vae.judge import predict

        ckpt = resources.load_model(name).checkpoint
        judge = resources.load_model(JUDGE_NAME).checkpoint.model
        values, vmin, vmax = predict(judge, latent.decode(ckpt.model, z.astype(np.float32))).max(1), 0.1, 1.0
    return {"values": values.reshape(MAP_N, MAP_N), "x": list(a_range), "y": list(b_range), "vmin": vmin,
            "vmax": vmax, "mean": float(values.mean()), "sd": float(values.std())}


def slice_map(ckpt: Checkpoint, kind: str, plane: sl.Plane) -> dict | None:
    if kind == "none" or (kind == "judge" and resources.load_model(JUDGE_NAME).checkpoint is None):
        return None
    return _slice_map(ckpt.name, resources.stamp(ckpt.name), kind, tuple(plane.z0), tuple(plane.u), tuple(plane.v),
                      tuple(plane.a_range), tuple(plane.b_range))


# One line above the planes in projector mode: the colours' key where the class sees the colours.
MAP_KEYS = {
    "distance": "Map: distance to the nearest code, in that model's code gaps: dark \u2264 0.5, bright \u2265 2 "
                "(one scale for both planes)",
    "judge": "Map: the judge's confidence in the decoded digit: dark \u2264 0.1, bright 1 (one scale for both planes)",
}
MAP_CAPTIONS = {
    "distance": "Map: distance from the plane to the nearest code, in units of that model's own gap between "
                "neighbouring codes (1 = as far as a typical code from its nearest neighbour): 0.5 (dark) to 2 "
                "(bright), the same scale on both planes.",
    "judge": "Map: the judge's confidence in the decoded digit, 0.1 (dark) to 1 (bright), the same scale on both.",
}


def slice_plane(ckpt: Checkpoint, plane: sl.Plane, map_kind: str) -> str | None:
    """Mount the live slice of `ckpt` (linked with the other model's), with its map; return the caption that says
    what its dots and numbers are (the page places it: under the plane, or in projector mode below the view)."""
    payload, error = slice_payload(ckpt)
    if error:
        st.info(f"Live decoding is off for {ckpt.name}: {error}.")
        return None
    on = projector.is_on()
    s = spread(ckpt)
    heatmap = slice_map(ckpt, map_kind, plane)
    projection = {"z0": plane.z0, "u": plane.u, "v": plane.v,
                  "whiten": {"mean": s.whitener.mean, "matrix": s.whitener.matrix, "gap": s.gap,
                             "far": FAR_GAPS * s.gap}}
    # Projector mode: the plane asks for up to 680 px and the component fits it to the window and its column; the
    # side is a little wider than the digit so that each of the readout's phrases (nearest code, distance, the
    # codes' gap) keeps one line at 20 px (the longest, "nearest code: a 9 (#7243)", measures 218 px).
    lp.latent_plane(key=f"slice_{ckpt.config.kind}", payload=payload, title=label(ckpt), view=view_of(plane),
                    circles=(), heatmap=heatmap, link_group="slice", projection=projection, axis_labels=("a", "b"),
                    projector=on, digit_px=220 if on else 150, side_px=226 if on else 220,
                    height=680 if on else 420, dots=(1.2, 0.5) if on else (1.2, 0.35))
    z = plane.points(0.0, 0.0)
    centre = float(s.whitener.nearest_distance(z, cloud(ckpt))[0])
    text = (f"Dots: the test digits' codes{' (one draw from q(z|x) each)' if registry.has_posterior(ckpt.model) else ''}, "
            f"where they project onto the plane. The plane's centre is {centre:.1f} code SDs from the nearest code; "
            f"codes sit {s.gap:.1f} from their nearest neighbour.")
    if heatmap is not None:
        text += f" Map mean {heatmap['mean']:.2f}, spread {heatmap['sd']:.2f}."
    return text


def far_warning(ckpt: Checkpoint, plane: sl.Plane) -> str | None:
    """A warning when most of the plane lies far outside the model's codes (in units of its code spread)."""
    s = spread(ckpt)
    _, _, z = plane.grid(9)
    far = float((s.whitener.nearest_distance(z, cloud(ckpt)) > FAR_GAPS * s.gap).mean())
    if far < 0.5:
        return None
    return (f"{far:.0%} of this plane lies more than {FAR_GAPS:g}\u00d7 the codes' own gap away from any code of "
            f"{label(ckpt)}: its decoder was never trained there, so what it shows here is a guess.")


def norm_note(ckpts: list[Checkpoint]) -> str:
    """How far N(0, I) draws sit from the origin next to each model's codes."""
    rng_draws = samplers.draw("prior", np.zeros((1, ckpts[0].config.latent_dim)), 2000, 0)
    parts = []
    for c in ckpts:
        codes = cloud(c)
        parts.append(f"{label(c)}: codes' median norm {np.median(np.linalg.norm(codes, axis=1)):.1f}")
    return (" \u00b7 ".join(parts) + f" \u00b7 N(0, I) draws: {np.median(np.linalg.norm(rng_draws, axis=1)):.1f}")


def mosaic_png(mosaic: np.ndarray) -> bytes:
    return png_bytes(mosaic, 3 if projector.is_on() else 2)
