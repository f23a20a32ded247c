"""The Train live page in headless Chromium: a training starts, updates the page while it runs, cancels, and a
finished one shows up on the Explorer's planes."""

from __future__ import annotations

import re
import time

import pytest

from tests.conftest import start_app, stop_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server():
    proc, url = start_app()
    yield url
    stop_app(proc)


@pytest.fixture
def page(browser, server):
    page = browser.new_page()
    page.set_viewport_size({"width": 1500, "height": 1300})
    page.goto(f"{server}/train")
    page.get_by_role("button", name="Start training").wait_for(timeout=120_000)
    yield page
    page.close()


def _position(page) -> tuple[int, int]:
    """(epoch, batch) from the progress bar's text, e.g. "VAE: epoch 2 of 30, batch 40 of 79"."""
    text = page.locator('[data-testid="stProgress"] p').first.inner_text()
    m = re.search(r"epoch (\d+) of \d+, batch (\d+) of", text)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def _choose(page, label: str) -> None:
    page.get_by_text(label, exact=True).click()


def test_start_shows_live_progress_and_cancel_stops_it(page):
    _choose(page, "VAE only")
    page.get_by_role("slider", name="Epochs").focus()
    page.keyboard.press("End")  # 30 epochs: long enough to cancel mid-way
    page.get_by_role("button", name="Start training").click()
    bar_text = page.locator('[data-testid="stProgress"] p').filter(
        has_text=re.compile(r"^Training VAE \u03b2 1, 10,000 images, 30 epochs"))
    bar_text.wait_for(timeout=30_000)
    deadline = time.monotonic() + 30
    while (first := _position(page)) == (0, 0) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2.5)
    second = _position(page)
    assert second > first, ("the page updates while the training runs, without any click: "
                            + page.locator('[data-testid="stProgress"]').first.inner_text())
    assert page.get_by_role("button", name="Start training").is_disabled()
    page.get_by_role("button", name="Cancel training").click()
    note = page.get_by_text(re.compile(r"^Cancelled after \d+ of 30 epochs"))
    note.wait_for(timeout=30_000)
    assert "Nothing was saved" in note.inner_text()
    page.get_by_role("button", name="Start training").wait_for(state="visible")
    assert page.get_by_role("button", name="Start training").is_enabled()
    assert page.get_by_role("button", name="Cancel training").count() == 0


def test_a_finished_training_replays_by_epoch_and_appears_on_the_explorer(page, server):
    _choose(page, "AE and VAE, side by side")
    page.get_by_role("slider", name="Training images").focus()
    page.keyboard.press("Home")  # 1,000 images
    page.get_by_role("slider", name="Epochs").focus()
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")  # 3 epochs
    page.get_by_role("button", name="Start training").click()
    page.get_by_text(re.compile(r"^Trained AE, 1,000 images, 3 epochs, seed 0 and VAE")).wait_for(timeout=90_000)
    page.get_by_text("VAE after epoch 3 of 3").wait_for()
    scrubber = page.get_by_role("slider", name="Epoch scrubber")
    scrubber.focus()
    page.keyboard.press("Home")
    page.get_by_text("VAE after epoch 1 of 3").wait_for(timeout=20_000)
    page.get_by_text("AE after epoch 1 of 3", exact=True).wait_for()
    page.get_by_role("link", name="Explore your models").click()
    page.wait_for_url(re.compile(r"/explorer"))
    page.get_by_text("Show the models you trained on the Train live page").wait_for(timeout=60_000)
    page.get_by_text(re.compile(r"^your AE, 1,000 images, 3 epochs")).first.wait_for(timeout=60_000)
    page.get_by_text(re.compile(r"your VAE \(\u03b2 1, 1,000 images, 3 epochs\)")).first.wait_for(timeout=60_000)
