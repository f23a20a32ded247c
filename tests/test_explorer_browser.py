"""The explorer page in headless Chromium: clicks reach Python within half a grid cell, hovering decodes like torch,
and a plane that lost its decoder after a page switch asks for it again."""

from __future__ import annotations

import re

import numpy as np
import pytest

from helpers import served_page, settle, steady_rect, wait_for_decoders
from tests.test_latent_plane_browser import hook, hover, key, pixel_of, torch_pixels, z_at
from vae.checkpoint import load_checkpoint
from vae.data import load_mnist
from vae.latent import encode_images

pytestmark = [pytest.mark.browser, pytest.mark.slow]
NAMES = ("ae-z2", "vae-z2")


@pytest.fixture(scope="module")
def page(browser):
    with served_page(browser, "explorer") as (page, _):
        wait_for_decoders(page)
        settle(page, ms=500)
        yield page


def pinned_subheader(page) -> tuple[float, float]:
    text = page.locator("h3").filter(has_text="Pinned z = (").first.inner_text()
    m = re.search(r"Pinned z = \((-?[\d.]+), (-?[\d.]+)\)", text)
    return float(m.group(1)), float(m.group(2))


@pytest.mark.parametrize("name,target", [("vae-z2", (0.9, -0.7)), ("vae-z2", (-2.2, 1.4)), ("ae-z2", (10.0, -30.0))])
def test_click_pins_the_z_under_the_pointer_within_half_a_grid_cell(page, name, target):
    settle(page, ms=0)
    rect, view = steady_rect(page, key(name)), hook(page, name, "h.view")
    cell = (view["x"][1] - view["x"][0]) / 100
    x, y = pixel_of(rect, view, target)
    clicked = z_at(rect, view, x, y)
    page.mouse.click(x, y)
    page.wait_for_function(
        "([zx, zy]) => [...document.querySelectorAll('h3')].some(e => e.innerText.startsWith("
        "'Pinned z = (' + zx.toFixed(3)) && e.innerText.includes(zy.toFixed(3)))",
        arg=[round(clicked[0], 3), round(clicked[1], 3)], timeout=30_000)
    got = pinned_subheader(page)
    assert abs(got[0] - clicked[0]) <= cell / 2 and abs(got[1] - clicked[1]) <= cell / 2, (got, clicked, cell)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_hovering_five_points_per_plane_matches_torch(page):
    for name in NAMES:
        model = load_checkpoint(name).model
        rect, view = hook(page, name, "h.plotRect()"), hook(page, name, "h.view")
        codes = encode_images(model, load_mnist().x_test[:5]).mu  # where digits lie: float16 weights are accurate
        worst = 0.0
        for z in codes:
            x, y = pixel_of(rect, view, z)
            got = hover(page, name, x, y)
            worst = max(worst, float(np.abs(np.asarray(got["pixels"]) - torch_pixels(model, got["z"])).max()))
        assert worst <= 2e-3, f"{name}: browser decode differs from torch by {worst:.2e}"
    page.mouse.move(5, 5)


def test_after_a_page_switch_the_planes_fetch_their_decoder_again(page):
    nav = page.locator('[data-testid="stSidebarNav"] a')
    nav.filter(has_text="Home").first.click()
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 2", timeout=60_000)
    nav.filter(has_text="Explorer").first.click()
    wait_for_decoders(page, timeout=60_000)
    loading = page.locator(".lp-message").filter(has_text="Loading the decoder")
    for i in range(loading.count()):  # each new plane asks the server for its decoder, and gets it
        loading.nth(i).wait_for(state="hidden", timeout=60_000)
    for name in ("ae-z2", "vae-z2"):
        rect, view = hook(page, name, "h.plotRect()"), hook(page, name, "h.view")
        x, y = pixel_of(rect, view, ((view["x"][0] + view["x"][1]) / 2, (view["y"][0] + view["y"][1]) / 2))
        got = hover(page, name, x, y)
        assert len(got["pixels"]) == 784 and max(got["pixels"]) > 0.1, "a digit was decoded and drawn"


def test_the_planes_do_not_move_when_the_share_link_finishes_loading(browser):
    """The share box's link (ui/copy_link.js) is drawn as a 40 px skeleton until it arrives, then as a 54 px line: the
    box keeps the line's height (ui/projector.py's base style), so the planes below it stay where a first click aims.
    A slow device (Chromium's CPU throttled 6 times) makes the skeleton last past the decoders' arrival."""
    with served_page(browser) as (page, url):
        page.context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": 6})
        page.goto(f"{url}/explorer")
        wait_for_decoders(page)
        skeleton = page.locator('.st-key-share_box [data-testid="stSkeleton"]')
        held = skeleton.first.bounding_box()["height"] if skeleton.count() else None
        top = hook(page, "vae-z2", "h.plotRect().top")
        page.locator(".st-key-share_box .cl-root").wait_for(timeout=60_000)
        settle(page, ms=500)
        line = page.locator(".st-key-share_box .cl-root").bounding_box()["height"]
        assert hook(page, "vae-z2", "h.plotRect().top") == pytest.approx(top, abs=0.5)
        if held is not None:  # seen while loading: it already held the loaded line's height
            assert held >= line - 0.5, (held, line)


def test_the_share_box_copies_the_link_of_the_view_and_loads_no_code_highlighter(browser):
    """The Copy button puts the link shown in the share box on the clipboard, and says so; a click on a plane changes
    the link, and the button then copies the new one. The page never fetches Streamlit's syntax highlighter (st.code's
    1.5 MB module, which held the main thread about 0.3 s while the planes waited to start)."""
    with served_page(browser) as (page, url):
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
        fetched = []
        page.on("request", lambda r: fetched.append(r.url))
        page.goto(f"{url}/explorer")
        wait_for_decoders(page)
        settle(page, ms=500)
        link, button = page.locator(".st-key-share_box .cl-link"), page.locator(".st-key-share_box .cl-copy")
        assert link.inner_text() == f"{url}/explorer"
        button.click()
        page.wait_for_function("() => Object.values(window.__copyLink || {}).includes('copied')", timeout=10_000)
        assert button.inner_text() == "Copied"
        assert page.evaluate("navigator.clipboard.readText()") == f"{url}/explorer"
        rect, view = steady_rect(page, key("vae-z2")), hook(page, "vae-z2", "h.view")
        page.mouse.click(*pixel_of(rect, view, (0.9, -0.7)))
        page.wait_for_function("() => document.querySelector('.st-key-share_box') && "
                               "[...document.querySelectorAll('h3')].some(e => !e.innerText.includes('(0.000, 0.000)')"
                               " && e.innerText.startsWith('Pinned z'))", timeout=30_000)
        link.filter(has_text="z=").wait_for(timeout=30_000)
        new = link.inner_text()
        assert new.startswith(f"{url}/explorer?") and "z=" in new, new
        button.click()
        page.wait_for_function("l => (window.__copyLink || {})[l] === 'copied'", arg=new, timeout=10_000)
        assert page.evaluate("navigator.clipboard.readText()") == new
        assert not [u for u in fetched if "SyntaxHighlighter" in u], "st.code's highlighter was fetched"


def test_the_pinned_pictures_keep_their_own_sizes(page):
    """The decoded digit and its nearest training image are drawn at the same size (both 28 x 5 px), whatever the
    length of their captions; the row of 5 nearest test digits keeps its proportions and fits its column."""
    sizes = page.evaluate("""() => [...document.querySelectorAll('[class*="st-key-export_pinned_"]')].map(b => {
        const imgs = [...b.previousElementSibling.querySelectorAll('[data-testid="stImage"] img')];
        return imgs.map(i => { const r = i.getBoundingClientRect(); return [r.width, r.height, i.naturalWidth,
                                                                            i.naturalHeight]; });
    })""")
    assert len(sizes) == 2, "one pinned block per model"
    for (decoded, row, train) in sizes:
        assert decoded[:2] == [140, 140] and train[:2] == [140, 140]
        assert row[0] <= row[2] and abs(row[0] / row[1] - row[2] / row[3]) < 0.05
