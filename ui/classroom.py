"""The class link: the address students type (or scan) to join this server from their laptops and phones.

`make run` serves this computer only (127.0.0.1); `make classroom` (HOST=0.0.0.0) serves the local network. Then the
sidebar's "Class link" shows http://<this computer's LAN address>:<port>/ as plain text and as a QR code (segno).

The LAN address is found without the internet: connecting a UDP socket sends no packet, but makes the kernel pick
the interface (and so the source address) it would route to that private address; failing that, the address the
host name resolves to. Loopback and link-local answers are not class links.

The pure part (tests/test_classroom.py): `lan_address`, `serves_network`, `class_link`, `qr_png`. The Streamlit
part: `sidebar`. `python -m ui.classroom --host H --port P` prints the address a server started with those settings
can be reached at (the Makefile prints it).
"""

from __future__ import annotations

import argparse
import functools
import io
import ipaddress
import socket
import sys

import segno
import streamlit as st

ALL_INTERFACES = ("", "0.0.0.0", "::", "[::]")  # server.address values that serve every interface ("" is the default)
# Private addresses to "connect" a UDP socket to: no packet leaves, the kernel only picks the route's source address.
PROBES = ("10.255.255.255", "172.16.255.255", "192.168.255.255")


def _usable(ip: str | None) -> bool:
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return False
    return address.version == 4 and not (address.is_loopback or address.is_link_local or address.is_unspecified)


def lan_address() -> str | None:
    """This computer's IPv4 address on the local network, or None when it has none (no network, loopback only)."""
    for probe in PROBES:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.connect((probe, 9))  # UDP: sets the default destination, sends nothing
                ip = s.getsockname()[0]
            except OSError:
                continue
        if _usable(ip):
            return ip
    try:
        ip = socket.gethostbyname(socket.gethostname())
    except OSError:
        return None
    return ip if _usable(ip) else None


def serves_network(address: str | None) -> bool:
    """Whether a server bound to `address` (Streamlit's server.address) answers other computers."""
    address = (address or "").strip()
    if address in ALL_INTERFACES:
        return True
    if address == "localhost":
        return False
    try:
        return not ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return True  # a host name: assume it names a network interface


def class_link(address: str | None, port: int, base_path: str = "", lan: str | None = None) -> str | None:
    """The URL students type: http://<LAN address>:<port>/<base path>; None when the server answers this computer
    only (bound to loopback), or serves every interface but no LAN address was found. `lan` is looked up when None."""
    if not serves_network(address):
        return None
    address = (address or "").strip()
    host = (lan or lan_address()) if address in ALL_INTERFACES else address
    if not host:
        return None
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    path = base_path.strip("/")
    return f"http://{host}:{int(port)}/" + (f"{path}/" if path else "")


@functools.lru_cache(maxsize=8)
def qr_png(link: str, scale: int = 8) -> bytes:
    """The link as a QR code (error correction M, quiet zone of 4 modules), a PNG of `scale` px per module."""
    buf = io.BytesIO()
    segno.make(link, error="m", micro=False).save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()


# --- Streamlit ---------------------------------------------------------------------------------------------------

def sidebar() -> None:
    """A collapsed "Class link" expander in the sidebar: the link as text and as a QR code, or why there is none."""
    from .copy_link import copy_link  # registers a component: not for `python -m ui.classroom`
    address = st.get_option("server.address")
    port = st.get_option("server.port")
    with st.sidebar.expander("Class link", icon=":material/qr_code_2:"):
        if not serves_network(address):
            st.caption(f"This server answers this computer only ({address or '127.0.0.1'}). To let students join "
                       "from their laptops and phones on the same network, restart it with `make classroom`.")
            return
        link = class_link(address, port, st.get_option("server.baseUrlPath") or "")
        if link is None:
            st.caption("This server serves the local network, but this computer has no network address: connect it "
                       "to the class's Wi-Fi or network and reload.")
            return
        st.caption("Students on the same network type this address, or scan the code:")
        copy_link(link, key="class_link", label="Copy the class link")
        st.image(qr_png(link), caption=link, width=220)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ui.classroom", description="Print the address of the app.")
    parser.add_argument("--host", default="127.0.0.1", help="the server's address (server.address)")
    parser.add_argument("--port", type=int, default=8501)
    args = parser.parse_args(argv)
    if not serves_network(args.host):
        print(f"Serving this computer only: http://{args.host}:{args.port}/  (make classroom serves the local network)")
        return 0
    link = class_link(args.host, args.port)
    if link is None:
        print(f"Serving every interface on port {args.port}, but no network address was found: connect this "
              "computer to the class's network.")
        return 0
    print(f"Serving the local network. Class link (also in the app's sidebar, with a QR code): {link}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
