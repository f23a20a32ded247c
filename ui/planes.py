"""One live latent plane per model on the explorer: overlays from session state in, new clicks out."""

from __future__ import annotations

import numpy as np
import streamlit as st

from vae import latent, registry
from vae.checkpoint import Checkpoint

from . import latent_plane as lp
from . import amortization, maps, panels, projector, resources
from . import state as S
from .plots import latent_scatter

LINK_GROUP = "explorer"
POSTERIOR_COLOR = "#D62728"
FITTED_COLOR = "#6C3483"
WHITENED = "explorer_whitened"  # session state: both planes in whitened units (each model's codes' SDs)
FAR_SDS = 0.5  # a z farther than this from every code (in the codes' SDs) is "far outside its codes" on a 2-D plane


def whitened() -> bool:
    return bool(st.session_state.setdefault(WHITENED, False))


def _to_plane(name: str, x, y) -> tuple[np.ndarray, np.ndarray]:
    """Raw z coordinates -> the plane's coordinates (whitened units when the view is whitened)."""
    if not whitened():
        return np.asarray(x), np.asarray(y)
    w = maps.spread(name).whitener(np.stack([np.asarray(x, np.float64), np.asarray(y, np.float64)], 1))
    return w[:, 0], w[:, 1]


def to_latent(name: str, ab) -> list[float]:
    """The plane's coordinates -> raw z (the identity unless the view is whitened)."""
    if not whitened():
        return [float(ab[0]), float(ab[1])]
    s = maps.spread(name)
    z = s.whitener.mean + s.chol @ np.asarray(ab, np.float64)
    return [float(z[0]), float(z[1])]


def _overlays(ckpt: Checkpoint) -> tuple[list[dict], dict | None]:
    """Ellipses (the AE's fitted Gaussian; the selected digit's q(z|x) at 1 and 2 sigma) and eps draws, in the
    plane's coordinates; in whitened units also the prior's circles, which become ellipses there."""
    ellipses, points = _raw_overlays(ckpt)
    if not whitened():
        return ellipses, points
    for e in ellipses:
        e["x"], e["y"] = _to_plane(ckpt.name, e["x"], e["y"])
    for r in lp.PRIOR_CIRCLES:
        x, y = latent.sigma_circle(r)
        x, y = _to_plane(ckpt.name, x, y)
        ellipses.append({"x": x, "y": y, "label": f"prior {r}\u03c3" if r == 3 else None, "color": "#222222",
                         "dash": r > 1, "width": 1.5})
    if points is not None:
        xy = np.asarray(points["xy"], np.float64).reshape(-1, 2)
        x, y = _to_plane(ckpt.name, xy[:, 0], xy[:, 1])
        points = {**points, "xy": np.stack([x, y], 1)}
    return ellipses, points


def _fitted(ckpt: Checkpoint) -> tuple[dict, ...]:
    """The 1 and 2 sigma ellipses of the Gaussian fitted to the codes of `ckpt`."""
    g = panels.fitted_gaussian(ckpt)
    out = []
    for k in (1, 2):
        x, y = latent.covariance_ellipse(g.mean, g.cov, k)
        out.append({"x": resources.read_only(x), "y": resources.read_only(y),
                    "label": "fitted Gaussian" if k == 2 else None, "color": FITTED_COLOR, "dash": True})
    return tuple(out)


def _raw_overlays(ckpt: Checkpoint) -> tuple[list[dict], dict | None]:
    ellipses: list[dict] = []
    if not registry.has_prior(ckpt.model):  # no prior: the Gaussian fitted to its codes (drawn once per version)
        ellipses += [dict(e) for e in resources.kept("fitted_ellipses", ckpt.name, lambda stamp: _fitted(ckpt))]
    index = st.session_state[S.SELECTED]
    points = None
    if index is not None:
        mu, logvar = resources.encoded(ckpt.name)
        if registry.has_posterior(ckpt.model):  # q(z|x) has a variance to draw
            for k in (1, 2):
                x, y = latent.covariance_ellipse(mu[index], np.diag(np.exp(logvar[index])), k)
                ellipses.append({"x": x, "y": y, "label": f"q(z|x) {k}\u03c3", "color": POSTERIOR_COLOR,
                                 "dash": k == 2, "width": 2.5})
            ellipses += amortization.ellipses(ckpt, index)  # the q fitted to this digit alone, if fitted
            draws = panels.eps_draws(ckpt, index)
            if draws is not None:
                points = {"xy": draws, "label": "z = \u03bc + \u03c3\u00b7\u03b5", "color": POSTERIOR_COLOR, "size": 4}
        else:
            points = {"xy": mu[index:index + 1], "label": f"digit #{index}", "color": POSTERIOR_COLOR, "size": 7}
    return ellipses, points


def plane_key(ckpt: Checkpoint, second: bool = False) -> str:
    """The plane's component key; `second` for the right-hand plane when both sides show the same model."""
    return f"plane_{ckpt.name}" + ("_2" if second else "")


def new_click(ckpt: Checkpoint, second: bool = False) -> dict | None:
    """A click (or Enter) on the plane of `ckpt` that has not been handled yet, read before the plane is mounted so
    that this same run already shows its effect: {"z": [x, y], "nearest_index": int | None, "seq": int}."""
    key = plane_key(ckpt, second)
    click = (st.session_state.get(key) or {}).get("pinned")
    if not click:
        return None
    handled = st.session_state[S.LAST_CLICK]
    if handled.get(key) == click.get("seq"):
        return None
    handled[key] = click.get("seq")
    z = click.get("z")
    if whitened() and isinstance(z, (list, tuple)) and len(z) == 2:  # the plane reported whitened coordinates
        try:
            click = {**click, "z": to_latent(ckpt.name, z)}
        except (TypeError, ValueError):
            pass  # the caller refuses a bad z with its own message
    return click


def plane_for(ckpt: Checkpoint, labels: np.ndarray, map_kind: str = "none", second: bool = False) -> None:
    """Mount the live plane of `ckpt` with the session's pinned z, selection and link.

    A checkpoint whose decoder the browser cannot run (a conv decoder, a latent size other than 2) gets a static
    plotly plane instead, with a note; the server-side panels still work for it.
    """
    key = plane_key(ckpt, second)
    payload = lp.plane_payload(ckpt.name)
    title = panels.label(ckpt)
    if payload.error:
        st.info(f"Live decoding is off for {ckpt.name}: {payload.error}. The panels below still decode it on the "
                "server.")
        if ckpt.config.latent_dim == 2:
            mu, _ = resources.encoded(ckpt.name)
            st.plotly_chart(projector.figure(latent_scatter(mu, labels, title)), key=f"static_{key}", width="stretch")
        return
    ellipses, points = _overlays(ckpt)
    s = maps.spread(ckpt.name)
    whiten = {"mean": s.whitener.mean, "matrix": s.whitener.matrix, "gap": s.gap, "far": FAR_SDS}
    pinned = st.session_state[S.PINNED_Z]
    if whitened():
        view = lp.default_view(s.whitener(maps.cloud(ckpt.name)))
        projection = {"z0": s.whitener.mean, "u": s.chol[:, 0], "v": s.chol[:, 1], "whiten": whiten}
        circles, axes, whiten = (), ("w\u2081 (code SDs)", "w\u2082 (code SDs)", "w"), None
        if pinned is not None:
            pinned = [float(c[0]) for c in _to_plane(ckpt.name, [pinned[0]], [pinned[1]])]
    else:
        view, projection, circles, axes = lp.default_view(payload.codes), None, lp.PRIOR_CIRCLES, None
    heatmap = maps.plane_map(ckpt.name, map_kind, view, whitened())
    lp.latent_plane(key=key, payload=payload.payload, title=title, view=view, extra_ellipses=ellipses,
                    overlay_points=points, pinned_z=pinned, heatmap=heatmap, circles=circles,
                    link_group=LINK_GROUP if st.session_state[S.LINKED] else None, projector=projector.is_on(),
                    digit_px=232 if projector.is_on() else 224, height=680 if projector.is_on() else 440,
                    projection=projection, axis_labels=axes,
                    whiten=whiten, dots=(1.3, 0.3) if map_kind == "codes" else None)
    if heatmap is not None:
        st.caption(f"{maps.MAPS[map_kind].capitalize()}: {maps.summary(map_kind, heatmap)}")


def map_explanation(map_kind: str) -> str | None:
    """What the map's colours mean and what to notice, once under both planes."""
    return maps.CAPTIONS.get(map_kind)


WHITENED_NOTE = ("Whitened units: each plane shows w = L\u207b\u00b9(z \u2212 m), its own codes' mean m and "
                 "covariance L L\u1d40, so both share one scale (1 = one standard deviation of that model's codes) "
                 "and the prior's circles become ellipses. *Same z* then links the same whitened position.")


def far_outside(ckpt: Checkpoint, z) -> str | None:
    """A warning when z is far outside the codes of `ckpt`, in units of its code spread (None when near)."""
    d = maps.code_distance(ckpt.name, z)
    if d <= FAR_SDS:
        return None
    return (f"z = ({z[0]:.2f}, {z[1]:.2f}) is {d:.1f} standard deviations of its codes away from every code of "
            f"{panels.label(ckpt)}: its decoder was never trained there. A 2-D MLP decoder still draws a clean "
            "digit, because it extends the nearest digit's strokes, so a clean digit here is not evidence of a "
            "complete latent space.")
