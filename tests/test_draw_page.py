"""AppTests of the draw page: a drawing set as the canvas's state, uploads, and every kind of bad input."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from vae.checkpoint import CHECKPOINT_DIR, load_checkpoint
from vae.data import load_mnist
from vae.judge import predict
from vae.latent import encode_images
from vae.preprocess import MAX_UPLOAD_BYTES, decode_canvas, encode_canvas, quantize, to_mnist

pytestmark = pytest.mark.slow
DRAW = str(CHECKPOINT_DIR.parent / "pages" / "draw.py")
CANVAS_KEY, UPLOAD_KEY = "draw_canvas", "draw_upload"


def zero_drawing(seq: int = 1) -> dict:
    """A '0' as the canvas sends it: 112 x 112, white ink on black, a 9 px pen."""
    im = Image.new("L", (112, 112), 0)
    ImageDraw.Draw(im).ellipse([30, 14, 80, 96], outline=255, width=9)
    return encode_canvas(np.asarray(im, np.float32) / 255.0, seq=seq)


def mnist_png(index: int, dark_on_white: bool = True) -> bytes:
    """Test digit `index`, 10x upscaled, dark ink on a large white page: a 'photo' of it."""
    x = load_mnist().x_test[index]
    big = Image.fromarray(255 - x if dark_on_white else x).resize((280, 280), Image.Resampling.BICUBIC)
    page = Image.new("L", (640, 480), 255 if dark_on_white else 0)
    page.paste(big, (300, 120))
    buf = io.BytesIO()
    page.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def at() -> AppTest:
    app = AppTest.from_file(DRAW, default_timeout=120).run()
    assert not app.exception
    return app


def captions(app: AppTest) -> list[str]:
    return [img.caption for el in app.get("image") for img in el.proto.imgs]


def markdown(app: AppTest) -> list[str]:
    return [m.value for m in app.markdown]


def shown_z(app: AppTest, name: str) -> np.ndarray:
    text = next(m for m in markdown(app) if f"({name})**: z = " in m)  # "**VAE (vae-z2)**: z = ..."
    m = re.search(r"\((-?[\d.]+), (-?[\d.]+)\)", text)
    return np.array([float(m.group(1)), float(m.group(2))])


def readings(app: AppTest) -> list[int]:
    return [int(m.group(1)) for t in markdown(app) for m in [re.search(r"judge reads a \*\*(\d)\*\*", t)] if m]


def test_the_page_starts_with_a_canvas_an_uploader_and_a_hint(at):
    assert not at.error and not at.warning
    assert len(at.get("bidi_component")) == 1, "the drawing canvas"
    assert len(at.get("file_uploader")) == 1
    assert [i.value for i in at.info] == ["Draw a digit first (or upload an image of one): it appears here as the "
                                          "models see it."]
    assert not captions(at), "no digit, no reconstruction yet"


def test_a_drawing_shows_both_codes_reconstructions_and_the_judges_readings(at):
    drawing = zero_drawing()
    at.session_state[CANVAS_KEY] = {"drawing": drawing}
    at.run()
    assert not at.exception and not at.error and not at.warning
    assert "Shown: **your drawing**" in markdown(at)
    caps = captions(at)
    assert caps.count("reconstruction: decode(\u03bc)") == 2
    assert sum(c.startswith("5 nearest test codes: ") for c in caps) == 2
    assert readings(at) == [0, 0, 0], "the drawing and both reconstructions are read as a 0"
    assert sum(el.type == "plotly_chart" for el in at.main) == 3, "two planes and the VAE's close-up"
    assert len(at.get("download_button")) == 3
    # the z on the page is the encoding of the digit the page shows (the quantized preprocessed drawing)
    shown = quantize(to_mnist(decode_canvas(drawing)))[None]
    for name in ("ae-z2", "vae-z2"):
        expected = encode_images(load_checkpoint(name).model, shown).mu[0]
        assert np.abs(shown_z(at, name) - expected).max() <= 6e-5, name
    assert any(m.startswith("**VAE (vae-z2)**: z = \u03bc = (") and "\u03c3 = (" in m for m in markdown(at))


def test_an_empty_drawing_says_draw_a_digit_first(at):
    at.session_state[CANVAS_KEY] = {"drawing": encode_canvas(np.zeros((112, 112)), seq=2)}
    at.run()
    assert not at.exception
    assert [w.value for w in at.warning] == ["The drawing is empty: draw a digit first."]
    assert not captions(at)


def test_a_dot_is_almost_no_ink(at):
    ink = np.zeros((112, 112), np.float32)
    ink[50:58, 50:58] = 1.0
    at.session_state[CANVAS_KEY] = {"drawing": encode_canvas(ink, seq=3)}
    at.run()
    assert not at.exception
    assert len(at.warning) == 1 and at.warning[0].value.startswith("There is almost no ink")


@pytest.mark.parametrize("bad", [{"side": 112, "pixels": "AAAA", "seq": 4}, "garbage", [1, 2, 3],
                                 {"side": "112", "pixels": None}])
def test_a_malformed_payload_keeps_the_last_good_digit_and_says_why(at, bad):
    at.session_state[CANVAS_KEY] = {"drawing": zero_drawing(seq=1)}
    at.run()
    at.session_state[CANVAS_KEY] = {"drawing": bad}
    at.run()
    assert not at.exception
    assert len(at.warning) == 1 and "malformed drawing" in at.warning[0].value
    assert "Shown: **your drawing** (the last one that worked)" in markdown(at)
    assert captions(at).count("reconstruction: decode(\u03bc)") == 2, "nothing lost"


def test_an_upload_is_preprocessed_and_the_newest_input_wins(at):
    data = load_mnist()
    index = 0  # a 7
    at.file_uploader(key=UPLOAD_KEY).set_value(("seven.png", mnist_png(index), "image/png"))
    at.run()
    assert not at.exception and not at.warning
    assert "Shown: **the uploaded file seven.png**" in markdown(at)
    assert readings(at)[0] == data.y_test[index]
    # a stroke on the canvas now replaces the upload
    at.session_state[CANVAS_KEY] = {"drawing": zero_drawing(seq=10)}
    at.run()
    assert "Shown: **your drawing**" in markdown(at) and readings(at)[0] == 0
    # and a new upload replaces the drawing
    at.file_uploader(key=UPLOAD_KEY).set_value(("two.png", mnist_png(1), "image/png"))
    at.run()
    assert "Shown: **the uploaded file two.png**" in markdown(at)
    assert readings(at)[0] == data.y_test[1] == 2


def test_the_digit_the_page_shows_is_what_judge_and_encoders_get(at):
    at.file_uploader(key=UPLOAD_KEY).set_value(("d.png", mnist_png(3, dark_on_white=False), "image/png"))
    at.run()
    digit = at.session_state["draw_result"]["digit"]
    assert digit.shape == (28, 28)
    judge = load_checkpoint("judge").model
    assert readings(at)[0] == int(predict(judge, quantize(digit)[None]).argmax())


@pytest.mark.parametrize("name,content,message", [
    ("notes.png", b"shopping list: eggs, milk\n" * 40, "not an image PIL can read"),
    ("huge.png", b"\x00" * (MAX_UPLOAD_BYTES + 1), "upload an image under 10 MB"),
    ("blank.png", None, "No ink found"),
])
def test_bad_uploads_get_one_line_and_keep_the_drawing(at, name, content, message):
    if content is None:
        buf = io.BytesIO()
        Image.new("L", (300, 200), 250).save(buf, "PNG")
        content = buf.getvalue()
    at.session_state[CANVAS_KEY] = {"drawing": zero_drawing(seq=1)}
    at.run()
    at.file_uploader(key=UPLOAD_KEY).set_value((name, content, "image/png"))
    at.run()
    assert not at.exception
    assert len(at.warning) == 1 and message in at.warning[0].value and "\n" not in at.warning[0].value
    assert "Shown: **your drawing** (the last one that worked)" in markdown(at)
    assert captions(at).count("reconstruction: decode(\u03bc)") == 2


def test_missing_checkpoints_get_one_line_each(tmp_path, monkeypatch):
    from vae.checkpoint import CHECKPOINT_DIR_ENV
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path))
    app = AppTest.from_file(DRAW, default_timeout=120).run()
    app.session_state[CANVAS_KEY] = {"drawing": zero_drawing()}
    app.run()
    assert not app.exception
    errors = [e.value for e in app.error]
    assert [e.split(":")[0] for e in errors] == ["Cannot load ae-z2", "Cannot load vae-z2", "Cannot load judge"]
    assert all("\n" not in e for e in errors)
    assert any(c.startswith("what the models see") for c in captions(app)), "the preprocessed digit is still shown"
