"""Every st.session_state key the pages use, named once and set up in one place."""

from __future__ import annotations

import streamlit as st

PINNED_Z = "pinned_z"  # [z1, z2] decoded by both models, or None
SELECTED = "selected_digit"  # index of the selected test digit, or None
EPS_SEED = "eps_seed"  # seed of the eps draws that scatter z = mu + sigma * eps around the selected digit
SHOW_EPS = "show_eps"  # whether those draws are shown
LINKED = "same_z"  # one cursor decodes the same z through both models
LAST_CLICK = "last_click_seq"  # {plane key: click sequence number already handled}
Z_INPUT = ("z1_input", "z2_input")  # the keyboard path to z
INTERP_START, INTERP_END = "interp_start", "interp_end"  # test digit indices at the ends of the path
INTERP_STEPS, INTERP_KIND = "interp_steps", "interp_kind"
GRID_N, GRID_EXTENT, GRID_SPACING = "grid_n", "grid_extent", "grid_spacing"
SAMPLES_M, SAMPLES_SEED = "samples_m", "samples_seed"
NOTICE = "notice"  # a one-line message to show once (bad input that was refused)
MAP_KIND = "map_kind"  # which server-side map lies under the digits on the explorer's planes
FAMILY_MODEL = "family_model"  # the checkpoint the beta scrubber puts on the explorer's right-hand plane
DIS_MODEL = "dis_model"  # disentanglement page: checkpoint name shown (None: the page's default)
DIS_INDEX = "dis_test_index"  # test digit whose posterior mean centres the traversals
DIS_CENTER = "dis_center"  # "digit" (that posterior mean) or "prior" (z = 0)
DIS_COLUMNS = "dis_columns"  # values of z_j from -3 to 3 in a traversal row
DIS_ROWS, DIS_TOP_K = "dis_rows", "dis_top_k"  # "active" (top-k active dimensions) or "all"
DIS_DIM = "dis_dim"  # dimension shown up close (a clicked bar or the keyboard fallback; None: the top one)
DIS_COMPARE, DIS_COMPARE_ROWS = "dis_compare", "dis_compare_rows"  # models compared (None: default), rows each

DEFAULTS = {
    PINNED_Z: [0.0, 0.0],
    SELECTED: None,
    EPS_SEED: 0,
    SHOW_EPS: False,
    LINKED: True,
    LAST_CLICK: {},
    Z_INPUT[0]: 0.0,
    Z_INPUT[1]: 0.0,
    INTERP_START: 3,  # a 0
    INTERP_END: 2,  # a 1
    INTERP_STEPS: 12,
    INTERP_KIND: "linear",
    GRID_N: 15,
    GRID_EXTENT: 2.0,
    GRID_SPACING: "gaussian",
    SAMPLES_M: 32,
    SAMPLES_SEED: 0,
    NOTICE: None,
    MAP_KIND: "none",
    FAMILY_MODEL: "vae-z2",
    DIS_MODEL: None,
    DIS_INDEX: 0,
    DIS_CENTER: "digit",
    DIS_COLUMNS: 11,
    DIS_ROWS: "active",
    DIS_TOP_K: 8,
    DIS_DIM: None,
    DIS_COMPARE: None,
    DIS_COMPARE_ROWS: 5,
}


def init_state() -> None:
    """Give every key its default once per session (widgets read their values from these keys)."""
    for key, value in DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = value.copy() if isinstance(value, (dict, list)) else value
