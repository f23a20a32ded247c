"""Download buttons for what the pages draw: every decoded digit, grid and film strip as a crisp PNG, interpolations as
a looping GIF, sized for a slide, under a file name that says what it shows. The pictures themselves are rendered by
ui.images.

Pure helpers (tests/test_export_buttons.py): `number`, `file_name`, `slide_factor`. The buttons (`download_png`,
`download`) hand Streamlit a callable, so the bytes are made only when someone clicks (st.download_button's deferred
data, Streamlit 1.67), in a thread of their own, and `on_click="ignore"` keeps the click from rerunning the page. The callables hold images already decoded
by the page: no model runs outside the script.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import streamlit as st

from .images import png

SLIDE_PX = 1680  # long side of a downloaded grid or strip: sharp on a 1080p slide, a few hundred kB at most
DIGIT_FACTOR = 10  # one digit downloads at 280 x 280
ICON = ":material/download:"
PNG, GIF = "image/png", "image/gif"


# --- names and sizes ----------------------------------------------------------------------------------------------

def number(value: float) -> str:
    """A float as short text, to 4 decimals: 2.0 -> "2", -1.25 -> "-1.25" (the way links write numbers too)."""
    text = f"{round(float(value), 4):.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def file_part(text) -> str:
    """A piece of a file name: letters, digits and . _ + - kept, anything else (spaces, slashes, commas) becomes -;
    a float is written short (`number`)."""
    if isinstance(text, float):
        return number(text)  # digits, a point and perhaps a minus sign: keep the sign
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", str(text)).strip("-.") or "x"


def file_name(*parts, ext: str) -> str:
    """Parts joined by underscores, e.g. file_name("vae-z2", "grid", "15x15", ext="png") -> vae-z2_grid_15x15.png."""
    return "_".join(file_part(p) for p in parts if p is not None and str(p) != "") + "." + ext


def slide_factor(width_px: int, target: int = SLIDE_PX, largest: int = 12) -> int:
    """The integer upscale that brings an image `width_px` wide closest to `target` without passing it (at least 1):
    nearest-neighbour by an integer keeps every pixel a crisp square."""
    return int(max(1, min(largest, target // max(1, int(width_px)))))


# --- buttons ------------------------------------------------------------------------------------------------------

def download(label: str, make: Callable[[], bytes], file_name: str, mime: str, key: str,
             help: str | None = None) -> None:
    """A download button whose bytes are made by `make()` when clicked; the click does not rerun the page. A label
    too long for a narrow column wraps rather than being cut."""
    st.download_button(label, make, file_name=file_name, mime=mime, key=key, on_click="ignore", icon=ICON,
                       help=help, wrap=True)


def download_png(label: str, image: np.ndarray, file_name: str, key: str, factor: int | None = None,
                 help: str | None = None) -> None:
    """A PNG download of a digit or a mosaic (2-D, [0, 1]), upscaled to slide size (`slide_factor` unless given)."""
    image = np.array(image, np.float32)  # a copy: the page may reuse its array before the click
    factor = factor or slide_factor(image.shape[1])
    h, w = image.shape[0] * factor, image.shape[1] * factor
    download(label, lambda: png(image, factor), file_name, PNG, key,
             help=help or f"{w} \u00d7 {h} pixels, nearest-neighbour upscaled: every pixel a sharp square")
