"""Projector mode: large type, thick strokes and high contrast, for a classroom reading the screen from the back row.

One toggle in the sidebar (drawn by app.py on every page) sets `state.PROJECTOR` for the session. Pages then:
- get a style sheet that enlarges Streamlit's text and widgets and darkens greys to black (`apply()`, called once by
  app.py before the page runs);
- pass each plotly figure through `figure(fig)`, which scales fonts, line widths and marker sizes;
- ask `digit_factor()` how much to upscale a 28x28 digit, and pass `is_on()` to the latent plane component.
Figures are restyled per call (never through plotly's process-wide default template): other sessions keep theirs.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from ui import state as S

FONT_SCALE = 1.6  # plotly text, relative to the normal figure
LINE_SCALE = 2.2  # plotly line widths
MARKER_SCALE = 1.8  # plotly marker sizes (the latent scatter's 4 px dots become 7 px)
MIN_FONT = 20  # no plotly text below this size in projector mode (px)

# Streamlit 1.67 names its parts with data-testid attributes; the rules only enlarge and darken, so a renamed part
# keeps its normal look rather than breaking the page.
_CSS = """
<style>
html, body, [data-testid="stAppViewContainer"] { font-size: 22px; }
[data-testid="stAppViewContainer"], [data-testid="stSidebar"] { color: #000000; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li { font-size: 1.3rem; line-height: 1.5;
  color: #000000; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] * { font-size: 1.1rem !important;
  color: #111111 !important; }
/* Streamlit greys captions with opacity 0.6 on top of their colour: on a projector that washes them out */
[data-testid="stCaptionContainer"], [data-testid="stImageCaption"] { opacity: 1 !important; }
h1 { font-size: 3.2rem !important; font-weight: 800 !important; }
h2, h3 { font-size: 2.2rem !important; font-weight: 800 !important; }
[data-testid="stWidgetLabel"] p, label p { font-size: 1.25rem !important; font-weight: 700 !important;
  color: #000000 !important; }
[data-testid="stMetricValue"] { font-size: 2.6rem !important; font-weight: 800; color: #000000; }
[data-testid="stMetricLabel"] p { font-size: 1.2rem !important; font-weight: 700; }
button, [data-baseweb="tab"] p { font-size: 1.2rem !important; font-weight: 700 !important; }
button[kind] { border-width: 3px !important; border-color: #000000 !important; }
[data-baseweb="input"], [data-baseweb="select"] > div { border-width: 3px !important;
  border-color: #000000 !important; }
input { font-size: 1.25rem !important; color: #000000 !important; }
[data-testid="stSliderThumbValue"], [data-testid="stSliderTickBarMin"], [data-testid="stSliderTickBarMax"] {
  font-size: 1.2rem !important; font-weight: 700; color: #000000 !important; }
[role="slider"] { width: 1.6rem !important; height: 1.6rem !important; }
[data-testid="stImageCaption"] { font-size: 1.15rem !important; color: #000000 !important; }
[data-testid="stImage"] img { image-rendering: pixelated; outline: 3px solid #000000; }
[data-testid="stSidebarNav"] span { font-size: 1.3rem !important; font-weight: 700; color: #000000; }
[data-testid="stAlert"] p { font-size: 1.25rem !important; font-weight: 600; }
/* presentation layout: a short header and the page right under it, narrow side margins, tight columns, so two
   planes, their digits and the controls fit one 1280x720 screen */
[data-testid="stHeader"] { height: 48px !important; min-height: 48px !important; }
[data-testid="stMainBlockContainer"] { padding: 56px 0.5rem 2rem 0.5rem !important; max-width: none !important; }
[data-testid="stMainBlockContainer"] [data-testid="stHorizontalBlock"] { column-gap: 0.5rem !important; }
h1 { font-size: 1.7rem !important; margin: 0 !important; padding: 0 0 0.2rem 0 !important; }
label[data-baseweb="checkbox"] p { font-size: 1.05rem !important; line-height: 1.25; }
button p, [data-testid="stImageCaption"], [data-testid="stCaptionContainer"] p, [data-testid="stMetricLabel"] p {
  overflow-wrap: normal; word-break: normal; hyphens: none; }
button[kind] { white-space: nowrap; min-width: max-content; }
[data-testid="stWidgetLabel"] p, label p, [data-testid="stWidgetLabel"] div { white-space: normal !important;
  overflow: visible !important; text-overflow: clip !important; }
[data-testid="stMetricValue"] { font-size: 2rem !important; }
[data-testid="stMetricValue"] > div { overflow: visible !important; text-overflow: clip !important; }
/* a long formula shrinks to the column (and scrolls rather than being cut if it still does not fit) */
.katex-display { overflow-x: auto !important; overflow-y: hidden; }
.katex-display > .katex { font-size: 1.0em !important; }
/* the lesson: a compact header, the step's text one size down */
.st-key-lesson_header [data-testid="stMarkdownContainer"] p { font-size: 1.12rem; line-height: 1.35; margin: 0; }
.st-key-lesson_number [data-testid="stMarkdownContainer"] p { font-size: 1.12rem; line-height: 1.35; margin: 0; }
.st-key-lesson_header h4 { font-size: 1.45rem !important; padding: 0 !important; margin: 0 !important; }
[class*="st-key-lesson_body"] [data-testid="stMarkdownContainer"] p { font-size: 1.1rem; line-height: 1.35; }
/* higher dimensions: the samplers' figures under the mosaics, one size down, so two lines hold them */
[class*="st-key-hd_scores"] [data-testid="stMarkdownContainer"] p { font-size: 1.15rem; line-height: 1.35; }
</style>
"""


def is_on() -> bool:
    return bool(st.session_state.get(S.PROJECTOR, False))


PARAM = "projector"  # ?projector=1 in a link opens the page with the mode on
_URL_READ = "_projector_url_read"
_ON, _OFF = ("1", "on", "true", "yes"), ("0", "off", "false", "no")


def toggle() -> None:
    """The sidebar switch (app.py draws it on every page). A link's ?projector=1 (or 0) sets it when a session
    opens, and the parameter then leaves the URL: the teacher's screen keeps the mode, but a link copied from the
    address bar or the share box does not hand it to every student. Ticking "Shared links open in projector mode"
    (shown while the mode is on) puts projector=1 into the share box's link (ui/share.py)."""
    if not st.session_state.get(_URL_READ):
        st.session_state[_URL_READ] = True
        value = str(st.query_params.get(PARAM, "")).strip().lower()
        if value in _ON or value in _OFF:
            st.session_state[S.PROJECTOR] = value in _ON
        elif value:
            st.warning(f"Ignored the link's projector={value[:20]!r}: it takes 1 (on) or 0 (off). Use the sidebar "
                       "switch.")
    st.sidebar.toggle("Projector mode", key=S.PROJECTOR,
                      help="Large type, thick strokes and high contrast, readable from the back of a classroom")
    if is_on():
        st.sidebar.checkbox("Shared links open in projector mode", key=S.SHARE_PROJECTOR,
                            help="Off: the link in the share box opens in the normal layout, as students want it")
    if PARAM in st.query_params:
        del st.query_params[PARAM]


# Every page, every mode: on a touch screen a vertical swipe over a chart scrolls the page instead of being
# swallowed by the chart (plotly's drag layers set touch-action: none; the latent plane sets pan-y itself).
_BASE_CSS = """
<style>
/* The share box's link (ui/copy_link.js) shows a 40 px skeleton until it is drawn, then one 54 px line: holding the
   line's height keeps the planes below it from jumping 14 px under a student's first click. */
.st-key-share_box [data-testid="stSkeleton"] { min-height: 3.375rem; }
/* The pinned z's pictures under each plane (the element before its "Digit (PNG)" button) at their own sizes: Streamlit
   stretches each picture to its caption's width, which drew the nearest training image twice as large as the decoded
   digit it is compared with. */
.stElementContainer:has(+ [class*="st-key-export_pinned_"]) [data-testid="stImage"] img {
  width: auto !important; align-self: flex-start;
}
@media (pointer: coarse) {
  .stPlotlyChart .nsewdrag, .stPlotlyChart .draglayer, .stPlotlyChart .main-svg { touch-action: pan-y !important; }
}
</style>
"""


def apply() -> None:
    """Inject the page styles: the touch rules always, the projector style sheet when the mode is on. A page opened
    in projector mode (a link with ?projector=1) starts with the sidebar collapsed: its width goes to the planes."""
    if is_on():
        st.set_page_config(initial_sidebar_state="collapsed")
    st.html(_BASE_CSS + (_CSS if is_on() else ""))


def digit_factor(normal: int) -> int:
    """Upscale factor for a digit image: half again as large in projector mode."""
    return int(round(normal * 1.5)) if is_on() else normal


def _scaled_font(font, default: float) -> dict:
    size = getattr(font, "size", None) or default
    return dict(size=max(MIN_FONT, size * FONT_SCALE), color="#000000")


def figure(fig: go.Figure, force: bool | None = None) -> go.Figure:
    """`fig` restyled for a projector when the mode is on (or when `force` says so); unchanged otherwise.

    Fonts grow by FONT_SCALE (never below MIN_FONT), lines by LINE_SCALE, markers by MARKER_SCALE; axis lines, ticks
    and grid turn black or dark grey. The figure is changed in place and returned, so a call can wrap a constructor.
    """
    on = is_on() if force is None else force
    if not on:
        return fig
    layout = fig.layout
    fig.update_layout(font=_scaled_font(layout.font, 13), legend=dict(font=_scaled_font(layout.legend.font, 14)))
    if layout.title and layout.title.text:
        fig.update_layout(title=dict(font=_scaled_font(layout.title.font, 17)))
    if layout.height:
        fig.update_layout(height=int(layout.height * 1.15))
    for trace in fig.data:
        line = getattr(trace, "line", None)
        if line is not None and hasattr(line, "width"):
            trace.line.width = (line.width or 2) * LINE_SCALE
        marker = getattr(trace, "marker", None)
        if marker is not None and hasattr(marker, "size") and isinstance(marker.size, (int, float)):
            trace.marker.size = marker.size * MARKER_SCALE
        if marker is not None and hasattr(marker, "opacity") and isinstance(marker.opacity, (int, float)):
            trace.marker.opacity = max(marker.opacity, 0.9) if marker.opacity > 0 else marker.opacity
    if layout.legend.orientation != "h" and sum(1 for t in fig.data if t.showlegend is not False) > 1:
        # a vertical legend in large type takes half of a column-wide plot: put it below, in rows
        fig.update_layout(legend=dict(orientation="h", x=0, xanchor="left", y=-0.26, yanchor="top", title=None),
                          margin=dict(b=max(layout.margin.b or 0, 140)))
    axis = dict(tickfont=dict(size=MIN_FONT, color="#000000"), title_font=dict(size=MIN_FONT + 4, color="#000000"),
                linecolor="#000000", linewidth=3, showline=True, gridcolor="#bdbdbd", zerolinecolor="#000000")
    fig.update_xaxes(**axis)
    fig.update_yaxes(**axis)
    for annotation in layout.annotations or ():
        annotation.font = _scaled_font(annotation.font, 13)
    return fig
