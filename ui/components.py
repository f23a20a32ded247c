"""Registering this project's components (Streamlit components v2: an ES module's JS plus a style sheet).

A component's JavaScript and CSS are served as files when Streamlit knows the component from the installed project's
pyproject.toml (`[tool.streamlit.component]`, see latent_explorer/__init__.py): the element message then carries
their URLs (/_stcore/bidi-components/latent-explorer.NAME/STEM.HASH.js), the browser fetches each once per page, and a
rerun that remounts a component (a click on a latent plane remounts both with a new pinned z) no longer resends 35 KB
of source. The sources stay in ui/STEM.js and ui/STEM.css; register() copies them into latent_explorer/assets/ under
names that carry a hash of their content. A component the manifest does not declare, or a project that is not
installed (`pip install -e .`), gets the sources inline, as before: same behaviour, more bytes per rerun.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import streamlit as st
from streamlit.errors import Error as StreamlitError

_HERE = Path(__file__).resolve().parent
ASSET_DIR = _HERE.parent / "latent_explorer" / "assets"  # the asset_dir of every component in pyproject.toml
_LOG = logging.getLogger(__name__)
# name -> "file" or "inline": how each component registered in this process is served (for tests and benchmarks)
SERVED: dict[str, str] = {}


def compact_js(source: str) -> str:
    """JavaScript without indentation, blank lines and whole-line comments (for the inline fallback).

    Only whole-line comments go: a `//` inside a line could be part of a string.
    """
    lines = (line.strip() for line in source.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//"))


def hashed_name(stem: str, ext: str, content: bytes) -> str:
    """"latent_plane.0123456789ab.js": a new name whenever the content changes."""
    return f"{stem}.{hashlib.sha256(content).hexdigest()[:12]}.{ext}"


def write_once(folder: Path, name: str, content: bytes) -> Path:
    """`folder/name` holding `content`, written atomically (several server processes may start at once) unless a
    file of that name already exists: names carry a content hash, so an existing file is the same file."""
    path = folder / name
    if path.is_file() and path.stat().st_size == len(content):
        return path
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a server may run as another user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _publish(stem: str) -> tuple[str, str]:
    """Copy ui/<stem>.js and .css into ASSET_DIR under hashed names; their asset_dir-relative paths ("./..."),
    which Streamlit takes as file references rather than inline source. Older copies of the stem are removed."""
    paths = []
    for ext in ("js", "css"):
        content = (_HERE / f"{stem}.{ext}").read_bytes()
        name = hashed_name(stem, ext, content)
        write_once(ASSET_DIR, name, content)
        for old in ASSET_DIR.glob(f"{stem}.*.{ext}"):
            if old.name != name and old.name.count(".") == 2:
                old.unlink(missing_ok=True)  # another process may have removed it first
        paths.append(f"./{name}")
    return paths[0], paths[1]


def register(name: str, stem: str):
    """The mount function of component `name`, built from ui/<stem>.js and ui/<stem>.css (call once, at import).

    Served as files when pyproject.toml declares `name` ("latent-explorer.<component name>") and the project is
    installed; otherwise inline.
    """
    if ASSET_DIR.is_dir():
        try:
            js, css = _publish(stem)
            mount = st.components.v2.component(name, js=js, css=css)
            SERVED[name] = "file"
            return mount
        except (StreamlitError, OSError) as e:  # not declared, not installed, or a read-only folder
            _LOG.info("component %s served inline: %s", name, e)
    mount = st.components.v2.component(
        name,
        js=compact_js((_HERE / f"{stem}.js").read_text(encoding="utf-8")),
        css=(_HERE / f"{stem}.css").read_text(encoding="utf-8"),
    )
    SERVED[name] = "inline"
    return mount
