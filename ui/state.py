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
SHARE_SEEN = "share_seen"  # pages whose link this session has read (ui/share.py)
SHARE_PAGE = "share_page"  # (page, ui.share.Offer) whose settings the URL carries, or None
PROJECTOR = "projector"  # projector mode: large type, thick strokes, high contrast (ui/projector.py)
TRAIN_JOB = "train_job"  # this session's live training (vae.live.LiveJob), or None
TRAIN_SEEN = "train_seen_state"  # the job's state at the last full run: a change reruns the page
TRAIN_NOTICE = "train_notice"  # a refused start (already running, server busy): shown once
TRAIN_KINDS, TRAIN_BETA = "train_kinds", "train_beta"  # Train page settings: which models, the VAE's beta
TRAIN_SUBSET, TRAIN_EPOCHS, TRAIN_SEED = "train_subset", "train_epochs", "train_seed"
TRAIN_EPOCH = "train_epoch"  # the epoch scrubber's value (None: the last epoch)
TRAIN_SAVE_NAME = "train_save_name"  # prefix of the checkpoint-name inputs (one per trained model)
USE_SESSION_MODELS = "use_session_models"  # explorer: show the models trained in this session
DRAW_CANVAS = "draw_canvas"  # draw page: key of the drawing canvas component (widget state, not in DEFAULTS)
DRAW_UPLOAD = "draw_upload"  # draw page: key of the image uploader (widget state, not in DEFAULTS)
DRAW_SOURCE = "draw_source"  # draw page: the input shown, "canvas" or "upload" (the newest one wins), or None
DRAW_SEEN = "draw_seen"  # draw page: {"canvas": id, "upload": file id} of the inputs already handled
DRAW_KEPT_CANVAS = "draw_kept_canvas"  # draw page: the canvas's last drawing, painted back after a page switch
DRAW_RESULT = "draw_result"  # draw page: {"id", "digit", "error"}: the shown input, preprocessed once
DRAW_GOOD = "draw_good"  # draw page: {"digit", "label"} of the last input that gave a digit (kept on errors)
IMPORTS = "imports"  # import page: this session's imported models (ui.importer.SessionImport), oldest first
IMPORT_UPLOAD = "import_upload"  # import page: key of the state_dict uploader (widget state, not in DEFAULTS)
IMPORT_SEEN = "import_seen"  # import page: file id of the upload already imported (a rerun does not import again)
IMPORT_RESULT = "import_result"  # import page: (ok, message) of the last upload
IMPORT_SAVE_NAME = "import_save_name"  # prefix of the checkpoint-name inputs (one per imported model)
HD_USE_IMPORT = "hd_use_import"  # higher-dimensions page: show the session's 20-D import in place of vae-z20
AMORT_FIT = "amortization_fit"  # the last per-image posterior fit (ui/amortization.py): {"model", "index", ...}
EXPLORER_TAB = "explorer_tab"  # the explorer's open tab (its label), carried by share links as `tab`
SHARE_PROJECTOR = "share_projector"  # the share box's "open in projector mode" tick: adds projector=1 to the link
LESSON_STEP = "lesson_step"  # the lesson's current step, 1-based (ui/lesson.py), carried by links as `step`
LESSON_REVEALED = "lesson_revealed"  # steps whose answer has been revealed in this session
LESSON_APPLIED = "lesson_applied"  # the step whose view was last applied (a step sets the view once, on entry)

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
    SHARE_SEEN: [],
    SHARE_PAGE: None,
    PROJECTOR: False,
    TRAIN_JOB: None,
    TRAIN_SEEN: None,
    TRAIN_NOTICE: None,
    TRAIN_KINDS: "both",
    TRAIN_BETA: 1.0,
    TRAIN_SUBSET: 10000,
    TRAIN_EPOCHS: 10,
    TRAIN_SEED: 0,
    TRAIN_EPOCH: None,
    USE_SESSION_MODELS: True,
    DRAW_SOURCE: None,
    DRAW_SEEN: {},
    DRAW_KEPT_CANVAS: None,
    DRAW_RESULT: None,
    DRAW_GOOD: None,
    AMORT_FIT: None,
    EXPLORER_TAB: "Manifold grid",
    SHARE_PROJECTOR: False,
    LESSON_STEP: 1,
    LESSON_REVEALED: [],
    LESSON_APPLIED: None,
    IMPORTS: [],
    IMPORT_SEEN: None,
    IMPORT_RESULT: None,
    HD_USE_IMPORT: True,
}


def init_state() -> None:
    """Give every key its default once per session (widgets read their values from these keys)."""
    for key, value in DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = value.copy() if isinstance(value, (dict, list)) else value
