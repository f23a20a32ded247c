"""The Higher dimensions page as a presentation (projector mode), measured with element boxes in Chromium: both live
slices (canvas, title, digit and readout) inside the window below Streamlit's header with the page scrolled to its
top, no title or label cut, each readout phrase on one line, and the slice's controls (plane choices, New plane, map)
in the window and working."""

from __future__ import annotations

import pytest

from helpers import settle, wait_for_decoders
from test_presentation_browser import CLIPPED  # text cut by its box (ellipsis, hidden overflow) or broken mid-word

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SLICES = ("slice_ae", "slice_vae")
READOUT_LINES = 4  # nearest code / distance / the codes' own gap / "far outside its codes"
# Boxes of the slices' parts (inside the components' shadow roots), of named controls, the header and the scrolling
# main container. A part's text is cut when it is wider than its box (scrollWidth > clientWidth).
MEASURE = """(names) => {
  const roots = [...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean);
  const all = (sel) => roots.flatMap(r => [...r.querySelectorAll(sel)]);
  const box = (e) => { const r = e.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height,
            cut: e.scrollWidth > e.clientWidth + 1, text: (e.innerText || '').trim(),
            lineHeight: parseFloat(getComputedStyle(e).lineHeight), fontPx: parseFloat(getComputedStyle(e).fontSize)};
  };
  const lines = (e) => {  // the rendered lines of e's text: distinct tops of its text's boxes (zoom-proof)
    const r = document.createRange(); r.selectNodeContents(e);
    return new Set([...r.getClientRects()].filter(q => q.width > 0).map(q => Math.round(q.top))).size;
  };
  const part = (root, sel) => { const e = root.querySelector(sel); return e ? {...box(e), lines: lines(e)} : null; };
  const slices = all('.lp-root').map(r => ({root: box(r), title: part(r, '.lp-title'), plane: part(r, '.lp-plane'),
    canvases: [...r.querySelectorAll('.lp-plane canvas')].map(box), digit: part(r, '.lp-digit'),
    z: part(r, '.lp-z'), near: part(r, '.lp-near'), side: part(r, '.lp-side')}));
  const controls = {};
  for (const n of names) {
    const e = [...document.querySelectorAll('button, label, [data-testid=stSelectbox]')]
      .find(x => x.innerText && x.innerText.trim() === n);
    controls[n] = e ? box(e) : null;
    const col = e && e.closest('[data-testid=stColumn]');
    if (col) controls[n].column = box(col);  // a control wider than its column is cut at the column's edge
  }
  let main = document.querySelector('h1');
  while (main && !(main.scrollHeight > main.clientHeight && /(auto|scroll)/.test(getComputedStyle(main).overflowY)))
    main = main.parentElement;
  // a field's value is cut when wider than the field (a drop-down shows its choice in an <input>)
  const fields = [...document.querySelectorAll('input')].filter(e => e.getClientRects().length && e.clientWidth > 1)
    .map(e => ({value: e.value, cut: e.scrollWidth > e.clientWidth + 1}));
  return {slices, controls, fields, header: document.querySelector('[data-testid=stHeader]').getBoundingClientRect().bottom,
          vw: innerWidth, vh: innerHeight, scrollTop: main ? main.scrollTop : window.scrollY,
          sideways: document.documentElement.scrollWidth > document.documentElement.clientWidth};
}"""


def _inside(b: dict, m: dict, what: str) -> None:
    assert b is not None, f"{what}: not on the page"
    assert b["left"] >= -0.5 and b["right"] <= m["vw"] + 0.5, (what, b, m["vw"])
    assert b["top"] >= m["header"] - 0.5 and b["bottom"] <= m["vh"] + 0.5, (what, b, m["header"], m["vh"])


@pytest.fixture
def tab(browser):
    page = browser.new_page()
    yield page
    page.close()


def _open(tab, app_url, size) -> None:
    tab.set_viewport_size({"width": size[0], "height": size[1]})
    tab.goto(f"{app_url}/higher_dims?projector=1")
    wait_for_decoders(tab, SLICES, timeout=300_000)
    settle(tab, 2500, timeout=300_000)


def _hover(tab, fx: float, fy: float) -> None:
    """The pointer over the VAE's slice at fractions (fx, fy) of its data area: both readouts show a nearest code."""
    r = tab.evaluate("() => window.__latentPlane['slice_vae'].plotRect()")
    tab.mouse.move(r["left"] + fx * r["width"], r["top"] + fy * r["height"])
    tab.wait_for_function("() => ['slice_ae', 'slice_vae'].every(k => window.__latentPlane[k].nearestCode)",
                          timeout=10_000)
    tab.wait_for_timeout(300)


def _check_controls(m: dict) -> None:
    assert [f for f in m["fields"] if f["cut"]] == [], "a field's value is cut"
    for name, b in m["controls"].items():
        _inside(b, m, name)
        assert not b["cut"], (name, b)
        c = b.get("column")
        if c is not None:
            assert b["left"] >= c["left"] - 0.5 and b["right"] <= c["right"] + 0.5, ("cut by its column", name, b, c)


def _check_slices(m: dict) -> None:
    assert m["scrollTop"] == 0, "measured with the page at its top: nothing may need a scroll"
    assert len(m["slices"]) == 2
    for i, s in enumerate(m["slices"]):
        for what in ("title", "plane", "digit", "z", "near", "side"):
            _inside(s[what], m, f"slice {i} {what}")
        assert len(s["canvases"]) == 2
        for c in s["canvases"]:
            _inside(c, m, f"slice {i} canvas")
            assert c["width"] >= 300, f"a plane of {c['width']:.0f} px is too small for the back row"
        title = s["title"]
        assert title["text"] in ("AE (ae-z20)", "VAE (vae-z20)") and not title["cut"], title
        assert title["left"] >= s["root"]["left"] - 0.5 and title["right"] <= s["root"]["right"] + 0.5, title
        assert title["bottom"] <= s["plane"]["top"] + 0.5, "the title sits above its plane, not over it"
        z, near = s["z"], s["near"]
        assert not z["cut"] and z["lines"] == 1, ("the z readout is one line", z)
        assert near["text"].startswith("nearest code: a ") and "code SDs away" in near["text"], near
        phrases = near["text"].count("\n") + 1
        assert phrases <= READOUT_LINES, near
        assert near["lines"] == phrases, f"no phrase of the readout wraps: {near['lines']} lines ({near})"
        assert near["fontPx"] >= 18 and z["fontPx"] >= 18, "readable from the back row"
        assert s["side"]["left"] >= s["plane"]["right"], "digit and readout beside the plane"
    assert not m["sideways"], "no sideways scrolling"


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_both_slices_titles_and_readouts_fit_the_window_in_projector_mode(tab, app_url, size):
    _open(tab, app_url, size)
    _hover(tab, 0.65, 0.3)
    controls = ["Prior draw", "Digit \u2192 prior", "Two digits", "New plane", "Map", "Live slice", "Samples"]
    m = tab.evaluate(MEASURE, controls)
    _check_slices(m)
    _check_controls(m)
    assert tab.evaluate(CLIPPED) == []


def test_plane_choices_and_new_plane_work_and_still_fit_at_1280x720(tab, app_url):
    _open(tab, app_url, (1280, 720))
    before = tab.evaluate("() => Array.from(window.__latentPlane['slice_ae'].planePoints.slice(0, 6))")
    tab.get_by_role("button", name="New plane").click()
    tab.wait_for_function("(b) => { const p = window.__latentPlane['slice_ae'].planePoints;"
                          " return p && Array.from(p.slice(0, 6)).some((v, i) => Math.abs(v - b[i]) > 1e-6); }",
                          arg=before, timeout=120_000)
    settle(tab, 1500, timeout=120_000)
    tab.get_by_text("Two digits", exact=True).click()  # the plane through two codes: two digit fields appear
    second = tab.get_by_role("spinbutton", name="2nd #")
    second.wait_for(timeout=120_000)
    wait_for_decoders(tab, SLICES, timeout=120_000)
    settle(tab, 2500, timeout=120_000)
    _hover(tab, 0.4, 0.6)
    # the fields start at the page's defaults (test digits #3 and #2), however often the plane changed before
    assert tab.get_by_role("spinbutton", name="Digit #").input_value() == "3" and second.input_value() == "2"
    m = tab.evaluate(MEASURE, ["Prior draw", "Digit \u2192 prior", "Two digits", "Digit #", "2nd #", "New plane",
                               "Map"])
    _check_slices(m)
    _check_controls(m)
    assert tab.evaluate(CLIPPED) == []
