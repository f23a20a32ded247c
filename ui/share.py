"""Share a view through the URL: the page's settings live in its query parameters, so a copied link reopens the same
view, e.g.

    /explorer?model=vae-z2-beta4&z=0.5,-1.2&digit=42&grid=20,2.5,linear&a=3&b=2&steps=24&path=spherical
    /disentanglement?model=vae-z10-beta8&digit=7&dim=3&cols=15&compare=vae-z10-beta1,vae-z10-beta8

A parameter is written only when it differs from its default, so an untouched page has a bare URL.

When the URL is read (URL -> session state), measured with Streamlit 1.67:
- the first time a session runs a page. Opening or pasting a link reloads the tab and starts a new session, so a
  pasted link is always read;
- when the browser's back or forward button brings back an earlier URL (the rerun is a history navigation).
Every other run leaves the URL alone: a widget rerun carries the URL the browser holds, which can lag one run behind
this session's state, and reading it would undo the user's last change.

When the URL is written (session state -> URL): at the end of every run of a page and of every fragment that changes
the state (`syncing`), with one st.query_params.from_dict when the parameters changed. That pushes a browser history
entry and never triggers a rerun. Switching pages in the sidebar drops the query string (Streamlit 1.67), and a page
also removes the other page's parameters, so a URL never carries another page's settings.

The "Share this view" box sits near the top of the page, drawn by `sync` (`reserve_box`: its caption and the link with
a Copy button, ui/copy_link.py). The link is the page's address as it stands in the browser, read there (less projector
mode, see `box_follow`), so it follows every URL write and a run never redraws the box.

A bad value (not a number, NaN, out of range, a model this page does not offer, a repeated or over-long parameter)
falls back to that parameter's default; one warning names every parameter ignored, and the rest of the link applies.
Unknown parameters are ignored, and left in the URL (another feature may own them).

The pure part (no Streamlit; tests/test_share.py): `parse(page, query, offer) -> (values, ignored)`,
`encode(page, state, offer) -> params`, `notice(page, ignored)`, `url_params(current, params)`, `box_follow` and
`link(base, params)` (the link's format, which ui/copy_link.js follows). The Streamlit part: `sync` (near the top of
a page, before its widgets), `update` (at the end of a run) and `syncing` (a decorator for fragments).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import quote

import streamlit as st
from streamlit.errors import StreamlitAPIException
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from vae import latent

from . import state as S
from .copy_link import copy_link
from .downloads import number as num  # 4 decimals: far below the smallest cell any page draws

EXPLORER, DISENTANGLEMENT, LESSON = "explorer", "disentanglement", "lesson"  # the pages' url_path in app.py
# The explorer's tabs: link value -> the tab's label (st.tabs keeps the label in state.EXPLORER_TAB)
EXPLORER_TABS = {"grid": "Manifold grid", "interpolation": "Interpolation", "samples": "Prior samples"}
PROJECTOR_PARAM = "projector"  # ui/projector.PARAM: in a shared link only when the teacher ticks it
MAX_CHARS = 200  # a longer value is refused unread (three model names fit easily)
MAX_SEED = 2**32 - 1  # numpy's default_rng takes any int; a link's seed stays a plain 32-bit number
SAMPLES_MAX = 100  # the explorer's "Samples M" slider (ui/panels.py)
GRID_EXTENT = (0.5, 4.0, 0.25)  # the grid's range slider: min, max, step (ui/panels.py)
DIS_COLUMNS = (7, 9, 11, 13, 15)  # the traversal columns slider: 7 to 15 in steps of 2 (ui/disentangle.py)
DIS_COMPARE_ROWS = (1, 10)  # the comparison's rows slider
MAX_COMPARE = 3  # models compared side by side at most
CENTERS = ("digit", "prior")  # ui/disentangle.CENTERS
ROW_CHOICES = ("active", "all")  # ui/disentangle.ROW_CHOICES
MAP_KINDS = ("none", "codes", "distance", "completeness", "precision", "continuity")  # ui/maps.MAPS
_BOOLS = {"1": True, "on": True, "true": True, "yes": True, "0": False, "off": False, "false": False, "no": False}
# ASCII digits only (re.ASCII): Python's int() and float() also read other scripts' digits, and "1_000", "nan", "inf"
_NUMBER = re.compile(r"[+-]?(?:\d{1,12}(?:\.\d{0,12})?|\.\d{1,12})(?:[eE][+-]?\d{1,3})?", re.ASCII)
_INTEGER = re.compile(r"\+?\d{1,12}", re.ASCII)


class BadValue(ValueError):
    """A parameter's text that cannot be used."""


@dataclass(frozen=True)
class Offer:
    """What a page offers right now: the choices a link is checked against, and the defaults that depend on them."""
    models: tuple[str, ...]  # model names the page can show (explorer: the beta scrubber's list, as the page built it)
    default_model: str | None = None  # the model shown without a `model` parameter
    n_digits: int = 10_000  # test digits: indices 0 .. n_digits - 1
    z_limit: float = 100.0  # explorer: |z| above this is refused (the page's own limit for typed z)
    latent_dims: Mapping[str, int] = field(default_factory=dict)  # disentanglement: latent size of each model
    default_compare: tuple[str, ...] = ()  # disentanglement: the models compared without a `compare` parameter
    top_dims: Mapping[str, int] = field(default_factory=dict)  # disentanglement: dimension shown up close by default
    n_active: Mapping[str, int] = field(default_factory=dict)  # disentanglement: active units (the page's k <= them)
    n_steps: int = 0  # lesson: its steps are 1 .. n_steps


@dataclass(frozen=True)
class Param:
    """One query parameter: the session keys it sets, how to read and write its text, and its default.

    `read(text, offer, so_far)` returns the values of `keys` or raises BadValue; `so_far` holds the values read
    before it (a dimension is checked against the model read first). `write(values, offer, state)` gives the text;
    the parameter is left out of the URL when that text equals the default's, or is None (a value the page chose
    itself, such as the dimension with the largest KL).
    """
    name: str
    keys: tuple[str, ...]
    read: Callable[[str, Offer, Mapping], tuple]
    write: Callable[[tuple, Offer, Mapping], str | None]
    default: Callable[[Offer, Mapping], tuple]
    hint: str  # what a good value looks like, for the notice


# --- reading and writing single values ---------------------------------------------------------------------------

def _float(text: str, lo: float, hi: float) -> float:
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        raise BadValue("not a number")
    value = float(text)
    if not (math.isfinite(value) and lo <= value <= hi):
        raise BadValue("out of range")
    return value


def _int(text: str, lo: int, hi: int) -> int:
    text = text.strip()
    if not _INTEGER.fullmatch(text):
        raise BadValue("not a whole number")
    value = int(text)
    if not lo <= value <= hi:
        raise BadValue("out of range")
    return value


def _choice(text: str, options: Sequence[str]) -> str:
    text = text.strip()
    if text not in options:
        raise BadValue("not offered")
    return text


def _bool(text: str) -> bool:
    try:
        return _BOOLS[text.strip().lower()]
    except KeyError:
        raise BadValue("not on or off") from None


def _parts(text: str, n: int) -> list[str]:
    parts = text.split(",")
    if len(parts) != n:
        raise BadValue(f"needs {n} values")
    return parts


def _const(*values) -> Callable[[Offer, Mapping], tuple]:
    return lambda offer, so_far: values


def _default_of(*keys: str) -> Callable[[Offer, Mapping], tuple]:
    return _const(*(S.DEFAULTS[k] for k in keys))


def _one(convert: Callable[[str, Offer], object]) -> Callable[[str, Offer, Mapping], tuple]:
    return lambda text, offer, so_far: (convert(text, offer),)


def _text(values: tuple, offer: Offer, state: Mapping) -> str:
    return "" if values[0] is None else str(values[0])


# --- the explorer --------------------------------------------------------------------------------------------------

def _read_z(text: str, offer: Offer, so_far: Mapping) -> tuple:
    z1, z2 = (_float(p, -offer.z_limit, offer.z_limit) for p in _parts(text, 2))
    z1, z2 = float(num(z1)), float(num(z2))
    return [z1, z2], z1, z2


def _read_grid(text: str, offer: Offer, so_far: Mapping) -> tuple:
    n, extent, spacing = _parts(text, 3)
    lo, hi, step = GRID_EXTENT
    extent = min(hi, max(lo, round(_float(extent, lo, hi) / step) * step))  # the slider's steps
    return _int(n, 2, latent.MAX_GRID), extent, _choice(spacing, latent.GRID_SPACINGS)


def _read_eps(text: str, offer: Offer, so_far: Mapping) -> tuple:
    return True, _int(text, 0, MAX_SEED)


def _explorer_model(offer: Offer) -> str:
    return offer.default_model or (offer.models[0] if offer.models else S.DEFAULTS[S.FAMILY_MODEL])


EXPLORER_PARAMS = (
    Param("model", (S.FAMILY_MODEL,), _one(lambda t, o: _choice(t, o.models)), _text,
          lambda offer, so_far: (_explorer_model(offer),), "one of the models on the \u03b2 scrubber"),
    Param("z", (S.PINNED_Z, *S.Z_INPUT), _read_z, lambda v, o, s: f"{num(v[0][0])},{num(v[0][1])}",
          _default_of(S.PINNED_Z, *S.Z_INPUT), "two numbers within \u00b1100, like z=0.5,-1.2"),
    Param("digit", (S.SELECTED,), _one(lambda t, o: _int(t, 0, o.n_digits - 1)), _text, _default_of(S.SELECTED),
          "a test digit's index, 0 to 9999"),
    Param("eps", (S.SHOW_EPS, S.EPS_SEED), _read_eps, lambda v, o, s: str(v[1]) if v[0] else "",
          _default_of(S.SHOW_EPS, S.EPS_SEED), "the seed of the draws \u03b5, a whole number"),
    Param("same", (S.LINKED,), _one(lambda t, o: _bool(t)), lambda v, o, s: "on" if v[0] else "off",
          _default_of(S.LINKED), "on or off"),
    Param("map", (S.MAP_KIND,), _one(lambda t, o: _choice(t, MAP_KINDS)), _text, _default_of(S.MAP_KIND),
          "none, completeness or continuity"),
    Param("grid", (S.GRID_N, S.GRID_EXTENT, S.GRID_SPACING), _read_grid,
          lambda v, o, s: f"{int(v[0])},{num(v[1])},{v[2]}", _default_of(S.GRID_N, S.GRID_EXTENT, S.GRID_SPACING),
          f"size (2 to {latent.MAX_GRID}), range (0.5 to 4) and spacing (linear or gaussian), like grid=20,2.5,linear"),
    Param("a", (S.INTERP_START,), _one(lambda t, o: _int(t, 0, o.n_digits - 1)), _text, _default_of(S.INTERP_START),
          "a test digit's index, 0 to 9999"),
    Param("b", (S.INTERP_END,), _one(lambda t, o: _int(t, 0, o.n_digits - 1)), _text, _default_of(S.INTERP_END),
          "a test digit's index, 0 to 9999"),
    Param("steps", (S.INTERP_STEPS,), _one(lambda t, o: _int(t, 2, latent.MAX_STEPS)), _text,
          _default_of(S.INTERP_STEPS), f"2 to {latent.MAX_STEPS}"),
    Param("path", (S.INTERP_KIND,), _one(lambda t, o: _choice(t, latent.PATH_KINDS)), _text,
          _default_of(S.INTERP_KIND), "linear or spherical"),
    Param("m", (S.SAMPLES_M,), _one(lambda t, o: _int(t, 1, SAMPLES_MAX)), _text, _default_of(S.SAMPLES_M),
          f"1 to {SAMPLES_MAX}"),
    Param("seed", (S.SAMPLES_SEED,), _one(lambda t, o: _int(t, 0, MAX_SEED)), _text, _default_of(S.SAMPLES_SEED),
          "a whole number"),
    Param("tab", (S.EXPLORER_TAB,), _one(lambda t, o: EXPLORER_TABS[_choice(t, tuple(EXPLORER_TABS))]),
          lambda v, o, s: next((k for k, label in EXPLORER_TABS.items() if label == v[0]), ""),
          _default_of(S.EXPLORER_TAB), "grid, interpolation or samples"),
)


# --- the disentanglement page --------------------------------------------------------------------------------------

def _dis_model(offer: Offer, values: Mapping) -> str | None:
    """The model in effect: the one chosen (read from the link, or in the session), else the page's default."""
    return values.get(S.DIS_MODEL) or offer.default_model


def _read_dim(text: str, offer: Offer, so_far: Mapping) -> tuple:
    d = offer.latent_dims.get(_dis_model(offer, so_far))
    if d is None:
        raise BadValue("no model")
    return (_int(text, 0, d - 1),)


def _write_dim(values: tuple, offer: Offer, state: Mapping) -> str | None:
    top = offer.top_dims.get(_dis_model(offer, state))
    return None if values[0] is None or values[0] == top else str(values[0])


def _odd_columns(text: str) -> int:
    value = _int(text, DIS_COLUMNS[0], DIS_COLUMNS[-1])
    if value not in DIS_COLUMNS:
        raise BadValue("not one of the slider's values")
    return value


def _read_top_k(text: str, offer: Offer, so_far: Mapping) -> tuple:
    return (_int(text, 1, offer.latent_dims.get(_dis_model(offer, so_far), 1)),)


def _write_top_k(values: tuple, offer: Offer, state: Mapping) -> str | None:
    """Left out when it is the page's own choice: 8, or all the active units when fewer are active."""
    default = S.DEFAULTS[S.DIS_TOP_K]
    return None if values[0] == min(default, offer.n_active.get(_dis_model(offer, state), default)) else str(values[0])


def _read_compare(text: str, offer: Offer, so_far: Mapping) -> tuple:
    names = [n.strip() for n in text.split(",")] if text.strip() else []
    if len(names) > MAX_COMPARE or len(set(names)) != len(names):
        raise BadValue("too many or repeated")
    return ([_choice(n, offer.models) for n in names],)


def _write_compare(values: tuple, offer: Offer, state: Mapping) -> str:
    return ",".join(offer.default_compare if values[0] is None else values[0])


DISENTANGLEMENT_PARAMS = (
    Param("model", (S.DIS_MODEL,), _one(lambda t, o: _choice(t, o.models)),
          lambda v, o, s: v[0] or o.default_model or "", _default_of(S.DIS_MODEL),
          "one of the VAEs in the page's model list"),
    Param("digit", (S.DIS_INDEX,), _one(lambda t, o: _int(t, 0, o.n_digits - 1)), _text, _default_of(S.DIS_INDEX),
          "a test digit's index, 0 to 9999"),
    Param("center", (S.DIS_CENTER,), _one(lambda t, o: _choice(t, CENTERS)), _text, _default_of(S.DIS_CENTER),
          "digit or prior"),
    Param("dim", (S.DIS_DIM,), _read_dim, _write_dim, _default_of(S.DIS_DIM),
          "a latent dimension of the model, from 0"),
    Param("cols", (S.DIS_COLUMNS,), _one(lambda t, o: _odd_columns(t)), _text, _default_of(S.DIS_COLUMNS),
          "an odd number from 7 to 15"),
    Param("rows", (S.DIS_ROWS,), _one(lambda t, o: _choice(t, ROW_CHOICES)), _text, _default_of(S.DIS_ROWS),
          "active or all"),
    Param("k", (S.DIS_TOP_K,), _read_top_k, _write_top_k, _default_of(S.DIS_TOP_K),
          "how many active dimensions, from 1"),
    Param("compare", (S.DIS_COMPARE,), _read_compare, _write_compare, _default_of(S.DIS_COMPARE),
          f"up to {MAX_COMPARE} of the page's models, separated by commas"),
    Param("compare_rows", (S.DIS_COMPARE_ROWS,), _one(lambda t, o: _int(t, *DIS_COMPARE_ROWS)), _text,
          _default_of(S.DIS_COMPARE_ROWS), f"{DIS_COMPARE_ROWS[0]} to {DIS_COMPARE_ROWS[1]}"),
)
LESSON_PARAMS = (
    Param("step", (S.LESSON_STEP,), _one(lambda t, o: _int(t, 1, max(1, o.n_steps))), _text,
          _default_of(S.LESSON_STEP), "a step number of the lesson"),
)
PAGES = {EXPLORER: EXPLORER_PARAMS, DISENTANGLEMENT: DISENTANGLEMENT_PARAMS, LESSON: LESSON_PARAMS}


# --- the pure functions -----------------------------------------------------------------------------------------

def parse(page: str, query: Mapping[str, str | Sequence[str]], offer: Offer) -> tuple[dict, list[str]]:
    """A link's parameters -> (session values for every key the page shares, names of the parameters ignored).

    `query` maps a parameter name to its text, or to all its texts when it was given more than once (as
    st.query_params.get_all returns them). Missing parameters take their defaults; unknown ones are skipped.
    """
    values: dict = {}
    ignored: list[str] = []
    for p in PAGES[page]:
        raw = query.get(p.name)
        if raw is None:
            got = p.default(offer, values)
        else:
            texts = [raw] if isinstance(raw, str) else list(raw)
            try:
                if len(texts) != 1 or not isinstance(texts[0], str):
                    raise BadValue("given more than once")
                if len(texts[0]) > MAX_CHARS:
                    raise BadValue("too long")
                got = p.read(texts[0], offer, values)
            except BadValue:
                got = p.default(offer, values)
                ignored.append(p.name)
        values.update(zip(p.keys, got))
    return values, ignored


def encode(page: str, state: Mapping, offer: Offer) -> dict[str, str]:
    """Session values -> the link's parameters, in a fixed order, leaving out those equal to their default."""
    params = {}
    for p in PAGES[page]:
        values = tuple(state.get(k, S.DEFAULTS.get(k)) for k in p.keys)
        text = p.write(values, offer, state)
        if text is not None and text != p.write(p.default(offer, state), offer, state):
            params[p.name] = text
    return params


def notice(page: str, ignored: Sequence[str]) -> str:
    """One line naming the parameters ignored, with what each expects (no value from the link is repeated)."""
    hints = {p.name: p.hint for p in PAGES[page]}
    parts = "; ".join(f"**{name}** ({hints[name]})" for name in dict.fromkeys(ignored))
    return (f"Part of this link could not be used, so these settings show their defaults: {parts}. "
            "The rest of the link was applied.")


def link(base: str, params: Mapping[str, str | Sequence[str]]) -> str:
    """The shareable URL: `base` (the page's address, without a query) and the parameters (a list for one given more
    than once), commas kept readable. The share box builds the same string in the browser (ui/copy_link.js)."""
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe=',')}" for k, vs in params.items()
                     for v in ([vs] if isinstance(vs, str) else vs))
    return f"{base}?{query}" if query else base


def box_follow(projector_on: bool, include_projector: bool) -> dict:
    """How the link in the "Share this view" box differs from the page's URL (ui/copy_link.py's `follow`): without
    projector mode, unless the teacher ticked "links open in projector mode" while it is on (students should not
    inherit a classroom's large type)."""
    return {"drop": [PROJECTOR_PARAM], "add": [(PROJECTOR_PARAM, "1")] if projector_on and include_projector else []}


def url_params(current: Mapping[str, Sequence[str]], params: Mapping[str, str]) -> dict[str, list[str]]:
    """What the URL should hold after writing a page's `params` over the `current` ones: this page's parameters in
    their order, then any parameter no page of ours uses (kept untouched: another feature's, such as a bound widget's,
    or a tracking tag); the parameters of our pages that are not in `params` go (defaults, or another page's)."""
    ours = {p.name for page in PAGES.values() for p in page}
    return {**{k: [v] for k, v in params.items()},
            **{k: list(v) for k, v in current.items() if k not in ours}}


# --- Streamlit ---------------------------------------------------------------------------------------------------

def _query() -> dict[str, list[str]]:
    return {k: st.query_params.get_all(k) for k in st.query_params}


def _is_history_navigation() -> bool:
    ctx = get_script_run_ctx()
    return bool(getattr(ctx, "is_history_navigation", False))


def sync(page: str, offer: Offer, box_here: bool = True) -> None:
    """Call near the top of a page, before its widgets: read the link when this session first runs the page (or the
    browser's back/forward button brought a URL back), warn once about the parameters ignored, and reserve the place
    of the "Share this view" box; with box_here=False the page draws it later itself (share.reserve_box())."""
    seen = st.session_state[S.SHARE_SEEN]
    if page not in seen or _is_history_navigation():
        values, ignored = parse(page, _query(), offer)
        st.session_state.update(values)
        if ignored:
            st.warning(notice(page, ignored), icon=":material/link_off:")
        if page not in seen:
            seen.append(page)
    st.session_state[S.SHARE_PAGE] = (page, offer)
    if box_here:
        reserve_box()


BOX_CAPTION = ("**Share this view**: copy this link (its Copy button); it reopens this page with the same settings.")


BOX_KEY = "share_box"  # its CSS class st-key-share_box: ui/projector.py keeps the link's height while it loads
LINK_KEY = "share_link"  # the link's element (ui/copy_link.py)


def reserve_box() -> None:
    """Draw the "Share this view" box here: its caption and the page's link with a Copy button. The link follows the
    page's URL in the browser (`update` writes the URL), so no later run, full or a fragment's, redraws it. On a
    projector the box folds away in an expander."""
    holder = st.expander("Share this view") if st.session_state.get(S.PROJECTOR) else st.container(key=BOX_KEY)
    holder.caption(BOX_CAPTION)
    with holder:
        copy_link(key=LINK_KEY, label="Copy the link to this view", follow=box_follow(
            bool(st.session_state.get(S.PROJECTOR)), bool(st.session_state.get(S.SHARE_PROJECTOR))))


def update(**offer_changes) -> None:
    """Call at the end of a run: write the page's parameters to the URL when they changed (the "Share this view" box
    follows the URL). `offer_changes` amend what the page offers with what it learned during the run (e.g.
    top_dims)."""
    registered = st.session_state.get(S.SHARE_PAGE)
    if not registered:
        return
    page, offer = registered
    if offer_changes:
        offer = replace(offer, **offer_changes)
        st.session_state[S.SHARE_PAGE] = (page, offer)
    params = encode(page, st.session_state, offer)
    current = _query()
    wanted = url_params(current, params)
    if current != wanted:
        _write(current, params, wanted)


def _write(current: Mapping[str, list[str]], params: Mapping[str, str], wanted: Mapping[str, list[str]]) -> None:
    """Replace the URL's parameters in one message (one browser history entry). Streamlit refuses that when another
    parameter is bound to a widget (bind="query-params"); then change only ours, one by one."""
    try:
        st.query_params.from_dict(wanted)
    except StreamlitAPIException:
        changed = {k: v for k, v in params.items() if current.get(k) != [v]}
        if changed:
            st.query_params.update(changed)
        for k in current:
            if k not in wanted:
                del st.query_params[k]


def syncing(fragment: Callable) -> Callable:
    """Decorate a fragment's function (under @st.fragment) so that each of its runs ends with `update`: a fragment
    rerun changes the state without running the page's end."""
    @functools.wraps(fragment)
    def run(*args, **kwargs):
        result = fragment(*args, **kwargs)
        update()
        return result
    return run
