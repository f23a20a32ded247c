"""Screenshots for the README: `python -m tests.screenshots` starts the app, drives Chromium, writes docs/*.png."""

from __future__ import annotations

import math
import sys

from playwright.sync_api import sync_playwright

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, REPO_ROOT, start_app, stop_app

DOCS = REPO_ROOT / "docs"
READY = ("() => window.__latentPlane && ['plane_ae-z2', 'plane_vae-z2'].every("
         "k => window.__latentPlane[k] && window.__latentPlane[k].view)")


def _plane_pixel(page, key: str, z) -> tuple[float, float]:
    rect = page.evaluate(f"() => window.__latentPlane['{key}'].plotRect()")
    view = page.evaluate(f"() => window.__latentPlane['{key}'].view")
    return (rect["left"] + (z[0] - view["x"][0]) / (view["x"][1] - view["x"][0]) * rect["width"],
            rect["top"] + (view["y"][1] - z[1]) / (view["y"][1] - view["y"][0]) * rect["height"])


def _settle(page, ms: int = 1500) -> None:
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=60_000)
    page.wait_for_timeout(ms)


def _save(page, locator, name: str) -> None:
    path = DOCS / name
    (locator.screenshot if locator is not None else page.screenshot)(path=str(path))
    print(f"wrote {path.relative_to(REPO_ROOT)}")


def _draw_three(page) -> None:
    """Draw a "3" on the draw page's canvas with the mouse, in one stroke: two arcs."""
    r = page.evaluate("() => window.__drawCanvas['draw_canvas'].rect()")
    upper = [(0.47 + 0.17 * math.cos(a), 0.31 + 0.16 * math.sin(a))
             for a in (math.radians(-160 + 250 * i / 29) for i in range(30))]
    lower = [(0.47 + 0.19 * math.cos(a), 0.66 + 0.19 * math.sin(a))
             for a in (math.radians(-90 + 245 * i / 29) for i in range(30))]
    points = [(r["left"] + x * r["width"], r["top"] + y * r["height"]) for x, y in upper + lower]
    page.mouse.move(*points[0])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(x, y)
    page.mouse.up()


def main() -> int:
    DOCS.mkdir(exist_ok=True)
    proc, url = start_app()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1150})
            page.goto(url)
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot .legend .traces').length >= 22",
                                   timeout=90_000)
            _settle(page, 2000)
            _save(page, None, "home.png")

            page.set_viewport_size({"width": 1500, "height": 1500})
            page.goto(f"{url}/explorer")
            page.wait_for_function(READY, timeout=90_000)
            _settle(page)
            x, y = _plane_pixel(page, "plane_vae-z2", (-0.25, -1.45))  # a test digit near the centre
            page.mouse.click(x, y)
            _settle(page)
            page.get_by_role("button", name="Resample").click()
            _settle(page)
            page.locator("h1").first.scroll_into_view_if_needed()
            page.wait_for_timeout(300)
            x, y = _plane_pixel(page, "plane_vae-z2", (1.1, 1.6))
            page.mouse.move(x, y)
            page.wait_for_timeout(400)
            _save(page, None, "explorer.png")

            page.get_by_text("where the codes are (aggregate posterior)").click()
            page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stCaptionContainer]')]"
                                   ".filter(e => e.innerText.startsWith('Where the codes are')).length >= 2",
                                   timeout=120_000)
            _settle(page, 2000)
            page.locator("h1").first.scroll_into_view_if_needed()
            _save(page, None, "explorer-maps.png")

            for tab, name in (("Manifold grid", "explorer-grid.png"), ("Interpolation", "explorer-interpolation.png"),
                              ("Prior samples", "explorer-samples.png")):
                page.get_by_role("tab", name=tab).click()
                _settle(page, 2500)
                _save(page, page.locator('[data-testid="stTabs"]'), name)

            page.set_viewport_size({"width": 1500, "height": 2150})
            page.goto(f"{url}/draw")
            page.wait_for_function("() => window.__drawCanvas && window.__drawCanvas['draw_canvas']", timeout=90_000)
            _settle(page)
            _draw_three(page)
            page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 3", timeout=90_000)
            _settle(page, 2500)
            _save(page, None, "draw.png")

            page.set_viewport_size({"width": 1500, "height": 1900})
            page.goto(f"{url}/train")
            page.get_by_role("button", name="Start training").click()
            page.get_by_role("link", name="Explore your models").wait_for(timeout=240_000)
            _settle(page, 2500)
            page.locator("h1").first.scroll_into_view_if_needed()
            _save(page, None, "train.png")

            page.set_viewport_size({"width": 1500, "height": 1500})
            page.get_by_role("link", name="Explorer").first.click()  # same session: the trained models are offered
            page.get_by_text("Show the models you trained on the Train live page").click()  # back to the shipped
            page.wait_for_function(READY, timeout=90_000)
            page.get_by_text("Projector mode").click()
            page.wait_for_function("() => getComputedStyle(document.querySelector('h1')).fontWeight === '800'",
                                   timeout=60_000)
            _settle(page, 2500)
            page.locator("h1").first.scroll_into_view_if_needed()
            x, y = _plane_pixel(page, "plane_vae-z2", (1.1, 1.6))
            page.mouse.move(x, y)
            page.wait_for_timeout(400)
            _save(page, None, "projector.png")
            browser.close()
    finally:
        stop_app(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
