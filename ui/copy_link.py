"""A link with a Copy button (ui/copy_link.js): the share box's link and the sidebar's class link.

It stands in for st.code, which looked the same but whose first use on a page makes the browser load and run
Streamlit's 1.5 MB syntax highlighter (about 0.3 s of the main thread in headless Chromium here) while the explorer's
planes wait to start: without it the explorer's cold load went from about 3.0 to 2.6 s
(`python -m benchmarks.explorer_browser`, phase "planes' JavaScript fetched"). Like the planes, the component's
JavaScript is a file the browser fetches once (ui/components.py). The share box follows the page's address in the
browser, so a click that changes the view sends nothing for it.

    copy_link("http://192.168.1.20:8501/", key="class_link")  # a fixed link
    copy_link(key="share_link", follow={"drop": ["projector"], "add": []})  # the page's address, less projector
"""

from __future__ import annotations

from . import components

COMPONENT_NAME = "latent-explorer.copy_link"  # declared in pyproject.toml: served as files
_mount = components.register(COMPONENT_NAME, "copy_link")


def copy_link(link: str | None = None, *, key: str, label: str = "Copy the link", follow: dict | None = None) -> None:
    """Show `link` on one line (it wraps when long) with a Copy button; `label` names the button for screen readers.
    With `follow` instead of a link: the page's own address, as it stands in the browser, less the parameters named in
    follow["drop"] and plus the (name, value) pairs in follow["add"]. Nothing comes back to the server: copying
    happens in the browser."""
    if (link is None) == (follow is None):
        raise ValueError("copy_link shows either a link or the page's address (follow), not both")
    data = {"label": str(label)}
    if follow is None:
        data["link"] = str(link)
    else:
        data["follow"] = {"drop": [str(p) for p in follow.get("drop", ())],
                          "add": [[str(k), str(v)] for k, v in follow.get("add", ())]}
    _mount(key=key, data=data)
