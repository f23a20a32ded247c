"""Many sessions clicking the explorer's latent planes at once: click -> the server's response is complete.

    python -m benchmarks.concurrent_sessions [--sessions 30] [--seconds 30] [--period 1.0] [--url URL]
    python -m benchmarks.concurrent_sessions --sessions 60   # a lecture: p95 <= 300 ms and no click late
    python -m benchmarks.concurrent_sessions --sessions 100  # beyond one process: no errors, every click answered
    python -m benchmarks.concurrent_sessions --sessions 60 --hall 2  # a 2-core server: one replica per core

Simulates browsers at the protocol level, the way Streamlit's frontend talks to the server: one websocket per session
(ws://127.0.0.1:PORT/_stcore/stream, subprotocol "streamlit", binary protobufs). A session first loads the explorer
(BackMsg.rerun_script with page_name "explorer") and reads, from that run's deltas, the widget ids of the two live
planes (`bidi_component` elements, ids ending in the plane keys) and their views (the options container at the start
of the component's bytes, see ui/latent_plane.py). Then it "clicks" a plane once per `--period` seconds, alternating
the two planes: a rerun_script whose widget_states carry the planes' component state as JSON, exactly what the
browser's setStateValue sends, {"pinned": {"z": [x, y], "nearest_index": null, "seq": n}} with a new seq each click
(nearest_index null: a click more than 6 px from every test digit, so no digit gets selected). When the planes sit in
a st.fragment (their deltas carry a fragment_id), the click names that fragment in ClientState.fragment_id, as the
browser does, and the server reruns just the fragment (script_finished FINISHED_FRAGMENT_RUN_SUCCESSFULLY).

A click counts as answered when its ForwardMsg.script_finished arrives (FINISHED_SUCCESSFULLY); the latency is from
sending the BackMsg to that message. It counts as an error when the run fails (an exception element, a finish other
than success, no answer within --timeout s, a closed socket) or when the run's "Pinned z = (x.xxx, y.yyy)" subheader
does not show the clicked z. Sessions are staggered over the first period; a click due while the previous one is
still unanswered is sent as soon as it is answered (counted as "late", like a user waiting for the page), and none
is sent after the --seconds phase (counted as "not sent"): an overloaded server shows up as late and unsent clicks
and as the latency counted from when each click was due, not as an ever-growing queue. Every loop is bounded: the
phase by --seconds, each answer by --timeout (a session stops after a timeout, so that a late answer is not taken
for the next click's).

What it leaves out: the browser's own work (rendering the deltas, fetching /media images), and the widget states of
the page's other widgets (the browser sends them all with every rerun; the server keeps their values when they are
left out, so the script does the same work). The client runs on the same machine as the server and takes a little
CPU from it. Starts its own server (tests.conftest.start_app) unless --url names one on 127.0.0.1.
With --url on `make hall` (HAProxy), each session first GETs the page and sends its cookies with the websocket,
as a browser does (`--hall N` starts such a hall itself, on free ports, and stops it after the run); the page's and
the websocket's X-Replica headers must agree (else a load error), so each
session's clicks are answered by one replica; the sessions per replica are printed.

Server CPU per click: the CPU seconds (user + system, /proc/PID/stat) the server process spent during the click
phase, over the clicks answered; for a server this benchmark did not start, name its process ids with --pid. KB per
click: the median size of the messages a click's run sent back.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import math
import os
import random
import re
import struct
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import connect

from benchmarks.common import server

TARGET_P95_MS = 300.0
PLANE_KEYS = ("plane_ae-z2", "plane_vae-z2")
PAGE_NAME = "explorer"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    s = sorted(values)
    return s[max(0, math.ceil(q / 100 * len(s)) - 1)]


def cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU seconds the processes `pids` have used so far (Linux /proc), or None when unreadable."""
    total = 0.0
    try:
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    except (OSError, ValueError, IndexError):
        return None
    return total


def shows_z(text: str | None, z: tuple[float, float]) -> bool:
    """Whether a "Pinned z = (x, y)" subheader shows z to its 3 decimals. The server holds z in float32, so a value
    that lies on a rounding edge may print one unit apart: allowed up to half a unit plus float32's rounding."""
    m = re.fullmatch(r"Pinned z = \((-?[\d.]+), (-?[\d.]+)\)", text or "")
    return bool(m) and all(abs(float(shown) - v) <= 5e-4 + 1e-6 * max(1.0, abs(v)) for shown, v in zip(m.groups(), z))


def plane_view(data: bytes) -> dict:
    """The view {"x": [lo, hi], "y": [lo, hi]} from the options container that starts a plane's bytes (LEX1)."""
    if data[:4] != b"LEX1":
        raise ValueError("the plane's data does not start with a LEX1 options container")
    (n,) = struct.unpack_from("<I", data, 4)
    return json.loads(data[8:8 + n].decode("utf-8"))["options"]["view"]


@dataclass
class RunResult:
    """What one script run sent back."""
    finished: bool = False
    status: int | None = None
    pinned_text: str | None = None
    t_pinned: float | None = None  # when the "Pinned z" subheader arrived (monotonic s)
    t_finished: float | None = None
    errors: list[str] = field(default_factory=list)
    planes: dict = field(default_factory=dict)  # plane key -> (widget id, view)
    fragments: dict = field(default_factory=dict)  # plane key -> id of the fragment that holds it
    page_hash: str | None = None
    nbytes: int = 0
    early: int = 0  # runs the server ended early to start again


@dataclass
class Stats:
    latency_ms: list[float] = field(default_factory=list)  # click -> script_finished
    pinned_ms: list[float] = field(default_factory=list)  # click -> "Pinned z" subheader delta
    due_ms: list[float] = field(default_factory=list)  # when the click was due (by the schedule) -> script_finished
    errors: collections.Counter = field(default_factory=collections.Counter)
    late: int = 0
    reruns: int = 0
    bytes_per_click: list[int] = field(default_factory=list)
    early: int = 0
    unsent: int = 0  # clicks not sent: the phase's time bound passed, or the session stopped after a timeout
    mismatches: list[str] = field(default_factory=list)  # the first answers that did not show the clicked z


class Session:
    """One simulated browser tab on the explorer."""

    def __init__(self, base: str, index: int, rng: random.Random):
        u = urlparse(base)
        self.ws_url = f"ws://{u.hostname}:{u.port}/_stcore/stream"
        self.origin = f"http://{u.hostname}:{u.port}"
        self.index = index
        self.rng = rng
        self.ws = None
        self.planes: dict[str, tuple[str, dict]] = {}
        self.fragments: dict[str, str] = {}
        self.page_hash = ""
        self.states: dict[str, str] = {}  # widget id -> json_value the "browser" holds
        self.seq = 0
        self.replica: str | None = None  # behind `make hall`: the replica that served the page (X-Replica)

    def _get_page(self, timeout: float) -> tuple[str | None, str]:
        """GET the page as a browser does first: (its X-Replica header, the cookies to send back)."""
        with urllib.request.urlopen(f"{self.origin}/{PAGE_NAME}", timeout=timeout) as r:
            cookies = [c.split(";", 1)[0] for c in r.headers.get_all("Set-Cookie") or []]
            return r.headers.get("X-Replica"), "; ".join(cookies)

    async def open(self, timeout: float) -> RunResult:
        # Behind a load balancer the page's cookies (HAProxy's affinity cookie) go with the websocket, and its
        # handshake says which replica took it: a session whose socket lands elsewhere than its page is an error.
        self.replica, cookies = await asyncio.to_thread(self._get_page, timeout)
        self.ws = await connect(self.ws_url, subprotocols=["streamlit"], origin=self.origin, max_size=None,
                                open_timeout=timeout, additional_headers={"Cookie": cookies} if cookies else None)
        ws_replica = self.ws.response.headers.get("X-Replica")
        if ws_replica != self.replica:
            await self.ws.close()
            raise RuntimeError(f"page on {self.replica}, websocket on {ws_replica}")
        first = await self.rerun(ClientStateArgs(page_name=PAGE_NAME), timeout)
        self.planes, self.page_hash = first.planes, first.page_hash or ""
        self.fragments = first.fragments
        missing = [k for k in PLANE_KEYS if k not in self.planes]
        if missing:
            first.errors.append(f"no live plane {missing} in the first run")
        return first

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def rerun(self, args: "ClientStateArgs", timeout: float) -> RunResult:
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = ""
        cs.page_name = args.page_name
        cs.page_script_hash = args.page_hash
        cs.fragment_id = args.fragment_id  # as the browser does for a widget inside a fragment: rerun only that
        cs.context_info.timezone = "UTC"
        cs.context_info.locale = "en-US"
        cs.context_info.url = f"{self.origin}/{PAGE_NAME}"
        for wid, value in self.states.items():
            w = cs.widget_states.widgets.add()
            w.id = wid
            w.json_value = value
        await self.ws.send(msg.SerializeToString())
        return await self.read_run(timeout)

    async def read_run(self, timeout: float) -> RunResult:
        """Read ForwardMsgs until script_finished (or the deadline)."""
        result = RunResult()
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                result.errors.append("timeout")
                return result
            try:
                raw = await asyncio.wait_for(self.ws.recv(), left)
            except asyncio.TimeoutError:
                result.errors.append("timeout")
                return result
            now = time.monotonic()
            result.nbytes += len(raw)
            fm = ForwardMsg.FromString(raw)
            kind = fm.WhichOneof("type")
            if kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                el = fm.delta.new_element
                etype = el.WhichOneof("type")
                if etype == "heading" and el.heading.body.startswith("Pinned z ="):
                    result.pinned_text, result.t_pinned = el.heading.body, now
                elif etype == "bidi_component":
                    for key in PLANE_KEYS:
                        if el.bidi_component.id.endswith("-" + key) and el.bidi_component.bytes:
                            result.planes[key] = (el.bidi_component.id, plane_view(el.bidi_component.bytes))
                            result.fragments[key] = fm.delta.fragment_id  # the planes live in a st.fragment
                elif etype == "exception":
                    result.errors.append(f"exception: {el.exception.type}: {el.exception.message[:120]}")
            elif kind == "navigation":
                result.page_hash = fm.navigation.page_script_hash
            elif kind == "page_not_found":
                result.errors.append("page_not_found")
            elif kind == "script_finished":
                if fm.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    # The server started the run again by itself (on a fresh server the first run registers the
                    # st.navigation pages and reruns); the answer is the run that follows.
                    result.early += 1
                    continue
                result.finished, result.status, result.t_finished = True, fm.script_finished, now
                if fm.script_finished not in (ForwardMsg.FINISHED_SUCCESSFULLY,
                                              ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY):
                    result.errors.append(f"script_finished status {fm.script_finished}")
                return result

    def click_args(self, key: str) -> tuple["ClientStateArgs", tuple[float, float]]:
        """Pin a random z inside the plane's view (a click on its data area)."""
        wid, view = self.planes[key]
        z = (self.rng.uniform(*view["x"]), self.rng.uniform(*view["y"]))
        self.seq += 1
        self.states[wid] = json.dumps({"pinned": {"z": list(z), "nearest_index": None, "seq": self.seq}})
        return ClientStateArgs(page_name=PAGE_NAME, page_hash=self.page_hash,
                               fragment_id=self.fragments.get(key, "")), z


@dataclass
class ClientStateArgs:
    page_name: str = ""
    page_hash: str = ""
    fragment_id: str = ""  # set when the clicked widget sits in a st.fragment: the server reruns just that


async def run_session(session: Session, start: float, clicks: int, period: float, timeout: float,
                      stats: Stats, send_until: float) -> None:
    for k in range(clicks):
        due = start + k * period
        now = time.monotonic()
        if now > send_until:  # the click phase is over: a click this late is not sent
            stats.unsent += clicks - k
            return
        if now < due:
            await asyncio.sleep(due - now)
        elif now - due > 0.05:
            stats.late += 1
        key = PLANE_KEYS[(session.index + k) % len(PLANE_KEYS)]
        args, z = session.click_args(key)
        want = f"Pinned z = ({z[0]:.3f}, {z[1]:.3f})"
        t0 = time.monotonic()
        try:
            res = await session.rerun(args, timeout)
        except Exception as e:  # a closed socket ends this session
            stats.errors[f"{type(e).__name__}"] += 1
            stats.unsent += clicks - k - 1
            return
        for err in res.errors:
            stats.errors[err.split(":")[0]] += 1
        stats.early += res.early
        if res.finished:
            stats.reruns += 1
            stats.bytes_per_click.append(res.nbytes)
        if res.finished and not res.errors:
            if not shows_z(res.pinned_text, z):
                stats.errors["pinned z not shown"] += 1
                if len(stats.mismatches) < 3:  # shown with the errors
                    stats.mismatches.append(f"session {session.index} click {k + 1}: wanted {want!r}, "
                                            f"got {res.pinned_text!r}")
                continue
            stats.latency_ms.append((res.t_finished - t0) * 1000)
            stats.pinned_ms.append((res.t_pinned - t0) * 1000)
            stats.due_ms.append((res.t_finished - due) * 1000)
        if "timeout" in res.errors:
            stats.unsent += clicks - k - 1
            return  # the late answer would be mistaken for the next click's: stop this session


async def bench(url: str, n_sessions: int, seconds: float, period: float, timeout: float, seed: int,
                pids: list[int] = ()) -> dict:
    rng = random.Random(seed)
    # Warm-up: one full load fills the server's caches (models, payloads, encoded test set, panels); behind
    # `make hall` one per replica (new sessions go round the replicas: load until one comes round again).
    t = time.monotonic()
    warmed: list[str | None] = []
    while len(warmed) < 64:
        warm = Session(url, -1, random.Random(seed - 1))
        first = await warm.open(timeout=120)
        await warm.close()
        if first.errors or not first.finished:
            raise RuntimeError(f"the warm-up load failed: {first.errors}")
        if warm.replica is None or warm.replica in warmed:
            break
        warmed.append(warm.replica)
    warm_s = time.monotonic() - t

    sessions = [Session(url, i, random.Random(rng.random())) for i in range(n_sessions)]
    load_errors: collections.Counter = collections.Counter()
    t = time.monotonic()
    for s in sessions:  # one at a time, like 30 people opening the page over a few seconds
        if time.monotonic() - t > 180:
            load_errors["load phase over 180 s"] += 1
            continue
        try:
            res = await s.open(timeout=60)
            for err in res.errors:
                load_errors[err.split(":")[0]] += 1
        except RuntimeError as e:  # the websocket went to another replica than the page
            load_errors["page and websocket on different replicas"] += 1
        except Exception as e:
            load_errors[type(e).__name__] += 1
    load_s = time.monotonic() - t
    ready = [s for s in sessions if all(k in s.planes for k in PLANE_KEYS)]

    stats = Stats()
    clicks = max(1, round(seconds / period))
    t0 = time.monotonic() + 0.5
    send_until = t0 + seconds + 0.25  # no click is sent after the phase; answers are awaited up to `timeout`
    offsets = [i * period / max(1, len(ready)) for i in range(len(ready))]
    cpu0, load0 = cpu_seconds(pids) if pids else None, os.getloadavg()
    await asyncio.gather(*(run_session(s, t0 + off, clicks, period, timeout, stats, send_until)
                           for s, off in zip(ready, offsets)))
    elapsed = time.monotonic() - t0
    cpu1 = cpu_seconds(pids) if pids else None
    cpu = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
    for s in sessions:
        try:
            await s.close()
        except Exception:
            pass
    return {"warm_s": warm_s, "load_s": load_s, "load_errors": load_errors, "ready": len(ready),
            "clicks_planned": clicks * len(ready), "elapsed": elapsed, "stats": stats, "cpu_s": cpu,
            "replicas": collections.Counter(s.replica for s in ready if s.replica), "warmed": warmed,
            "load_before": load0, "load_after": os.getloadavg()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the click phase")
    parser.add_argument("--period", type=float, default=1.0, help="seconds between one session's clicks")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a click may wait for its answer")
    parser.add_argument("--url", default=None, help="a running app on 127.0.0.1 (default: start one)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pid", type=int, action="append", default=[],
                        help="process id of a server given by --url, for its CPU per click (repeat for several)")
    parser.add_argument("--hall", type=int, default=0, metavar="N",
                        help="start a hall of N replicas behind HAProxy (deploy/hall.py, on free ports, its own run "
                             "folder) instead of one process, measure it (CPU of the replicas and HAProxy), stop it")
    args = parser.parse_args(argv)
    if args.hall and args.url:
        parser.error("--hall starts its own hall: leave out --url")

    hall_dir = None
    if args.hall:
        import tempfile

        from deploy import hall as hall_mod
        from tests.conftest import free_port

        hall_dir = Path(tempfile.mkdtemp(prefix="bench-hall-"))
        try:
            started = hall_mod.start(replicas=args.hall, port=free_port(), replica_port=hall_mod.free_ports(args.hall),
                                     run_dir=hall_dir, log=lambda *a: None)
        except hall_mod.HallError as e:
            parser.exit(2, f"cannot start the hall: {e}\n")
        proc, url, tail = None, started.url, None
        pids = [*started.replicas.values(), started.haproxy_pid]
    else:
        proc, url, tail = server(parser, args.url)
        pids = [proc.pid] if proc is not None else args.pid
    try:
        r = asyncio.run(bench(url, args.sessions, args.seconds, args.period, args.timeout, args.seed, pids))
    finally:
        if proc is not None:
            from tests.conftest import stop_app
            stop_app(proc)
        if hall_dir is not None:
            hall_mod.stop(hall_dir)
            import shutil

            shutil.rmtree(hall_dir, ignore_errors=True)

    st: Stats = r["stats"]
    errors = sum(st.errors.values()) + sum(r["load_errors"].values())
    answered = len(st.latency_ms)
    print(f"concurrent sessions on {url}/{PAGE_NAME} (protocol-level: one websocket per session, no browser)")
    print(f"  warm-up load (fills the server caches): {r['warm_s']:.2f} s; {args.sessions} sessions loaded one by one "
          f"in {r['load_s']:.1f} s ({r['ready']} ready)")
    print(f"  click phase: {r['ready']} sessions x 1 click / {args.period:g} s for {args.seconds:g} s, "
          f"planes alternating: {r['clicks_planned']} clicks planned, {answered} answered and checked, "
          f"{st.late} sent late (previous click unanswered), {st.unsent} not sent (phase over or session stopped)")
    if answered:
        lat = st.latency_ms
        print(f"  click -> response complete (script_finished): p50 {percentile(lat, 50):.0f} ms, "
              f"p95 {percentile(lat, 95):.0f} ms, max {max(lat):.0f} ms")
        print(f"  same, counted from when the click was due:   p50 {percentile(st.due_ms, 50):.0f} ms, "
              f"p95 {percentile(st.due_ms, 95):.0f} ms, max {max(st.due_ms):.0f} ms")
        print(f"  click -> 'Pinned z' subheader received:      p50 {percentile(st.pinned_ms, 50):.0f} ms, "
              f"p95 {percentile(st.pinned_ms, 95):.0f} ms")
        print(f"  response size: median {percentile(st.bytes_per_click, 50) / 1000:.1f} KB per click, "
              f"mean {sum(st.bytes_per_click) / len(st.bytes_per_click) / 1000:.1f} KB")
    print(f"  reruns/s: {st.reruns / r['elapsed']:.1f} ({st.reruns} completed runs in {r['elapsed']:.1f} s"
          + (f"; {st.early} more ended early and restarted by the server" if st.early else "") + ")")
    if r["replicas"]:  # behind `make hall`: each session's page, websocket and so every click on one replica
        print(f"  replicas (X-Replica): {len(r['warmed'])} warmed; sessions per replica "
              + ", ".join(f"{k} {v}" for k, v in sorted(r["replicas"].items()))
              + f"; every session's page and websocket (all its clicks) on one replica: "
              f"{sum(r['replicas'].values())} of {args.sessions}")
    if r["cpu_s"] is not None:
        per_click = 1000 * r["cpu_s"] / max(1, answered)
        print(f"  server CPU: {r['cpu_s']:.1f} s over the click phase = {r['cpu_s'] / r['elapsed']:.2f} cores; "
              f"{per_click:.1f} ms per answered click")
    print("  load average (1, 5, 15 min): before the click phase " + ", ".join(f"{x:.2f}" for x in r["load_before"])
          + "; after " + ", ".join(f"{x:.2f}" for x in r["load_after"]))
    detail = dict(st.errors + r["load_errors"])
    print(f"  errors: {errors}" + (f" {detail}" if detail else ""))
    for line in st.mismatches:
        print(f"    {line}")
    ok_lat = answered > 0 and percentile(st.latency_ms, 95) <= TARGET_P95_MS
    ok_err = errors == 0 and answered == r["clicks_planned"] and r["ready"] == args.sessions
    ok_late = st.late == 0 and st.unsent == 0
    p95 = f"{percentile(st.latency_ms, 95):.0f} ms" if answered else "n/a"
    print(f"{'PASS' if ok_lat else 'FAIL'}  click -> response p95 {p95} (target <= {TARGET_P95_MS:.0f} ms)")
    print(f"{'PASS' if ok_err else 'FAIL'}  errors {errors}, {answered}/{r['clicks_planned']} clicks answered "
          f"(target: no errors, every click answered)")
    print(f"{'PASS' if ok_late else 'FAIL'}  {st.late} clicks sent late, {st.unsent} not sent (target: none: the server "
          "keeps up with one click per second per session)")
    if errors and tail:
        print("server output (last lines):", *list(tail)[-15:], sep="\n  ")
    return 0 if ok_lat and ok_err else 1


if __name__ == "__main__":
    sys.exit(main())
