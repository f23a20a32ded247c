"""The drawing canvas (a Streamlit v2 component) and the choice between a drawing and an upload.

    from ui import canvas
    drawing = canvas.drawing_canvas()              # the canvas's newest drawing (dict) or None
    upload = st.file_uploader(..., key=S.DRAW_UPLOAD)
    choice = canvas.choose(drawing, upload)        # Choice(digit, label, message, stale)

The browser draws at screen resolution and, at the same time, on a hidden 112 x 112 canvas (4 x MNIST's 28): when a
stroke ends (pointerup) it sends that canvas's ink as {"side": 112, "pixels": base64 of 12,544 uint8 values, "seq":
a new number each time, "strokes": count}. Base64 text rather than bytes: a v2 component's state travels as JSON
(Streamlit 1.67 `setStateValue` -> `widgetMgr.setJsonValue`; a JavaScript Uint8Array would arrive as an object of
12,544 numbered keys). 16.7 kB per stroke; nothing is sent while the pen moves.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import numpy as np
import streamlit as st

from vae.preprocess import UPLOAD_MIN_EXTENT, DrawingError, decode_canvas, load_upload, to_mnist

from . import components, projector
from . import state as S

COMPONENT_NAME = "latent-explorer.draw_canvas"  # declared in pyproject.toml: served as files
SIDE = 112  # side of the drawing the browser sends (model pixels)
STROKE = 9.0  # pen width in model pixels: about 2 px after the usual drawing is scaled to MNIST's 20 px box
SCREEN_PX = 280  # the canvas on screen (CSS px; shrinks to fit its column)
SCREEN_PX_PROJECTOR = 360

_mount = components.register(COMPONENT_NAME, "canvas")  # registered once per process, at import


def _ignore() -> None:
    """Streamlit only reports the state keys that have an on_<key>_change callback."""


def _valid(drawing) -> bool:
    try:
        decode_canvas(drawing)
    except DrawingError:
        return False
    return True


def drawing_canvas(key: str = S.DRAW_CANVAS) -> dict | None:
    """Mount the canvas and return its newest drawing ({"side", "pixels", "seq", ...}, possibly malformed: pass it
    to `choose`), or None when nothing was drawn in this session.

    A page switch unmounts the component and Streamlit drops its state; the session keeps the last good drawing
    (state.DRAW_KEPT_CANVAS), paints it back into the new canvas and keeps returning it.
    """
    state = st.session_state.get(key) or {}
    drawing = state.get("drawing") if isinstance(state, dict) else None
    if drawing is not None and _valid(drawing):
        st.session_state[S.DRAW_KEPT_CANVAS] = drawing
    kept = st.session_state[S.DRAW_KEPT_CANVAS]
    on = projector.is_on()
    _mount(key=key, data={"key": key, "side": SIDE, "stroke": STROKE, "px": SCREEN_PX_PROJECTOR if on else SCREEN_PX,
                          "projector": on, "restore": kept if drawing is None else None},
           on_drawing_change=_ignore)
    return drawing if drawing is not None else kept


class Choice(NamedTuple):
    digit: np.ndarray | None  # (28, 28) float32 in [0, 1]: what the models see, or None
    label: str  # where the digit comes from ("your drawing", "the uploaded file x.png"), "" without a digit
    message: str | None  # one line: why the newest input gave no digit (what to do), or None
    stale: bool  # True when `digit` is the last one that worked, shown because the newest input failed


def _canvas_id(drawing) -> str | None:
    """A drawing's identity: its sequence number, or a hash of whatever malformed value arrived."""
    if drawing is None:
        return None
    if isinstance(drawing, dict) and isinstance(drawing.get("seq"), (int, float)):
        return f"seq:{drawing['seq']}"
    return "raw:" + hashlib.sha1(repr(drawing).encode("utf-8", "replace")).hexdigest()


def _preprocess(source: str, drawing, upload) -> np.ndarray:
    if source == "canvas":
        return to_mnist(decode_canvas(drawing))
    try:
        return to_mnist(load_upload(upload.getvalue()), min_extent=UPLOAD_MIN_EXTENT)
    except DrawingError:
        raise
    except Exception as e:  # an untrusted file can upset an image decoder in ways no list foresees
        raise DrawingError(f"The file could not be read as an image ({type(e).__name__}); upload a PNG or JPEG "
                           "of a digit.") from None


def choose(drawing, upload) -> Choice:
    """The digit to show: from the canvas or the upload, whichever changed last (the newest one wins).

    drawing: `drawing_canvas()`'s value; upload: st.file_uploader's UploadedFile or None. Preprocessing runs once per
    input (its result is kept in state.DRAW_RESULT). When the newest input fails (an empty canvas, a non-image, ...)
    the message says why and the last digit that worked stays on the page (stale=True).
    """
    seen = st.session_state[S.DRAW_SEEN]
    canvas_id = _canvas_id(drawing)
    upload_id = getattr(upload, "file_id", None) if upload is not None else None
    source = st.session_state[S.DRAW_SOURCE]
    if upload_id is not None and upload_id != seen.get("upload"):
        source = "upload"
    if canvas_id is not None and canvas_id != seen.get("canvas"):
        source = "canvas"
    seen["canvas"], seen["upload"] = canvas_id, upload_id
    if source == "upload" and upload is None:  # the file was removed: back to the drawing, if there is one
        source = "canvas" if drawing is not None else None
    if source == "canvas" and drawing is None:
        source = "upload" if upload is not None else None
    st.session_state[S.DRAW_SOURCE] = source
    if source is None:
        return Choice(None, "", None, False)

    result_id = f"canvas:{canvas_id}" if source == "canvas" else f"upload:{upload_id}"
    label = "your drawing" if source == "canvas" else f"the uploaded file {getattr(upload, 'name', '')}".rstrip()
    result = st.session_state[S.DRAW_RESULT]
    if result is None or result["id"] != result_id:
        try:
            digit, error = _preprocess(source, drawing, upload), None
        except DrawingError as e:
            digit, error = None, str(e)
        result = {"id": result_id, "digit": digit, "error": error}
        st.session_state[S.DRAW_RESULT] = result
        if digit is not None:
            st.session_state[S.DRAW_GOOD] = {"digit": digit, "label": label}
    if result["digit"] is not None:
        return Choice(result["digit"], label, None, False)
    good = st.session_state[S.DRAW_GOOD]
    if good is None:
        return Choice(None, "", result["error"], False)
    return Choice(good["digit"], good["label"], result["error"], True)


__all__ = ["drawing_canvas", "choose", "Choice", "SIDE", "STROKE", "COMPONENT_NAME"]
