"""A campaign's status and the moves it allows: publishing is the main action, closing (which
cannot be undone) asks to be confirmed first."""

from __future__ import annotations

import streamlit as st

from core import campaigns, lifecycle
from core.db import Connection
from core.errors import DomainError
from core.users import User
from server import settings
from ui.feedback import flash, show_error

WORDS = {"draft": "a draft: experts do not see it yet", "live": "live: experts can answer it",
         "paused": "paused: experts cannot take new items", "closed": "closed"}


def status_controls(conn: Connection, user: User, campaign: campaigns.Campaign,
                    where: str) -> None:
    """The status line, Publish / Pause as buttons and Close behind a confirmation."""
    if where != "review":
        st.subheader("Status")
    st.markdown(f"The campaign is **{WORDS.get(campaign.status, campaign.status)}**.")
    moves = lifecycle.allowed_moves(campaign.status)
    if not moves:
        return
    note = st.text_input("Note for the history (optional)", key=f"{where}-{campaign.id}-note")
    columns = st.columns(4)
    for column, to in zip(columns, [m for m in moves if m != "closed"], strict=False):
        verb = lifecycle.MOVES[to][1]
        if column.button(verb, key=f"{where}-{campaign.id}-move-{to}", width="stretch",
                         type="primary" if to == "live" else "secondary"):
            _move(conn, user, campaign, to, note)
    if "closed" in moves:
        with columns[3].popover("Close campaign…", width="stretch", icon=":material/lock:"):
            st.markdown("Closing ends the campaign for good: experts can no longer answer, "
                        "quality is computed and bonuses and rewards are paid.")
            if st.button("Yes, close it", key=f"{where}-{campaign.id}-move-closed",
                         type="primary"):
                _move(conn, user, campaign, "closed", note)


def _move(conn: Connection, user: User, campaign: campaigns.Campaign, to: str,
          note: str) -> None:
    try:
        lifecycle.move(conn, user, campaign.id, to, settings.now(), note)
    except DomainError as refusal:
        show_error(refusal)
    else:
        flash(f"The campaign is now {to}.", ":material/check:")
        st.rerun()
