"""Showing core's refusals and the field problems that come with them."""

from __future__ import annotations

import re

import streamlit as st

from core.errors import DomainError, Invalid
from ui.format import header
from ui.text import literal

# Core names a bad field by its id; people know it by the label the form shows it under.
FIELD_LABELS = {
    "title": "Title", "description": "One-line description", "guidelines": "Guidelines",
    "skill": "Skill", "language": "Language", "kind": "Kind",
    "expertise_level": "Expected level", "expertise_type": "Expected type of expertise",
    "minutes_per_item": "Minutes per item", "pay_per_item": "Pay per item ($)",
    "overlap": "Answers per item", "per_expert_cap": "Cap per expert",
    "lease_minutes": "Reservation (minutes)", "opens_at": "Opens", "expires_at": "Expires",
    "gold_rate": "Share of gold items", "bonus_min_quality": "Bonus from quality",
    "bonus_per_item": "Bonus per item ($)", "challenge_rewards": "Challenge rewards",
    "spec": "Form spec", "blocks": "Form blocks",
    "username": "Username", "name": "Name", "email": "E-mail", "password": "Password",
    "confirm": "Repeat password", "expertise": "Skills and languages",
    "current": "Current password", "new": "New password", "reason": "Reason",
}
_BLOCK = re.compile(r"^blocks\[(\d+)\](?:\.(.+))?$")


def field_label(field: str, labels: dict[str, str] | None = None) -> str:
    """The label a person knows a field by: "title" → "Title", "blocks[2].id" → "Block 3: id"."""
    if labels and field in labels:
        return labels[field]
    if field in FIELD_LABELS:
        return FIELD_LABELS[field]
    block = _BLOCK.match(field)
    if block:
        number, rest = int(block.group(1)) + 1, block.group(2)
        return f"Block {number}" + (f": {rest.replace('_', ' ')}" if rest else "")
    return header(field)


def problem_lines(error: Invalid, labels: dict[str, str] | None = None) -> str:
    """Each field's problem as a Markdown list line under the field's label."""
    return "\n".join(f"- **{literal(field_label(field, labels))}**: {literal(what)}"
                     for field, what in error.problems.items())


def show_error(error: DomainError, labels: dict[str, str] | None = None) -> None:
    """Show a refusal as core worded it, with each field's problem listed under its label.

    `labels` names fields the page labels its own way (a form's question ids → prompts).
    """
    st.error(literal(error), icon=":material/block:")
    if isinstance(error, Invalid) and error.problems:
        st.markdown(problem_lines(error, labels))


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
