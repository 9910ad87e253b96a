"""Login, logout and the session cookie.

streamlit-authenticator draws the login form and checks passwords and the cookie. It renders a
cookie component on every run it is built in, and that component posts a value (and so a rerun)
each time it mounts, which can undo a page change. So it is only built while nobody is signed
in; once signed in, the cookie is written and deleted by a small script instead.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import jwt
import streamlit as st
import streamlit_authenticator as stauth

from core import users
from ui import settings, state

COOKIE_NAME = "quorum_auth"
COOKIE_DAYS = 14
_SESSION_KEYS = ("name", "username", "authentication_status", "email", "roles")


def _cookie_key() -> str:
    try:
        configured = st.secrets.get("cookie_key")
    except FileNotFoundError:
        configured = None
    return settings.cookie_key(configured, settings.load().db_path)


def authenticator() -> stauth.Authenticate:
    """An authenticator over everyone's credentials, for the login screen."""
    hide_cookie_components()
    auth = stauth.Authenticate(users.credentials(state.connection()), COOKIE_NAME, _cookie_key(),
                               COOKIE_DAYS, auto_hash=False, login_sleep_time=0)
    st.session_state["_authenticator"] = auth
    return auth


def restore_from_cookie(auth: stauth.Authenticate) -> None:
    """Sign in from a valid session cookie without drawing anything."""
    try:
        auth.login(location="unrendered")
    except stauth.LoginError:
        # A cookie naming an account that no longer exists: ignore it and show the login form.
        st.session_state["authentication_status"] = None


def login_form() -> None:
    """The login form; reruns the app once the user is signed in."""
    if st.session_state.get("authentication_status"):
        return  # already signed in: app.py draws the signed-in pages on the next run
    auth: stauth.Authenticate = st.session_state["_authenticator"]
    try:
        auth.login(location="main", key="login", fields={
            "Form name": "Log in", "Username": "Username", "Password": "Password",
            "Login": "Log in"})
    except stauth.LoginError as error:
        st.error(str(error))
    status = st.session_state.get("authentication_status")
    if status:
        st.rerun()
    elif status is False:
        st.error("That username and password do not match. Check both and try again.")


def sign_in_new_user(user: users.User) -> None:
    """Start a session for an account that was just created, as a login would."""
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
