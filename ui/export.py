"""Downloads of what the pages draw: every decoded digit, grid and film strip as a crisp PNG, interpolations as a
looping GIF, sized for a slide.

Pure functions (no Streamlit; tests/test_export_buttons.py): `file_name`, `slide_factor`, `labelled_row`,
`interpolation_frames`, `gif_bytes`, `png`. The buttons (`download_png`, `download`) hand Streamlit a callable, so
the bytes are made only when someone clicks (st.download_button's deferred data, Streamlit 1.67), in a thread of
their own, and `on_click="ignore"` keeps the click from rerunning the page. The callables hold images already decoded
by the page: no model runs outside the script.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence

import numpy as np
import streamlit as st
from PIL import Image, ImageDraw, ImageFont

from .images import png_bytes, to_uint8, upscale

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


def png(image: np.ndarray, factor: int = 1) -> bytes:
    """A grayscale image in [0, 1] as PNG bytes, upscaled by `factor` (ui.images.png_bytes)."""
    return png_bytes(image, factor)


def image_png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


# --- pictures with words ------------------------------------------------------------------------------------------

def _font(size: int):
    return ImageFont.load_default(size=size)


def _fit(text: str, font, width: float, draw: ImageDraw.ImageDraw) -> str:
    """`text`, shortened in the middle with an ellipsis until it is at most `width` pixels wide."""
    if draw.textlength(text, font=font) <= width:
        return text
    head, tail = text[:len(text) // 2], text[len(text) // 2:]
    while head and tail and draw.textlength(f"{head}\u2026{tail}", font=font) > width:
        head, tail = head[:-1], tail[1:]
    return f"{head}\u2026{tail}"


def labelled_row(images: Sequence[np.ndarray], labels: Sequence[str], factor: int = 6, gap: int = 16,
                 title: str | None = None) -> Image.Image:
    """Digits (each (28, 28) in [0, 1]) side by side on white, each with its label above and an optional title on top:
    e.g. a test digit beside its reconstructions."""
    if len(images) != len(labels) or not len(images):
        raise ValueError(f"need one label per image, got {len(images)} images and {len(labels)} labels")
    side = 28 * factor
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    size = max(14, side // 9)
    room = side + gap - 4
    while size > 10 and max(probe.textlength(t, font=_font(size)) for t in labels) > room:
        size -= 1  # a long model name gets smaller type rather than running into its neighbour's
    font = _font(size)
    labels = [_fit(t, font, room, probe) for t in labels]
    line = font.size + 10
    top = (line if title else 0) + line
    width = len(images) * side + (len(images) - 1) * gap
    if title:
        width = max(width, int(probe.textlength(title, font=font)) + 8)
    canvas = Image.new("L", (width, top + side), 255)
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((width // 2, line // 2), title, fill=0, font=font, anchor="mm")
    for i, (image, text) in enumerate(zip(images, labels)):
        x = i * (side + gap)
        draw.text((x + side // 2, top - line // 2), text, fill=0, font=font, anchor="mm")
        canvas.paste(Image.fromarray(to_uint8(upscale(np.asarray(image, np.float32), factor)), mode="L"), (x, top))
    return canvas


def interpolation_frames(sequences: Sequence[np.ndarray], labels: Sequence[str], factor: int = 8, gap: int = 24,
                         title: str | None = None) -> list[Image.Image]:
    """One frame per step of an interpolation shown by several models at once: step k of every sequence side by side
    under its model's name, over a bar with a marker at t = k / (K - 1), so a viewer sees how far along the path the
    frame is (it also keeps consecutive frames different, which GIF encoders would otherwise merge).

    sequences: one (K, 28, 28) array in [0, 1] per model, the same K for all.
    """
    steps = {len(s) for s in sequences}
    if len(steps) != 1 or steps == {0}:
        raise ValueError(f"every model needs the same number of steps, got {sorted(steps)}")
    k_total = steps.pop()
    bar = max(12, 2 * factor)
    frames = []
    for k in range(k_total):
        row = labelled_row([s[k] for s in sequences], labels, factor, gap, title)
        frame = Image.new("L", (row.width, row.height + bar + 6), 255)
        frame.paste(row, (0, 0))
        draw = ImageDraw.Draw(frame)
        y = row.height + 3 + bar // 2
        draw.line([(4, y), (row.width - 5, y)], fill=150, width=2)
        t = k / (k_total - 1) if k_total > 1 else 0.0
        x = 4 + t * (row.width - 9)
        draw.rectangle([x - bar // 3, y - bar // 2, x + bar // 3, y + bar // 2], fill=0)
        frames.append(frame)
    return frames


def bounce_order(n: int) -> list[int]:
    """Frame order there and back: 0..n-1 then n-2..1 (no repeated ends), 2n - 2 frames for n >= 2."""
    return list(range(n)) + list(range(n - 2, 0, -1))


def gif_bytes(frames: Sequence[np.ndarray | Image.Image], factor: int = 1, frame_ms: int = 100, bounce: bool = True,
              hold_ms: int | None = 600) -> bytes:
    """An animated GIF that loops forever.

    frames: 2-D arrays in [0, 1] (upscaled by `factor`, nearest neighbour) or grayscale PIL images (used as they
    are), all the same size. With `bounce` the animation goes there and back (2n - 2 frames); `hold_ms` keeps the
    first and last frame on screen longer, so the two ends of a path can be read.
    """
    if not len(frames):
        raise ValueError("a GIF needs at least one frame")
    images = [f.convert("L") if isinstance(f, Image.Image)
              else Image.fromarray(to_uint8(upscale(np.asarray(f, np.float32), factor)), mode="L") for f in frames]
    if len({im.size for im in images}) != 1:
        raise ValueError("all frames must have the same size")
    order = bounce_order(len(images)) if bounce and len(images) > 1 else list(range(len(images)))
    ends = {0, len(images) - 1}
    durations = [hold_ms if hold_ms and i in ends else frame_ms for i in order]
    sequence = [images[i] for i in order]
    buf = io.BytesIO()
    sequence[0].save(buf, format="GIF", save_all=True, append_images=sequence[1:], duration=durations, loop=0,
                     optimize=False, disposal=1)
    return buf.getvalue()


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
