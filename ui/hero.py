"""The top of the expert's home: the program's name and purpose, and their standing at a glance."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import streamlit as st

from core import leaderboard
from core.db import Connection
from core.profile import Totals
from core.users import User
from ui.format import money
from ui.text import literal

MARK = Path(__file__).parent / "assets" / "mark.svg"
PROGRAM = "Quorum"
PURPOSE = ("Lend what you know to the data our models learn from, one item at a time. "
           "Every answer is paid, counted and credited to you.")


def first_name(user: User) -> str:
    """What the greeting calls the user: their first name, or their username."""
    parts = user.name.split()
    return parts[0] if parts else user.username


def show(conn: Connection, user: User, totals: Totals, open_campaigns: int,
         now: datetime) -> st.delta_generator.DeltaGenerator:
    """Draw the hero; returns the column beside the standing where the page puts its action."""
    with st.container(border=True):
        mark, words = st.columns([1, 11], vertical_alignment="center")
        mark.image(str(MARK), width=72)
        with words:
            st.markdown(f"**:primary[{PROGRAM.upper()} · THE EXPERT PROGRAM]**")
            st.title(f"Hello, {literal(first_name(user))}", anchor=False)
            st.caption(PURPOSE)
        answered, earned, rank, fits, action = st.columns([1, 1, 1, 1, 1.4],
                                                          vertical_alignment="center")
        answered.metric("Items you answered", f"{totals.answers:,}")
        earned.metric("Earned", money(totals.earnings))
        board = leaderboard.board(conn, user, period="month", now=now, top=1)
        me = board.me
        rank.metric("Rank this month", f"{int(me['rank'])} of {board.experts}"
                    if me else "—", help="On the overall leaderboard, by points from kept "
                    "answers weighted by quality." if me else
                    "Answer an item this month to appear on the leaderboard.")
        fits.metric("Open campaigns for you", f"{open_campaigns:,}")
    return action

