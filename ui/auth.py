"""Sign-in, the session cookie, log out.

A sign-in creates a session in the database (core/sessions.py). The tab that signed in keeps
its token in `st.session_state` (server-side only), so it is signed in at once; the browser
gets a session of its own as an HttpOnly cookie, which a script cannot write: the next run
asks the `/auth/session` route (server/routes.py), from the page, to exchange a one-time code
for it. Every run looks the session up again (one indexed query), so a session ended
anywhere (log out, password change, an admin disabling the account) signs that person out on
their next interaction in every browser.
"""

from __future__ import annotations

import json

import streamlit as st

from core import sessions, signin, users
from core.errors import DomainError
from server import routes, settings
from ui import state

COOKIE_NAME = routes.SESSION_COOKIE
TOKEN_KEY = state.TOKEN_KEY
_CODE_KEY = "_cookie_code"
_FORGET_KEY = "_forget_cookie"


def sso_configured() -> bool:
    """Whether an identity provider is configured for st.login ([auth] in secrets.toml)."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:
        return False


def mode() -> str:
    """How people sign in here: "password", "sso" or "both" (settings.auth_mode)."""
    return settings.auth_mode(settings.load(), sso_configured())


def password_allowed() -> bool:
    """Whether password sign-in and sign-up are on."""
    return mode() != "sso"


def current_user() -> users.User | None:
    """The user of this tab's live session, or None."""
    return state.current_user()


def sign_in(user: users.User) -> None:
    """Start a session for an identified account: this tab at once, the browser's cookie next.

    The one entry for every way in (password, sign-up, single sign-on); the caller reruns.
    """
    conn, now = state.connection(), settings.now()
    st.session_state[TOKEN_KEY] = sessions.create(conn, user, now, settings.load().session_hours)
    st.session_state[_CODE_KEY] = sessions.issue_code(conn, user, now)
    st.session_state.pop(_FORGET_KEY, None)


def log_in_with_password(username: str, password: str) -> DomainError | None:
    """Check a typed username and password (throttled) and sign in; the refusal, if any."""
    config = settings.load()
    try:
        user = signin.authenticate(state.connection(), username, password,
                                   client=client_address(config.trusted_proxy),
                                   now=settings.now(), throttle=config.throttle,
                                   rounds=config.bcrypt_rounds)
    except DomainError as refusal:
        return refusal
    sign_in(user)
    return None


def client_address(trusted_proxy: bool) -> str | None:
    """Where the request came from: the socket's peer, or behind a trusted proxy the address
    it saw (the last X-Forwarded-For entry: earlier ones are whatever the client sent)."""
    if trusted_proxy:
        forwarded = st.context.headers.get("X-Forwarded-For", "")
        hops = [hop.strip() for hop in str(forwarded or "").split(",") if hop.strip()]
        if hops:
            return hops[-1]
    address = st.context.ip_address
    return address if isinstance(address, str) else None  # None: unknown (AppTest)


def log_out() -> None:
    """End every session of the signed-in person, in every browser (a button callback)."""
    user = current_user()
    if user is not None:
        sessions.end_all(state.connection(), user, settings.now())
    st.session_state.pop(TOKEN_KEY, None)
    st.session_state.pop(_CODE_KEY, None)
    st.session_state[_FORGET_KEY] = True


def hand_over_cookie() -> None:
    """After a sign-in or log out, have the browser fetch (or drop) its HttpOnly cookie."""
    code = st.session_state.pop(_CODE_KEY, None)
    if code:
        _fetch(f"/auth/session?code={code}", "GET")
    elif st.session_state.pop(_FORGET_KEY, False):
        _fetch("/auth/signout", "POST")


def _fetch(url: str, method: str) -> None:
    # Same-origin fetch: the browser stores the response's Set-Cookie, HttpOnly included.
    script = (f"<script>fetch({json.dumps(url)}, {{method: {json.dumps(method)}, "
              "credentials: 'same-origin', cache: 'no-store'});</script>")
    with st.sidebar:
        st.html(script, unsafe_allow_javascript=True)
