"""The draw page in headless Chromium: a "1" and a "0" drawn with the mouse (and a "0" with a finger) land among
their own digits, the z on the page is Python's encoding of the digit the page shows, and Clear says so."""

from __future__ import annotations

import io
import math
import re

import numpy as np
import pytest
from PIL import Image

from helpers import served_page
from vae.checkpoint import load_checkpoint
from vae.data import load_mnist
from vae.judge import predict
from vae.latent import encode_images, nearest

pytestmark = [pytest.mark.browser, pytest.mark.slow]
KEY = "draw_canvas"
HOOK = f"window.__drawCanvas && window.__drawCanvas['{KEY}']"
IDLE = "() => !document.querySelector('[data-testid=stStatusWidget]')"


@pytest.fixture(scope="module")
def served(browser):
    with served_page(browser, "draw", (1500, 1300)) as (page, url):
        page.wait_for_function(f"() => {HOOK}", timeout=120_000)
        yield page, url


@pytest.fixture(scope="module")
def models():
    return {name: load_checkpoint(name).model for name in ("vae-z2", "judge")}


def canvas_points(page, shape: str, width: float = 0.24) -> list[tuple[float, float]]:
    """Client coordinates of a stroke across the canvas: "one" a slightly slanted vertical line, "zero" an ellipse
    `width` (a share of the canvas) wide."""
    r = page.evaluate(f"() => {HOOK}.rect()")
    if shape == "one":
        fr = [(0.53 - 0.04 * t, 0.14 + 0.72 * t) for t in np.linspace(0, 1, 25)]
    else:
        fr = [(0.5 + width * math.sin(a), 0.5 - 0.36 * math.cos(a)) for a in np.linspace(0, 2 * math.pi, 48)]
    return [(r["left"] + fx * r["width"], r["top"] + fy * r["height"]) for fx, fy in fr]


def wait_for_new_result(page, before: str) -> str:
    """Wait until the VAE's line on the page differs from `before` and the app is idle; return the new line."""
    page.wait_for_function(
        "(before) => { const e = [...document.querySelectorAll('p')].find(p => p.innerText.startsWith('VAE (vae-z2): z'));"
        " return e && e.innerText !== before; }", arg=before, timeout=60_000)
    page.wait_for_function(IDLE, timeout=60_000)
    return vae_line(page)


def vae_line(page) -> str:
    lines = [p.inner_text() for p in page.locator("p").filter(has_text="(vae-z2): z").all()]
    return lines[0] if lines else ""


def draw_with_mouse(page, shape: str) -> None:
    pts = canvas_points(page, shape)
    page.mouse.move(*pts[0])
    page.mouse.down()
    for x, y in pts[1:]:
        page.mouse.move(x, y)
    page.mouse.up()


def clear(page) -> None:
    page.locator(".dc-clear").click()  # inside the component's (open) shadow root


def shown_digit(page, url: str) -> np.ndarray:
    """The preprocessed digit the page shows, back at 28 x 28 uint8 (the PNG is a nearest-neighbour upscale)."""
    src = page.locator('[data-testid="stImage"] img').first.get_attribute("src")
    png = page.request.get(src if src.startswith("http") else url + src).body()
    image = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    factor = image.shape[0] // 28
    assert image.shape == (28 * factor, 28 * factor)
    return image[factor // 2::factor, factor // 2::factor].copy()


def page_reading(page) -> int:
    text = page.locator("p").filter(has_text="Your digit: judge reads a").first.inner_text()
    return int(re.search(r"judge reads a (\d)", text).group(1))


def page_z(line: str) -> np.ndarray:
    m = re.search(r"z = \u03bc = \((-?[\d.]+), (-?[\d.]+)\)", line)
    return np.array([float(m.group(1)), float(m.group(2))])


def check_landing(page, url: str, models, digit: int, line: str) -> None:
    shown = shown_digit(page, url)
    z = page_z(line)
    expected = encode_images(models["vae-z2"], shown[None]).mu[0]
    assert np.abs(z - expected).max() <= 1e-4, f"page z {z} vs Python {expected} for the digit the page shows"
    assert int(predict(models["judge"], shown[None]).argmax()) == digit
    assert page_reading(page) == digit
    mu, labels = encode_images(models["vae-z2"], load_mnist().x_test).mu, load_mnist().y_test
    near = labels[nearest(mu, z.astype(np.float32), k=20)]
    assert (near == digit).sum() >= 15, f"20 nearest test codes of a drawn {digit}: {near.tolist()}"


@pytest.mark.parametrize("shape,digit", [("one", 1), ("zero", 0)])
def test_a_mouse_drawn_digit_lands_among_its_own_kind(served, models, shape, digit):
    page, url = served
    before, sent = vae_line(page), page.evaluate(f"() => {HOOK}.sent")
    clear(page)
    if before:  # the page keeps the last digit and says the canvas is empty
        page.locator('[data-testid="stAlert"]').filter(has_text="The drawing is empty: draw a digit first.") \
            .wait_for(timeout=30_000)
    page.wait_for_function(IDLE, timeout=60_000)
    draw_with_mouse(page, shape)
    line = wait_for_new_result(page, before)
    assert page.evaluate(f"() => {HOOK}.sent") == sent + 2, "one message for Clear, one per stroke, none per move"
    assert page.locator("p").filter(has_text="Shown: your drawing").first.inner_text() == "Shown: your drawing"
    check_landing(page, url, models, digit, line)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_finger_draws_too(served, models):
    """Touch input (Chromium turns CDP touch events into pointer events with pointerType "touch")."""
    page, url = served
    clear(page)
    page.wait_for_function(IDLE, timeout=60_000)
    before = vae_line(page)
    pts = canvas_points(page, "zero", width=0.2)  # not the mouse's 0: the page must show a new result
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": pts[0][0], "y": pts[0][1]}]})
    for x, y in pts[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()
    line = wait_for_new_result(page, before)
    check_landing(page, url, models, 0, line)


def test_clear_empties_the_canvas_and_says_draw_a_digit_first(served):
    page, _ = served
    draw_with_mouse(page, "one")
    page.wait_for_timeout(300)
    page.wait_for_function(IDLE, timeout=60_000)
    clear(page)
    alert = page.locator('[data-testid="stAlert"]').filter(has_text="The drawing is empty: draw a digit first.")
    alert.wait_for(timeout=30_000)
    assert max(page.evaluate(f"() => {HOOK}.pixels()")) == 0, "the canvas is black again"
    assert page.locator("p").filter(has_text="(the last one that worked)").count() == 1


def test_uploads_through_the_browser_replace_the_drawing_and_bad_files_get_one_line(served):
    page, _ = served
    x = load_mnist().x_test[0]  # a 7
    photo = Image.new("L", (600, 450), 245)
    photo.paste(Image.fromarray(255 - x).resize((252, 252), Image.Resampling.BICUBIC), (280, 90))
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=90)
    uploader = page.locator('[data-testid="stFileUploader"] input[type=file]')
    uploader.set_input_files(files=[{"name": "seven.jpg", "mimeType": "image/jpeg", "buffer": buf.getvalue()}])
    page.locator("p").filter(has_text="Shown: the uploaded file seven.jpg").wait_for(timeout=60_000)
    page.wait_for_function(IDLE, timeout=60_000)
    assert page_reading(page) == 7
    uploader.set_input_files(files=[{"name": "notes.png", "mimeType": "image/png",
                                     "buffer": b"not a picture, just text\n" * 50}])
    alert = page.locator('[data-testid="stAlert"]').filter(has_text="not an image PIL can read")
    alert.wait_for(timeout=60_000)
    assert page.locator("p").filter(has_text="Shown: the uploaded file seven.jpg (the last one that worked)") \
        .count() == 1
    assert page_reading(page) == 7, "the last digit that worked stays"
    assert page.locator('[data-testid="stException"]').count() == 0
