"""One live latent plane per model on the explorer: overlays from session state in, new clicks out."""

from __future__ import annotations

import numpy as np
import streamlit as st

from vae import latent
from vae.checkpoint import Checkpoint

from . import latent_plane as lp
from . import amortization, maps, panels, projector, resources
from . import state as S
from .plots import latent_scatter

LINK_GROUP = "explorer"
POSTERIOR_COLOR = "#D62728"
FITTED_COLOR = "#6C3483"


def _overlays(ckpt: Checkpoint) -> tuple[list[dict], dict | None]:
    """Ellipses (the AE's fitted Gaussian; the selected digit's q(z|x) at 1 and 2 sigma) and eps draws."""
    ellipses: list[dict] = []
    if ckpt.config.kind == "ae":
        g = panels.fitted_gaussian(ckpt)
        for k in (1, 2):
            x, y = latent.covariance_ellipse(g.mean, g.cov, k)
            ellipses.append({"x": x, "y": y, "label": "fitted Gaussian" if k == 2 else None, "color": FITTED_COLOR,
                             "dash": True})
    index = st.session_state[S.SELECTED]
    points = None
    if index is not None:
        mu, logvar = resources.encoded(ckpt.name)
        if logvar is not None:
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
    view = lp.default_view(payload.codes)
    heatmap = maps.plane_map(ckpt.name, map_kind, view)
    lp.latent_plane(key=key, payload=payload.payload, title=title, view=view, extra_ellipses=ellipses,
                    overlay_points=points, pinned_z=st.session_state[S.PINNED_Z], heatmap=heatmap,
                    link_group=LINK_GROUP if st.session_state[S.LINKED] else None, projector=projector.is_on(),
                    digit_px=260 if projector.is_on() else 224)
    if heatmap is not None:
        what = ("judge's max class probability, 0.1 (dark) to 1 (bright)" if map_kind == "completeness"
                else f"Jacobian norm, 0 (dark) to {heatmap['vmax']:.1f} (bright, 99th percentile)")
        st.caption(f"Map: {what}; mean over the view {heatmap['mean']:.2f}.")
