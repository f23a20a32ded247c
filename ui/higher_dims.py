"""The higher-dimensions page: a 20-D AE beside a 20-D VAE, where their difference is large.

Prior samples under three samplers with their scores, and a live slice: a 2-D plane z = z0 + a u + b v through the
20-D latent space, decoded in the browser under the pointer for both models (ui/latent_plane.js with a projection).
Everything a model's codes are compared with is in units of that model's own code spread (vae.slice.Whitener); a
VAE's codes are one draw z ~ q(z|x) per test digit (its aggregate posterior), an AE's its codes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import streamlit as st

from vae import latent, samplers
from vae import slice as sl
from vae.checkpoint import Checkpoint, checkpoint_dir
from vae.export import UnsupportedDecoder, decoder_payload

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
DEFAULTS = {SAMPLES_SEED: 0, SLICE_SEED: 0, SLICE_KIND: "prior", SLICE_DIGIT: 3, SLICE_OTHER: 2,
            SLICE_MAP: "distance"}
SHOWN = 32  # samples shown per model and sampler
SCORED = 1000  # draws scored per model and sampler when the back end's figures are missing
REAL_FOR_BALLS = 2000  # test images whose k-NN balls define "on the data" for the live scores
MAP_N = 32  # slice map cells a side
FAR_GAPS = 2.0  # "far from its codes": more than this many times the codes' own nearest-neighbour gap
CODE_SEED = 0  # the draw z ~ q(z|x) that stands for each test digit in a VAE's code cloud


SAMPLES_NOTE = (
    "Why the AE's N(0, I) samples fail here: its codes lie far from the origin (compare the norms above) and N(0, I) "
    "puts its mass on a shell its decoder never saw. A Gaussian fitted to its codes lands nearer, but in 20 "
    "dimensions one Gaussian still covers much space between the codes, where the decoder mixes digits into hybrids "
    "and blobs; a mixture fitted to the codes does best. The VAE was trained so that N(0, I) is where its codes live.")
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
    return mu if logvar is None else sl.aggregate_posterior(mu, logvar, CODE_SEED)


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
def _real_balls(stamp: float) -> samplers.RealBalls:
    from vae.judge import features, predict

    judge = resources.load_model(JUDGE_NAME).checkpoint.model
    x = resources.mnist().x_test[:REAL_FOR_BALLS] / 255.0
    return samplers.real_balls(features(judge, x), predict(judge, x))


@st.cache_data(show_spinner="Scoring samples with the judge", max_entries=32)
def _live_scores(name: str, stamp: float, kind: str) -> dict:
    from vae.judge import features, predict

    ckpt = resources.load_model(name).checkpoint
    judge = resources.load_model(JUDGE_NAME).checkpoint.model
    images = latent.decode(ckpt.model, draws(ckpt, kind, SCORED, seed=12345))
    return samplers.scores(predict(judge, images), features(judge, images), _real_balls(resources.stamp(JUDGE_NAME)))


def backend_figures() -> dict | None:
    """Measured figures for the 20-D models from the evaluation's JSON beside RESULTS.md, if it has them:
    {(model, sampler): {"confident": (mean, spread), "precision": ..., "class_tv": ...}, "source": file name}."""
    for path in sorted(checkpoint_dir().glob("*.json")):
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        found = _find_figures(doc)
        if found:
            found["source"] = path.name
            return found
    return None


SAMPLER_ALIASES = {"prior": ("prior", "normal", "n01", "standard"), "gaussian": ("gaussian", "fitted"),
                   "gmm": ("gmm", "mixture")}
MEASURE_ALIASES = {"confident": ("confident",), "precision": ("precision",), "class_tv": ("class_tv", "tv",
                                                                                          "class_balance")}


def _find_figures(doc) -> dict:
    """Walk a JSON document for entries that name one of our models and a sampler, with mean/std measures."""
    out: dict = {}

    def walk(node, path: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            text = " ".join(path).lower()
            model = next((m for m in (AE_NAME, VAE_NAME) if m in text), None)
            sampler = next((s for s, names in SAMPLER_ALIASES.items() if any(a in text for a in names)), None)
            if model and sampler:
                for measure, names in MEASURE_ALIASES.items():
                    for key, value in node.items():
                        if key.lower() in names:
                            pair = _mean_spread(value)
                            if pair:
                                out.setdefault((model, sampler), {})[measure] = pair
            for key, value in node.items():
                walk(value, path + (str(key),))
        elif isinstance(node, list):
            for item in node:
                if isinstance(item, dict):
                    tag = " ".join(str(item.get(k, "")) for k in ("model", "name", "checkpoint", "sampler"))
                    walk(item, path + (tag,))

    walk(doc, ())
    return out


def _mean_spread(value) -> tuple[float, float] | None:
    if isinstance(value, (int, float)):
        return float(value), 0.0
    if isinstance(value, dict) and isinstance(value.get("mean"), (int, float)):
        return float(value["mean"]), float(value.get("std", value.get("spread", 0.0)) or 0.0)
    if isinstance(value, list) and value and all(isinstance(v, (int, float)) for v in value):
        arr = np.asarray(value, float)
        return float(arr.mean()), float(arr.std())
    return None


def score_line(ckpt: Checkpoint, kind: str, figures: dict | None) -> str:
    """"judge-confident 67% · on the data (precision) 81% · class imbalance (TV) 0.07" for one model and sampler."""
    got = (figures or {}).get((ckpt.name, kind))
    if got:
        def fmt(m, pct=True):
            mean, sd = got[m]
            return (f"{mean:.0%} \u00b1 {sd:.0%}" if pct else f"{mean:.2f} \u00b1 {sd:.2f}")
        parts = [f"judge-confident **{fmt('confident')}**" if "confident" in got else None,
                 f"on the data (precision) **{fmt('precision')}**" if "precision" in got else None,
                 f"class imbalance (TV) **{fmt('class_tv', False)}**" if "class_tv" in got else None]
        return " \u00b7 ".join(p for p in parts if p) + f" (seeds' mean \u00b1 spread, {figures['source']})"
    if resources.load_model(JUDGE_NAME).checkpoint is None:
        return "No scores: the judge is missing (`python -m vae.judge --out checkpoints/judge`)."
    s = _live_scores(ckpt.name, resources.stamp(ckpt.name), kind)
    return (f"judge-confident **{s['confident']:.0%}** \u00b7 on the data (precision) **{s['precision']:.0%}** "
            f"\u00b7 class imbalance (TV) **{s['class_tv']:.2f}** ({s['n']:,} draws, this model's seed only)")


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
        vmin, vmax = 0.0, 4.0  # shared by both models: in units of each one's own nearest-code gap
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


MAP_CAPTIONS = {
    "distance": "Map: distance from the plane to the nearest code, in units of that model's own gap between "
                "neighbouring codes: 0 (dark) to 4 (bright), the same scale on both planes.",
    "judge": "Map: the judge's confidence in the decoded digit, 0.1 (dark) to 1 (bright), the same scale on both.",
}


def slice_plane(ckpt: Checkpoint, plane: sl.Plane, map_kind: str) -> None:
    """Mount the live slice of `ckpt` (linked with the other model's), with its map and its numbers."""
    payload, error = slice_payload(ckpt)
    if error:
        st.info(f"Live decoding is off for {ckpt.name}: {error}.")
        return
    s = spread(ckpt)
    heatmap = slice_map(ckpt, map_kind, plane)
    projection = {"z0": plane.z0, "u": plane.u, "v": plane.v,
                  "whiten": {"mean": s.whitener.mean, "matrix": s.whitener.matrix, "gap": s.gap}}
    lp.latent_plane(key=f"slice_{ckpt.config.kind}", payload=payload, title=label(ckpt), view=view_of(plane),
                    circles=(), heatmap=heatmap, link_group="slice", projection=projection, axis_labels=("a", "b"),
                    projector=projector.is_on(), digit_px=260 if projector.is_on() else 224)
    z = plane.points(0.0, 0.0)
    centre = float(s.whitener.nearest_distance(z, cloud(ckpt))[0])
    text = (f"Dots: the test digits' codes{' (one draw from q(z|x) each)' if ckpt.config.kind == 'vae' else ''}, "
            f"where they project onto the plane. The plane's centre is {centre:.1f} code SDs from the nearest code; "
            f"codes sit {s.gap:.1f} from their nearest neighbour.")
    if heatmap is not None:
        text += f" Map mean {heatmap['mean']:.2f}, spread {heatmap['sd']:.2f}."
    st.caption(text)


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
