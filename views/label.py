"""The labeling page: one reserved item drawn from the campaign's form, submit or skip.

A form with a model step asks its models from here (ui.model_step); a campaign whose models
cannot be called is shown as unavailable, and no item of it is reserved.
"""

import random

import streamlit as st

from core import assign, campaigns, models, responses, workflow
from core.errors import Conflict, DomainError, Invalid
from server import settings
from ui import model_step, state, survey_prompt
from ui.feedback import flash, show_error
from ui.format import money, time_left
from ui.models import api_keys
from ui.text import literal, safe_markdown
from ui.workflow_form import render

conn = state.connection()
user = state.require_user()
now = settings.now()
keys = api_keys(conn)
# The item whose form is on screen, and the item whose answer is being handled (submitted,
# refused or incomplete): that item stays on screen instead of a new claim until it is saved,
# skipped or left with "Next item", so a reservation that ran out never swaps the form.
SHOWN, ANSWERING, REFUSAL = "label_shown", "label_answering", "label_refusal"


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


def answering(campaign_id: int) -> assign.Assignment | None:
    """The shown item if its answer is being handled now; it comes before any new claim."""
    shown: assign.Assignment | None = st.session_state.get(SHOWN)
    if shown is None or shown.campaign_id != campaign_id or "claim_reason" in st.session_state:
        return None  # nothing shown here yet, or new work was just asked for on the home page
    if (st.session_state.get(f"submit-{shown.item_id}")
            or st.session_state.get(ANSWERING) == shown.item_id):
        return shown
    return None


def leave_item() -> None:
    """Let go of the shown item: the next run claims afresh."""
    for key in (SHOWN, ANSWERING, REFUSAL):
        st.session_state.pop(key, None)


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
    pending = answering(campaign_id)
    if unavailable and pending is None:  # hand back what another page reserved here
        models.release_held(conn, user, campaign_id)
    if pending is not None:
        claim = assign.Claim(pending, "answering")
    else:
        claim = None if unavailable else assign.claim_next(conn, user, campaign_id, now,
                                                           random.Random())
except DomainError as error:
    confirmation()
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

st.session_state[SHOWN] = assignment
why = st.session_state.pop("claim_reason", None) or assignment.reason
if st.session_state.get(ANSWERING) == assignment.item_id and st.session_state.get(REFUSAL):
    st.error(f"{literal(st.session_state[REFUSAL])} What you wrote is still below, to copy "
             "if you wish.", icon=":material/block:")
    st.button("Next item", type="primary", icon=":material/skip_next:", on_click=leave_item)
else:
    held = (f"Reserved for you for {time_left(assignment.expires_at, now)[:-5]}"
            if assignment.expires_at > now else
            "Your reservation ran out; an answer still counts while the item has room")
    st.caption(f"{literal(why)} {held}; "
               f"about {campaign.minutes_per_item:g} min · {money(campaign.pay_per_item)}.")

errors_key = f"errors-{assignment.item_id}"
if model_step.take_skip_request(assignment.item_id):
    try:
        models.skip_failed_item(conn, user, assignment.item_id, settings.now())
    except DomainError as refusal:
        show_error(refusal)
    else:
        st.session_state.pop(errors_key, None)
        leave_item()
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
    submitted = submit_col.form_submit_button("Submit", type="primary", width="stretch",
                                              key=f"submit-{assignment.item_id}")
    skipped = skip_col.form_submit_button("Skip", width="stretch",
                                          help="Give this item back and move on.")

if submitted:
    st.session_state[ANSWERING] = assignment.item_id
    try:
        receipt = responses.submit(conn, user, assignment.item_id, answer,
                                   assignment.spec_version, settings.now())
    except Invalid as problem:
        st.session_state[errors_key] = problem.problems
        st.rerun()
    except Conflict as refusal:
        st.session_state[REFUSAL] = str(refusal)
        st.rerun()
    except DomainError as error:
        show_error(error)
        st.stop()
    st.session_state.pop(errors_key, None)
    leave_item()
    st.session_state["receipt"] = receipt
    st.rerun()
if skipped:
    assign.skip(conn, user, assignment.item_id, settings.now())
    st.session_state.pop(errors_key, None)
    leave_item()
    flash("Item skipped; it goes back to the pool for other experts.", ":material/skip_next:")
    st.rerun()
