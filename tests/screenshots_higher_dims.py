"""Screenshots of the Higher dimensions page and the explorer's scale-free maps at two projector sizes:
`python -m tests.screenshots_higher_dims` starts the app, drives Chromium, writes docs/higher-dims-*.png (the normal
layout's samples and slice, and projector mode's two views, each one screen) and docs/explorer-whitened-*.png at
1280x720 and 1920x1080; `--no-explorer` leaves the explorer's out."""

from __future__ import annotations

import sys

from tests.helpers import app_in_chromium, wait_for_decoders
from tests.screenshots import _save, _settle, scroll_main

SIZES = ((1280, 720), (1920, 1080))
SLICES = ("slice_ae", "slice_vae")


def _slice_pixel(page, key: str, ab) -> tuple[float, float]:
    rect = page.evaluate(f"() => window.__latentPlane['{key}'].plotRect()")
    view = page.evaluate(f"() => window.__latentPlane['{key}'].view")
    return (rect["left"] + (ab[0] - view["x"][0]) / (view["x"][1] - view["x"][0]) * rect["width"],
            rect["top"] + (view["y"][1] - ab[1]) / (view["y"][1] - view["y"][0]) * rect["height"])


def _scroll_to(page, top_js: str, margin: int = 12) -> None:
    """Scroll Streamlit's main container so that the viewport y given by `top_js` (a JS expression) sits `margin` px
    below the top."""
    scroll_main(page, f"({top_js}) - {margin}")


def _wait_for_slices(page) -> None:
    page.wait_for_function("() => window.__latentPlane && " + " && ".join(
        f"window.__latentPlane['{k}'] && window.__latentPlane['{k}'].lastDecode" for k in SLICES), timeout=600_000)


def _projector(browser, url: str, w: int, h: int) -> None:
    """Projector mode as a teacher opens it (a link with ?projector=1: the sidebar folded), nothing scrolled: the
    live slice with the pointer on the VAE's plane, then the samples under N(0, I)."""
    page = browser.new_page(viewport={"width": w, "height": h})
    page.goto(f"{url}/higher_dims?projector=1")
    _wait_for_slices(page)
    _settle(page, 2500)
    x, y = _slice_pixel(page, "slice_vae", (0.6, 0.9))
    page.mouse.move(x, y)
    page.wait_for_timeout(600)
    _save(page, None, f"higher-dims-projector-slice-{w}.png")
    page.get_by_text("Samples", exact=True).first.click()  # the view chooser beside the title
    page.get_by_text("VAE (vae-z20): z ~ N(0, I)").wait_for(timeout=300_000)
    _settle(page, 2500)
    _save(page, None, f"higher-dims-projector-samples-{w}.png")
    page.close()


def main(argv: list[str] | None = None) -> int:
    """argv: sizes to take, e.g. ["1280x720"] (default: all of SIZES), and --no-explorer."""
    argv = sys.argv[1:] if argv is None else argv
    explorer = "--no-explorer" not in argv
    sizes = [tuple(int(v) for v in a.split("x")) for a in argv if a != "--no-explorer"] or SIZES
    with app_in_chromium() as (browser, url):
        for w, h in sizes:
            page = browser.new_page(viewport={"width": w, "height": h})
            page.goto(url)  # the home page, then the sidebar link: a fresh server's first deep link shows a notice
            _settle(page, 1000)
            page.get_by_role("link", name="Higher dimensions").first.click()
            _wait_for_slices(page)
            _settle(page, 2000)
            _scroll_to(page, "[...document.querySelectorAll('h3')].find(e => e.innerText.startsWith('Samples'))"
                             ".getBoundingClientRect().top", 70)
            _save(page, None, f"higher-dims-samples-{w}.png")
            # the planes' titles just under Streamlit's header (60 px), the digits and their readouts below the planes
            _scroll_to(page, "window.__latentPlane['slice_ae'].plotRect().top", 130)
            x, y = _slice_pixel(page, "slice_vae", (0.6, 0.9))
            page.mouse.move(x, y)
            page.wait_for_timeout(600)
            _save(page, None, f"higher-dims-slice-{w}.png")
            if not explorer:
                page.close()
                _projector(browser, url, w, h)
                continue
            page.get_by_role("link", name="Explorer").first.click()
            wait_for_decoders(page)
            _settle(page)
            page.get_by_text("Both planes in whitened units").click()
            _settle(page, 1500)
            page.get_by_text("where the codes are (aggregate posterior)").click()
            page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stCaptionContainer]')]"
                                   ".filter(e => e.innerText.startsWith('Where the codes are')).length >= 2",
                                   timeout=180_000)
            _settle(page, 2000)
            _scroll_to(page, "window.__latentPlane['plane_ae-z2'].plotRect().top", 110)
            _save(page, None, f"explorer-whitened-{w}.png")
            page.close()
            _projector(browser, url, w, h)
    return 0


if __name__ == "__main__":
    sys.exit(main())
