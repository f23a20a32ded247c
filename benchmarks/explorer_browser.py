"""The explorer in a real browser: decode time per frame, pointer -> drawn latency, click -> pinned z, cold load.

    python -m benchmarks.explorer_browser [--moves 400] [--clicks 24] [--loads 5] [--url URL]

Starts the app (tests.conftest.start_app) unless --url names one on 127.0.0.1, and drives headless Debian Chromium
(tests.conftest.CHROMIUM and CHROMIUM_ARGS; every browser context is fresh: no cache, no storage) at /explorer,
viewport 1600 x 1000. One warm-up load first fills the server's caches; that page then serves (a) to (c), from 3 s
after its run finished, and (d) opens fresh contexts against the warm server. The "same z" link is on (the page's
default), so hovering one plane decodes the same z through both models every frame.

(a) decode time of both models per animation frame: the planes' own stats hook (window.__latentPlaneStats[key]
    .decodeMs, one entry per decode) while the pointer moves over each plane; with the link on both planes decode in
    the same frame, so the i-th entries of the two planes are one frame: their sum is that frame's decode time.
(b) pointer move -> drawn: a capture listener records every pointermove the browser delivers, with its coalesced
    events (Chrome hands over at most one pointermove per frame, holding the others as coalesced events), and a
    MutationObserver on each plane's z read-out, which drawFrame rewrites after it has drawn the digit, the
    crosshair and the text. A move counts as drawn when both planes have finished drawing after it; its latency runs
    from its own timestamp, so a move that waited for the frame counts the wait. The pixels reach the screen with the
    frame whose animation callback drew them. Moves are issued at about 120 Hz, a common mouse report rate.
(c) click -> pinned z shown: from the click event to the DOM mutation that makes the page's "Pinned z = (x, y)"
    subheader show the clicked z (to 3 decimals), alternating the planes at seeded random places; the next click
    waits until the server has finished the run (its script_finished message on the page's websocket).
(d) cold load to interactive: navigation start (performance.timeOrigin) -> both planes have drawn a digit and each
    has decoded a z under the pointer. The pointer is moved over each plane as soon as its test hook exists, so the
    figure includes a few ms of this driver's polling.

Headless Chromium here draws with a software rasteriser on a shared 2-core machine: figures are pessimistic next to a
laptop. Exits non-zero when a target fails.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from pathlib import Path

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from benchmarks.common import server

PLANE_KEYS = ("plane_ae-z2", "plane_vae-z2")
PAGE = "explorer"
VIEWPORT = {"width": 1600, "height": 1000}
FRAME_MS = 1000 / 60
TARGET_DECODE_MEDIAN_MS = 2.0
TARGET_DRAW_MS = FRAME_MS  # drawn within one frame at 60 Hz
TARGET_NEXT_FRAME_SHARE = 0.95  # share of moves that must be drawn by the first frame that begins after them
TARGET_CLICK_P95_MS = 250.0
TARGET_LOAD_S = 1.5
SETTLE_MS = 3000  # after the warm-up load, before (a) and (b)

# Installed in every page before Streamlit's own scripts (context.add_init_script): timestamps in the page's clock,
# performance.now(), whose zero is the navigation start.
PAGE_PROBE = r"""
(() => {
  if (window.__bench) return;
  const KEYS = %KEYS%;
  const B = (window.__bench = { drawn: {}, hovered: {}, mounted: {}, moves: [], pending: [], click: null,
                                 notFound: null, wsOpen: null, wsFirst: null, planeMsg: null });
  const nearly = (a, b) => Math.abs(a - b) <= 0.0006;
  function check(records) {
    const now = performance.now();
    const h = window.__latentPlane;
    if (h) {
      for (const k of KEYS) {
        const p = h[k];
        if (!p) continue;
        if (B.drawn[k] === undefined && p.lastDecode) B.drawn[k] = now;
        if (B.hovered[k] === undefined && p.shown && p.shown.source === "pointer" && p.lastDecode) B.hovered[k] = now;
      }
    }
    // (b) which planes finished a frame in this batch: drawFrame ends by rewriting the plane's z read-out (.lp-z)
    const drew = new Set();
    for (const r of records || []) {
      const node = r.target && (r.target.nodeType === 1 ? r.target : r.target.parentElement);
      const z = node && node.closest(".lp-z");
      const k = z && planeKey(z.closest(".lp-root"));
      if (k) drew.add(k);
    }
    if (drew.size && B.pending.length) {
      const still = [];
      for (const m of B.pending) {
        for (const k of drew) if (m.t <= now && m.at[k] === undefined) m.at[k] = now;
        if (KEYS.every((k) => m.at[k] !== undefined)) {
          // frames that began after the move and before the one that drew it: 0 = drawn in the next frame
          const drawnIn = B.frames.length ? B.frames[B.frames.length - 1] : -Infinity;
          const skipped = B.frames.filter((f) => f > m.t && f < drawnIn).length;
          B.moves.push([Math.max(...KEYS.map((k) => m.at[k])) - m.t, skipped]);
        } else still.push(m);
      }
      B.pending = still;
    }
    // (c) the pinned-z subheader shows the clicked z
    const c = B.click;
    if (c && c.t !== undefined && c.done === undefined && h && h[c.key] && h[c.key].pinned) {
      const want = h[c.key].pinned;
      for (const e of document.querySelectorAll("h3")) {
        if (e.textContent === c.before) continue;
        const m = /^Pinned z = \((-?[\d.]+), (-?[\d.]+)\)/.exec(e.textContent || "");
        if (m && nearly(+m[1], want[0]) && nearly(+m[2], want[1])) { c.done = now; c.shown = [+m[1], +m[2]]; break; }
      }
    }
  }
  function pageCheck(records) {
    check(records);  // planes drawn outside a shadow root would show up here
    if (B.notFound === null) {
      for (const e of document.querySelectorAll("h1, h2")) {
        if (e.textContent === "Page not found") B.notFound = performance.now();
      }
    }
  }
  // The planes live in shadow roots, which the document's observer does not see: observe each one as soon as its
  // hook appears (latent_plane.js takes window.__latentPlane when it exists, so a proxy here sees every new hook;
  // the plane's element is in place before its hook, long before its first frame).
  const seenRoots = new WeakSet();
  let observedRoots = 0, retries = 0;
  function attachPlanes() {
    for (const host of document.querySelectorAll("*")) {
      const sr = host.shadowRoot;
      if (!sr || seenRoots.has(sr) || !sr.querySelector(".lp-root")) continue;
      seenRoots.add(sr);
      observedRoots += sr.querySelectorAll(".lp-root").length;
      planeObserver.observe(sr, { childList: true, characterData: true, subtree: true });
    }
    observedRoots = Math.max(observedRoots, document.querySelectorAll(".lp-root").length);  // light DOM
    B.observedRoots = observedRoots;
    if (observedRoots < Object.keys(window.__latentPlane).length && retries++ < 500) setTimeout(attachPlanes, 10);
  }
  window.__latentPlane = new Proxy({}, {
    set(target, key, value) {
      if (B.mounted[key] === undefined) B.mounted[key] = performance.now(); // the plane's module ran: its hook
      target[key] = value; attachPlanes(); return true;
    },
  });
  const rootKeys = new WeakMap();
  function planeKey(root) {
    // Which hook a plane's element belongs to: the one whose plot area sits on its canvas (read once, after layout).
    if (!root) return null;
    if (rootKeys.has(root)) return rootKeys.get(root);
    const over = root.querySelector(".lp-over"), r = over && over.getBoundingClientRect();
    if (!r || !r.width) return null;
    for (const k of KEYS) {
      const p = window.__latentPlane && window.__latentPlane[k];
      const pr = p && p.plotRect();
      if (pr && Math.abs(r.left + 58 - pr.left) < 1 && Math.abs(r.top + 22 - pr.top) < 1) {
        rootKeys.set(root, k);
        return k;
      }
    }
    return null;
  }
  const planeObserver = new MutationObserver(check);
  new MutationObserver(pageCheck).observe(document, { childList: true, subtree: true, characterData: true });
  // Frame begin times (the timestamp every animation callback of a frame receives), only while recording: a
  // perpetual loop would make the browser draw frames it would otherwise skip.
  B.frames = [];
  B.record = (on) => {
    B.recording = on;
    if (on && !B.ticking) {
      B.ticking = true;
      const tick = (ts) => {
        B.frames.push(ts);
        if (B.frames.length > 2000) B.frames.splice(0, 1000);
        if (B.recording) requestAnimationFrame(tick); else B.ticking = false;
      };
      requestAnimationFrame(tick);
    }
  };
  window.addEventListener("pointermove", (e) => {
    if (!B.recording) return;
    const list = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
    for (const c of (list.length ? list : [e])) B.pending.push({ t: c.timeStamp, at: {} });
  }, true);
  // (c) broken down: click -> the rerun's BackMsg leaves, -> the message carrying the new subheader arrives, -> DOM.
  const NativeWebSocket = window.WebSocket;
  const latin1 = new TextDecoder("latin1");
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener("open", () => { if (B.wsOpen === null) B.wsOpen = performance.now(); });
      this.addEventListener("message", (e) => {
        if (B.wsFirst === null) B.wsFirst = performance.now();
        if (e.data instanceof ArrayBuffer && e.data.byteLength < 4e6 && latin1.decode(e.data).includes("plane_vae-z2")
            && latin1.decode(e.data).includes("LEX1")) B.planeMsg = performance.now();
        const c = B.click;
        if (!c || c.sent === undefined || c.msg !== undefined || !(e.data instanceof ArrayBuffer)) return;
        if (e.data.byteLength < 16384 && latin1.decode(e.data).includes("Pinned z = (")) c.msg = performance.now();
      });
    }
    send(data) {
      const c = B.click;
      if (c && c.t !== undefined && c.sent === undefined) c.sent = performance.now();
      return super.send(data);
    }
  };
  window.addEventListener("click", (e) => {
    if (B.click && B.click.armed) { B.click.t = e.timeStamp; B.click.armed = false; }
  }, true);
})();
"""


def percentile(values, q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    s = sorted(values)
    return s[max(0, math.ceil(q / 100 * len(s)) - 1)]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


class Page:
    """A browser page on the explorer, counting the server's finished script runs from its websocket."""

    def __init__(self, context, url: str):
        self.page = context.new_page()
        self.finished = 0
        self.page.on("websocket", self._on_ws)
        self.url = url

    def _on_ws(self, ws) -> None:
        def frame(payload) -> None:
            if isinstance(payload, bytes) and len(payload) < 4096:  # script_finished is tiny; skip the payloads
                try:
                    msg = ForwardMsg.FromString(payload)
                except Exception:
                    return
                if msg.WhichOneof("type") == "script_finished":
                    self.finished += 1
        ws.on("framereceived", frame)

    def js(self, expr: str, arg=None):
        return self.page.evaluate(expr, arg)

    def wait_ready(self, timeout_ms: float = 120_000) -> None:
        self.page.wait_for_function(
            "(keys) => keys.every(k => window.__latentPlane && window.__latentPlane[k]"
            " && window.__latentPlane[k].lastDecode)", arg=list(PLANE_KEYS), timeout=timeout_ms)

    def wait_finished(self, since: int, timeout_s: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while self.finished <= since and time.monotonic() < deadline:
            self.page.wait_for_timeout(10)
        return self.finished > since

    def rect(self, key: str) -> dict:
        return self.js("(k) => window.__latentPlane[k].plotRect()", key)


def path_point(rect: dict, u: float) -> tuple[float, float]:
    """A Lissajous path over the middle 80% of a plot area, u in [0, 1)."""
    return (rect["left"] + rect["width"] * (0.5 + 0.4 * math.sin(2 * math.pi * 3 * u)),
            rect["top"] + rect["height"] * (0.5 + 0.4 * math.sin(2 * math.pi * 2 * u + 0.7)))


def hover_figures(p: Page, moves: int, chunk: int = 150, hz: float = 120.0) -> dict:
    """(a) and (b): move the pointer over each plane in turn; chunks stay below the hook's 300 kept samples."""
    linked = p.js("(keys) => keys.map(k => window.__latentPlane[k].linkOn)", list(PLANE_KEYS))
    frame_ms, unpaired, move_ms, skipped, hook_ms, gaps, issued, busy = [], 0, [], [], [], [], 0, 0.0
    decodes_before = p.js("(keys) => keys.map(k => window.__latentPlaneStats[k].decodes)", list(PLANE_KEYS))
    for key in PLANE_KEYS:
        rect = p.rect(key)
        x, y = path_point(rect, 0.0)
        p.page.mouse.move(x, y)
        p.page.wait_for_timeout(100)
        for start in range(0, moves, chunk):
            p.js("(keys) => { for (const k of keys) { const s = window.__latentPlaneStats[k];"
                 " s.decodeMs.length = 0; s.frameLatencyMs.length = 0; }"
                 " window.__bench.moves = []; window.__bench.pending = []; window.__bench.frames = [];"
                 " window.__bench.record(true); }",
                 list(PLANE_KEYS))
            t_next = t_start = time.perf_counter()
            for i in range(start, min(moves, start + chunk)):
                x, y = path_point(rect, (i + 1) / moves)
                p.page.mouse.move(x, y)
                issued += 1
                t_next += 1 / hz
                pause = t_next - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            busy += time.perf_counter() - t_start
            p.page.wait_for_timeout(150)  # let the last frame draw
            got = p.js("(keys) => { window.__bench.record(false); const f = window.__bench.frames; return {"
                       " dec: keys.map(k => Array.from(window.__latentPlaneStats[k].decodeMs)),"
                       " lat: Array.from(window.__latentPlaneStats[keys[0]].frameLatencyMs).map((v, i) =>"
                       "   Math.max(v, window.__latentPlaneStats[keys[1]].frameLatencyMs[i] || 0)),"
                       " moves: window.__bench.moves.slice(), pending: window.__bench.pending.length,"
                       " frame_gaps: f.slice(1).map((v, i) => v - f[i]) }; }",
                       list(PLANE_KEYS))
            a, b = got["dec"]
            unpaired += abs(len(a) - len(b))
            frame_ms += [x + y for x, y in zip(a, b)]
            move_ms += [m[0] for m in got["moves"]]
            skipped += [m[1] for m in got["moves"]]
            hook_ms += got["lat"]
            gaps += got["frame_gaps"]
    decodes_after = p.js("(keys) => keys.map(k => window.__latentPlaneStats[k].decodes)", list(PLANE_KEYS))
    p.page.mouse.move(5, 5)
    return {"frame_ms": frame_ms, "unpaired": unpaired, "move_ms": move_ms, "skipped": skipped, "hook_ms": hook_ms,
            "frame_gaps": gaps, "issued": issued, "move_hz": issued / busy if busy else 0.0,
            "linked": linked, "decodes": [b - a for a, b in zip(decodes_before, decodes_after)]}


def click_figures(p: Page, clicks: int, seed: int) -> dict:
    """(c): click alternate planes at seeded random places; time click -> the pinned-z subheader shows it."""
    rng = random.Random(seed)
    latencies, misses, shown, parts = [], 0, [], []
    for i in range(clicks):
        key = PLANE_KEYS[i % len(PLANE_KEYS)]
        rect = p.rect(key)
        x = rect["left"] + rect["width"] * rng.uniform(0.05, 0.95)
        y = rect["top"] + rect["height"] * rng.uniform(0.05, 0.95)
        finished = p.finished
        p.js("(k) => { const h = [...document.querySelectorAll('h3')].find(e => e.textContent.startsWith('Pinned z'));"
             " window.__bench.click = { key: k, armed: true, before: h ? h.textContent : null }; }", key)
        p.page.mouse.click(x, y)
        try:
            p.page.wait_for_function("() => window.__bench.click.done !== undefined", timeout=30_000)
            c = p.js("() => window.__bench.click")
            latencies.append(c["done"] - c["t"])
            if c.get("sent") is not None and c.get("msg") is not None:
                parts.append((c["sent"] - c["t"], c["msg"] - c["sent"], c["done"] - c["msg"]))
            shown.append(c["shown"])
        except Exception:
            misses += 1
        p.wait_finished(finished)  # the run the click started has ended: the next click does not interrupt it
        p.page.wait_for_timeout(150)
    return {"ms": latencies, "misses": misses, "distinct": len({tuple(s) for s in shown}), "parts": parts}


# (d) broken down: when each step of a cold load ended, ms from navigation start (page clock), and what it transferred.
LOAD_PHASES = {
    "html": "page HTML received",
    "app_js": "Streamlit's own scripts loaded (DOMContentLoaded)",
    "ws_open": "websocket open",
    "ws_first": "first message from the server",
    "plane_msg": "the second plane's element received (its data carries LEX1 options)",
    "plane_js": "planes' JavaScript fetched (file-backed component)",
    "mounted": "both planes' modules ran (test hooks exist)",
    "payload": "both decoders fetched (static files)",
    "drawn": "both planes drew a digit",
    "hovered": "both answered a hover",
}
PHASES_JS = r"""
() => {
  const B = window.__bench, keys = %KEYS%;
  const nav = performance.getEntriesByType("navigation")[0] || {};
  const res = performance.getEntriesByType("resource");
  const last = (f) => { const r = res.filter(f); return r.length ? Math.max(...r.map((e) => e.responseEnd)) : null; };
  const sum = (f) => res.filter(f).reduce((a, e) => a + (e.transferSize || 0), 0);
  const all = (o) => keys.every((k) => o[k] !== undefined) ? Math.max(...keys.map((k) => o[k])) : null;
  const isPlaneJs = (e) => e.name.includes("/bidi-components/") && e.name.includes("latent_plane");
  const isPayload = (e) => e.name.endsWith(".lex");
  return { html: nav.responseEnd || null, app_js: nav.domContentLoadedEventEnd || null, ws_open: B.wsOpen,
           ws_first: B.wsFirst, plane_msg: B.planeMsg, plane_js: last(isPlaneJs), mounted: all(B.mounted), payload: last(isPayload),
           drawn: all(B.drawn), hovered: all(B.hovered),
           bytes: { payload: sum(isPayload), plane_js: sum(isPlaneJs), all: sum(() => true) + (nav.transferSize || 0) } };
}
"""


def cold_load(browser, url: str, probe: str, timeout_s: float = 30.0) -> dict:
    """(d): a fresh context; navigation start -> both planes drawn, then -> each has answered a hover."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(probe)
    page = context.new_page()
    try:
        page.goto(f"{url}/{PAGE}", wait_until="commit")
        deadline = time.monotonic() + timeout_s
        jitter = 0
        while time.monotonic() < deadline:
            state = page.evaluate(
                "(keys) => { const h = window.__latentPlane || {}; const B = window.__bench || {};"
                " return keys.map(k => ({ready: !!(h[k] && h[k].lastDecode), hovered: B.hovered && B.hovered[k],"
                " rect: h[k] && h[k].lastDecode ? h[k].plotRect() : null})); }", list(PLANE_KEYS))
            todo = [s for s in state if s["hovered"] is None]
            if not todo:
                break
            s = todo[0]
            if s["ready"]:
                r = s["rect"]
                jitter = (jitter + 1) % 7  # a new position each time, so each move is a real pointermove
                page.mouse.move(r["left"] + r["width"] * 0.4 + jitter, r["top"] + r["height"] * 0.45 + jitter)
            else:
                page.wait_for_timeout(5)
        b = page.evaluate("() => window.__bench")
        if any(b["hovered"].get(k) is None for k in PLANE_KEYS):
            return {"error": f"not interactive within {timeout_s:.0f} s (drawn {b['drawn']}, hovered {b['hovered']}, "
                             f"last state {state})"}
        phases = page.evaluate(PHASES_JS)
        return {"drawn": max(b["drawn"][k] for k in PLANE_KEYS) / 1000,
                "interactive": max(b["hovered"][k] for k in PLANE_KEYS) / 1000,
                "not_found": b["notFound"],
                "phases": {name: phases[name] / 1000 for name in LOAD_PHASES if phases.get(name) is not None},
                "bytes": phases["bytes"]}
    finally:
        context.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--moves", type=int, default=400, help="pointer moves over each plane for (a) and (b)")
    parser.add_argument("--clicks", type=int, default=24, help="clicks for (c), alternating the planes")
    parser.add_argument("--loads", type=int, default=5, help="fresh-context cold loads for (d)")
    parser.add_argument("--url", default=None, help="a running app on 127.0.0.1 (default: start one)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only-load", action="store_true", help="measure (d) alone")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS, stop_app

    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} not found (set CHROMIUM_PATH)")
        return 2
    proc, url, tail = server(parser, args.url)
    probe = PAGE_PROBE.replace("%KEYS%", str(list(PLANE_KEYS)).replace("'", '"'))
    global PHASES_JS
    PHASES_JS = PHASES_JS.replace("%KEYS%", str(list(PLANE_KEYS)).replace("'", '"'))
    results = {}
    try:
        with sync_playwright() as pw:  # launch() gives the browser a fresh temporary profile
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            context = browser.new_context(viewport=VIEWPORT)
            context.add_init_script(probe)
            page = Page(context, url)
            t = time.monotonic()
            page.page.goto(f"{url}/{PAGE}")
            page.wait_ready()
            page.wait_finished(0)
            warm_s = time.monotonic() - t
            # Settle before hovering: for a second or two after its run the page is still busy (one move waited
            # about 0.9 s there); (a) and (b) measure steady hovering, (d) measures the load.
            if not args.only_load:
                page.page.wait_for_timeout(SETTLE_MS)
                results["hover"] = hover_figures(page, args.moves)
                results["click"] = click_figures(page, args.clicks, args.seed)
            context.close()
            results["loads"] = []
            for _ in range(args.loads):
                results["loads"].append(cold_load(browser, url, probe))
                if sum("error" in r for r in results["loads"]) >= 2:
                    break  # the page is broken: do not wait out every load
            version = browser.version
            browser.close()
    finally:
        if proc is not None:
            stop_app(proc)

    ok = True
    print(f"explorer in headless Chromium {version} on {url}/{PAGE} (viewport {VIEWPORT['width']}x"
          f"{VIEWPORT['height']}; server warmed by one load of {warm_s:.1f} s)")
    if not args.only_load:  # (a) to (c)
        h = results["hover"]
        fm = h["frame_ms"]
        print(f"(a) decode time, both models per animation frame ('same z' link on: {h['linked']}), {len(fm)} frames "
              f"from {h['issued']} pointer moves ({h['decodes']} decodes per plane, {h['unpaired']} unpaired):")
        if fm:
            med = statistics.median(fm)
            print(f"    median {med:.2f} ms, p95 {percentile(fm, 95):.2f} ms, max {max(fm):.2f} ms")
            good = med <= TARGET_DECODE_MEDIAN_MS and all(h["linked"])
        else:
            med, good = float("nan"), False
        ok &= good
        print(f"{verdict(good)}  (a) decode median {med:.2f} ms per frame (target <= {TARGET_DECODE_MEDIAN_MS:g} ms)")
        mv = h["move_ms"]
        if mv:
            med = statistics.median(mv)
            share = sum(v <= FRAME_MS for v in mv) / len(mv)
            next_frame = sum(k == 0 for k in h["skipped"]) / len(mv)
            gap = statistics.median(h["frame_gaps"]) if h["frame_gaps"] else float("nan")
            print(f"(b) pointer move -> both planes drawn, {len(mv)} moves (issued at {h['move_hz']:.0f} Hz; frames every "
                  f"{gap:.1f} ms, median): median {med:.1f} ms, p95 {percentile(mv, 95):.1f} ms, max {max(mv):.1f} ms")
            print(f"    {100 * share:.1f}% drawn within one 60 Hz frame ({FRAME_MS:.1f} ms); {100 * next_frame:.1f}% drawn "
                  "in the next animation frame (no frame began between the move and the frame that drew it)")
            if h["hook_ms"]:
                print(f"    cross-check, the planes' own frameLatencyMs (first event of a frame -> drawn): median "
                      f"{statistics.median(h['hook_ms']):.1f} ms, p95 {percentile(h['hook_ms'], 95):.1f} ms")
            good = med <= TARGET_DRAW_MS and next_frame >= TARGET_NEXT_FRAME_SHARE
        else:
            med, next_frame, good = float("nan"), 0.0, False
        ok &= good
        print(f"{verdict(good)}  (b) move -> drawn median {med:.1f} ms (target <= {FRAME_MS:.1f} ms) and "
              f"{100 * next_frame:.1f}% drawn in the next frame (target >= {100 * TARGET_NEXT_FRAME_SHARE:.0f}%)")
        c = results["click"]
        if c["ms"]:
            p95 = percentile(c["ms"], 95)
            print(f"(c) click -> 'Pinned z' subheader shows the clicked z, {len(c['ms'])} clicks ({c['distinct']} distinct "
                  f"z, both planes), {c['misses']} not shown within 30 s: median {statistics.median(c['ms']):.0f} ms, "
                  f"p95 {p95:.0f} ms, max {max(c['ms']):.0f} ms")
            if c["parts"]:
                med = [statistics.median(x[i] for x in c["parts"]) for i in range(3)]
                print(f"    medians of its parts ({len(c['parts'])} clicks): click -> rerun request sent {med[0]:.0f} ms; "
                      f"-> the message with the new subheader handed to the page {med[1]:.0f} ms (the server's run, and "
                      f"the page's work on the deltas before it); -> shown {med[2]:.0f} ms")
            good = p95 <= TARGET_CLICK_P95_MS and c["misses"] == 0 and len(c["ms"]) >= 20
        else:
            p95, good = float("nan"), False
        ok &= good
        print(f"{verdict(good)}  (c) click -> pinned z p95 {p95:.0f} ms (target <= {TARGET_CLICK_P95_MS:.0f} ms, "
              f">= 20 clicks, none missed)")
    loads = results["loads"]
    done = [r for r in loads if "error" not in r]
    failed = [r["error"] for r in loads if "error" in r]
    if done:
        inter = statistics.median(r["interactive"] for r in done)
        each = ", ".join(f"{r['interactive']:.2f}" for r in done)
        print(f"(d) cold load, {len(done)} fresh contexts (server warm): navigation start -> both planes drawn: "
              f"median {statistics.median(r['drawn'] for r in done):.2f} s; -> both answered a hover: median "
              f"{inter:.2f} s (each: {each} s)"
              + (f"; failed: {failed}" if failed else ""))
        print("    phases, median over the loads (s from navigation start; HTTP bytes of the last load: "
              + ", ".join(f"{k} {v / 1e3:.0f} KB" for k, v in done[-1]["bytes"].items()) + "):")
        for name, what in LOAD_PHASES.items():
            got = [r["phases"][name] for r in done if name in r["phases"]]
            if got:
                print(f"      {statistics.median(got):5.2f}  {what}")
        if any(r["not_found"] is not None for r in done):
            print("    note: a 'Page not found' text appeared during "
                  f"{sum(r['not_found'] is not None for r in done)} of the loads")
        good = inter <= TARGET_LOAD_S and not failed
    else:
        inter, good = float("nan"), False
        print(f"(d) cold load failed: {failed}")
    ok &= good
    print(f"{verdict(good)}  (d) cold load to interactive median {inter:.2f} s (target <= {TARGET_LOAD_S:g} s)")
    if not ok and tail:
        errors = [line for line in tail if "Error" in line or "Traceback" in line]
        if errors:
            print("server output with errors:", *errors[-10:], sep="\n  ")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
