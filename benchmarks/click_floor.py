"""What a click costs the server at the least: Streamlit's own rerun, the elements a click sends, the work it needs.

    python -m benchmarks.click_floor [--sessions 30] [--seconds 20] [--rounds 1] [--loads 0]

Measures, one after the other in one run and with the same protocol-level client and seed
(benchmarks.concurrent_sessions: each session clicks a plane once a second), the server CPU per answered click of:

1. `floor: planes only`: benchmarks/floor_app.py with FLOOR_PARTS=plane, a fragment holding the two live planes and
   the "Pinned z" heading: the least a click that reruns the script sends.
2. `floor: the explorer's elements`: FLOOR_PARTS=elements, every element the explorer's fragment sends on a click
   (heading and number inputs, planes, pictures, downloads, captions), their content made once at start.
3. `explorer`: the real app (app.py), which also decodes the pinned z through both models, finds its nearest test
   codes and its nearest training image, and draws the pictures.

With --loads N, each server also gets N cold loads in headless Chromium after its clicks (a fresh browser context
each, as `python -m benchmarks.explorer_browser --only-load` does): navigation start -> both planes drew a digit and
answered a hover, with the median time of each phase. The floor apps' planes carry the shipped decoders, so their
load is the explorer's without its other widgets, sidebar and lower tabs.

And, in this process (one torch thread, the CPU caches flushed before each click, as on a busy server), the pinned
panels' computation alone: both models' decoders at z, both decoded digits' nearest training image (the exact search
of ui.panels.prepare_pinned) and their three pictures' PNGs. With --rounds N the three servers are measured N times,
alternating, so that a change in the machine's load shows up as spread rather than as a difference.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from benchmarks.concurrent_sessions import bench

FLOOR_APP = "benchmarks/floor_app.py"
SERVERS = (("floor: planes only", FLOOR_APP, {"FLOOR_PARTS": "plane"}),
           ("floor: the explorer's elements", FLOOR_APP, {"FLOOR_PARTS": "elements"}),
           ("explorer", "app.py", None))


def pinned_work_ms(clicks: int = 400, seed: int = 0) -> dict[str, float]:
    """Mean ms per click of the pinned panels' computation for the two shipped 2-D models, in this process."""
    import os

    os.environ.setdefault("OMP_NUM_THREADS", "1")  # as ui/__init__.py does in the server, before torch loads
    import numpy as np
    import torch

    from ui.images import png_data_uri
    from ui.latent_plane import default_view
    from vae import checkpoint as ckpt_mod
    from vae import latent
    from vae.data import load_mnist

    from ui.panels import TRAIN_INDEX_COMPONENTS, TRAIN_INDEX_REFINE

    torch.set_num_threads(1)
    data = load_mnist()
    index = latent.PixelIndex(data.x_train, components=TRAIN_INDEX_COMPONENTS, refine=TRAIN_INDEX_REFINE)
    models = [ckpt_mod.load_checkpoint(ckpt_mod.resolve(n)).model for n in ("ae-z2", "vae-z2")]
    decoders = [latent.OneZDecoder(m) for m in models]
    # z where the client clicks: uniform over each plane's view in turn (the AE's spans about 100 units, far outside
    # the VAE's codes, where its decoder draws blobs)
    views = [default_view(latent.encode_images(m, data.x_test).mu) for m in models]
    rng = np.random.default_rng(seed)
    flush = np.ones(64 * 2**20 // 8)  # 64 MB, larger than the last-level cache
    times: dict[str, list[float]] = {"decode": [], "search": [], "pictures": []}
    for i in range(clicks):
        view = views[i % 2]
        z = np.array([rng.uniform(*view["x"]), rng.uniform(*view["y"])])
        flush.sum()
        t0 = time.perf_counter()
        images = [d(z) for d in decoders]
        t1 = time.perf_counter()
        index.query_many(images, k=1)
        t2 = time.perf_counter()
        for im in images:
            png_data_uri(im, 5)
            png_data_uri(data.x_train[0] / 255.0, 5)
        t3 = time.perf_counter()
        times["decode"].append(t1 - t0)
        times["search"].append(t2 - t1)
        times["pictures"].append(t3 - t2)
    out = {k: 1000 * statistics.fmean(v) for k, v in times.items()}  # the mean: CPU per click adds up
    out["total"] = sum(out.values())
    return out


def cold_loads(url: str, n: int) -> dict:
    """n cold loads of the server's explorer page (benchmarks.explorer_browser.cold_load): medians in s."""
    from playwright.sync_api import sync_playwright

    from benchmarks import explorer_browser as eb
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    keys = str(list(eb.PLANE_KEYS)).replace("'", '"')
    probe = eb.PAGE_PROBE.replace("%KEYS%", keys)
    eb.PHASES_JS = eb.PHASES_JS.replace("%KEYS%", keys)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            done = [r for r in (eb.cold_load(browser, url, probe) for _ in range(n)) if "error" not in r]
        finally:
            browser.close()
    if not done:
        return {"failed": n}
    out = {"interactive": statistics.median(r["interactive"] for r in done), "failed": n - len(done)}
    for name in ("app_js", "ws_open", "plane_msg", "plane_js", "payload", "drawn"):
        got = [r["phases"][name] for r in done if name in r["phases"]]
        if got:
            out[name] = statistics.median(got)
    return out


def _cold_text(cold: dict | None) -> str:
    if cold is None:
        return ""
    phases = ", ".join(f"{k} {v:.2f}" for k, v in cold.items() if k not in ("interactive", "failed"))
    text = f"; cold load to interactive {cold.get('interactive', float('nan')):.2f} s (phases: {phases})"
    return text + (f", {cold['failed']} loads failed" if cold["failed"] else "")


def measure(label: str, script: str, env: dict | None, sessions: int, seconds: float, seed: int,
            loads: int = 0) -> dict:
    from tests.conftest import start_app, stop_app

    proc, url = start_app(script, env=env)
    try:
        r = asyncio.run(bench(url, sessions, seconds, 1.0, 60.0, seed, [proc.pid]))
        load = cold_loads(url, loads) if loads else None
    finally:
        stop_app(proc)
    st = r["stats"]
    answered = len(st.latency_ms)
    errors = sum(st.errors.values()) + sum(r["load_errors"].values())
    return {"label": label, "answered": answered, "planned": r["clicks_planned"], "errors": errors,
            "cpu_ms": 1000 * r["cpu_s"] / max(1, answered), "load": r["load_before"][0],
            "kb": statistics.median(st.bytes_per_click) / 1000 if st.bytes_per_click else float("nan"), "cold": load}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each click phase")
    parser.add_argument("--rounds", type=int, default=1, help="measure the three servers this many times, alternating")
    parser.add_argument("--loads", type=int, default=0, help="cold loads in headless Chromium per server")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.loads:
        from tests.conftest import CHROMIUM

        if not Path(CHROMIUM).exists():
            parser.error(f"--loads needs {CHROMIUM} (make system-packages, or set CHROMIUM_PATH)")

    rows = []
    for r in range(args.rounds):
        for label, script, env in SERVERS:
            row = measure(label, script, env, args.sessions, args.seconds, args.seed, args.loads)
            rows.append(row)
            print(f"  round {r + 1}: {label}: {row['cpu_ms']:.1f} ms of server CPU per click, "
                  f"{row['answered']}/{row['planned']} answered, {row['errors']} errors, {row['kb']:.1f} KB per click, "
                  f"load average {row['load']:.2f}" + _cold_text(row["cold"]), flush=True)
    work = pinned_work_ms(seed=args.seed)

    print(f"\nServer CPU per answered click, {args.sessions} sessions clicking once a second for {args.seconds:g} s "
          f"(median of {args.rounds} round(s)):")
    medians = {label: statistics.median(r["cpu_ms"] for r in rows if r["label"] == label) for label, _, _ in SERVERS}
    explorer = medians["explorer"]
    for label, ms in medians.items():
        print(f"  {label:32s} {ms:5.1f} ms   {ms / explorer:.2f} of the explorer's")
    print("The pinned panels' computation alone, in this process (mean per click, CPU caches flushed): "
          + ", ".join(f"{k} {v:.2f} ms" for k, v in work.items()))
    elements = medians["floor: the explorer's elements"]
    print(f"Floor of a click that reruns the explorer's fragment: {elements:.1f} ms (its elements) + "
          f"{work['total']:.1f} ms (the computation alone) = {elements + work['total']:.1f} ms; "
          f"measured: {explorer:.1f} ms")
    if args.loads:
        cold = {label: statistics.median(r["cold"].get("interactive", float("nan")) for r in rows
                                         if r["label"] == label) for label, _, _ in SERVERS}
        print(f"Cold load to interactive (median of {args.loads} fresh contexts per server, median over rounds): "
              + ", ".join(f"{label} {s:.2f} s" for label, s in cold.items()))
    bad = [r for r in rows if r["errors"] or r["answered"] != r["planned"] or (r["cold"] or {}).get("failed")]
    for r in bad:
        print(f"FAIL  {r['label']}: {r['errors']} errors, {r['answered']}/{r['planned']} answered")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
