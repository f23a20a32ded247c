"""The live latent plane: a Streamlit component that decodes the z under the pointer in the browser.

The page sends the model's MLP decoder once, as bytes (`vae.decoder_bytes.decoder_payload`, about 1.6 MB in float16 for the
shipped 2 -> 256 -> 512 -> 512 -> 784 decoders), with the encoded test digits; the browser then decodes on every
animation frame without a server round trip. A click pins z and reruns the script with the new state.

    from ui import latent_plane as lp
    ae, vae = lp.plane_payload("ae-z2"), lp.plane_payload("vae-z2")
    left, right = st.columns(2)
    with left:
        ae_state = lp.latent_plane(key="plane_ae", payload=ae.payload, title="AE", view=lp.default_view(ae.codes),
                                   link_group="home")
    with right:
        vae_state = lp.latent_plane(key="plane_vae", payload=vae.payload, title="VAE", link_group="home")
    ae_state["pinned"]  # None, or {"z": [x, y], "nearest_index": int | None, "seq": int}

Data layout (what the JavaScript in latent_plane.js reads): the component's `data` is bytes, two LEX1 containers
(vae/decoder_bytes.py) back to back: first the small options (title, view, circles, ellipses, overlay points, pinned z,
link group, sizes) as a JSON header with no arrays, then the payload. Streamlit takes `data` as bytes *or* JSON, not
both; keeping the options in their own container lets the browser re-read them on every rerun and re-parse the
decoder only when the payload's id changes. The payload itself is built once per checkpoint (cached on name + mtime)
and identical options give identical bytes, so a rerun that changes nothing resends nothing (Streamlit's message
cache) and the component keeps its identity (it is keyed on `key`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import streamlit as st

from streamlit import file_util
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ui import components, resources
from vae import registry
from vae.checkpoint import SESSION_PREFIX
from vae.decoder_bytes import UnsupportedDecoder, decoder_payload, pack

COMPONENT_NAME = "latent-explorer.latent_plane"  # declared in pyproject.toml: served as files
_SENT_KEY = "_latent_plane_sent"  # session state: {plane key: id of the payload this session's browser holds}
PRIOR_CIRCLES = (1, 2, 3)  # radii of the N(0, I) prior's 1-, 2- and 3-sigma circles
# Registered once per process, at import; latent_plane() only mounts instances.
_mount = components.register(COMPONENT_NAME, "latent_plane")
STATIC_FOLDER = "latent-explorer"  # under the app's static folder (server.enableStaticServing): the payload files
# The files' modification time. A payload file is named by its content hash, so it never changes; Streamlit serves
# app static files with Last-Modified and no Cache-Control, and browsers then keep a file fresh for a tenth of its
# age (RFC 9111, heuristic freshness): an old date lets a reload take the decoder from the browser's cache.
STATIC_MTIME = 946684800  # 2000-01-01
_PUBLISHED: dict[str, tuple[bytes, str]] = {}  # payload id -> (payload, URL of its static file), in this process


class PlanePayload(NamedTuple):
    payload: bytes | None  # decoder + the test digits' codes, labels (and log-variances): what latent_plane() takes
    codes: np.ndarray | None  # (10000, 2) posterior means of the test digits, for default_view()
    error: str | None  # why there is no payload (missing checkpoint, conv decoder, latent_dim != 2)


@st.cache_resource(show_spinner="Preparing the live latent plane", max_entries=16)
def _plane_payload(name: str, stamp: float, device_name: str, dtype: str) -> tuple[bytes, np.ndarray]:
    """Build once per checkpoint version: cache_resource hands back the same bytes object on every rerun."""
    checkpoint = resources.load_model(name).checkpoint
    model = checkpoint.model
    if model.config.latent_dim != 2:
        raise UnsupportedDecoder(f"the latent plane draws 2-D latent spaces; {name} has latent_dim "
                                 f"{model.config.latent_dim}")
    mu, logvar = resources.encoded(name)
    labels = resources.mnist().y_test
    extra = {"points": mu.astype(np.float32), "labels": labels.astype(np.uint8)}
    if registry.has_posterior(model):
        extra["logvar"] = logvar.astype(np.float32)
    payload = decoder_payload(model, dtype, extra=extra, meta={"checkpoint": name, "kind": model.config.kind})
    return payload, mu


_READY: dict[tuple, PlanePayload] = {}  # (name, stamp, dtype) -> a built payload; read on every click, where a
# dict costs far less than the three Streamlit cache lookups behind it


def plane_payload(name: str, dtype: str = "float16") -> PlanePayload:
    """The payload for checkpoint `name` (cached on its name and modification time), or the reason there is none."""
    key = (name, resources.stamp(name), dtype)
    ready = _READY.get(key)
    if ready is not None:
        return ready
    loaded = resources.load_model(name)
    if loaded.error:
        return PlanePayload(None, None, loaded.error)
    if resources.mnist() is None:
        return PlanePayload(None, None, "the MNIST test set is missing")
    try:
        payload, mu = _plane_payload(name, resources.stamp(name), resources.device(), dtype)
    except UnsupportedDecoder as e:
        return PlanePayload(None, None, str(e))
    if not name.startswith(SESSION_PREFIX):  # a session's own models stay inline: no file per student
        publish(payload)
    if len(_READY) >= 64:
        _READY.clear()
    _READY[key] = PlanePayload(payload, mu, None)
    return _READY[key]


def default_view(codes: np.ndarray | None, min_span: float = 6.5) -> dict:
    """A square view holding 99% of `codes` (n, 2) and always the prior's 3-sigma circle: {"x": [lo, hi], "y": ...}."""
    if codes is None or len(codes) == 0:
        return {"x": [-4.0, 4.0], "y": [-4.0, 4.0]}
    hit = _VIEWS.get(id(codes))  # the same array (a cached payload's codes) on every click: percentiles once
    if hit is not None and hit[0] is codes and hit[1] == min_span:
        return {"x": list(hit[2]["x"]), "y": list(hit[2]["y"])}
    lo, hi = np.percentile(np.asarray(codes, np.float64), [0.5, 99.5], axis=0)
    half = max(float((hi - lo).max()), min_span) / 2 * 1.1
    centre = (lo + hi) / 2 if half > 3.6 else np.zeros(2)
    view = {"x": [float(centre[0] - half), float(centre[0] + half)],
            "y": [float(centre[1] - half), float(centre[1] + half)]}
    if len(_VIEWS) >= 64:
        _VIEWS.clear()
    _VIEWS[id(codes)] = (codes, min_span, view)
    return {"x": list(view["x"]), "y": list(view["y"])}


_VIEWS: dict[int, tuple] = {}  # id(codes) -> (codes, min_span, view); holding codes keeps the id from being reused


def _num(v, what: str) -> float:
    f = float(v)
    if not math.isfinite(f):
        raise ValueError(f"{what} must be finite, got {v!r}")
    return round(f, 5)


def _xy(x, y, what: str) -> tuple[list[float], list[float]]:
    x, y = np.asarray(x, np.float64).ravel(), np.asarray(y, np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"{what}: x and y have different lengths ({len(x)} and {len(y)})")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError(f"{what}: coordinates must be finite")
    return np.round(x, 5).tolist(), np.round(y, 5).tolist()


def _points_groups(overlay_points) -> list[dict]:
    """None, an (n, 2) array, a dict {x, y, label, color} or a list of such dicts -> list of dicts."""
    if overlay_points is None:
        return []
    if isinstance(overlay_points, dict):
        overlay_points = [overlay_points]
    elif isinstance(overlay_points, np.ndarray):
        overlay_points = [{"xy": overlay_points}]
    groups = []
    for g in overlay_points:
        if "xy" in g:
            xy = np.asarray(g["xy"], np.float64).reshape(-1, 2)
            x, y = _xy(xy[:, 0], xy[:, 1], "overlay_points")
        else:
            x, y = _xy(g["x"], g["y"], "overlay_points")
        groups.append({"x": x, "y": y, "label": g.get("label"), "color": g.get("color", "#000000"),
                       "size": float(g.get("size", 3.5))})
    return groups


def publish(payload: bytes) -> str | None:
    """Write `payload` as a static file named by a hash of its bytes (once per process) and return its URL relative
    to the page ("app/static/latent-explorer/<hash>.lex"); planes then fetch it over HTTP, where the browser caches
    it, instead of receiving it in the websocket message. None when the app does not serve static files
    (server.enableStaticServing) or the folder cannot be written: the payload then goes inline."""
    url = published_url(payload)
    if url is not None:
        return url
    ctx = get_script_run_ctx()
    if ctx is None or not st.get_option("server.enableStaticServing"):
        return None
    name = f"{hashlib.sha256(payload).hexdigest()[:20]}.lex"
    folder = Path(file_util.get_app_static_dir(ctx.main_script_path)) / STATIC_FOLDER
    try:
        path = components.write_once(folder, name, payload)
        os.utime(path, (STATIC_MTIME, STATIC_MTIME))
    except OSError:
        return None
    _PUBLISHED[payload_id(payload)] = (payload, f"app/static/{STATIC_FOLDER}/{name}")
    return _PUBLISHED[payload_id(payload)][1]


def published_url(payload: bytes) -> str | None:
    """The URL publish() gave these very bytes (not merely the same payload id: a damaged copy keeps its header)."""
    entry = _PUBLISHED.get(payload_id(payload))
    return entry[1] if entry is not None and (entry[0] is payload or entry[0] == payload) else None


def payload_id(payload: bytes) -> str:
    """The id in a payload's header (read without touching its arrays). Kept per bytes object: each click mounts both
    planes with the same cached payloads, and parsing the header's JSON twice a click was 1.4% of the server's time."""
    hit = _IDS.get(id(payload))
    if hit is not None and hit[0] is payload:
        return hit[1]
    (n,) = struct.unpack_from("<I", payload, 4)
    pid = json.loads(bytes(payload[8:8 + n]).decode("utf-8"))["payload_id"]
    if isinstance(payload, bytes):  # immutable: the id stays true for as long as the object lives (held here)
        if len(_IDS) >= 64:
            _IDS.clear()
        _IDS[id(payload)] = (payload, pid)
    return pid


_IDS: dict[int, tuple[bytes, str]] = {}  # id(payload) -> (payload, its id); holding it keeps the id from reuse


def plane_options(*, key: str, payload_id: str = "", title: str = "", view: dict | None = None,
                  circles: Sequence[float] = PRIOR_CIRCLES, extra_ellipses: Sequence[dict] = (),
                  overlay_points=None, pinned_z: Sequence[float] | None = None, link_group: str | None = None,
                  height: int = 440, digit_px: int = 224, heatmap: dict | None = None,
                  projector: bool = False, projection: dict | None = None,
                  axis_labels: Sequence[str] | None = None, whiten: dict | None = None,
                  dots: tuple[float, float] | None = None, side_px: int | None = None) -> bytes:
    """The options container that precedes the payload in the component's data (see the module docstring)."""
    view = view or {"x": [-4.0, 4.0], "y": [-4.0, 4.0]}
    v = {axis: [_num(view[axis][0], f"view {axis}"), _num(view[axis][1], f"view {axis}")] for axis in ("x", "y")}
    if v["x"][1] <= v["x"][0] or v["y"][1] <= v["y"][0]:
        raise ValueError(f"view ranges must be increasing, got {view}")
    ellipses = []
    for e in extra_ellipses:
        x, y = _xy(e["x"], e["y"], "extra_ellipses")
        ellipses.append({"x": x, "y": y, "label": e.get("label"), "color": e.get("color", "#d62728"),
                         "dash": bool(e.get("dash", False)), "width": float(e.get("width", 2.0))})
    pinned = None if pinned_z is None else [_num(pinned_z[0], "pinned_z"), _num(pinned_z[1], "pinned_z")]
    options = {"key": str(key), "payload_id": payload_id, "title": title, "view": v, "heatmap": _heatmap(heatmap),
               "circles": [_num(r, "circles") for r in circles],
               "extra_ellipses": ellipses, "overlay_points": _points_groups(overlay_points), "pinned_z": pinned,
               "link_group": link_group, "height": int(height), "digit_px": int(digit_px),
               "projector": bool(projector)}
    if projection is not None:
        options["projection"] = _projection(projection)
    if side_px is not None:  # the side's width when it is to hold more than the digit (a slice's readout)
        options["side_px"] = int(side_px)
    if dots is not None:  # (radius px, opacity) of the test digits' dots
        options["dot_px"], options["dot_alpha"] = _num(dots[0], "dot radius"), _num(dots[1], "dot opacity")
    if whiten is not None:
        options["whiten"] = _whiten(whiten, len(np.asarray(whiten["mean"]).ravel()))
    if axis_labels is not None:  # the axes' titles and, third, the name of the coordinates under the digit
        options["axis_labels"] = [str(axis_labels[0]), str(axis_labels[1])]
        if len(axis_labels) > 2:
            options["coord_label"] = str(axis_labels[2])
    return pack({"kind": "plane_options", "options": options})  # pack's json.dumps names a value JSON cannot hold


def _projection(p: dict) -> dict:
    """{"z0", "u", "v": (d,) arrays, optional "whiten": {"mean": (d,), "matrix": (d, d), "gap": float}} -> JSON:
    the plane z = z0 + a u + b v that a decoder of a d-dimensional space draws (vae.slice.Plane)."""
    vecs = {k: np.asarray(p[k], np.float64).ravel() for k in ("z0", "u", "v")}
    d = vecs["z0"].size
    if any(v.size != d for v in vecs.values()) or not all(np.isfinite(v).all() for v in vecs.values()):
        raise ValueError("projection: z0, u and v must be finite vectors of one length")
    out = {k: np.round(v, 6).tolist() for k, v in vecs.items()}
    if p.get("whiten") is not None:
        out["whiten"] = _whiten(p["whiten"], d)
    return out


def _whiten(w: dict, d: int) -> dict:
    """{"mean": (d,), "matrix": W (d, d), "gap": float, optional "far": float} -> JSON: the plane reads the distance
    from z to the nearest code as |W (z - c)|, in the codes' standard deviations; beyond "far" (default 2 gap) it
    says the z is far outside the codes."""
    mean, matrix = np.asarray(w["mean"], np.float64).ravel(), np.asarray(w["matrix"], np.float64)
    if mean.size != d or matrix.shape != (d, d) or not (np.isfinite(mean).all() and np.isfinite(matrix).all()):
        raise ValueError(f"whiten needs a mean of {d} and a {d} x {d} matrix")
    out = {"mean": np.round(mean, 6).tolist(), "matrix": np.round(matrix, 6).ravel().tolist(),
           "gap": _num(w.get("gap", 0.0), "whiten gap")}
    if w.get("far") is not None:
        out["far"] = _num(w["far"], "whiten far")
    return out


def _heatmap(hm: dict | None) -> dict | None:
    """{"values": (n, n) array, row-major from the top (highest z2), "x": [lo, hi], "y": [lo, hi], optional "vmin",
    "vmax"} -> the JSON the plane draws under its digits (viridis, low = dark)."""
    if hm is None:
        return None
    values = np.asarray(hm["values"], np.float64)
    if values.ndim != 2 or values.shape[0] != values.shape[1] or values.shape[0] < 2:
        raise ValueError(f"heatmap values must be an n x n grid, got shape {values.shape}")
    finite = values[np.isfinite(values)]
    vmin = float(hm.get("vmin", finite.min() if finite.size else 0.0))
    vmax = float(hm.get("vmax", finite.max() if finite.size else 1.0))
    x, y = _xy(hm["x"], hm["y"], "heatmap ranges")
    return {"n": int(values.shape[0]), "values": np.round(np.nan_to_num(values, nan=vmin), 4).ravel().tolist(),
            "x": x, "y": y, "vmin": round(vmin, 5), "vmax": round(vmax if vmax > vmin else vmin + 1.0, 5)}


def _ignore() -> None:
    """Streamlit only reports the state keys that have an on_<key>_change callback."""


def latent_plane(*, key: str, payload: bytes, title: str = "", view: dict | None = None,
                 circles: Sequence[float] = PRIOR_CIRCLES, extra_ellipses: Sequence[dict] = (),
                 overlay_points=None, pinned_z: Sequence[float] | None = None, link_group: str | None = None,
                 height: int = 440, digit_px: int = 224, on_pin: Callable[[], None] | None = None,
                 heatmap: dict | None = None, projector: bool = False, projection: dict | None = None,
                 axis_labels: Sequence[str] | None = None, whiten: dict | None = None,
                 dots: tuple[float, float] | None = None, side_px: int | None = None) -> dict:
    """Mount a live latent plane and return its state.

    key: the component's identity (and the name of its browser test hooks, window.__latentPlane[key]).
    payload: `plane_payload(name).payload` (or `vae.decoder_bytes.decoder_payload` with "points" and "labels" arrays).
    view: {"x": [lo, hi], "y": [lo, hi]}; the shorter range is widened so both axes keep the same scale.
    circles: radii of the prior's sigma circles. extra_ellipses: [{"x": [...], "y": [...], "label", "color",
    "dash"}], e.g. an AE's fitted Gaussian or a digit's q(z|x). overlay_points: an (n, 2) array or
    [{"x", "y", "label", "color"}] drawn as crosses, e.g. draws z = mu + sigma * eps. pinned_z: the pinned marker
    (a click moves it in the browser at once; a new value from Python moves it too). link_group: planes sharing it
    show the same z ("same z" link, a checkbox turns it off per plane). height: the plane's size in px (it shrinks
    to fit the column); digit_px: the decoded digit's size. on_pin: called when a click or Enter pins a z.
    projector: thick strokes and large type (ui/projector.py's classroom mode).
    projection: a slice through a larger latent space, {"z0", "u", "v", optional "whiten"} (see _projection): the
    plane's coordinates are then (a, b) of z = z0 + a u + b v, the payload's points are the d-dimensional codes, drawn
    where they project, and the side shows the distance to the nearest code in the codes' own standard deviations.
    axis_labels: the two axis titles (default z1, z2), and optionally the name of the coordinates shown under the
    digit (default "z", or "(a, b)" with a projection).
    whiten: {"mean", "matrix", "gap", "far"} without a projection: the side reads the distance to the nearest code
    in the codes' own standard deviations (and warns beyond "far"). dots: (radius in px, opacity) of the test
    digits' dots, e.g. small and light on a slice, where thousands project and the map must show through.
    side_px: the width of the column beside the plane (digit and readout) when wider than the digit; where it does
    not fit beside the plane it goes under it as a row, the readout beside the digit.

    Returns {"pinned": None | {"z": [x, y], "nearest_index": index of the test digit drawn within 6 px of the click
    or None, "seq": click counter}}; every click changes "seq", so a second click on the same spot also reruns.
    """
    pid = payload_id(payload)
    options = plane_options(key=key, payload_id=pid, title=title, view=view, circles=circles,
                            extra_ellipses=extra_ellipses, overlay_points=overlay_points, pinned_z=pinned_z,
                            link_group=link_group, height=height, digit_px=digit_px, heatmap=heatmap,
                            projector=projector, projection=projection, axis_labels=axis_labels,
                            whiten=whiten, dots=dots, side_px=side_px)
    # The ~1.8 MB payload goes to the browser once per session and plane: later reruns (a click moves the pinned
    # marker, so the options change) send the options alone, naming the payload. A published payload (a shipped
    # checkpoint's) goes as a reference to its static file, which the browser fetches and caches; others go inline.
    # A plane that lacks it (remounted after a page switch) asks for it with the "need_payload" trigger, and the
    # next run sends it again; "inline:<id>" asks for the bytes themselves (its fetch failed).
    sent = st.session_state.setdefault(_SENT_KEY, {})
    asked = (st.session_state.get(key) or {}).get("need_payload")
    if asked:  # this run answers the plane's request
        sent.pop(key, None)
    data = options
    if sent.get(key) != pid:
        url = None if str(asked).startswith("inline:") else published_url(payload)
        data = options + (pack({"kind": "payload_ref", "payload_id": pid, "url": url}) if url else payload)
    result = _mount(key=key, data=data, on_pinned_change=on_pin or _ignore, on_need_payload_change=_ignore)
    sent[key] = pid
    return {"pinned": result.get("pinned")}


__all__ = ["latent_plane", "plane_payload", "plane_options", "default_view", "PlanePayload", "COMPONENT_NAME",
           "PRIOR_CIRCLES"]
