"""The leaderboard: overall, per skill or per campaign; this week, this month or all time."""

import streamlit as st

from core import campaigns, catalog, leaderboard
from core.errors import DomainError
from server import settings
from ui import state
from ui.feedback import show_error

conn = state.connection()
user = state.require_user()
now = settings.now()

st.title("Leaderboard")
st.caption("Points come from your kept answers, each weighted by your quality score in its "
           "campaign. Answers given far faster than expected count once a reviewer accepts "
           "them. Equal points share a rank.")
scope_col, key_col, period_col = st.columns([1, 2, 1])
scope = scope_col.radio("Board", leaderboard.SCOPES, horizontal=False,
                        format_func={"overall": "Overall", "skill": "By skill",
                                     "campaign": "By campaign"}.get)
key = None
if scope == "skill":
    skills = catalog.skills(conn)
    key = key_col.selectbox("Skill", list(skills), format_func=skills.get)
elif scope == "campaign":
    open_ones = campaigns.for_expert(conn, user, now)
    titles = dict(zip(open_ones["id"], open_ones["title"], strict=True))
    if not titles:
        key_col.info("No campaigns of yours to rank in.")
        st.stop()
    key = int(key_col.selectbox("Campaign", list(titles), format_func=titles.get))
period = period_col.radio("Period", list(leaderboard.PERIODS),
                          format_func={"week": "This week", "month": "This month",
                                       "all": "All time"}.get)
try:
    board = leaderboard.board(conn, user, scope=scope, key=key, period=period, now=now)
except DomainError as error:
    show_error(error)
    st.stop()

if board.me:
    st.metric("Your rank", f"{int(board.me['rank'])} of {board.experts}",
              help=f"{board.me['points']:.1f} points from {int(board.me['answers'])} answers")
else:
    st.info("You have no points on this board yet: answer items in this period to appear.")
if board.top.empty:
    st.caption("Nobody has points here yet." if period == "all" else
               f"Nobody has points here {'this week' if period == 'week' else 'this month'} "
               "yet: *All time* shows everyone's.")
    st.stop()
top = board.top.assign(you=board.top["user_id"] == user.id)
st.dataframe(top[["rank", "name", "points", "answers", "you"]], hide_index=True, placeholder="",
             width="stretch", column_config={
                 "rank": st.column_config.NumberColumn("Rank", width="small"),
                 "name": st.column_config.TextColumn("Expert", width="large"),
                 "points": st.column_config.NumberColumn("Points", format="%.1f"),
                 "answers": st.column_config.NumberColumn("Answers"),
                 "you": st.column_config.CheckboxColumn("You")})
if board.me and int(board.me["rank"]) > len(top):
    st.caption(f"…and you, at rank {int(board.me['rank'])} with {board.me['points']:.1f} "
               "points.")
