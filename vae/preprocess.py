"""A drawing or a photo of a digit -> a 28x28 image made the way MNIST's digits were made.

MNIST (LeCun, Bottou, Bengio and Haffner 1998; the recipe on yann.lecun.com/exdb/mnist): each NIST digit was
size-normalised to fit a 20x20 box keeping its aspect ratio, with anti-aliasing (hence the grey levels), then placed
in a 28x28 field so that its centre of mass sits at the centre of the field. "Centre" here means pixel (14, 14) in
index coordinates, where pixel (r, c) has its centre at (r, c): measured on the 10,000 test digits, the centre of mass
is at (13.99, 14.01) on average and always within 0.5 px of (14, 14), which is what shifting by a rounded offset gives.
(The field's geometric centre would be 13.5; MNIST's convention is half a pixel down and to the right of it.)
The digits are white ink on black, in [0, 1].

Three steps, each a pure function (numpy and PIL only):
    ink = decode_canvas(state)   or   ink = load_upload(data)      # (h, w) float32 in [0, 1], ink bright
    digit = to_mnist(ink)        or   to_mnist(ink, UPLOAD_MIN_EXTENT)  # (28, 28) float32 in [0, 1]

Bad input raises DrawingError (a ValueError) whose message is one line saying what to do.
"""

from __future__ import annotations

import base64
import binascii
import io
import struct
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

FIELD = 28  # MNIST's image side
BOX = 20  # the longer side of the ink's bounding box after size normalisation
CENTRE = 14.0  # where the centre of mass goes (index coordinates, see the module docstring)
MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # uploads larger than this are refused before decoding (as by the server)
# Images that would decode to more pixels than this are refused from their header, before any pixel is decoded. The
# costliest accepted image, a 5-megapixel lossless WebP (about 15 bytes a pixel: libwebp's frame, Pillow's copy of
# it, the image, its premultiplied copy while shrinking), peaks at 77 MB for one decode, RGBA PNG or TIFF at 56 MB,
# under the 100 MB a decode may take (`python -m benchmarks.upload_memory`, Pillow 13.0.0; at the former 40
# megapixels an RGBA PNG took 484 MB). JPEGs count at the scale they are decoded: 1/2 to 1/8
# (`draft`), so a 48-megapixel phone photo decodes to 3 megapixels and passes.
MAX_UPLOAD_PIXELS = 5_000_000
UPLOAD_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")  # PIL's JPEG also opens phones' MPO files
WORK_SIDE = 1024  # uploads are shrunk to at most this side before any per-pixel work (a phone photo is 4000 px)
CANVAS_SIDES = (28, 1024)  # a canvas payload's side must lie in this range
INK_LEVEL = 0.1  # a pixel with at least this much ink counts for the bounding box
MIN_EXTENT = 0.1  # the ink's bounding box must span at least this share of the image's longer side ...
UPLOAD_MIN_EXTENT = 0.02  # ... (a photo may show a small digit on a large page: uploads pass this instead) ...
MIN_EXTENT_PX = 4  # ... and at least this many pixels; less is a dot or a speck, not a digit
NOISE_LEVEL = 0.25  # in an upload, ink fainter than this (after contrast stretching) is background noise


class DrawingError(ValueError):
    """The drawing or upload cannot become a digit; the message (one line) says what to do instead."""


# --- sources ----------------------------------------------------------------------------------------------------

def decode_canvas(state) -> np.ndarray:
    """The drawing canvas's state -> ink (side, side) float32 in [0, 1] (white ink on black, as MNIST).

    state: {"side": int, "pixels": base64 of side * side uint8 ink values, row-major from the top-left, "seq": ...}
    (what ui/canvas.js sends when a stroke ends). Anything else raises DrawingError.
    """
    if not isinstance(state, dict):
        raise DrawingError(f"The canvas sent a malformed drawing (a {type(state).__name__}, expected a dict); "
                           "press Clear and draw again.")
    side, pixels = state.get("side"), state.get("pixels")
    if isinstance(side, bool) or not isinstance(side, int) or not CANVAS_SIDES[0] <= side <= CANVAS_SIDES[1]:
        raise DrawingError(f"The canvas sent a malformed drawing (side {side!r}, expected {CANVAS_SIDES[0]} to "
                           f"{CANVAS_SIDES[1]}); press Clear and draw again.")
    if not isinstance(pixels, str):
        raise DrawingError("The canvas sent a malformed drawing (pixels are not a base64 string); press Clear and "
                           "draw again.")
    try:
        raw = base64.b64decode(pixels.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise DrawingError("The canvas sent a malformed drawing (pixels are not valid base64); press Clear and "
                           "draw again.") from None
    if len(raw) != side * side:
        raise DrawingError(f"The canvas sent a malformed drawing ({len(raw)} bytes for a {side}x{side} image); "
                           "press Clear and draw again.")
    return np.frombuffer(raw, np.uint8).reshape(side, side).astype(np.float32) / 255.0


def encode_canvas(ink: np.ndarray, seq: int = 0) -> dict:
    """The inverse of decode_canvas: ink (side, side) in [0, 1] -> the canvas's state dict (tests, restoring)."""
    ink = np.asarray(ink, np.float32)
    if ink.ndim != 2 or ink.shape[0] != ink.shape[1]:
        raise ValueError(f"a canvas is square, got shape {ink.shape}")
    raw = (np.clip(ink, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8).tobytes()
    return {"side": int(ink.shape[0]), "pixels": base64.b64encode(raw).decode("ascii"), "seq": seq}


def load_upload(data: bytes, max_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_UPLOAD_PIXELS) -> np.ndarray:
    """An image file's bytes (anything PIL reads: PNG, JPEG, GIF, BMP, WebP, ...) -> ink (h, w) float32 in [0, 1].

    Converted to grayscale (a transparent background counts as paper: the opaque strokes are the ink), turned
    white-on-black when the ink is darker than the paper (the paper's level is the median of the image's border),
    contrast stretched so the paper is 0 and the strongest ink 1, and faint background noise (paper texture, JPEG
    ringing, shadows below NOISE_LEVEL, isolated specks) set to 0. Images are shrunk to at most WORK_SIDE px first.
    Raises DrawingError for files over max_bytes or max_pixels, non-images, and images without visible ink.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DrawingError(f"Expected the file's bytes, got a {type(data).__name__}; upload the image again.")
    if len(data) == 0:
        raise DrawingError("The uploaded file is empty; upload a PNG or JPEG image of a digit.")
    if len(data) > max_bytes:
        raise DrawingError(f"The file is {len(data) / 2**20:.1f} MB; upload an image under "
                           f"{max_bytes / 2**20:.0f} MB (a crop around the digit is plenty).")
    return _ink_from_image(_open_image(bytes(data), max_pixels))


def _open_image(data: bytes, max_pixels: int) -> Image.Image:
    """Decode one frame, refusing decompression bombs before the pixels are decoded."""
    not_image = ("The file is not an image PIL can read as PNG, JPEG, GIF, BMP, WebP or TIFF; upload a PNG or JPEG "
                 "of a digit (was it renamed from another format?).")
    with warnings.catch_warnings():
        # PIL warns above Image.MAX_IMAGE_PIXELS and raises above twice that; our own limit is lower, and a warning
        # turned into an error keeps a bomb from being decoded at all.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=UPLOAD_FORMATS)  # lazy: reads the header only
            width, height = image.size
            if image.format in ("JPEG", "MPO"):
                image.draft(image.mode, (WORK_SIDE, WORK_SIDE))  # JPEG decodes at 1/2, 1/4, 1/8 scale: much faster
            if image.width * image.height > max_pixels:  # the size it would decode to
                raise DrawingError(f"The image is {width}x{height} = {width * height:,} pixels; upload one of at "
                                   f"most {max_pixels:,} ({max_pixels / 1e6:g} megapixels): a crop around the digit is "
                                   "plenty.")
            image.seek(0)
            image.load()
        except DrawingError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise DrawingError(f"The image has too many pixels to decode safely; upload one under "
                               f"{max_pixels / 1e6:.0f} megapixels.") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error):
            raise DrawingError(not_image) from None
    if image.width < 1 or image.height < 1:
        raise DrawingError(not_image)
    return image


def _ink_from_image(image: Image.Image) -> np.ndarray:
    if max(image.size) > WORK_SIDE:  # first, in place: every later step copies the image, so copies stay small
        image.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BOX)
    try:
        image = ImageOps.exif_transpose(image)  # phone photos: honour the orientation tag (a copy, even without one)
    except (OSError, ValueError, SyntaxError):
        pass
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if has_alpha:
        rgba = image.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"), np.float32) / 255.0
        if np.median(_border(alpha)) < 0.5:  # transparent paper: what is opaque is the ink, whatever its colour
            return _clean(alpha)
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    gray = np.asarray(image.convert("L"), np.float32) / 255.0
    paper = float(np.median(_border(gray)))
    if _extreme(gray, "bright") - paper < paper - _extreme(gray, "dark"):
        gray = 1.0 - gray  # the ink is darker than the paper (a scan, a photo of a page, even in dim light): invert
    return _clean(gray)


def _extreme(image: np.ndarray, end: str, k: int = 20) -> float:
    """The k-th brightest (or darkest) pixel: the ink's level even for a thin digit on a large page, yet not
    set by a few hot pixels."""
    flat = image.ravel()
    k = min(k, flat.size)
    return float(np.partition(flat, -k)[-k]) if end == "bright" else float(np.partition(flat, k - 1)[k - 1])


def _border(image: np.ndarray) -> np.ndarray:
    """The pixels of the outer frame (5% of each side, at least 1 px): where the paper is."""
    h, w = image.shape
    bh, bw = max(1, h // 20), max(1, w // 20)
    return np.concatenate([image[:bh].ravel(), image[-bh:].ravel(), image[:, :bw].ravel(), image[:, -bw:].ravel()])


def _clean(ink: np.ndarray) -> np.ndarray:
    """Stretch paper -> 0 and the strongest ink -> 1, then drop the background noise: whatever is fainter than
    NOISE_LEVEL, or than the paper's own noise (the border's 99.5th percentile, plus a margin) when that is higher;
    what is left is stretched back to [0, 1]."""
    paper = float(np.median(_border(ink)))
    strong = _extreme(ink, "bright")
    if strong - paper < 0.1:
        raise DrawingError("No ink found in the image (it is almost uniform); upload a photo or scan with a clearly "
                           "visible digit.")
    ink = np.clip((ink - paper) / (strong - paper), 0.0, 1.0)
    level = min(0.6, max(NOISE_LEVEL, float(np.percentile(_border(ink), 99.5)) + 0.05))
    return _despeckle(np.clip((ink - level) / (1.0 - level), 0.0, 1.0).astype(np.float32))


def _despeckle(ink: np.ndarray) -> np.ndarray:
    """Zero the inked pixels with fewer than 3 inked pixels in their 3x3 block (themselves included): isolated
    noise, which would otherwise stretch the bounding box. A stroke, even a 1 px diagonal, always has 3."""
    mask = (ink > 0).astype(np.int32)
    padded = np.pad(mask, 1)
    h, w = mask.shape
    count = sum(padded[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3))
    return np.where(count >= 3, ink, 0.0).astype(np.float32)


# --- the MNIST recipe -------------------------------------------------------------------------------------------

def ink_bbox(ink: np.ndarray, level: float = INK_LEVEL) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right), bottom/right exclusive, of the pixels with ink >= level; None when there are none."""
    mask = np.asarray(ink) >= level
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, col) of an image's centre of mass, in index coordinates (pixel (r, c) is centred at (r, c))."""
    image = np.asarray(image, np.float64)
    total = image.sum()
    if total <= 0:
        raise DrawingError("The drawing is empty: draw a digit first.")
    rows, cols = np.arange(image.shape[0]), np.arange(image.shape[1])
    return float(image.sum(1) @ rows / total), float(image.sum(0) @ cols / total)


def to_mnist(ink: np.ndarray, min_extent: float = MIN_EXTENT) -> np.ndarray:
    """Ink (h, w) in [0, 1], white on black -> a (28, 28) float32 digit in [0, 1] made as MNIST's were.

    1. Crop to the bounding box of the pixels with ink >= INK_LEVEL.
    2. Resize it so its longer side is 20 px, keeping the aspect ratio (Lanczos: anti-aliased, grey edges).
    3. Place it in a 28x28 field so that its centre of mass lands on pixel (14, 14): the patch goes where its centre
       of mass, shifted by the rounded offset, is within half a pixel of (14, 14). Ink pushed past the edge (a
       centre of mass far from the box's middle, as in MNIST) is cut off.
    Raises DrawingError for an empty drawing and for one with almost no ink (a dot: the box spans less than
    `min_extent` of the image's longer side, or less than MIN_EXTENT_PX pixels).
    """
    ink = np.asarray(ink, np.float32)
    if ink.ndim != 2 or min(ink.shape) < 1:
        raise DrawingError(f"Expected a grayscale image (h, w), got shape {ink.shape}; draw or upload again.")
    ink = np.clip(np.nan_to_num(ink, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
    box = ink_bbox(ink)
    if box is None:
        raise DrawingError("The drawing is empty: draw a digit first.")
    top, left, bottom, right = box
    h, w = bottom - top, right - left
    if max(h, w) < max(MIN_EXTENT_PX, min_extent * max(ink.shape)):
        raise DrawingError("There is almost no ink (a dot, not a digit): draw a bigger digit, or press Clear and "
                           "start again.")
    crop = ink[top:bottom, left:right]
    scale = BOX / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    patch = np.asarray(Image.fromarray(crop, mode="F").resize((new_w, new_h), Image.Resampling.LANCZOS),
                       np.float32)
    patch = np.clip(patch, 0.0, 1.0)
    cy, cx = centre_of_mass(patch)
    # Top-left corner of the patch in the field: its centre of mass moves to (cy + oy, cx + ox), rounded offsets
    oy, ox = int(np.floor(CENTRE - cy + 0.5)), int(np.floor(CENTRE - cx + 0.5))
    field = np.zeros((FIELD, FIELD), np.float32)
    # the overlap is never empty: 0 <= centre of mass < patch size, so oy <= 14 < oy + new_h (likewise for x)
    y0, x0 = max(oy, 0), max(ox, 0)
    y1, x1 = min(oy + new_h, FIELD), min(ox + new_w, FIELD)
    field[y0:y1, x0:x1] = patch[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
    return field


def quantize(digit: np.ndarray) -> np.ndarray:
    """A digit in [0, 1] -> uint8 0..255, as MNIST stores its pixels (and as the page shows and encodes it)."""
    return (np.clip(np.asarray(digit, np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


__all__ = ["DrawingError", "decode_canvas", "encode_canvas", "load_upload", "to_mnist", "ink_bbox", "centre_of_mass",
           "quantize", "FIELD", "BOX", "CENTRE", "MAX_UPLOAD_BYTES", "MAX_UPLOAD_PIXELS", "MIN_EXTENT",
           "UPLOAD_FORMATS", "UPLOAD_MIN_EXTENT"]
