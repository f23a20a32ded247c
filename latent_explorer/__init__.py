"""The package Streamlit looks for to serve this project's components as files.

Streamlit (components v2) finds the components an installed distribution declares in its pyproject.toml
(`[tool.streamlit.component]`) by importing the package named after the distribution, `latent_explorer` for
`latent-explorer`, and reading the pyproject.toml beside it; each component's `asset_dir` must lie inside that package.
The sources stay in ui/ (ui/latent_plane.js, ui/canvas.js and their style sheets); ui/components.py copies them into
assets/ under names that carry a hash of their content, so a browser never runs a stale copy. Nothing here is
imported by the app.
"""
