"""The presentation layout (projector mode) measured with element boxes at 1280x720 and 1920x1080: both planes,
both decoded digits and the step's controls inside the window and below Streamlit's header, planes larger than in the
normal layout, in-plane text of at least 18 px, and no truncated or clipped label or caption on any page."""

from __future__ import annotations

import pytest

from helpers import wait_for_decoders

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = [(1280, 720), (1920, 1080)]
PLANES = ("plane_ae-z2", "plane_vae-z2")
# boxes of the planes' squares and digits (inside the components' shadow roots), the header, and named controls
BOXES = """(names) => {
  const roots = [...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean);
  const all = (sel) => [...document.querySelectorAll(sel), ...roots.flatMap(r => [...r.querySelectorAll(sel)])];
  const box = (e) => { const r = e.getBoundingClientRect();
                       return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width}; };
  const header = document.querySelector('[data-testid=stHeader]');
  const controls = {};
  for (const n of names) {
    const e = [...document.querySelectorAll('button, [role=slider], label, [data-testid=stSelectbox]')]
      .find(x => x.innerText && x.innerText.trim().startsWith(n) || x.getAttribute('aria-label') === n);
    controls[n] = e ? box(e) : null;
  }
  return {planes: all('.lp-plane').map(box), digits: all('.lp-digit').map(box), controls,
          header: header ? header.getBoundingClientRect().bottom : 0, vw: innerWidth, vh: innerHeight,
          scroll: [document.documentElement.scrollWidth, document.documentElement.clientWidth]};
}"""
# text that is cut: an element that clips its overflow (ellipsis or hidden) and whose text is wider than its box;
# and words broken mid-word (word-break: break-all / anywhere) in captions and button labels
CLIPPED = """() => {
  const roots = [...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean);
  const all = [...document.querySelectorAll('body *'), ...roots.flatMap(r => [...r.querySelectorAll('*')])];
  const cut = [];
  for (const e of all) {
    if (!e.getClientRects().length) continue;
    if (e.closest('[data-testid=stCode], .js-plotly-plot, [data-testid=stSidebar], [data-testid=stDataFrame], '
                  + '.katex-mathml')) continue;  // code scrolls; .katex-mathml is the screen readers' copy
    if (e.clientWidth <= 1) continue;  // visually hidden (screen-reader text)
    const t = (e.innerText || e.textContent || '').trim();
    if (!t || t === 'Skip to main content' || e.children.length > 3) continue;
    const cs = getComputedStyle(e);
    const clips = cs.textOverflow === 'ellipsis' || ['hidden', 'clip'].includes(cs.overflowX);
    if (clips && e.scrollWidth > e.clientWidth + 1) cut.push('cut: ' + t.slice(0, 50));
    if (e.matches('button p, [data-testid=stImageCaption], [data-testid=stCaptionContainer] p') &&
        (cs.wordBreak === 'break-all' || cs.overflowWrap === 'anywhere')) cut.push('mid-word: ' + t.slice(0, 50));
  }
  return cut;
}"""


def _idle(page, ms: int = 2500) -> None:
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=180_000)
    page.wait_for_timeout(ms)
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=180_000)


def _inside(b: dict, m: dict) -> bool:
    return b["left"] >= -0.5 and b["right"] <= m["vw"] + 0.5 and b["top"] >= m["header"] - 0.5 and \
        b["bottom"] <= m["vh"] + 0.5


@pytest.fixture
def tab(browser):
    page = browser.new_page()
    yield page
    page.close()


def _open(tab, app_url, path: str, size, projector: bool = True, planes=PLANES) -> dict:
    tab.set_viewport_size({"width": size[0], "height": size[1]})
    sep = "&" if "?" in path else "?"
    tab.goto(f"{app_url}/{path}{sep}projector={1 if projector else 0}")
    if planes:
        wait_for_decoders(tab, planes, timeout=180_000)
    _idle(tab)


@pytest.mark.parametrize("size", SIZES)
def test_explorer_presents_both_planes_digits_and_controls_in_the_window(tab, app_url, size):
    _open(tab, app_url, "explorer", size, projector=False)
    normal = tab.evaluate(BOXES, [])["planes"][0]["width"]
    _open(tab, app_url, "explorer", size)
    m = tab.evaluate(BOXES, ["Same z", "\u03b2 scrubber", "Map under the digits"])
    assert len(m["planes"]) == 2 and len(m["digits"]) == 2
    for b in m["planes"] + m["digits"]:
        assert _inside(b, m), (b, m["vh"], m["header"])
    for name, b in m["controls"].items():
        assert b is not None and _inside(b, m), (name, b)
    assert m["planes"][0]["width"] > normal, "projector mode makes the planes larger, not smaller"
    assert m["digits"][0]["width"] > 224, "and the digits larger than the normal layout's 224 px"
    assert m["scroll"][0] <= m["scroll"][1], "no sideways scrolling"
    for key in PLANES:
        assert tab.evaluate(f"() => window.__latentPlane['{key}'].minLabelPx") >= 18


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("step, planes, controls", [
    (4, PLANES, ["\u25c0 Back", "Next \u25b6", "Reveal"]),
    (8, ("plane_vae-z2-beta4",), ["Next \u25b6", "Reveal"]),
    (5, ("plane_vae-z2",), ["Next \u25b6", "Reveal"])])
def test_lesson_step_fits_the_window(tab, app_url, size, step, planes, controls):
    _open(tab, app_url, f"lesson?step={step}", size, planes=planes)
    tab.keyboard.press("r")  # revealed: the answer takes the description's place, the view must still fit
    tab.get_by_text("Measured:").first.wait_for(timeout=120_000)
    _idle(tab)
    m = tab.evaluate(BOXES, controls)
    assert len(m["planes"]) == len(planes) and len(m["digits"]) == len(planes)
    for b in m["planes"] + m["digits"]:
        assert _inside(b, m), (b, m["vh"])
    for name, b in m["controls"].items():
        assert b is not None and _inside(b, m), (name, b)
    if step == 8:
        slider = tab.get_by_role("slider").first.bounding_box()
        assert slider and slider["y"] + slider["height"] <= m["vh"]


@pytest.mark.parametrize("path", ["", "explorer", "lesson?step=10", "higher_dims", "draw", "disentanglement",
                                  "train", "import_model"])
def test_no_label_or_caption_is_cut_at_1280x720_in_projector_mode(tab, app_url, path):
    _open(tab, app_url, path, (1280, 720), planes=())
    tab.wait_for_timeout(3000)
    _idle(tab, 1500)
    assert tab.evaluate(CLIPPED) == []
    sw, cw = tab.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert sw <= cw
