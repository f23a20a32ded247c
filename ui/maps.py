"""Maps under the latent planes, computed on the server once per model and view and cached.

Every map reads the same on both planes, whatever scale a model gave its codes: the codes' density as a share of the
codes, distances and the decoder's rate of change per standard deviation of the model's own codes (vae.slice's
whitening), judgements in the judge's feature space. Each comes with its mean and spread over the view.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import streamlit as st
from scipy.spatial import cKDTree

from vae import latent, registry, samplers
from vae import slice as sl
from vae.judge import features, predict

from . import resources

JUDGE_NAME = "judge"
MAP_SIZE = 48  # grid cells per side
CLOUD_SEED = 0  # the draw z ~ q(z|x) standing for each test digit in a VAE's aggregate posterior
REAL_FOR_BALLS = 2000  # test images whose k-NN balls (judge features) define "near a real digit"
MAPS = {
    "none": "no map",
    "codes": "where the codes are (aggregate posterior)",
    "distance": "distance to the nearest code",
    "completeness": "judge's confidence in the decoded digit",
    "precision": "decoded digit near a real one? (precision)",
    "continuity": "continuity: change per code standard deviation",
}
NEEDS_JUDGE = ("completeness", "precision")
# What the colours mean, and the one thing to notice (shown under the planes).
CAPTIONS = {
    "codes": "Bright: where the model's codes are densest (the AE's codes; for the VAE one draw from q(z|x) per test "
             "digit, its aggregate posterior). Colour = share of the codes in less dense places, 0 to 1 on both "
             "planes; the coloured region holds 99% of the codes. Compare it with the prior's circles (1\u03c3, 2\u03c3, "
             "3\u03c3 hold 39%, 86%, 99% of N(0, I)): the VAE's codes fill them, the AE's do not.",
    "distance": "Distance from each z to the nearest code, in standard deviations of that model's own codes: 0 (dark) "
                "to 1 (bright), the same on both planes. Bright is far from every code: the decoder was never "
                "trained there.",
    "completeness": "The judge's confidence in the decoded digit, 0.1 (dark) to 1 (bright). It is bright almost "
                    "everywhere for **both** models: a small MLP decoder draws *some* clean digit at every z of a "
                    "2-D plane, even far from its codes, so confidence cannot show the AE's holes in 2-D. What the "
                    "AE's N(0, I) draws miss is coverage: see *where the codes are* and the prior samples (no 1s).",
    "precision": "Whether the decoded digit lands near a real test digit in the judge's feature space (inside the "
                 "ball around one of 2,000 test digits that reaches its 3rd nearest neighbour; Kynk\u00e4\u00e4nniemi "
                 "et al. 2019): bright = yes. Mean = share of the view on the data.",
    "continuity": "How much the decoded image changes per standard deviation of the model's own codes (the decoder's "
                  "Jacobian in whitened z), log scale from 1 (dark) to 300 (bright) pixel units, the same on both. "
                  "Raw z units made the AE look 12\u00d7 smoother only because its codes spread 12\u00d7 wider.",
}


def judge_error() -> str | None:
    """Why the judge's maps are unavailable, or None."""
    loaded = resources.load_model(JUDGE_NAME)
    return None if loaded.checkpoint else (f"the judge's maps need the judge: {loaded.error} "
                                           "(train it with `python -m vae.judge --out checkpoints/judge`)")


# --- each model's codes and their spread ---------------------------------------------------------------------------

@st.cache_data(show_spinner="Encoding the test digits", max_entries=64)
def _cloud(name: str, stamp: float) -> np.ndarray:
    mu, logvar = resources.encoded(name)
    ckpt = resources.load_model(name).checkpoint
    posterior = registry.has_posterior(ckpt.model) if ckpt is not None else logvar is not None
    return sl.aggregate_posterior(mu, logvar, CLOUD_SEED) if posterior else mu


def cloud(name: str) -> np.ndarray:
    """(n, d): an AE's test codes, or one draw z ~ q(z|x) per test digit for a VAE (its aggregate posterior).
    Read-only, shared by every session."""
    return resources.kept("cloud", name, lambda stamp: resources.read_only(_cloud(name, stamp)))


class Spread(NamedTuple):
    whitener: sl.Whitener  # z -> W (z - mean): the codes in units of their own standard deviation
    chol: np.ndarray  # L = W^-1: z = mean + L w
    gap: float  # median whitened distance from a code to its nearest other code


@st.cache_resource(show_spinner="Measuring the codes' spread", max_entries=64)
def _spread(name: str, stamp: float) -> Spread:
    codes = _cloud(name, stamp)
    w = sl.Whitener.fit(codes)
    return Spread(w, np.linalg.inv(w.matrix), w.typical_gap(codes))


def spread(name: str) -> Spread:
    return resources.kept("spread", name, lambda stamp: _spread(name, stamp))


# Exact nearest-neighbour searches over a model's 10,000 codes, asked on every click: a k-d tree answers one z in
# tens of microseconds, a pass over all the codes took 0.3 to 0.7 ms.

def _tree(points: np.ndarray) -> cKDTree:
    return cKDTree(np.asarray(points, np.float64))


def nearest_codes(name: str, z, k: int = 5) -> np.ndarray:
    """Indices of the k test digits whose codes (posterior means) lie nearest to z, nearest first (Euclidean, in z:
    the same answer as vae.latent.nearest over resources.encoded(name)[0])."""
    tree = resources.kept("mu_tree", name, lambda stamp: _tree(resources.encoded(name)[0]))
    k = min(k, tree.n)
    _, idx = tree.query(np.asarray(z, np.float64).reshape(-1), k=k)
    return np.atleast_1d(idx).astype(np.int64)


def code_distance(name: str, z) -> float:
    """Distance from z to the nearest code of `cloud(name)`, in standard deviations of the codes (whitened): the
    same as spread(name).whitener.nearest_distance([z], cloud(name))[0]."""
    s = spread(name)
    tree = resources.kept("cloud_tree", name, lambda stamp: _tree(s.whitener(cloud(name))))
    d, _ = tree.query(s.whitener(np.asarray([z], np.float64))[0], k=1)
    return float(d)


def whitened_projection(name: str) -> dict:
    """The live plane's projection for a 2-D model drawn in whitened units: z = mean + a L[:, 0] + b L[:, 1]."""
    s = spread(name)
    return {"z0": s.whitener.mean, "u": s.chol[:, 0], "v": s.chol[:, 1],
            "whiten": {"mean": s.whitener.mean, "matrix": s.whitener.matrix, "gap": s.gap}}


@st.cache_resource(show_spinner="Placing the test digits in the judge's feature space", max_entries=2)
def _real_balls(stamp: float) -> samplers.RealBalls:
    judge = resources.load_model(JUDGE_NAME).checkpoint.model
    x = resources.mnist().x_test[:REAL_FOR_BALLS] / 255.0
    return samplers.real_balls(features(judge, x), predict(judge, x))


def real_balls() -> samplers.RealBalls:
    return _real_balls(resources.stamp(JUDGE_NAME))


# --- the maps ------------------------------------------------------------------------------------------------------

def _hdr_depth(cloud_w: np.ndarray, grid_w: np.ndarray, seed: int = 0) -> np.ndarray:
    """Share of the codes lying where their density is lower than at each grid point (0 outside them all, 1 at the
    densest spot): a Gaussian kernel density in whitened units (Scott's bandwidth), its highest-density levels."""
    rng = np.random.default_rng(seed)
    pts = cloud_w[rng.choice(len(cloud_w), min(4000, len(cloud_w)), replace=False)]
    h = len(pts) ** (-1 / 6)  # Scott's rule in 2-D, unit variance

    def density(q: np.ndarray) -> np.ndarray:
        d2 = (q ** 2).sum(1)[:, None] + (pts ** 2).sum(1)[None, :] - 2 * q @ pts.T
        return np.exp(-np.maximum(d2, 0) / (2 * h * h)).mean(1)

    at_codes = np.sort(density(pts[:2000]))
    return np.searchsorted(at_codes, density(grid_w)) / len(at_codes)


@st.cache_data(show_spinner="Computing the map", max_entries=64)
def _map(name: str, stamp: float, kind: str, view_x: tuple[float, float], view_y: tuple[float, float],
         whitened: bool) -> dict:
    model = resources.load_model(name).checkpoint.model
    s = _spread(name, stamp)
    xs = np.linspace(view_x[0], view_x[1], MAP_SIZE)
    ys = np.linspace(view_y[1], view_y[0], MAP_SIZE)  # top row first
    gx, gy = np.meshgrid(xs, ys)
    grid = np.stack([gx.ravel(), gy.ravel()], 1)
    z = (s.whitener.mean + grid @ s.chol.T if whitened else grid).astype(np.float32)  # the codes at the cells
    extra: dict = {}
    if kind == "codes":
        values, vmin, vmax = _hdr_depth(s.whitener(_cloud(name, stamp)), s.whitener(z)), 0.0, 1.0
        prior = latent.sample_codes(2000, z.shape[1], seed=1, limit=2000)
        in_region = _hdr_depth(s.whitener(_cloud(name, stamp)), s.whitener(prior)) > 0.01
        within_3 = (np.linalg.norm(_cloud(name, stamp), axis=1) <= 3.0).mean() if z.shape[1] == 2 else None
        extra = {"prior_in_codes": float(in_region.mean()), "codes_in_3sigma": within_3}
    elif kind == "distance":
        values, vmin, vmax = s.whitener.nearest_distance(z, _cloud(name, stamp)), 0.0, 1.0
    elif kind == "completeness":
        judge = resources.load_model(JUDGE_NAME).checkpoint.model
        values, vmin, vmax = predict(judge, latent.decode(model, z)).max(1), 0.1, 1.0
    elif kind == "precision":
        judge = resources.load_model(JUDGE_NAME).checkpoint.model
        values, vmin, vmax = samplers.inside_balls(features(judge, latent.decode(model, z)), real_balls()), 0.0, 1.0
        values = values.astype(np.float64)
    else:
        from vae.metrics import whitened_jacobian_norm  # ||J(z) L||_F, L L^T the covariance of the codes

        raw = whitened_jacobian_norm(model, z, _cloud(name, stamp))
        extra = {"median": float(np.median(raw)), "spikiness": float(np.percentile(raw, 99) / np.median(raw))}
        values, vmin, vmax = np.log10(np.maximum(raw, 1e-3)), 0.0, np.log10(300.0)
    return {"values": values.reshape(MAP_SIZE, MAP_SIZE), "x": list(view_x), "y": list(view_y),
            "vmin": vmin, "vmax": vmax, "mean": float(values.mean()), "sd": float(values.std()), **extra}


def plane_map(name: str, kind: str, view: dict, whitened: bool = False) -> dict | None:
    """The `kind` map of checkpoint `name` over `view` ({"x": [lo, hi], "y": [lo, hi]}, in whitened units when
    `whitened`), or None for "none" or a judge's map without the judge."""
    if kind == "none" or (kind in NEEDS_JUDGE and judge_error()):
        return None
    return _map(name, resources.stamp(name), kind, tuple(view["x"]), tuple(view["y"]), whitened)


def summary(kind: str, hm: dict) -> str:
    """The map's number(s) for the caption under a plane."""
    if kind == "codes":
        out = f"{hm['prior_in_codes']:.0%} of N(0, I) draws land among the codes"
        if hm.get("codes_in_3sigma") is not None:
            out += (f"; the prior's 3\u03c3 circle holds {hm['codes_in_3sigma']:.0%} of the codes (the prior never "
                    "reaches the rest)")
        return out + "."
    if kind == "continuity":
        return (f"Per code SD: median {hm['median']:.0f}, spikiness (99th percentile / median) "
                f"{hm['spikiness']:.1f}, over the view.")
    unit = {"distance": " code SDs", "precision": " (share on the data)"}.get(kind, "")
    return f"Mean over the view {hm['mean']:.2f}{unit}, spread (SD) {hm['sd']:.2f}."


# --- what the judge reads along a path and in prior samples (the explanations beside the panels) -----------------------

def _labels(images: np.ndarray) -> np.ndarray | None:
    if judge_error():
        return None
    return predict(resources.load_model(JUDGE_NAME).checkpoint.model, images).argmax(1)


def _runs(labels: np.ndarray) -> list[int]:
    return [int(v) for i, v in enumerate(labels) if i == 0 or v != labels[i - 1]]


def path_reading(images: np.ndarray) -> str | None:
    """"The judge reads: 0 → 6 → 2 → 1" for the decoded frames of a path (n, 28, 28), or None without the judge."""
    labels = _labels(images)
    if labels is None:
        return None
    return "The judge reads along this path: " + " \u2192 ".join(map(str, _runs(labels)))


def path_crossings(images: np.ndarray) -> int:
    """How many digits other than the two ends the judge reads along the path (0 without the judge)."""
    labels = _labels(images)
    if labels is None:
        return 0
    return len(set(_runs(labels)) - {int(labels[0]), int(labels[-1])})


def crossing_note(crossings: dict[str, int]) -> str | None:
    """One or two sentences on why a straight path in a 2-D latent space crosses other digits, when one does."""
    crossed = {name: k for name, k in crossings.items() if k > 0}
    if not crossed:
        return None
    which = ", ".join(f"{name}: {k} other digit{'s' if k > 1 else ''}" for name, k in crossed.items())
    return ("**Why does a straight path pass through other digits?** In 2-D all ten digits share one plane, so the line "
            f"between two codes runs through the digits lying between them ({which}). That is not a lack of "
            "continuity: each step still changes the image only a little (see the chart). A 2-D VAE packs the "
            "digits tightly inside the prior, so its paths cross more of them; in 20 dimensions there is room to go "
            "around.")


PRIOR_DRAWS = 2000


@st.cache_data(show_spinner="Reading prior samples with the judge", max_entries=32)
def _prior_shares(name: str, stamp: float, judge_stamp: float) -> list[float]:
    model = resources.load_model(name).checkpoint.model
    z = latent.sample_codes(PRIOR_DRAWS, model.config.latent_dim, seed=7, limit=PRIOR_DRAWS)
    labels = _labels(latent.decode(model, z))
    return (np.bincount(labels, minlength=10) / len(labels)).tolist()


def prior_shares(name: str) -> list[float] | None:
    """The share of each digit the judge reads among 2,000 N(0, I) draws decoded by `name` (None without judge)."""
    if judge_error():
        return None
    return _prior_shares(name, resources.stamp(name), resources.stamp(JUDGE_NAME))


def missing_digits_note(names_labels: dict[str, str]) -> str | None:
    """What N(0, I) draws miss: the digits a model's prior samples (almost) never show, e.g. no 1s for a 2-D AE."""
    shares = {lab: prior_shares(name) for name, lab in names_labels.items()}
    if any(v is None for v in shares.values()):
        return None
    rare = {lab: [d for d in range(10) if v[d] < 0.01] for lab, v in shares.items()}
    if not any(rare.values()):
        return None
    parts = []
    for lab, digits in rare.items():
        v = shares[lab]
        if digits:
            parts.append(f"{lab}: almost no {', '.join(map(str, digits))} "
                         f"({', '.join(f'{v[d]:.1%}' for d in digits)})")
        else:
            parts.append(f"{lab}: every digit, {min(v):.0%} to {max(v):.0%} each")
    return (f"**What N(0, I) misses:** among {PRIOR_DRAWS:,} prior draws the judge reads " + "; ".join(parts) + ". "
            "A model whose codes spread beyond the prior's circles (the AE's reach tens of units) gets N(0, I) draws "
            "only on the digits near its origin; codes that fill the circles (the VAE's) let the prior reach every "
            "digit. Turn on the *where the codes are* map to see it.")
