"""Screenshots for the README: `python -m tests.screenshots` starts the app, drives Chromium, writes docs/*.png.

`python -m tests.screenshots draw disentanglement --size 1280x720 --out DIR` takes only those pages, in a window of
that size, into DIR: the top of each page, then one picture a window further down for `--scrolls` windows (a check
that a change moved nothing, kept out of docs/)."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT
from tests.helpers import app_in_chromium, settle, wait_for_decoders

DOCS = REPO_ROOT / "docs"


def _plane_pixel(page, key: str, z) -> tuple[float, float]:
    rect = page.evaluate(f"() => window.__latentPlane['{key}'].plotRect()")
    view = page.evaluate(f"() => window.__latentPlane['{key}'].view")
    return (rect["left"] + (z[0] - view["x"][0]) / (view["x"][1] - view["x"][0]) * rect["width"],
            rect["top"] + (view["y"][1] - z[1]) / (view["y"][1] - view["y"][0]) * rect["height"])


def _settle(page, ms: int = 1500) -> None:
    settle(page, ms)


def _save(page, locator, name: str, folder: Path = DOCS) -> None:
    path = folder / name
    (locator.screenshot if locator is not None else page.screenshot)(path=str(path))
    print(f"wrote {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}", flush=True)


def scroll_main(page, dy: float | str) -> None:
    """Scroll Streamlit's main container (the page itself does not scroll) by dy pixels: a number or a JavaScript
    expression (the components live in shadow roots, so their positions come from their test hooks)."""
    page.evaluate("() => { let p = document.querySelector('h1'); while (p && !(p.scrollHeight > p.clientHeight &&"
                  " /(auto|scroll)/.test(getComputedStyle(p).overflowY))) p = p.parentElement;"
                  f" (p || window).scrollBy(0, {dy}); }}")
    page.wait_for_timeout(500)


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


def open_draw(page, url: str) -> None:
    """The draw page with a "3" drawn, once its planes, reconstructions and close-up are on it."""
    page.goto(f"{url}/draw")
    page.wait_for_function("() => window.__drawCanvas && window.__drawCanvas['draw_canvas']", timeout=90_000)
    _settle(page)
    _draw_three(page)
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 3", timeout=90_000)
    _settle(page, 2500)


def open_disentanglement(page, url: str) -> None:
    """The disentanglement page with the first model, once its KL bars, its sweep GIF and its grids are on it."""
    page.goto(f"{url}/disentanglement")
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot g.point path').length >= 3", timeout=180_000)
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stImage] img')].some("
                           "i => i.src.includes('.gif') && i.complete && i.naturalWidth > 0)", timeout=180_000)
    _settle(page, 2500)


PAGES = {"draw": open_draw, "disentanglement": open_disentanglement}


def pages_only(names: list[str], width: int, height: int, out: Path, scrolls: int) -> int:
    """Each page in `names` at width x height into `out`: NAME-WxH.png, then NAME-WxH-K.png K windows down."""
    out.mkdir(parents=True, exist_ok=True)
    with app_in_chromium() as (browser, url):
        for name in names:
            page = browser.new_page(viewport={"width": width, "height": height})
            PAGES[name](page, url)
            page.mouse.move(5, height - 5)  # no tooltip over the view
            _save(page, None, f"{name}-{width}x{height}.png", out)
            for k in range(1, scrolls + 1):
                scroll_main(page, height - 80)
                _save(page, None, f"{name}-{width}x{height}-{k}.png", out)
            page.close()
    return 0


def readme_shots() -> int:
    DOCS.mkdir(exist_ok=True)
    with app_in_chromium() as (browser, url):
        page = browser.new_page(viewport={"width": 1500, "height": 1150})
        page.goto(url)
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .legend .traces').length >= 22",
                               timeout=90_000)
        _settle(page, 2000)
        _save(page, None, "home.png")

        page.set_viewport_size({"width": 1500, "height": 1500})
        page.goto(f"{url}/explorer")
        wait_for_decoders(page, timeout=90_000)
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
        open_draw(page, url)
        _save(page, None, "draw.png")

        page.set_viewport_size({"width": 1600, "height": 3700})  # the whole page in one picture
        open_disentanglement(page, url)
        _save(page, None, "disentanglement.png")

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
        wait_for_decoders(page, timeout=90_000)
        page.get_by_text("Projector mode").click()
        # projector mode's style sheet sets the page's base type to 22 px (ui/projector.py); its pages have no title
        page.wait_for_function("() => getComputedStyle(document.documentElement).fontSize === '22px'",
                               timeout=60_000)
        wait_for_decoders(page, timeout=90_000)
        _settle(page, 2500)
        x, y = _plane_pixel(page, "plane_vae-z2", (1.1, 1.6))
        page.mouse.move(x, y)
        page.wait_for_timeout(400)
        _save(page, None, "projector.png")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pages", nargs="*", metavar="PAGE",
                        help=f"only these pages ({', '.join(PAGES)}); none: every README screenshot into docs/")
    parser.add_argument("--size", default="1280x720", help="window of the pages named (default 1280x720)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "tmp" / "screenshots",
                        help="folder for the pages named (default tmp/screenshots, which git ignores)")
    parser.add_argument("--scrolls", type=int, default=0, help="pictures further down each page named")
    args = parser.parse_args(argv)
    unknown = [p for p in args.pages if p not in PAGES]
    if unknown:
        parser.error(f"unknown page {unknown[0]!r}: choose from {', '.join(PAGES)}")
    if not args.pages:
        return readme_shots()
    width, height = (int(v) for v in args.size.split("x"))
    return pages_only(args.pages, width, height, args.out, args.scrolls)


if __name__ == "__main__":
    sys.exit(main())
