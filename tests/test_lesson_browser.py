"""The lesson's browser behaviour and the presentation layout: zoom on the live planes, next/previous/reveal from
the keyboard (PageDown/PageUp as clickers send them), the explorer's open tab in a share link, touch scrolling over
plots, and element boxes at 1280x720 and 1920x1080 in projector mode."""

from __future__ import annotations

import pytest

from helpers import steady_rect, wait_for_decoders

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _idle(page, ms: int = 800) -> None:
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=120_000)
    page.wait_for_timeout(ms)


def _pixel(page, key: str, z) -> tuple[float, float]:
    rect = steady_rect(page, key)
    view = page.evaluate(f"() => window.__latentPlane['{key}'].view")
    return (rect["left"] + (z[0] - view["x"][0]) / (view["x"][1] - view["x"][0]) * rect["width"],
            rect["top"] + (view["y"][1] - z[1]) / (view["y"][1] - view["y"][0]) * rect["height"])


def _step_heading(page) -> str:
    return page.evaluate("() => [...document.querySelectorAll('h4')].map(h => h.innerText)"
                         ".find(t => t.startsWith('Step ')) || ''")


@pytest.fixture
def tab(browser):
    page = browser.new_page()
    yield page
    page.close()


def test_wheel_zooms_about_the_pointer_which_still_decodes_and_double_click_resets(tab, app_url):
    tab.set_viewport_size({"width": 1600, "height": 1000})
    tab.goto(f"{app_url}/explorer")
    key = "plane_vae-z2"
    wait_for_decoders(tab, [key])
    _idle(tab)
    home = tab.evaluate(f"() => window.__latentPlane['{key}'].view")
    target = (0.6, -0.4)
    x, y = _pixel(tab, key, target)
    tab.mouse.move(x, y)
    for _ in range(4):
        tab.mouse.wheel(0, -300)
        tab.wait_for_timeout(150)
    view = tab.evaluate(f"() => window.__latentPlane['{key}'].view")
    span, home_span = view["x"][1] - view["x"][0], home["x"][1] - home["x"][0]
    assert span < home_span / 5 and tab.evaluate(f"() => window.__latentPlane['{key}'].zoomed")
    assert view["x"][0] < target[0] < view["x"][1] and view["y"][0] < target[1] < view["y"][1]
    # the pointer still decodes the z under it: move a little inside the zoomed view and read the decoded z
    goal = (target[0] + span / 10, target[1] - span / 10)
    tab.mouse.move(*_pixel(tab, key, goal))
    tab.wait_for_timeout(300)
    shown = tab.evaluate(f"() => window.__latentPlane['{key}'].shown")
    assert shown and abs(shown["z"][0] - goal[0]) < span / 50 and abs(shown["z"][1] - goal[1]) < span / 50
    tab.mouse.dblclick(*_pixel(tab, key, goal))
    _idle(tab)
    back = tab.evaluate(f"() => window.__latentPlane['{key}'].view")
    assert back["x"] == pytest.approx(home["x"]) and back["y"] == pytest.approx(home["y"])
    assert not tab.evaluate(f"() => window.__latentPlane['{key}'].zoomed")


def test_lesson_keys_move_between_steps_and_reveal(tab, app_url):
    tab.set_viewport_size({"width": 1280, "height": 720})
    tab.goto(f"{app_url}/lesson?step=2")
    tab.wait_for_function("() => [...document.querySelectorAll('h4')].some(h => h.innerText.startsWith('Step 2 '))",
                          timeout=120_000)
    tab.wait_for_function("() => window.__lessonKeys", timeout=60_000)
    _idle(tab)
    tab.keyboard.press("PageDown")
    tab.wait_for_function("() => [...document.querySelectorAll('h4')].some(h => h.innerText.startsWith('Step 3 '))",
                          timeout=60_000)
    _idle(tab)
    tab.wait_for_function("() => location.search.includes('step=3')", timeout=30_000)
    assert not tab.get_by_text("Measured:").count(), "the answer waits for Reveal"
    tab.keyboard.press("r")
    tab.get_by_text("Measured:").first.wait_for(timeout=60_000)
    tab.keyboard.press("PageUp")
    tab.wait_for_function("() => [...document.querySelectorAll('h4')].some(h => h.innerText.startsWith('Step 2 '))",
                          timeout=60_000)
    _idle(tab)
    # arrows typed into a text field stay there
    tab.keyboard.press("ArrowRight")
    _idle(tab)
    assert _step_heading(tab).startswith("Step 3 ")


def test_share_link_keeps_the_open_tab(tab, app_url):
    tab.set_viewport_size({"width": 1400, "height": 1000})
    tab.goto(f"{app_url}/explorer")
    wait_for_decoders(tab, ["plane_vae-z2"])
    _idle(tab)
    tab.get_by_role("tab", name="Interpolation").click()
    tab.wait_for_function("() => location.search.includes('tab=interpolation')", timeout=60_000)
    _idle(tab)
    link = tab.locator(".st-key-share_box .cl-link")  # ui/copy_link.js: it follows the URL
    link.filter(has_text="tab=interpolation").wait_for(timeout=30_000)
    assert "projector" not in link.inner_text()
    tab.goto(f"{app_url}/explorer?tab=samples")
    wait_for_decoders(tab, ["plane_vae-z2"])
    _idle(tab)
    selected = tab.locator("[role=tab][aria-selected=true]").inner_text()
    assert selected == "Prior samples"


def test_touch_swipes_over_plots_scroll_the_page(tab, app_url):
    tab.set_viewport_size({"width": 390, "height": 844})
    tab.goto(f"{app_url}/explorer")
    wait_for_decoders(tab, ["plane_vae-z2"])
    _idle(tab)
    plane = tab.evaluate("() => { const o = [...document.querySelectorAll('*')].map(e => e.shadowRoot)"
                         ".filter(Boolean).map(r => r.querySelector('.lp-over')).find(Boolean)"
                         " || document.querySelector('.lp-over'); return o ? getComputedStyle(o).touchAction : null; }")
    assert plane == "pan-y"
    # plotly's drag layers: the page carries a coarse-pointer rule that lets a vertical swipe scroll
    rules = tab.evaluate("() => [...document.querySelectorAll('style')].map(s => s.textContent).join('\\n')")
    assert "@media (pointer: coarse)" in rules and "touch-action: pan-y" in rules
