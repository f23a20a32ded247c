"""Share a view in headless Chromium: a link opens that view, a change reaches the URL and the share box, the box's
link opens the same view in a new page, a hostile link shows defaults with one notice, a page switch drops the other
page's parameters and the back button brings the view back; a download gives a real PNG without a rerun."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from tests.conftest import start_app, stop_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]
LINK = "/explorer?model=vae-z2-beta4&z=0.5,-1.2&grid=20,2.5,linear&digit=7"
BOX = ".st-key-share_box .cl-link"  # ui/copy_link.js, in the component's shadow root (Playwright's CSS reaches it)


@pytest.fixture(scope="module")
def app_url():
    proc, url = start_app()
    try:
        yield url
    finally:
        stop_app(proc)


@pytest.fixture
def page(browser):
    page = browser.new_page()
    page.set_viewport_size({"width": 1500, "height": 1300})
    yield page
    page.close()


def params(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query, keep_blank_values=True)


def wait_pinned(page, z: str) -> None:
    page.locator("h3").filter(has_text=f"Pinned z = {z}").first.wait_for(timeout=120_000)


def box_link(page, must_contain: str) -> str:
    """The share box's link, once it holds `must_contain` (it follows the page's URL)."""
    page.locator(BOX).filter(has_text=must_contain).first.wait_for(timeout=60_000)
    return page.locator(BOX).first.inner_text().strip()


def shows_explorer_view(page, z: str, model: str, grid_caption: str) -> None:
    wait_pinned(page, z)
    # the pinned-z heading comes first, the model's column under it may still be on its way
    page.get_by_text(f"VAE ({model})", exact=True).first.wait_for(state="attached", timeout=60_000)
    page.locator('[data-testid="stSliderThumbValue"]').filter(  # the \u03b2 scrubber stands at \u03b2 4
        has_text=re.compile(r"^\u03b2 4$")).first.wait_for(state="attached", timeout=60_000)
    page.get_by_text(grid_caption).first.wait_for(state="attached", timeout=60_000)  # the grid tab, drawn later
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_link_opens_its_view_and_a_change_makes_a_new_link_that_opens_the_same(page, browser, app_url):
    page.goto(app_url + LINK)
    shows_explorer_view(page, "(0.500, -1.200)", "vae-z2-beta4", "over z in \u00b12.5")
    assert page.get_by_text("Selected test digit #7").count() == 1
    expected = app_url + LINK  # the address bar's link, in its own order: the URL already held these values
    assert box_link(page, "model=vae-z2-beta4") == expected

    z1 = page.get_by_label("z\u2081 (Enter pins)")  # a change inside a fragment: only that part reruns
    z1.fill("1.25")
    z1.press("Enter")
    wait_pinned(page, "(1.250, -1.200)")
    page.wait_for_function("() => new URLSearchParams(location.search).get('z') === '1.25,-1.2'", timeout=30_000)
    assert params(page.url) == {"model": ["vae-z2-beta4"], "z": ["1.25,-1.2"], "digit": ["7"],
                                "grid": ["20,2.5,linear"]}
    copied = box_link(page, "z=1.25,-1.2")
    assert params(copied) == params(page.url) and copied.startswith(f"{app_url}/explorer?")

    other = browser.new_page()
    try:
        other.set_viewport_size({"width": 1500, "height": 1300})
        other.goto(copied)
        shows_explorer_view(other, "(1.250, -1.200)", "vae-z2-beta4", "over z in \u00b12.5")
        assert other.get_by_text("Selected test digit #7").count() == 1
        assert other.locator('[data-testid="stAlert"]').filter(has_text="could not be used").count() == 0
    finally:
        other.close()

    page.go_back()  # the URL before the change: the back button brings that view back
    wait_pinned(page, "(0.500, -1.200)")
    page.wait_for_function("() => new URLSearchParams(location.search).get('z') === '0.5,-1.2'", timeout=30_000)


def test_a_hostile_link_shows_the_defaults_with_one_notice_and_a_clean_url(page, app_url):
    page.goto(f"{app_url}/explorer?z=nan,1&model=%3Cscript%3Ealert(1)%3C/script%3E&a=99999&a=3&grid=12,3,linear"
              "&digit=" + "9" * 500)
    wait_pinned(page, "(0.000, 0.000)")
    notice = page.locator('[data-testid="stAlert"]').filter(has_text="could not be used")
    notice.first.wait_for(timeout=30_000)
    assert notice.count() == 1
    text = notice.first.inner_text()
    assert all(name in text for name in ("model", "z", "digit", "a")) and "script" not in text
    page.get_by_text("over z in \u00b13").first.wait_for(state="attached", timeout=60_000)  # the good part applies
    page.wait_for_function("() => location.search === '?grid=12%2C3%2Clinear'", timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_page_switch_drops_the_parameters_and_back_brings_the_view_back(page, app_url):
    page.goto(app_url + LINK)
    wait_pinned(page, "(0.500, -1.200)")
    box_link(page, "model=vae-z2-beta4")
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text="Disentanglement").first.click()
    page.locator("h1").filter(has_text="Disentanglement").wait_for(timeout=120_000)
    link = box_link(page, "/disentanglement")
    assert urlparse(page.url).query == "" and link == f"{app_url}/disentanglement"
    page.go_back()
    wait_pinned(page, "(0.500, -1.200)")
    page.wait_for_function("() => new URLSearchParams(location.search).get('model') === 'vae-z2-beta4'",
                           timeout=30_000)
    shows_explorer_view(page, "(0.500, -1.200)", "vae-z2-beta4", "over z in \u00b12.5")
    assert page.get_by_text("Selected test digit #7").count() == 1


def test_a_download_is_a_png_named_after_what_it_shows_and_does_not_rerun(page, app_url):
    from streamlit.proto.BackMsg_pb2 import BackMsg

    sent: list[str] = []  # the kinds of message the browser sends the server
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(
        BackMsg.FromString(bytes(payload)).WhichOneof("type") if isinstance(payload, bytes) else "text")))
    page.goto(f"{app_url}/explorer?z=0.5,-1.2")
    wait_pinned(page, "(0.500, -1.200)")
    box_link(page, "z=0.5,-1.2")
    page.wait_for_timeout(1000)
    sent.clear()
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="Digit (PNG)").first.click()
    download = info.value
    assert download.suggested_filename == "ae-z2_decoded_z1_0.5_z2_-1.2.png"
    with open(download.path(), "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    page.wait_for_timeout(1000)
    assert sent and "rerun_script" not in sent, f"the click asked for the file only, no rerun: {sent}"

    page.get_by_role("tab", name="Prior samples").click()  # the check can fail: a real button does rerun
    page.get_by_role("button", name="New draws").click()
    page.wait_for_function("() => new URLSearchParams(location.search).get('seed') === '1'", timeout=30_000)
    assert "rerun_script" in sent
