"""Upload limits: the server's per-request cap equals the Draw page's, an image one pixel over the pixel limit is
refused from its header with a one-line message, the largest accepted one decodes, JPEGs count at the scale they are
decoded at, only the listed formats are read, and the decoder (Pillow) is pinned at the version installed."""

from __future__ import annotations

import io
import math
import tomllib
from importlib.metadata import version

import numpy as np
import pytest
from PIL import Image

from vae.checkpoint import REPO_ROOT
from vae.preprocess import MAX_UPLOAD_BYTES, MAX_UPLOAD_PIXELS, UPLOAD_FORMATS, DrawingError, load_upload


def _page(width: int, height: int) -> np.ndarray:
    """White paper with one black vertical stroke, (height, width) uint8."""
    page = np.full((height, width), 255, np.uint8)
    page[height // 4: 3 * height // 4, width // 2 - max(2, width // 40): width // 2 + max(2, width // 40)] = 0
    return page


def _file(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def _sides(pixels: int) -> tuple[int, int]:
    """(width, height) of a near-square image with exactly `pixels` pixels when it factors, else just over."""
    height = math.isqrt(pixels)
    while pixels % height:
        height -= 1
    return pixels // height, height


def test_the_server_refuses_requests_over_the_pages_limit():
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == MAX_UPLOAD_BYTES // 2**20 == 10


def test_pillow_is_pinned_at_the_installed_version():
    pins = dict(line.split("==") for line in (REPO_ROOT / "requirements.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    assert pins["pillow"] == version("pillow")


@pytest.mark.parametrize("mode", ["L", "RGBA"])
def test_the_largest_accepted_image_decodes_and_one_pixel_more_is_refused(mode):
    width, height = _sides(MAX_UPLOAD_PIXELS)
    assert width * height == MAX_UPLOAD_PIXELS
    largest = Image.fromarray(_page(width, height)).convert(mode)
    ink = load_upload(_file(largest, "PNG"))
    assert ink.shape == (1024 * height // width, 1024) or ink.shape == (1024, 1024 * width // height)
    assert ink.max() == pytest.approx(1.0) and ink.min() == 0.0

    over = Image.fromarray(_page(MAX_UPLOAD_PIXELS + 1, 1)).convert(mode)  # a prime number of pixels: one row
    with pytest.raises(DrawingError) as info:
        load_upload(_file(over, "PNG"))
    message = str(info.value)
    assert "\n" not in message
    assert f"{MAX_UPLOAD_PIXELS + 1:,} pixels" in message and f"at most {MAX_UPLOAD_PIXELS:,}" in message
    assert "crop" in message, "it says what to do"


def test_a_phone_photo_jpeg_counts_at_its_reduced_decoding_scale():
    photo = Image.fromarray(_page(8000, 6000))  # 48 megapixels: decoded at 1/4 scale, 2000 x 1500
    ink = load_upload(_file(photo, "JPEG", quality=85))
    assert ink.shape == (768, 1024) and ink.max() > 0.9
    narrow = Image.fromarray(_page(9000, 600))  # 5.4 megapixels, too narrow to shrink: decoded at full scale
    with pytest.raises(DrawingError, match="5,400,000 pixels"):
        load_upload(_file(narrow, "JPEG", quality=85))


@pytest.mark.parametrize("fmt", ["TGA", "PCX", "ICO", "SGI", "PPM"])
def test_formats_outside_the_list_are_not_decoded(fmt):
    data = _file(Image.fromarray(_page(64, 64)).convert("RGB"), fmt)
    assert Image.open(io.BytesIO(data)).format == fmt, "Pillow itself reads it"
    with pytest.raises(DrawingError, match="PNG, JPEG, GIF, BMP, WebP or TIFF"):
        load_upload(data)


@pytest.mark.parametrize("fmt", UPLOAD_FORMATS)
def test_every_listed_format_decodes(fmt):
    ink = load_upload(_file(Image.fromarray(_page(200, 120)).convert("RGB" if fmt == "JPEG" else "L"), fmt))
    assert ink.shape == (120, 200) and ink.max() > 0.9
