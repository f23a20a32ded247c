"""The MNIST recipe for drawings and uploads (vae/preprocess.py): box, centre of mass, inversion, bad input."""

from __future__ import annotations

import base64
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from vae.preprocess import (BOX, CENTRE, FIELD, MAX_UPLOAD_BYTES, UPLOAD_MIN_EXTENT, DrawingError, centre_of_mass,
                            decode_canvas, encode_canvas, ink_bbox, load_upload, quantize, to_mnist)


def stroke_image(shape: str, size: int = 112, width: int = 9) -> np.ndarray:
    """White strokes on black, (size, size) float32 in [0, 1], drawn anti-aliased at 4x and shrunk."""
    k = 4
    im = Image.new("L", (size * k, size * k), 0)
    d = ImageDraw.Draw(im)
    s = lambda *v: [c * size * k / 112 for c in v]  # noqa: E731  coordinates given on a 112 canvas
    w = max(1, round(width * k * size / 112))  # the pen scales with the canvas
    if shape == "one":
        d.line(s(58, 14, 54, 96), fill=255, width=w)
    elif shape == "zero":
        d.ellipse(s(28, 14, 82, 98), outline=255, width=w)
    elif shape == "seven":  # mass near the top: the centre of mass is far from the box's middle
        d.line(s(20, 16, 90, 16), fill=255, width=w)
        d.line(s(90, 16, 48, 100), fill=255, width=w)
    elif shape == "small_corner":  # small, off-centre
        d.line(s(70, 70, 70, 100), fill=255, width=w)
        d.line(s(70, 100, 95, 100), fill=255, width=w)
    elif shape == "wide":  # wider than tall: the width becomes 20 px
        d.rectangle(s(10, 40, 100, 70), outline=255, width=w)
    else:
        raise ValueError(shape)
    return np.asarray(im.resize((size, size), Image.Resampling.BOX), np.float32) / 255.0


def png_bytes(image: np.ndarray, mode: str = "L", fmt: str = "PNG", **save) -> bytes:
    buf = io.BytesIO()
    Image.fromarray((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8), mode="L").convert(mode).save(buf, fmt,
                                                                                                       **save)
    return buf.getvalue()


def bbox_side(digit: np.ndarray) -> tuple[int, int]:
    top, left, bottom, right = ink_bbox(digit, level=1e-6)
    return bottom - top, right - left


@pytest.mark.parametrize("shape", ["one", "zero", "seven", "small_corner", "wide"])
def test_a_stroke_becomes_a_28x28_digit_with_a_20px_box_and_its_centre_of_mass_at_14_14(shape):
    digit = to_mnist(stroke_image(shape))
    assert digit.shape == (FIELD, FIELD) and digit.dtype == np.float32
    assert digit.min() >= 0.0 and digit.max() <= 1.0 and digit.max() > 0.9
    h, w = bbox_side(digit)
    assert abs(max(h, w) - BOX) <= 1, (h, w)
    cy, cx = centre_of_mass(digit)
    # MNIST's convention (measured on its test set, see the module docstring): index coordinates, target (14, 14)
    assert abs(cy - CENTRE) <= 0.5 and abs(cx - CENTRE) <= 0.5, (cy, cx)


def test_aspect_ratio_is_kept():
    ink = np.zeros((200, 300), np.float32)
    ink[50:150, 100:150] = 1.0  # a solid bar, twice as tall as wide
    h, w = bbox_side(to_mnist(ink))
    assert h == 20 and w == 10


def test_position_and_size_on_the_canvas_do_not_matter():
    ink = np.zeros((400, 400), np.float32)
    small = stroke_image("zero", size=60)
    ink[300:360, 20:80] = small  # a small 0 in the bottom-left corner
    a = to_mnist(ink)
    b = to_mnist(stroke_image("zero", size=112))
    # the same 0, scaled and moved, gives nearly the same digit (up to the 1 px that rounding the shift can make)
    best = min(np.abs(np.roll(a, (dy, dx), (0, 1)) - b).mean() for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    assert best < 0.02, best
    assert abs(a.sum() - b.sum()) / b.sum() < 0.05


def test_the_tiny_corner_shape_and_the_seven_keep_all_their_ink():
    for shape in ("seven", "small_corner"):
        digit = to_mnist(stroke_image(shape))
        assert digit[0].max() < 0.05 or digit[-1].max() < 0.05  # not smeared across the whole field
        assert digit.sum() > 30


def test_dark_ink_on_white_paper_is_inverted():
    ink = stroke_image("zero")
    white_on_black = to_mnist(load_upload(png_bytes(ink)))
    dark_on_white = to_mnist(load_upload(png_bytes(1.0 - ink)))
    assert np.abs(white_on_black - dark_on_white).max() < 0.02
    assert dark_on_white[0, 0] == 0.0 and dark_on_white.max() > 0.9, "white ink on black, like MNIST"


def test_coloured_jpeg_on_grey_paper_with_noise_is_cleaned():
    rng = np.random.default_rng(0)
    ink = stroke_image("one", size=300)
    paper = 0.8 + 0.04 * rng.standard_normal(ink.shape)  # grey, noisy paper
    gray = np.clip(paper * (1 - ink) + 0.15 * ink, 0, 1)
    rgb = np.stack([gray, gray * 0.95, gray * 0.9], -1)
    buf = io.BytesIO()
    Image.fromarray((rgb * 255).astype(np.uint8), mode="RGB").save(buf, "JPEG", quality=80)
    cleaned = load_upload(buf.getvalue())
    assert cleaned.shape == (300, 300)
    far = np.ones_like(ink, bool)
    far[ink_bbox(ink, 0.01)[0] - 10:, :] = False  # rows well above the stroke's top
    assert cleaned[far].max() == 0.0, "paper noise is thresholded to 0"
    assert cleaned.max() == pytest.approx(1.0)
    digit = to_mnist(cleaned)
    assert abs(max(bbox_side(digit)) - BOX) <= 1


def test_a_thin_small_digit_on_a_large_dim_page_is_found_and_inverted():
    """A 40 px "1" with a 3 px pen on a 1000 x 750 grey page (dim light: paper 0.45, ink 0.12): 0.02% of the
    pixels are ink, and the paper is darker than mid-grey."""
    page = np.full((750, 1000), 0.45, np.float32)
    page[400:440, 600:603] = 0.12
    ink = load_upload(png_bytes(page))
    assert ink[400:440, 600:603].min() == pytest.approx(1.0) and ink.sum() == pytest.approx(120.0)
    with pytest.raises(DrawingError, match="almost no ink"):
        to_mnist(ink)  # on the canvas, 4% of its side would be a dot
    h, w = bbox_side(to_mnist(ink, min_extent=UPLOAD_MIN_EXTENT))
    assert h == 20 and w in (1, 2)


def test_transparent_png_with_black_ink_uses_the_opaque_strokes():
    ink = stroke_image("seven")
    rgba = np.zeros(ink.shape + (4,), np.uint8)
    rgba[..., 3] = (ink * 255).astype(np.uint8)  # black ink (RGB 0) on a transparent background
    buf = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buf, "PNG")
    got = to_mnist(load_upload(buf.getvalue()))
    assert np.abs(got - to_mnist(load_upload(png_bytes(ink)))).max() < 0.02, "same as white ink on black"


def test_an_empty_drawing_says_draw_a_digit_first():
    with pytest.raises(DrawingError, match="draw a digit first"):
        to_mnist(np.zeros((112, 112), np.float32))
    with pytest.raises(DrawingError, match="draw a digit first"):
        to_mnist(decode_canvas(encode_canvas(np.zeros((112, 112)))))


def test_a_dot_is_almost_no_ink():
    ink = np.zeros((112, 112), np.float32)
    ink[50:58, 50:58] = 1.0  # one tap of the pen
    with pytest.raises(DrawingError, match="almost no ink"):
        to_mnist(ink)
    ink[20:80, 50:58] = 1.0  # a short stroke is enough
    assert to_mnist(ink).max() > 0.9


@pytest.mark.parametrize("data", [b"hello, this is a text file renamed digit.png\n" * 20,
                                  b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,  # a PNG signature and nothing else
                                  png_bytes(np.ones((30, 30)) * 0.5)[:60]])  # a truncated PNG
def test_a_file_that_is_not_an_image_raises_a_one_line_message(data):
    with pytest.raises(DrawingError) as info:
        load_upload(data)
    assert "\n" not in str(info.value) and "upload" in str(info.value)


def test_a_uniform_image_has_no_ink():
    with pytest.raises(DrawingError, match="No ink"):
        load_upload(png_bytes(np.full((50, 50), 0.9)))


def test_an_upload_over_the_byte_limit_is_refused_before_decoding():
    with pytest.raises(DrawingError, match="under 10 MB"):
        load_upload(b"\x00" * (MAX_UPLOAD_BYTES + 1))
    with pytest.raises(DrawingError, match="MB"):
        load_upload(png_bytes(stroke_image("one")), max_bytes=100)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (its pixel data is missing): a bomb as far as the size goes."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + \
        chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [7000, 20000])  # 49 MP: over our limit; 400 MP: over PIL's bomb limit too
def test_a_huge_image_is_refused(side):
    with pytest.raises(DrawingError, match="megapixels"):
        load_upload(_png_header_only(side, side))


@pytest.mark.parametrize("payload,what", [
    ("not a dict", "malformed"),
    ({"pixels": "AAAA"}, "side"),
    ({"side": True, "pixels": "AAAA"}, "side"),
    ({"side": 5000, "pixels": "AAAA"}, "side"),
    ({"side": 28, "pixels": 12}, "base64"),
    ({"side": 28, "pixels": "***"}, "base64"),
    ({"side": 28, "pixels": base64.b64encode(b"\x00" * 700).decode()}, "700 bytes"),
])
def test_a_malformed_canvas_payload_raises(payload, what):
    with pytest.raises(DrawingError, match=what) as info:
        decode_canvas(payload)
    assert "press Clear" in str(info.value)


def test_canvas_payload_round_trip():
    ink = stroke_image("zero")
    got = decode_canvas(encode_canvas(ink, seq=3))
    assert got.shape == (112, 112)
    assert np.abs(got - ink).max() <= 0.5 / 255 + 1e-6


def test_quantize_matches_mnist_storage():
    assert quantize(np.array([0.0, 0.5, 1.0, 1.2, -0.1])).tolist() == [0, 128, 255, 255, 0]


@pytest.mark.slow
def test_mnist_digits_are_nearly_fixed_points():
    """A test digit is already made by the recipe: preprocessing it again changes almost nothing."""
    from vae.data import load_mnist
    x = load_mnist().x_test[:200] / 255.0
    diffs = np.array([np.abs(to_mnist(d) - d).mean() for d in x])
    assert np.median(diffs) < 1e-3 and np.percentile(diffs, 90) < 0.01, diffs.max()


@pytest.mark.slow
def test_round_trip_of_real_test_digits_through_a_photo_keeps_the_judges_reading():
    """MNIST test digits, 12x upscaled, dark on white at an odd spot of a large JPEG, blurred like a photo: the judge
    still reads (nearly) all of them correctly after load_upload + to_mnist."""
    from vae.checkpoint import load_checkpoint
    from vae.data import load_mnist
    from vae.judge import predict
    data = load_mnist()
    judge = load_checkpoint("judge").model
    n = 60
    digits = []
    for i in range(n):
        big = Image.fromarray(255 - data.x_test[i]).resize((336, 336), Image.Resampling.BICUBIC)
        page = Image.new("L", (1200, 900), 235)
        page.paste(big, (700 - 20 * (i % 7), 100 + 30 * (i % 5)))
        page = page.filter(ImageFilter.GaussianBlur(1.5))
        buf = io.BytesIO()
        page.save(buf, "JPEG", quality=85)
        digits.append(quantize(to_mnist(load_upload(buf.getvalue()))))
    reading = predict(judge, np.stack(digits)).argmax(1)
    original = predict(judge, data.x_test[:n]).argmax(1)
    assert (reading == data.y_test[:n]).mean() >= 0.95
    assert (reading == original).mean() >= 0.95
