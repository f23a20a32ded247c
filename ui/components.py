"""Registering this project's components (Streamlit components v2: an ES module's JS plus a style sheet).

A component's JavaScript and CSS are served as files when Streamlit knows the component from the installed project's
pyproject.toml (`[tool.streamlit.component]`, see latent_explorer/__init__.py): Streamlit serves them at
/_stcore/bidi-components/latent-explorer.NAME/STEM.HASH.js, the browser fetches each once per page, and a rerun that
remounts a component (a click on a latent plane remounts both with a new pinned z) no longer resends 35 KB of source.
The sources stay in ui/STEM.js and ui/STEM.css; register() copies them into latent_explorer/assets/ under names that
carry a hash of their content. The element message carries the style sheet's URL and, as its JavaScript, a one-line
loader that imports the module file: Streamlit's own loading of a file-backed module (a <script> tag, then an import)
started, in headless Chromium on a busy machine, seconds after the inline loader's import (cold load 16 to 22 s against
10 s). A component the manifest does not declare, or a project that is not installed (`pip install -e .`), gets the
sources inline, as before: same behaviour, more bytes per rerun.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from pathlib import Path

import streamlit as st
from streamlit.components.v2.get_bidi_component_manager import get_bidi_component_manager
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


STALE_S = 7 * 24 * 3600  # copies of other versions are removed after a week, not at once: a server started
# earlier (another replica, a test server running older code) may still be serving its own


def _publish(stem: str) -> tuple[str, str]:
    """Copy ui/<stem>.js and .css into ASSET_DIR under hashed names; their asset_dir-relative paths ("./..."),
    which Streamlit takes as file references rather than inline source."""
    paths = []
    for ext in ("js", "css"):
        content = (_HERE / f"{stem}.{ext}").read_bytes()
        name = hashed_name(stem, ext, content)
        path = write_once(ASSET_DIR, name, content)
        os.utime(path)  # in use: not stale
        for old in ASSET_DIR.glob(f"{stem}.*.{ext}"):
            try:
                if old.name != name and old.name.count(".") == 2 and time.time() - old.stat().st_mtime > STALE_S:
                    old.unlink()
            except OSError:  # another process removed it first
                pass
        paths.append(f"./{name}")
    return paths[0], paths[1]


def loader(name: str, file: str) -> str:
    """The inline JavaScript of a file-served component: import the module (once per page: the browser keeps it in
    its module map) and run its default export. The URL is relative to the page, so a base path is kept."""
    url = json.dumps(f"_stcore/bidi-components/{name}/{file}")
    return (f"const url = new URL({url}, document.baseURI).href;\n"
            "export default async function (component) { return (await import(url)).default(component); }\n")


def declared(name: str) -> bool:
    """Whether Streamlit serves component `name` from ASSET_DIR: the installed project's pyproject.toml declares it
    (asked of Streamlit's component manager, without registering anything: a second registration of a name replaces
    the first with a warning in the server's log)."""
    root = get_bidi_component_manager().get_component_asset_root(name)
    return root is not None and Path(root).resolve() == ASSET_DIR.resolve()


def register(name: str, stem: str):
    """The mount function of component `name`, built from ui/<stem>.js and ui/<stem>.css (call once, at import).

    Served as files when pyproject.toml declares `name` ("latent-explorer.<component name>") and the project is
    installed; otherwise inline.
    """
    if ASSET_DIR.is_dir():
        try:
            if not declared(name):
                raise StreamlitError(f"{name} is not declared with asset_dir {ASSET_DIR} (is the project installed?)")
            js, css = _publish(stem)
            mount = st.components.v2.component(name, js=loader(name, js[2:]), css=css)  # checks css in ASSET_DIR
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
