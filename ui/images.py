"""Digits as crisp PNGs: nearest-neighbour upscaling (no blur) and tiling into grids and film strips."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Pixel intensities in [0, 1] -> uint8, clipping anything outside."""
    return (np.clip(np.asarray(images, np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def tile(images: np.ndarray, cols: int, pad: int = 2, pad_value: float = 1.0) -> np.ndarray:
    """(n, h, w) images in [0, 1] -> one (rows * (h + pad) - pad, cols * (w + pad) - pad) mosaic, row-major."""
    images = np.asarray(images, np.float32)
    n, h, w = images.shape
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    out = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad), pad_value, np.float32)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        out[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = img
    return out


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling by an integer factor: each pixel becomes a factor x factor block."""
    image = np.asarray(image)
    if image.ndim == 2:  # np.repeat: 5 times faster than the Kronecker product, same pixels
        return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)
    return np.kron(image, np.ones((factor, factor), dtype=image.dtype))


def png_bytes(image: np.ndarray, factor: int = 1, invert: bool = False, compress_level: int = 6) -> bytes:
    """A grayscale image in [0, 1] as PNG bytes, upscaled by `factor`; `invert` gives dark ink on white paper.
    compress_level: zlib's 0-9; 1 encodes an upscaled digit 2.4 times faster for 4% more bytes."""
    img = 1.0 - np.asarray(image, np.float32) if invert else image
    buf = io.BytesIO()
    Image.fromarray(to_uint8(upscale(img, factor)), mode="L").save(buf, format="PNG", optimize=False,
                                                                   compress_level=compress_level)
    return buf.getvalue()


def png_data_uri(image: np.ndarray, factor: int = 1, invert: bool = False) -> str:
    """png_bytes as a data: URI, for st.image: the picture rides in the page's message instead of being stored in
    Streamlit's media manager and fetched by a second request (worth it for a digit's 1-2 KB)."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(image, factor, invert, 1)).decode("ascii")
