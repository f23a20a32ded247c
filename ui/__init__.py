"""Streamlit-only helpers: cached resources, session-state keys, shared widgets. `vae/` never imports this."""
