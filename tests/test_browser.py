"""The home page in a real browser (Debian's chromium through Playwright): both latent planes drawn."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def colored_pixels(png: bytes) -> int:
    """Pixels that are clearly coloured (not white, grey or black): the digits' markers, not axes or text."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return int(((rgb.max(axis=2) - rgb.min(axis=2)) > 40).sum())


def test_home_page_draws_both_latent_planes(app_url, browser):
    page = browser.new_page()
    try:
        page.goto(app_url)
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .legend .traces').length >= 22",
                               timeout=90_000)
        page.wait_for_timeout(1500)  # let WebGL finish its first frame
        plots = page.locator(".js-plotly-plot")
        assert plots.count() == 2
        titles = [plots.nth(i).locator(".gtitle").text_content() for i in range(2)]
        assert "ae-z2" in titles[0] and "vae-z2" in titles[1]
        for i in range(2):
            legend = plots.nth(i).locator(".legend .traces .legendtext").all_text_contents()
            assert legend[:10] == [str(d) for d in range(10)], legend
            assert plots.nth(i).locator("canvas").count() >= 1, "Scattergl draws on a WebGL canvas"
            plot_area = plots.nth(i).locator(".nsewdrag").first.bounding_box()  # inside the axes: no legend swatches
            drawn = colored_pixels(page.screenshot(clip=plot_area))
            assert drawn > 1000, f"plot {i}: only {drawn} coloured pixels: the encoded digits were not drawn"
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.locator('[data-testid="stAlertContentError"]').count() == 0
        assert "device:" in page.locator('[data-testid="stSidebar"]').inner_text()
    finally:
        page.close()
