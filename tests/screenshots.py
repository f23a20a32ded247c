"""Screenshots for the README: `python -m tests.screenshots` writes docs/*.png from a running app in chromium."""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, REPO_ROOT, start_app, stop_app

DOCS = REPO_ROOT / "docs"


def main() -> int:
    DOCS.mkdir(exist_ok=True)
    proc, url = start_app()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1000}, device_scale_factor=1)
            page.goto(url)
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot .legend .traces').length >= 22",
                                   timeout=90_000)
            page.wait_for_timeout(2000)
            path = DOCS / "home.png"
            page.screenshot(path=str(path), full_page=True)
            print(f"wrote {path.relative_to(REPO_ROOT)}")
            browser.close()
    finally:
        stop_app(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
