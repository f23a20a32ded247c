"""The class link (ui/classroom.py): which addresses serve the network, the LAN address, the link as text and as a
QR code in the sidebar's "Class link" expander; `make run` binds loopback and `make classroom` every interface."""

from __future__ import annotations

import ipaddress
import re
import subprocess

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from helpers import copy_links
from ui import classroom as C
from vae.checkpoint import REPO_ROOT

APP = str(REPO_ROOT / "app.py")


@pytest.mark.parametrize("address,network", [("127.0.0.1", False), ("localhost", False), ("::1", False),
                                             ("127.0.1.1", False), ("0.0.0.0", True), ("", True), (None, True),
                                             ("::", True), ("192.168.1.20", True), ("classroom.local", True)])
def test_which_addresses_serve_the_network(address, network):
    assert C.serves_network(address) is network


def test_the_class_link_is_a_plain_url_students_can_type():
    assert C.class_link("0.0.0.0", 8501, lan="192.168.1.20") == "http://192.168.1.20:8501/"
    assert C.class_link("", 8600, "/latent/", lan="10.0.0.7") == "http://10.0.0.7:8600/latent/"
    assert C.class_link("172.16.3.4", 8501) == "http://172.16.3.4:8501/", "bound to one address: that one"
    assert C.class_link("127.0.0.1", 8501, lan="192.168.1.20") is None, "loopback: no student can reach it"
    assert C.class_link("fe80::1", 8501) == "http://[fe80::1]:8501/"


def test_no_lan_address_means_no_link(monkeypatch):
    monkeypatch.setattr(C, "lan_address", lambda: None)
    assert C.class_link("0.0.0.0", 8501) is None


def test_the_lan_address_is_a_usable_ipv4_address_or_none():
    ip = C.lan_address()
    if ip is not None:
        address = ipaddress.ip_address(ip)
        assert address.version == 4 and not address.is_loopback and not address.is_link_local


def test_loopback_and_link_local_answers_are_refused(monkeypatch):
    class FakeSocket:
        def __init__(self, *args):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def connect(self, target):
            raise OSError("Network is unreachable")

    monkeypatch.setattr(C.socket, "socket", FakeSocket)
    monkeypatch.setattr(C.socket, "gethostbyname", lambda name: "127.0.1.1")  # Debian's /etc/hosts entry
    assert C.lan_address() is None
    monkeypatch.setattr(C.socket, "gethostbyname", lambda name: "192.168.0.12")
    assert C.lan_address() == "192.168.0.12"


def test_the_qr_code_is_a_png_of_the_link():
    import segno
    png = C.qr_png("http://192.168.1.20:8501/")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    qr = segno.make("http://192.168.1.20:8501/", error="m", micro=False)
    assert qr.error == "M" and qr.version <= 3, "small enough for a phone to read from a projector"
    assert png != C.qr_png("http://192.168.1.21:8501/")


def _class_link_expander(at: AppTest):
    found = [e for e in at.sidebar.get("expander") if e.label == "Class link"]
    assert len(found) == 1
    return found[0]


@pytest.fixture
def server_address():
    before = config.get_option("server.address")
    yield lambda value: config.set_option("server.address", value)
    config.set_option("server.address", before)


@pytest.mark.slow
def test_sidebar_on_loopback_says_how_to_serve_the_class(server_address):
    server_address("127.0.0.1")
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception
    box = _class_link_expander(at)
    assert any("make classroom" in c.value for c in box.caption)
    assert not copy_links(box) and not box.get("image")


@pytest.mark.slow
def test_sidebar_on_every_interface_shows_the_link_and_its_qr_code(server_address, monkeypatch):
    server_address("0.0.0.0")
    monkeypatch.setattr(C, "lan_address", lambda: "192.168.1.20")
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception
    box = _class_link_expander(at)
    port = config.get_option("server.port")
    link = f"http://192.168.1.20:{port}/"
    assert copy_links(box) == [link]
    images = [img for el in box.get("image") for img in el.proto.imgs]
    assert len(images) == 1 and images[0].caption == link


def test_make_run_binds_loopback_and_make_classroom_every_interface():
    def dry(*args):
        out = subprocess.run(["make", "-n", "-W", "requirements.txt", *args], cwd=REPO_ROOT, capture_output=True,
                             text=True, check=True).stdout
        return [line for line in out.splitlines() if "streamlit run" in line or "ui.classroom" in line]
    run = dry("run")
    assert any(re.search(r"streamlit run app\.py --server\.address 127\.0\.0\.1 ", line) for line in run), run
    assert any("ui.classroom --host 127.0.0.1" in line for line in run), "the address is printed first"
    assert any("--server.address 0.0.0.0 " in line for line in dry("classroom")), dry("classroom")
