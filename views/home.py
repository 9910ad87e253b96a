"""The expert's landing page: campaigns that fit their skills, and the next best task."""

import random

import pandas as pd
import streamlit as st

from core import assign, campaigns, models, profile, revolt, revolt_lobby, users
from core.errors import DomainError
from server import settings
from ui import hero, state, survey_prompt, team
from ui.feedback import show_error
from ui.format import money, plural, time_left
from ui.models import api_keys
from ui.text import literal


def nothing_left(row) -> str:
    """Why a campaign card has no Start button, in the expert's terms."""
    if pd.notna(row.per_expert_cap) and row.my_count >= row.per_expert_cap:
        return "You reached this campaign's cap. Thank you!"
    if row.items_left == 0:
        return "Every item has all the answers it needs."
    return ("You have answered or passed on every item still open here; the rest wait for "
            "other experts.")


conn = state.connection()
user = state.require_user()
now = settings.now()


totals = profile.totals(conn, user)
mine = campaigns.for_expert(conn, user, now)
action = hero.show(conn, user, totals, len(mine), now)
if st.session_state.pop("welcome", False):
    st.success("Welcome to Quorum! Your account is ready: these are the campaigns that fit "
               "your skills. You can add more skills on your profile.",
               icon=":material/celebration:")
survey_prompt.offer(user)
work_left = mine.empty or bool(((mine["kind"] == "revolt") | (mine["left_for_you"] > 0)).any())
if action.button("Next best task", type="primary", icon=":material/bolt:",
                 disabled=mine.empty or not work_left,
                 help="Start the most urgent item across your campaigns." if work_left else
                 "Nothing is left for you to answer in your campaigns right now."):
    try:
        keys = api_keys(conn)
        unavailable = [int(c) for c in mine["id"] if models.unavailable_reason(conn, int(c), keys)]
        claim = assign.claim_best(conn, user, now, random.Random(), exclude=unavailable)
    except DomainError as error:
        show_error(error)
    else:
        if claim.assignment:
            st.session_state["claim_reason"] = claim.reason
            st.switch_page("views/label.py",
                           query_params={"campaign": claim.assignment.campaign_id})
        st.info(literal(claim.reason))

if users.expertise(conn, user.id).empty:
    st.warning("You have not declared any skills yet, so no campaign can match you.")
    st.page_link("views/profile.py", label="Add skills and languages on your profile",
                 icon=":material/person:")
    st.stop()
if mine.empty:
    st.info("No live campaign asks for your skills and languages right now. New campaigns "
            "appear here as soon as they open; you can also declare more expertise.")
    st.page_link("views/profile.py", label="Review your skills and languages",
                 icon=":material/person:")
    st.stop()

st.subheader("Campaigns for you")
keys = api_keys(conn)
rules = team.settings()
team_ids = mine.loc[mine["kind"] == "revolt", "id"].tolist()
lobbies = revolt_lobby.lobby_counts(conn, team_ids, now, rules)
titles = dict(zip(mine["id"].astype(int), mine["title"], strict=True))
for campaign_id, waiting in revolt_lobby.teams_forming(conn, user, team_ids, now, rules).items():
    note, go = st.columns([5, 1], vertical_alignment="center")
    note.info(f"**A team is forming: {plural(waiting, 'expert')} "
              f"{'is' if waiting == 1 else 'are'} waiting for a team in "
              f"{literal(titles[campaign_id])}.** A team starts as soon as {rules.team_size} "
              "experts are ready.", icon=":material/groups:")
    go.page_link("views/lobby.py", label="Join them", icon=":material/group_add:",
                 query_params={"campaign": campaign_id})
for row in mine.itertuples():
    with st.container(border=True):
        text, facts, go = st.columns([5, 4, 2], vertical_alignment="center")
        with text:
            st.markdown(f"#### {literal(row.title)}")
            st.markdown(f":blue-badge[{literal(row.skill_name)}] "
                        f":violet-badge[{literal(row.language_name)}] "
                        + (":orange-badge[Team task]" if row.kind == "revolt" else ""))
            if row.description:
                st.caption(literal(row.description))
            st.markdown(f"**Expected:** {literal(row.expertise_level)} · "
                        f"{literal(row.expertise_type)}")
        with facts:
            a, b = st.columns(2)
            if row.kind == "revolt":
                waiting, left = lobbies.get(int(row.id), (0, 0))
                a.markdown(f"Up to **{money(revolt.config(conn, int(row.id), rules).total_pay)}**"
                           f" per session  \n~{row.minutes_per_item * rules.batch_size:g} min "
                           "to vote")
                b.markdown(f"**{plural(left, 'item')}** left  \n{time_left(row.expires_at, now)}")
                st.markdown(f"**{plural(waiting, 'expert')}** in the lobby now")
            else:
                a.markdown(f"**{money(row.pay_per_item)}** per item  \n"
                           f"~{row.minutes_per_item:g} min per item")
                b.markdown(f"**{plural(int(row.left_for_you), 'item')}** left for you  \n"
                           f"{time_left(row.expires_at, now)}")
                st.markdown(f"You answered **{int(row.my_count)}**"
                            + (f" of at most {int(row.per_expert_cap)}"
                               if pd.notna(row.per_expert_cap) else ""))
        with go:
            if row.kind == "revolt":
                if st.button("Preview", key=f"start-{row.id}", type="primary", width="stretch",
                             help="See how the team session works, then join its lobby."):
                    st.switch_page("views/lobby.py", query_params={"campaign": int(row.id)})
                st.caption("Labeled together with other experts, in a team session.")
            elif (unavailable := models.unavailable_reason(conn, int(row.id), keys)):
                st.button("Start", key=f"start-{row.id}", disabled=True, width="stretch")
                st.caption("Unavailable for now: its language models are not set up yet.",
                           help=literal(unavailable))
            elif row.left_for_you == 0:
                st.caption(nothing_left(row))
            elif st.button("Start", key=f"start-{row.id}", type="primary", width="stretch"):
                st.switch_page("views/label.py", query_params={"campaign": int(row.id)})
