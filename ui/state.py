"""The process-wide database connection and the signed-in user."""

from __future__ import annotations

import streamlit as st

from core import users
from core.db import Connection
from core.errors import NotFound
from server import runtime


def connection() -> Connection:
    """The one connection of this process (pages take a cursor per call through core)."""
    return runtime.connection()


def current_user() -> users.User | None:
    """The signed-in user, read fresh from the database, or None."""
    username = st.session_state.get("username")
    if not st.session_state.get("authentication_status") or not username:
        return None
    try:
        return users.get_user(connection(), username)
    except NotFound:
        return None


def require_user() -> users.User:
    """The signed-in user; stops the page if there is none (app.py shows the login first)."""
    user = current_user()
    if user is None:
        st.stop()
    return user
