"""A hall of three replicas behind HAProxy (deploy/hall.py) in headless Chromium: three students land on three
replicas (the X-Replica header), every /media and upload request of a student reaches that student's replica, and
killing one replica loses no other student's session while its own students' pages reconnect to another replica and
come back to the same view through the URL."""

from __future__ import annotations

import io
import os
import re
import signal
from dataclasses import dataclass, field
from urllib.parse import urlparse

import pytest
from PIL import Image

from deploy.hall import HallError, find_haproxy, free_ports, start, stop
from tests.conftest import free_port
from vae.data import load_mnist

pytestmark = [pytest.mark.browser, pytest.mark.slow]
VIEWS = ("0.5,-1.2", "-1.25,0.75", "1.5,1.5")  # one pinned z per student, none of them the default
IDLE = "() => !document.querySelector('[data-testid=stStatusWidget]')"
UPLOADER = '[data-testid="stFileUploader"] input[type=file]'


def shown(z: str) -> str:
    a, b = (float(v) for v in z.split(","))
    return f"Pinned z = ({a:.3f}, {b:.3f})"


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    try:
        find_haproxy()
    except HallError as e:  # `make test` installs haproxy; this only helps a machine where apt cannot
        pytest.skip(str(e))
    run_dir = tmp_path_factory.mktemp("hall")
    h = start(3, "127.0.0.1", free_port(), replica_port=free_ports(3), run_dir=run_dir, log=lambda *_: None)
    try:
        yield h
    finally:
        stop(run_dir)


@dataclass
class Student:
    """One browser context (its own cookies: one student) with the explorer open and the draw page beside it."""
    context: object
    explorer: object = None
    draw: object = None
    responses: list = field(default_factory=list)  # (url, status, X-Replica)
    sockets: list = field(default_factory=list)  # the explorer page's websockets
    console: list = field(default_factory=list)  # the explorer page's console, for failure messages

    def watch(self, page) -> None:
        page.on("response", lambda r: self.responses.append((r.url, r.status, r.headers.get("x-replica"))))

    def cookie(self) -> str | None:
        return next((c["value"] for c in self.context.cookies() if c["name"] == "SERVERID"), None)

    def replica_of(self, path: str) -> list[tuple[int, str | None]]:
        """(status, X-Replica) of the responses whose path (and query) starts with `path`."""
        def target(url: str) -> str:
            u = urlparse(url)
            return u.path + ("?" + u.query if u.query else "")
        return [(status, replica) for url, status, replica in self.responses if target(url).startswith(path)]


def session_bound(url: str) -> bool:
    """A request that must reach the session's replica (static files are the same everywhere, and the browser
    replays cached ones with the headers of their first answer)."""
    return urlparse(url).path.startswith(("/_stcore/", "/media/"))


def digit_photo() -> bytes:
    x = load_mnist().x_test[0]  # a 7, dark on a light page as a photo of paper would be
    photo = Image.new("L", (300, 240), 245)
    photo.paste(Image.fromarray(255 - x).resize((168, 168), Image.Resampling.BICUBIC), (70, 36))
    buf = io.BytesIO()
    photo.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def students(browser, hall):
    made = []
    try:
        for z in VIEWS:
            s = Student(browser.browser.new_context(viewport={"width": 1500, "height": 1300}))
            made.append(s)
            s.explorer = s.context.new_page()
            s.watch(s.explorer)
            s.explorer.on("websocket", lambda ws, s=s: s.sockets.append(ws))
            s.explorer.on("console", lambda m, s=s: s.console.append(m.text[:200]))
            s.explorer.goto(f"{hall.url}/explorer?z={z}")
            s.explorer.locator("h3").filter(has_text=shown(z)).first.wait_for(timeout=180_000)
            s.draw = s.context.new_page()  # same cookies: the same student, so the same replica
            s.watch(s.draw)
            s.draw.goto(f"{hall.url}/draw")
            s.draw.locator(UPLOADER).set_input_files(
                files=[{"name": "seven.png", "mimeType": "image/png", "buffer": digit_photo()}])
            s.draw.locator("p").filter(has_text="Shown: the uploaded file seven.png").first.wait_for(timeout=120_000)
            s.draw.wait_for_function(IDLE, timeout=120_000)
            image = s.draw.locator('img[src*="/media/"]').first  # the digit as preprocessed, served from /media
            image.scroll_into_view_if_needed(timeout=60_000)  # a lazy image is fetched once it is in view
            s.draw.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle(),
                                     timeout=60_000)
        yield made
    finally:
        for s in made:
            s.context.close()


def test_students_land_on_different_replicas_and_their_media_and_uploads_reach_their_own(hall, students):
    landed = [s.replica_of("/explorer?z=")[0] for s in students]
    assert [status for status, _ in landed] == [200, 200, 200]
    replicas = [replica for _, replica in landed]
    assert sorted(replicas) == sorted(hall.replicas), f"round robin over three replicas: {replicas}"
    for s, replica in zip(students, replicas):
        assert s.cookie() == replica, "the affinity cookie names the replica that answered"
        media, uploads = s.replica_of("/media/"), s.replica_of("/_stcore/upload_file")
        assert media and uploads, f"{replica}: {len(media)} /media and {len(uploads)} upload requests seen"
        assert {r for _, r in media + uploads} == {replica}, f"{replica}'s requests went elsewhere: {media + uploads}"
        assert all(200 <= status < 300 for status, _ in media + uploads), media + uploads
        assert not [(url, r) for url, _, r in s.responses if session_bound(url) and r != replica]


def test_killing_a_replica_loses_no_other_session_and_its_student_comes_back_to_the_same_view(hall, students):
    victim, *others = students
    dead = victim.cookie()
    sockets_before = [len(s.sockets) for s in students]
    os.kill(hall.replicas[dead], signal.SIGKILL)

    # The victim's pages notice and reconnect through HAProxy to a live replica (a new session there). Streamlit's
    # frontend keeps an idle page's elements on screen and reruns at the next interaction; a reload (or that next
    # click) runs on the new replica, and the new session reads the view from the URL.
    page = victim.explorer
    page.bring_to_front()

    def reconnected() -> bool:
        return victim.cookie() not in (None, dead) and len(victim.sockets) > sockets_before[0]

    _wait(reconnected, 120_000, page, lambda: f"cookie {victim.cookie()}, {len(victim.sockets)} sockets "
          f"({sockets_before[0]} before the kill); console: {victim.console[-12:]}")
    now = victim.cookie()
    assert now in hall.replicas
    n = len(victim.responses)
    page.reload()
    page.locator("h3").filter(has_text=shown(VIEWS[0])).first.wait_for(timeout=120_000)
    page.wait_for_function(IDLE, timeout=120_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    reload = [(status, r) for url, status, r in victim.responses[n:] if urlparse(url).path == "/explorer"]
    assert reload[:1] == [(200, now)], f"the reload went to {reload[:1]}, not {now}"
    elsewhere = [(url, r) for url, _, r in victim.responses[n:] if session_bound(url) and r != now]
    assert not elsewhere, f"after the reload on {now} (dead: {dead}): {elsewhere}"

    # The others kept their websockets and sessions: a page switch in the sidebar runs on the same replica.
    for s, before, z in zip(others, sockets_before[1:], VIEWS[1:]):
        own = s.cookie()
        assert own != dead
        assert len(s.sockets) == before and not s.sockets[-1].is_closed(), f"{own}: the websocket was replaced"
        n = len(s.responses)
        s.explorer.bring_to_front()
        s.explorer.locator('[data-testid="stSidebarNav"] a').filter(has_text="Home").first.click()
        s.explorer.wait_for_url(re.compile(r"/(\?.*)?$"), timeout=60_000)
        s.explorer.wait_for_function(IDLE, timeout=60_000)
        assert s.explorer.locator('[data-testid="stException"]').count() == 0
        assert len(s.sockets) == before, "the page switch ran in the same session"
        assert not [(url, r) for url, _, r in s.responses[n:] if session_bound(url) and r != own]
        assert s.cookie() == own


def _wait(condition, timeout_ms: int, page, describe=lambda: "") -> None:
    """Poll a Python-side condition while letting the page's event loop run."""
    for _ in range(timeout_ms // 250):
        if condition():
            return
        page.wait_for_timeout(250)
    assert condition(), f"timed out: {describe()}"
