"""The guided lesson: the course's story in steps, each a link (?step=N), for a teacher at a projector."""

from __future__ import annotations

import streamlit as st

from ui import lesson, runtime
from ui import state as S

st.set_page_config(page_title="Lesson \u00b7 Latent Explorer", page_icon="\u2728", layout="wide")
runtime.route_through_app()
runtime.configure()
S.init_state()
lesson.page()
