"""Login, logout and the session cookie, through streamlit-authenticator."""

from __future__ import annotations

import streamlit as st
import streamlit_authenticator as stauth

from core import users
from ui import settings, state

COOKIE_NAME = "quorum_auth"
COOKIE_DAYS = 14


def authenticator() -> stauth.Authenticate:
    """This run's authenticator, built from the credentials the run needs."""
    conn = state.connection()
    username = st.session_state.get("username")
    signed_in = st.session_state.get("authentication_status") and username
    # Signed in, only this user's entry is needed; the login screen needs everyone's.
    creds = users.credentials(conn, username if signed_in else None)
    s = settings.load()
    configured = st.secrets.get("cookie_key") if _has_secrets() else None
    auth = stauth.Authenticate(creds, COOKIE_NAME, settings.cookie_key(configured, s.db_path),
                               COOKIE_DAYS, auto_hash=False, login_sleep_time=0)
    st.session_state["_authenticator"] = auth
    return auth


def _has_secrets() -> bool:
    try:
        return "cookie_key" in st.secrets
    except FileNotFoundError:
        return False


def restore_from_cookie(auth: stauth.Authenticate) -> None:
    """Sign in from a valid session cookie without drawing anything."""
    try:
        auth.login(location="unrendered")
    except stauth.LoginError:
        # A cookie naming an account that no longer exists: ignore it and show the login form.
        st.session_state["authentication_status"] = None


def login_form() -> None:
    """The login form; reruns the app once the user is signed in."""
    auth: stauth.Authenticate = st.session_state["_authenticator"]
    if st.session_state.get("authentication_status"):
        return  # already signed in: app.py draws the signed-in pages on the next run
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


def keep_cookie(auth: stauth.Authenticate) -> None:
    """Write the session cookie on every run until the browser sends it back.

    The cookie is written by a component in the browser; a login is followed by st.rerun(),
    which can unmount that component before it ran, so the write is repeated (same key, same
    element) until a later page load shows the cookie arrived.
    """
    signed_in = st.session_state.get("authentication_status")
    if signed_in and not st.session_state.get("logout") and COOKIE_NAME not in st.context.cookies:
        auth.cookie_controller.set_cookie()


def hide_cookie_components() -> None:
    """The cookie components draw nothing, but their containers leave gaps in the layout."""
    st.html("<style>.st-key-init, .st-key-set, .st-key-delete "
            "{position: absolute; height: 0; overflow: hidden; margin: 0}</style>")


def logout_button(auth: stauth.Authenticate) -> None:
    """A sidebar button that ends the session and forgets the cookie."""
    auth.logout("Log out", location="sidebar", key="logout_button")
