"""Company sign-in with Streamlit's st.login (OpenID Connect), handed to core.directory.

Streamlit runs the OpenID Connect exchange itself (Authlib, routes /auth/login, /oauth2callback
and /auth/logout, a signed HttpOnly identity cookie) from the `[auth]` section of
`.streamlit/secrets.toml`. Its result is `st.user`: the ID token's claims. Here those claims
become a Quorum account (`directory.provision`) and a Quorum session (`auth.sign_in`). Tokens
and secrets are never logged or shown: only the claims are read, and only their directory
fields are kept.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

import streamlit as st

from core import directory, users
from core.errors import DomainError
from server import settings
from ui import auth, state
from ui.text import literal

REQUIRED = ("client_id", "client_secret", "server_metadata_url")
DEFAULT_LABEL = "your company account"


def _auth_section() -> Mapping:
    try:
        section = st.secrets.get("auth")
    except FileNotFoundError:
        return {}
    return section if isinstance(section, Mapping) else {}


def providers() -> list[tuple[str | None, str]]:
    """The configured providers as (name for st.login, button label); empty without [auth]."""
    section = _auth_section()
    if not section or "redirect_uri" not in section or "cookie_secret" not in section:
        return []
    found: list[tuple[str | None, str]] = []
    if all(key in section for key in REQUIRED):
        found.append((None, str(section.get("label") or DEFAULT_LABEL)))
    for name, value in section.items():
        if isinstance(value, Mapping) and all(key in value for key in REQUIRED):
            found.append((str(name), str(value.get("label") or name.title())))
    return found


def methods() -> frozenset[str]:
    """The sign-in methods offered: QUORUM_AUTH, else passwords plus company sign-in once
    [auth] is configured (`auth.mode`)."""
    mode = auth.mode()
    return frozenset(("password", "sso")) if mode == "both" else frozenset((mode,))


def password_allowed() -> bool:
    """Whether username-and-password sign-in (and sign-up) is offered."""
    return "password" in methods()


def sign_in_buttons() -> None:
    """A "Sign in with …" button per configured provider, with any refusal of the last try."""
    if "sso" not in methods():
        return
    found = providers()
    if not found:
        return  # the login page says what to configure
    notice = st.session_state.get("sso_notice")
    if notice:
        st.info(literal(notice), icon=":material/schedule:")
    problem = st.session_state.get("sso_problem")
    if problem:
        st.error(literal(problem), icon=":material/block:")  # quotes the provider's e-mail
    for name, label in found:
        st.button(f"Sign in with {literal(label)}", key=f"sso-{name or 'default'}", type="primary",
                  icon=":material/domain:", on_click=st.login, args=(name,) if name else ())
    if problem:
        st.button("Use another company account", key="sso-switch", on_click=st.logout,
                  help="Signs you out of the company account you used, so you can choose "
                       "another.")


def _claims() -> dict | None:
    if not st.user.get("is_logged_in"):
        return None
    return {k: v for k, v in st.user.to_dict().items() if k != "tokens"}


def sign_in_from_identity() -> None:
    """Sign in the person the company identity names (after st.login), once per identity."""
    if "sso" not in methods():
        return
    claims = _claims()
    if claims is None:
        return
    tried = (claims.get("iss"), claims.get("sub"), claims.get("iat"))
    if st.session_state.get("_sso_tried") == tried:
        return  # refused already: the login page says why
    st.session_state["_sso_tried"] = tried
    config = settings.load()
    try:
        result = directory.provision(state.connection(), claims, settings.now(), config.sso,
                                     random.SystemRandom())
    except directory.StaleSignIn as stale:
        st.session_state["sso_notice"] = str(stale)
        return
    except DomainError as refused:
        st.session_state["sso_problem"] = str(refused)
        return
    st.session_state.pop("sso_problem", None)
    st.session_state.pop("sso_notice", None)
    auth.sign_in(result.user)


def welcome_pending(user: users.User) -> bool:
    """Whether the account still has its first-sign-in step to do (remembered once done)."""
    if st.session_state.get("_welcomed") == user.id:
        return False
    if directory.needs_welcome(state.connection(), user):
        return True
    st.session_state["_welcomed"] = user.id
    return False


def log_out() -> None:
    """End the Quorum session and, for a company sign-in, Streamlit's identity cookie too.

    Company sign-ins issued before now are refused from here on, so a copy of the identity
    cookie saved before this log out cannot sign in again.
    """
    user = state.current_user()
    if user is not None:
        directory.end_sign_in(state.connection(), user, settings.now())
    auth.log_out()
    for key in ("_sso_tried", "_welcomed", "sso_problem", "sso_notice"):
        st.session_state.pop(key, None)
    if st.user.get("is_logged_in"):
        st.logout()
