"""Login, logout and the session cookie.

streamlit-authenticator draws the login form and checks the password. It renders a cookie
component on every run it is built in, and that component posts a value (and so a rerun) each
time it mounts, which can undo a page change. So it is built only by the login form; the
cookie it would read is checked here, and written and deleted by a small script.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import jwt
import streamlit as st
import streamlit_authenticator as stauth

from core import users
from core.errors import NotFound
from server import settings
from ui import state
from ui.text import literal

COOKIE_NAME = "quorum_auth"
COOKIE_DAYS = 14
_SESSION_KEYS = ("name", "username", "authentication_status", "email", "roles")


def _cookie_key() -> str:
    try:
        configured = st.secrets.get("cookie_key")
    except FileNotFoundError:
        configured = None
    s = settings.load()
    return settings.cookie_key(configured or s.cookie_key, s.db_path)


def require_cookie_key() -> None:
    """Stop every page with what to set when the configured cookie key is unfit to sign with."""
    try:
        _cookie_key()
    except settings.SettingsError as error:
        st.error(str(error), icon=":material/key:")
        st.stop()


def restore_from_cookie() -> None:
    """Sign in from a valid, unexpired session cookie naming an existing account."""
    token = st.context.cookies.get(COOKIE_NAME)
    if not token or st.session_state.get("logout"):
        return
    try:
        claims = jwt.decode(token, _cookie_key(), algorithms=["HS256"])
    except jwt.InvalidTokenError:
        return  # signed with another key, or tampered with: show the login form
    if claims.get("exp_date", 0) < time.time():
        return
    try:
        user = users.get_user(state.connection(), str(claims.get("username", "")))
    except NotFound:
        return
    sign_in(user)


def login_form() -> None:
    """The login form; reruns the app once the user is signed in."""
    if st.session_state.get("authentication_status"):
        return  # already signed in: app.py draws the signed-in pages on the next run
    hide_cookie_components()
    auth = stauth.Authenticate(users.credentials(state.connection()), COOKIE_NAME, _cookie_key(),
                               COOKIE_DAYS, auto_hash=False, login_sleep_time=0)
    try:
        auth.login(location="main", key="login", fields={
            "Form name": "Log in", "Username": "Username", "Password": "Password",
            "Login": "Log in"})
    except stauth.LoginError as error:
        st.error(literal(error))
    status = st.session_state.get("authentication_status")
    if status:
        st.rerun()
    elif status is False:
        st.error("That username and password do not match. Check both and try again.")


def sign_in(user: users.User) -> None:
    """Start a session for the user, as a login would."""
    st.session_state.update(authentication_status=True, username=user.username, name=user.name,
                            email=user.email, roles=list(user.roles), logout=None)


def keep_cookie(username: str) -> None:
    """Write the session cookie until the browser sends it back (its first page load after)."""
    if COOKIE_NAME in st.context.cookies:
        return
    expires = datetime.now() + timedelta(days=COOKIE_DAYS)
    # The same token streamlit-authenticator writes and reads back.
    token = jwt.encode({"username": username, "exp_date": expires.timestamp()}, _cookie_key(),
                       algorithm="HS256")
    _set_cookie(f"{COOKIE_NAME}={token}; max-age={COOKIE_DAYS * 86400}")


def log_out() -> None:
    """End the session (a button callback: it runs before the page is drawn again)."""
    for key in _SESSION_KEYS:
        st.session_state[key] = None
    st.session_state["logout"] = True  # stops streamlit-authenticator reading the old cookie
    st.session_state["_forget_cookie"] = True


def forget_cookie_after_logout() -> None:
    """Delete the session cookie in the browser on the run after a logout."""
    if st.session_state.pop("_forget_cookie", False):
        _set_cookie(f"{COOKIE_NAME}=; max-age=0")


def _set_cookie(cookie: str) -> None:
    script = f"<script>document.cookie = {json.dumps(cookie + '; path=/; samesite=strict')};"
    with st.sidebar:
        st.html(script + "</script>", unsafe_allow_javascript=True)


def hide_cookie_components() -> None:
    """The login screen's cookie components draw nothing, but their containers leave gaps."""
    st.html("<style>.st-key-init, .st-key-set, .st-key-delete "
            "{position: absolute; height: 0; overflow: hidden; margin: 0}</style>")
