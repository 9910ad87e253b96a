"""Showing core's refusals and the field problems that come with them."""

from __future__ import annotations

import streamlit as st

from core.errors import DomainError, Invalid
from ui.text import literal


def show_error(error: DomainError) -> None:
    """Show a refusal as core worded it, with each field's problem listed under it."""
    st.error(literal(error), icon=":material/block:")
    if isinstance(error, Invalid) and error.problems:
        st.markdown("\n".join(f"- **{literal(field)}**: {literal(what)}"
                               for field, what in error.problems.items()))


def field_error(error: Invalid | None, field: str) -> None:
    """The problem with one field, drawn right under it, if there is one."""
    if error is not None and field in error.problems:
        st.error(literal(error.problems[field]), icon=":material/error:")


def flash(message: str, icon: str = ":material/info:") -> None:
    """Queue a toast for the next run (a toast drawn just before st.rerun() is lost).

    The message is shown as plain text, so it may quote titles and names as they are.
    """
    st.session_state.setdefault("_flashes", []).append((message, icon))


def show_flashes() -> None:
    """Show the toasts queued by flash()."""
    for message, icon in st.session_state.pop("_flashes", []):
        st.toast(literal(message), icon=icon)
