"""The Profile page's personal access tokens: make one (shown once), see them, revoke one."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from core import tokens
from core.db import Connection
from core.errors import DomainError, Invalid
from core.users import User
from ui.feedback import field_error, flash, show_error
from ui.text import literal

VALIDITY = {7: "7 days", 30: "30 days", 90: "90 days", 365: "1 year"}
_NEW = "api_token_shown_once"


def show_tokens(conn: Connection, user: User, now: datetime) -> None:
    """The tokens section: a new token's secret once, the form to make one, the list."""
    st.subheader("API tokens")
    st.caption("A personal access token lets your scripts and pipelines use Quorum's HTTP API "
               "(`/api/v1`, or the Python client in `client/`) with your roles. Treat it like "
               "a password.")
    made: tokens.NewToken | None = st.session_state.get(_NEW)
    if made is not None:
        with st.container(border=True):
            st.success(f"Token “{literal(made.name)}” made. Copy it now: it is shown only "
                       "this once.", icon=":material/key:")
            st.code(made.secret, language=None)
            if st.button("I have copied it", key="token-copied"):
                del st.session_state[_NEW]
                st.rerun()
    error: Invalid | None = st.session_state.get("token_error")
    with st.form("new-token", clear_on_submit=True, border=True):
        name_col, days_col, add_col = st.columns([4, 2, 1], vertical_alignment="bottom")
        name = name_col.text_input("Token name", placeholder="e.g. training pipeline")
        days = days_col.selectbox("Valid for", list(VALIDITY), index=1,
                                  format_func=VALIDITY.get)
        if add_col.form_submit_button("Make token", type="primary"):
            try:
                st.session_state[_NEW] = tokens.create(conn, user, name, days, now)
            except Invalid as problem:
                st.session_state["token_error"] = problem
            else:
                st.session_state.pop("token_error", None)
            st.rerun()
    field_error(error, "name")
    field_error(error, "days")
    if error is not None and not error.problems:
        show_error(error)
    listed = tokens.list_for(conn, user, now)
    if listed.empty:
        st.caption("You have no tokens yet.")
        return
    for row in listed.itertuples():
        text, action = st.columns([6, 1], vertical_alignment="center")
        used = (f"last used {row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at is not None
                and str(row.last_used_at) != "NaT" else "never used")
        when = (f"expires {row.expires_at:%Y-%m-%d}" if row.state == "active" else row.state)
        text.markdown(f"**{literal(row.name)}** · `{row.prefix}…` · {when} · {used}")
        if row.state == "active" and action.button("Revoke", key=f"revoke-token-{row.id}"):
            try:
                tokens.revoke(conn, user, int(row.id), now)
            except DomainError as refusal:
                show_error(refusal)
            else:
                flash(f"Revoked the token “{row.name}”; it no longer works.", ":material/key_off:")
                st.rerun()
