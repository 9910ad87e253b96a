"""The labeling page: one reserved item drawn from the campaign's form, submit or skip.

A form with a model step asks its models from here (ui.model_step); a campaign whose models
cannot be called is shown as unavailable, and no item of it is reserved.
"""

import random

import streamlit as st

from core import assign, campaigns, models, responses, workflow
from core.errors import Conflict, DomainError, Invalid
from ui import model_step, settings, state, survey_prompt
from ui.feedback import flash, show_error
from ui.format import money, time_left
from ui.models import api_keys
from ui.text import literal, safe_markdown
from ui.workflow_form import render

conn = state.connection()
user = state.require_user()
now = settings.now()
keys = api_keys(conn)
notice = st.session_state.pop("label_notice", None)


def confirmation() -> None:
    """The receipt of the last committed answer, until dismissed."""
    receipt: responses.Receipt | None = st.session_state.get("receipt")
    if receipt is None:
        return
    with st.container(border=True):
        text, close = st.columns([8, 1], vertical_alignment="center")
        text.success(f"Answer saved. You have answered **{receipt.campaign_count}** items in "
                     f"this campaign and **{receipt.total_count}** in all "
                     f"(+{money(receipt.earned)}).", icon=":material/check_circle:")
        if close.button("Dismiss", key="dismiss"):
            del st.session_state["receipt"]
            st.rerun()


def choose_campaign() -> None:
    """No campaign picked yet: offer the expert's open campaigns."""
    st.title("Label")
    mine = campaigns.for_expert(conn, user, now)
    mine = mine[mine["kind"] == "standard"]
    if mine.empty:
        st.info("No campaign is open for your skills right now.")
        st.page_link("views/home.py", label="Back to my campaigns", icon=":material/home:")
        st.stop()
    titles = dict(zip(mine["id"], mine["title"], strict=True))
    unavailable = models.unavailable_campaigns(conn, list(titles), keys)
    picked = st.selectbox("Campaign", list(titles), index=None,
                          format_func=lambda c: titles[c] + (" (unavailable for now: its models "
                                                             "are not set up)"
                                                             if c in unavailable else ""),
                          placeholder="Choose a campaign to work on")
    if picked is not None:
        st.query_params["campaign"] = str(picked)
        st.rerun()
    st.stop()


raw_id = st.query_params.get("campaign")
if not raw_id or not raw_id.isdigit():
    choose_campaign()
campaign_id = int(raw_id)

try:
    campaign = campaigns.get(conn, campaign_id)
    unavailable = models.unavailable_reason(conn, campaign_id, keys)
    if unavailable:  # hand back what another page reserved here; nothing new is reserved
        models.release_held(conn, user, campaign_id)
    claim = None if unavailable else assign.claim_next(conn, user, campaign_id, now,
                                                       random.Random())
except DomainError as error:
    confirmation()
    if notice:
        st.error(literal(notice), icon=":material/block:")
    show_error(error)
    st.page_link("views/home.py", label="Back to my campaigns", icon=":material/home:")
    st.stop()

here, overall = responses.counts(conn, user.id, campaign_id)
head, count_here, count_all = st.columns([6, 1, 1], vertical_alignment="bottom")
head.title(literal(campaign.title))
count_here.metric("Your answers here", here)
count_all.metric("All your answers", overall)
confirmation()
if st.session_state.get("receipt"):
    survey_prompt.offer(user)
if notice:
    st.error(literal(notice), icon=":material/block:")
with st.expander("Guidelines", expanded=here == 0, icon=":material/menu_book:"):
    st.markdown(safe_markdown(campaign.guidelines) if campaign.guidelines
                else "_This campaign has no guidelines._")

if claim is None:
    st.warning(literal(unavailable), icon=":material/cloud_off:")
    st.page_link("views/home.py", label="Back to my campaigns", icon=":material/home:")
    st.stop()

assignment = claim.assignment
if assignment is None:
    st.info(literal(claim.reason))
    st.page_link("views/home.py", label="Back to my campaigns", icon=":material/home:")
    st.stop()

why = st.session_state.pop("claim_reason", None) or assignment.reason
st.caption(f"{literal(why)} Reserved for you for {time_left(assignment.expires_at, now)[:-5]}; "
           f"about {campaign.minutes_per_item:g} min · {money(campaign.pay_per_item)}.")

errors_key = f"errors-{assignment.item_id}"
if model_step.take_skip_request(assignment.item_id):
    try:
        models.skip_failed_item(conn, user, assignment.item_id, settings.now())
    except DomainError as refusal:
        show_error(refusal)
    else:
        st.session_state.pop(errors_key, None)
        flash("Item given back at no cost to you; the models' failure is recorded.",
              ":material/skip_next:")
        st.rerun()
spec = campaigns.spec(conn, campaign_id, assignment.spec_version)
asks_models = workflow.model_step(spec) is not None
with st.form(f"item-{assignment.item_id}", border=True):
    answer = render(spec, assignment.payload, key=f"item-{assignment.item_id}",
                    errors=st.session_state.get(errors_key),
                    model_step=model_step.ModelStep(conn, user, assignment.item_id, keys)
                    if asks_models else None)
    submit_col, skip_col, _ = st.columns([1, 1, 5])
    submitted = submit_col.form_submit_button("Submit", type="primary", width="stretch")
    skipped = skip_col.form_submit_button("Skip", width="stretch",
                                          help="Give this item back and move on.")

if submitted:
    try:
        receipt = responses.submit(conn, user, assignment.item_id, answer,
                                   assignment.spec_version, settings.now())
    except Invalid as problem:
        st.session_state[errors_key] = problem.problems
        st.rerun()
    except Conflict as refusal:
        st.session_state["label_notice"] = str(refusal)
        st.rerun()
    except DomainError as error:
        show_error(error)
        st.stop()
    st.session_state.pop(errors_key, None)
    st.session_state["receipt"] = receipt
    st.rerun()
if skipped:
    assign.skip(conn, user, assignment.item_id, settings.now())
    st.session_state.pop(errors_key, None)
    flash("Item skipped; it goes back to the pool for other experts.", ":material/skip_next:")
    st.rerun()
