"""Screenshots for the README: `python -m tests.screenshots` starts the app, drives Chromium, writes docs/*.png."""

from __future__ import annotations

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

            page.get_by_text("completeness: judge's confidence in the decoded digit").click()
            page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stCaptionContainer]')]"
                                   ".filter(e => e.innerText.startsWith('Map: ')).length >= 2", timeout=120_000)
            _settle(page, 2000)
            page.locator("h1").first.scroll_into_view_if_needed()
            _save(page, None, "explorer-maps.png")

            for tab, name in (("Manifold grid", "explorer-grid.png"), ("Interpolation", "explorer-interpolation.png"),
                              ("Prior samples", "explorer-samples.png")):
                page.get_by_role("tab", name=tab).click()
                _settle(page, 2500)
                _save(page, page.locator('[data-testid="stTabs"]'), name)
            browser.close()
    finally:
        stop_app(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
