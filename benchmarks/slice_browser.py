"""The live slice in a real browser: what one pointer move costs on the Higher dimensions page's 20-D planes.

    python -m benchmarks.slice_browser [--moves 200]

Starts tests/apps/slice_app.py (the page's two slices through the shipped ae-z20 and vae-z20, the prior-draw plane,
linked) on 127.0.0.1 and drives headless Debian Chromium (tests.conftest.CHROMIUM) at 1600 x 1000. The pointer
moves over the AE's slice at about 120 Hz along a seeded random walk; with the link on, every frame decodes the
same (a, b) through both 20-D decoders and searches both models' 10,000 whitened codes for the nearest one.

(a) decode time per frame: the sum over both planes of the planes' own stats (window.__latentPlaneStats[key]
    .decodeMs: z = z0 + a u + b v, then the MLP);
(b) frame work per plane: the planes' frameLatencyMs (from the pointer event to the end of drawFrame: decode,
    crosshair, and the text with the nearest-code search), the larger of the two planes per frame.

Headless Chromium here runs on a shared 2-core machine with a software rasteriser: figures are pessimistic. Exits
non-zero when a target fails.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys

from playwright.sync_api import sync_playwright

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, start_app, stop_app

KEYS = ("slice_ae", "slice_vae")
FRAME_MS = 1000 / 60
TARGET_DECODE_MEDIAN_MS = 4.0  # two 20-D decoders per frame
TARGET_FRAME_MEDIAN_MS = FRAME_MS  # pointer move -> both planes drawn, within one frame at 60 Hz


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.slice_browser", description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=200)
    args = parser.parse_args(argv)
    proc, url = start_app("tests/apps/slice_app.py")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(url)
            page.wait_for_function("() => { const h = window.__latentPlane; return h && h.slice_ae && h.slice_vae"
                                   " && h.slice_ae.lastDecode && h.slice_vae.lastDecode; }", timeout=300_000)
            page.wait_for_timeout(2000)
            rect = page.evaluate("() => window.__latentPlane.slice_ae.plotRect()")
            page.evaluate("() => { for (const k of ['slice_ae', 'slice_vae']) { const s = window.__latentPlaneStats[k];"
                          " s.decodeMs.length = 0; s.frameLatencyMs.length = 0; } }")
            rng = random.Random(0)
            x, y = rect["left"] + rect["width"] / 2, rect["top"] + rect["height"] / 2
            for _ in range(args.moves):
                x = min(rect["left"] + rect["width"] - 2, max(rect["left"] + 2, x + rng.uniform(-12, 12)))
                y = min(rect["top"] + rect["height"] - 2, max(rect["top"] + 2, y + rng.uniform(-12, 12)))
                page.mouse.move(x, y)
                page.wait_for_timeout(8)
            page.wait_for_timeout(500)
            stats = page.evaluate("() => ['slice_ae', 'slice_vae'].map(k => ({decode: window.__latentPlaneStats[k]"
                                  ".decodeMs.slice(), frame: window.__latentPlaneStats[k].frameLatencyMs.slice()}))")
            browser.close()
    finally:
        stop_app(proc)
    n = min(len(stats[0]["decode"]), len(stats[1]["decode"]))
    decode = [stats[0]["decode"][i] + stats[1]["decode"][i] for i in range(n)]
    m = min(len(stats[0]["frame"]), len(stats[1]["frame"]))
    frame = [max(stats[0]["frame"][i], stats[1]["frame"][i]) for i in range(m)]
    if not decode or not frame:
        print("no frames were recorded: did the pointer reach the plane?")
        return 1
    q = lambda v, p: sorted(v)[min(len(v) - 1, int(p * len(v)))]  # noqa: E731
    ok_decode = statistics.median(decode) <= TARGET_DECODE_MEDIAN_MS
    ok_frame = statistics.median(frame) <= TARGET_FRAME_MEDIAN_MS
    print(f"(a) decode, both 20-D models, per frame: median {statistics.median(decode):.2f} ms, p95 {q(decode, .95):.2f}"
          f" ms over {n} frames (target median <= {TARGET_DECODE_MEDIAN_MS} ms): {'PASS' if ok_decode else 'FAIL'}")
    print(f"(b) pointer move -> both planes drawn (decode, overlay, nearest of 10,000 codes): median "
          f"{statistics.median(frame):.2f} ms, p95 {q(frame, .95):.2f} ms over {m} frames (target median <= "
          f"{TARGET_FRAME_MEDIAN_MS:.1f} ms): {'PASS' if ok_frame else 'FAIL'}")
    return 0 if ok_decode and ok_frame else 1


if __name__ == "__main__":
    sys.exit(main())
