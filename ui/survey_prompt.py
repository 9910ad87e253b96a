"""The satisfaction survey as a small, dismissible box."""

from __future__ import annotations

import streamlit as st

from core import survey
from core.errors import DomainError
from core.users import User
from server import settings
from ui import state
from ui.feedback import flash, show_error


def offer(user: User) -> None:
    """Show the survey box if the expert is due one."""
    conn, config = state.connection(), settings.load()
    policy = survey.Policy(config.survey_after_answers, config.survey_period_days)
    if not survey.due(conn, user, settings.now(), policy):
        return
    with st.container(border=True):
        st.markdown("**How is Quorum working for you?** Your answer helps us improve it.")
        stars = st.feedback("stars", key="survey_stars")
        comment = st.text_input("Anything to add? (optional)", key="survey_comment",
                                max_chars=2000)
        send, later, _ = st.columns([1, 1, 4])
        if send.button("Send", type="primary", disabled=stars is None, width="stretch"):
            try:
                survey.answer(conn, user, stars + 1, comment, settings.now())
            except DomainError as error:
                show_error(error)
            else:
                flash("Thank you for your feedback!", ":material/favorite:")
                st.rerun()
        if later.button("Not now", width="stretch"):
            survey.dismiss(conn, user, settings.now())
            st.rerun()
