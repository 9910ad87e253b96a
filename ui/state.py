"""The process-wide database connection and the signed-in user."""

from __future__ import annotations

import streamlit as st

from core import sessions, users
from core.db import Connection
from server import routes, runtime, settings

TOKEN_KEY = "_session_token"  # this tab's session token (ui/auth.py), kept server-side


def connection() -> Connection:
    """The one connection of this process (pages take a cursor per call through core)."""
    return runtime.connection()


def session_token() -> str | None:
    """This tab's session token, else the one the browser's HttpOnly cookie carries."""
    token = st.session_state.get(TOKEN_KEY) or st.context.cookies.get(routes.SESSION_COOKIE)
    return token if isinstance(token, str) else None


def current_user() -> users.User | None:
    """The user of a live session (looked up afresh: it may have been ended), or None."""
    return sessions.lookup(connection(), session_token(), settings.now())


def require_user() -> users.User:
    """The signed-in user; stops the page if there is none (app.py shows the login first)."""
    user = current_user()
    if user is None:
        st.stop()
    return user
