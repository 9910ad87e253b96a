"""A campaign's flagged items, each with its experts' reasons and the requester's decision."""

from __future__ import annotations

import json

import streamlit as st

from core import flags
from core.db import Connection
from core.errors import DomainError
from core.users import User
from server import settings
from ui.feedback import flash, show_error
from ui.format import plural
from ui.text import literal

_STATES = {"paused": "Held back: not handed out until you decide", "open": "Still handed out",
           "removed": "Removed"}


def draw(conn: Connection, user: User, campaign_id: int) -> None:
    """The flags of a campaign with their reasons, and Put back / Remove for each item."""
    try:
        flagged = flags.for_campaign(conn, user, campaign_id)
    except DomainError as error:
        show_error(error)
        return
    if flagged.empty:
        return
    items = flagged.groupby("item_id", sort=False)
    paused = int((flagged.drop_duplicates("item_id")["state"] == "paused").sum())
    title = f"Flagged items: {plural(items.ngroups, 'item')}" + (
        f", {paused} held back" if paused else "")
    with st.expander(title, expanded=paused > 0, icon=":material/flag:"):
        st.caption("Experts flag an item instead of answering it when something is wrong with "
                   "it. An item with enough flags is held back from everyone until you put it "
                   "back (its flags are cleared) or remove it from the campaign.")
        for item_id, rows in items:
            _item(conn, rows, int(item_id), user)


def _item(conn: Connection, rows, item_id: int, user: User) -> None:
    first = rows.iloc[0]
    with st.container(border=True):
        text, put_back, remove = st.columns([6, 1.4, 1.4], vertical_alignment="top")
        external = f" · {literal(first.external_id)}" if first.external_id else ""
        text.markdown(f"**Item #{item_id}**{external} · {literal(_STATES[first.state])} · "
                      f"{plural(int(first.answers), 'answer')} so far")
        text.caption(literal(_preview(first.payload)))
        for flag in rows.itertuples():
            note = f": “{literal(flag.note)}”" if flag.note else ""
            text.markdown(f"- {literal(flag.reason_text)}{note} :gray[· {literal(flag.expert)}, "
                          f"{flag.flagged_at:%Y-%m-%d %H:%M} UTC]")
        if put_back.button("Put back", key=f"flag-restore-{item_id}", width="stretch",
                           icon=":material/undo:",
                           help="Clear its flags and hand it out again as usual."):
            _decide(conn, item_id, "restore", user, f"Item #{item_id} is handed out again.")
        with remove.popover("Remove", icon=":material/delete:", width="stretch"):
            st.markdown("Remove this item from the campaign? It is never handed out again; "
                        "answers already given stay.")
            if st.button("Remove this item", key=f"flag-remove-{item_id}", type="primary"):
                _decide(conn, item_id, "remove", user,
                        f"Item #{item_id} is removed from the campaign.")


def _decide(conn: Connection, item_id: int, decision: str, user: User, done: str) -> None:
    try:
        flags.resolve(conn, user, item_id, decision, settings.now())
    except DomainError as error:
        show_error(error)
    else:
        flash(done, ":material/flag:")
        st.rerun()


def _preview(payload: str) -> str:
    """The item's content in one short line (plain text)."""
    try:
        values = json.loads(payload)
    except (TypeError, ValueError):
        return ""
    text = " · ".join(str(v) for v in values.values()) if isinstance(values, dict) else \
        str(values)
    return text if len(text) <= 200 else text[:197] + "…"
