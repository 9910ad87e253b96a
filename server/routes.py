"""The HTTP routes served beside the pages by quorum.py's `st.App`: each feature adds its own."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount

from server import api


def routes() -> list[BaseRoute]:
    """Every route the app serves besides Streamlit's own."""
    return [Mount("/api/v1", app=api.create_app())]
