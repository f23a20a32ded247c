"""Screenshots of every lesson step at 1280x720 in projector mode: `python -m tests.lesson_screenshots [--size WxH]`
starts the app, opens /lesson?step=N&projector=1 for each step, and writes docs/lesson/step-NN-question.png (before
Reveal) and docs/lesson/step-NN.png (after Reveal, or the only state of a step without a question)."""

from __future__ import annotations

import argparse
import random
import sys

from tests.conftest import REPO_ROOT
from tests.helpers import IDLE, app_in_chromium
from ui.lesson import N_STEPS, STEPS

OUT = REPO_ROOT / "docs" / "lesson"
PLANES_READY = ("() => [...document.querySelectorAll('.lp-root')].length === 0 || (window.__latentPlane && "
                "Object.values(window.__latentPlane).some(p => p.view))")


def settle(page, ms: int = 1500) -> None:
    page.wait_for_function(IDLE, timeout=120_000)
    page.wait_for_timeout(ms)
    page.wait_for_function(PLANES_READY, timeout=60_000)
    page.wait_for_function(IDLE, timeout=120_000)


def open_step(page, url: str, n: int) -> None:
    page.goto(f"{url}/lesson?step={n}&projector=1")
    page.wait_for_function("() => [...document.querySelectorAll('h4')].some(h => h.innerText.startsWith('Step '))",
                           timeout=120_000)
    settle(page)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--steps", default="", help="comma-separated step numbers (default: all)")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    steps = [int(s) for s in args.steps.split(",") if s] or list(range(1, N_STEPS + 1))
    OUT.mkdir(parents=True, exist_ok=True)
    with app_in_chromium(port=random.randint(8600, 8699)) as (browser, url):
        page = browser.new_page(viewport={"width": width, "height": height})
        for n in steps:
            open_step(page, url, n)
            suffix = "" if args.size == "1280x720" else f"-{args.size}"
            if STEPS[n - 1].slug == "amortization":  # run the fit first: the step is about its result
                page.get_by_role("button", name="Fit q(z|x) to this digit alone").click()
                page.get_by_text("ELBO: encoder's q").wait_for(timeout=120_000)
                settle(page, 2000)
            page.mouse.move(5, height - 5)  # no tooltip over the view
            if STEPS[n - 1].question:
                page.screenshot(path=str(OUT / f"step-{n:02d}-question{suffix}.png"))
                page.keyboard.press("r")
                settle(page, 2500)
            page.screenshot(path=str(OUT / f"step-{n:02d}{suffix}.png"))
            print(f"step {n}: wrote docs/lesson/step-{n:02d}{suffix}.png", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
