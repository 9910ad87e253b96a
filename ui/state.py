"""The process-wide database connection and the signed-in user."""

from __future__ import annotations

import streamlit as st

from core import sessions, users
from core.db import Connection
from server import routes, runtime, settings

TOKEN_KEY = "_session_token"  # this tab's session token (ui/auth.py), kept server-side
# The user app.py looked up on this run, for the page it runs next (set only while it runs).
PAGE_USER = "_page_user"


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


def run_page(page: st.Page, user: users.User | None) -> None:
    """Run the page with the user app.py has just looked up, so it does not look again."""
    st.session_state[PAGE_USER] = user
    try:
        page.run()
    finally:
        st.session_state.pop(PAGE_USER, None)


def require_user() -> users.User:
    """The signed-in user; stops the page if there is none (app.py shows the login first)."""
    user = (st.session_state[PAGE_USER] if PAGE_USER in st.session_state else current_user())
    if user is None:
        st.stop()
    return user
