"""What the explorer benchmarks share: the server they measure."""

from __future__ import annotations

import argparse
from urllib.parse import urlparse


def server(parser: argparse.ArgumentParser, url: str | None):
    """(process or None, base URL, output tail or None): the app at `url` (only 127.0.0.1), else one started like
    the browser tests do (tests.conftest.start_app drains and keeps its output)."""
    if url:
        if urlparse(url).hostname != "127.0.0.1":
            parser.error("--url must be on 127.0.0.1")
        return None, url.rstrip("/"), None
    from tests.conftest import start_app

    proc, base = start_app()
    return proc, base, proc.output_tail
