"""Registering this project's inline components (Streamlit components v2: an ES module's JS plus a style sheet)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

_HERE = Path(__file__).resolve().parent


def compact_js(source: str) -> str:
    """JavaScript without indentation, blank lines and whole-line comments.

    Streamlit sends a v2 component's inline JS with every mount, so each rerun that remounts a component (a click on
    a latent plane remounts both with a new pinned z) carries the whole source again. Only whole-line comments go:
    a `//` inside a line could be part of a string.
    """
    lines = (line.strip() for line in source.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//"))


def register(name: str, stem: str):
    """The mount function of component `name`, built from ui/<stem>.js and ui/<stem>.css (call once, at import)."""
    return st.components.v2.component(
        name,
        js=compact_js((_HERE / f"{stem}.js").read_text(encoding="utf-8")),
        css=(_HERE / f"{stem}.css").read_text(encoding="utf-8"),
    )
