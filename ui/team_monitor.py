"""The Teams section of Monitor for a team (Revolt) campaign."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from core import revolt, revolt_review
from core.db import Connection
from core.users import User
from ui import team
from ui.format import duration, headers

# "Teams in Done" reads oddly: each stage as what its teams are doing.
TEAMS_DOING = {"lobby": "Teams forming", "vote": "Teams voting", "explain": "Teams explaining",
               "categorize": "Teams categorizing", "done": "Teams finished"}


def _stages(frame, *columns: str):
    """Stage codes ("vote") in a table as their names ("Vote")."""
    return frame.assign(**{c: frame[c].map(revolt.STAGE_NAMES).fillna(frame[c])
                           for c in columns if c in frame})


def _durations(frame, *columns: str):
    """Minute columns as durations in a natural unit ("45 s", "3.5 min")."""
    return frame.assign(**{c: (frame[c] * 60).map(duration) for c in columns if c in frame})


def show_teams(conn: Connection, user: User, campaign_id: int,
               now: datetime) -> None:
    """Teams by stage, each team's state, time per stage, dropouts and stage changes."""
    revolt.sweep(conn, campaign_id, now, team.settings())  # end teams nobody polls any more
    st.subheader("Teams")
    by_stage = revolt_review.teams_by_stage(conn, user, campaign_id)
    for column, (stage, count) in zip(st.columns(len(by_stage)), by_stage.items(), strict=True):
        column.metric(TEAMS_DOING.get(stage, f"Teams in {revolt.STAGE_NAMES[stage]}"), count)
    teams = revolt_review.teams(conn, user, campaign_id, now)
    if teams.empty:
        st.caption("No team has formed yet.")
    else:
        teams = _durations(_stages(teams, "stage"), "minutes_in_stage")
        st.dataframe(teams, hide_index=True, width="stretch", placeholder="",
                     column_config=headers(teams, {
            "team": "Team", "stage": "Stage", "size": "Size", "active": "Active",
            "dropped": "Dropped", "left_early": "Left", "items": "Items",
            "conflicts": "Conflicts",
            "given_back": st.column_config.NumberColumn(
                "Given back", help="Items the team left undecided when it ended early; they "
                                   "go to the next team."),
            "formed_at": st.column_config.DatetimeColumn("Formed (UTC)",
                                                         format="YYYY-MM-DD HH:mm"),
            "finished_at": st.column_config.DatetimeColumn("Finished (UTC)",
                                                           format="YYYY-MM-DD HH:mm"),
            "minutes_in_stage": st.column_config.TextColumn("Time in stage")}))
        show_waiting(conn, user, campaign_id)
        times, gone = st.columns(2)
        with times:
            st.markdown("**Time per stage**")
            times = _durations(_stages(revolt_review.stage_times(conn, user, campaign_id, now),
                                       "stage"), "median_minutes", "longest_minutes")
            st.dataframe(times, hide_index=True, width="stretch", placeholder="",
                         column_config=headers(times, {
                             "stage": "Stage", "teams_finished": "Teams through it",
                             "teams_in_it": "Teams in it now",
                             "median_minutes": "Median time", "longest_minutes": "Longest"}))
        with gone:
            st.markdown("**Dropouts by stage**")
            dropouts = revolt_review.dropouts(conn, user, campaign_id)
            if dropouts.empty:
                st.caption("Nobody has dropped out or left.")
            else:
                dropouts = _stages(dropouts, "stage")
                st.dataframe(dropouts, hide_index=True, width="stretch", placeholder="",
                             column_config=headers(dropouts, {
                    "stage": "Stage", "dropped": "Stopped responding", "left_early": "Left"}))
        with st.expander("Stage changes and their reasons", icon=":material/history:"):
            changes = _stages(revolt_review.transitions(conn, user, campaign_id),
                              "from_stage", "to_stage")
            st.dataframe(changes, hide_index=True, width="stretch", placeholder="",
                         column_config=headers(changes, {
                             "happened_at": st.column_config.DatetimeColumn(
                                 "When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
                             "team": "Team", "from_stage": "From", "to_stage": "To",
                             "reason": st.column_config.TextColumn("Reason", width="large")}))
    st.caption("The concepts teams found are reviewed on *Concept review*.")


def show_waiting(conn: Connection, user: User, campaign_id: int) -> None:
    """The items ended teams gave back that no team has yet, and why (none: nothing shown)."""
    waiting = revolt_review.waiting(conn, user, campaign_id)
    if waiting.empty:
        return
    st.markdown("**Waiting for another team**")
    st.dataframe(waiting, hide_index=True, width="stretch", placeholder="",
                 column_config=headers(waiting, {
        "item_id": "Item", "external_id": "External ID", "team_id": "Team that had it",
        "votes": "Its votes", "reason": st.column_config.TextColumn("Why", width="large")}))
