"""Review answers as a reviewer works: filter, read each answer with its form beside the item,
accept or reject it (by keyboard too) and move on to the next one."""

import json
from datetime import datetime, time, timedelta

import pandas as pd
import streamlit as st

from core import campaigns, review
from core.errors import DomainError
from server import settings
from ui import flags as flag_panel
from ui import state
from ui.answer_view import answer_text, show_answer, show_item
from ui.campaign_status import status_controls
from ui.feedback import flash, show_error
from ui.format import plural
from ui.keys import add_shortcuts
from ui.pickers import campaign_links, campaign_picker
from ui.text import literal

KEYS = {"review_accept": "alt+a", "review_reject": "alt+r", "review_next": "alt+arrowdown",
        "review_previous": "alt+arrowup"}
SPEED = {None: "Any speed", True: "Too fast only", False: "Not too fast"}
STATUS_WORDS = {None: "Any status", "submitted": "Waiting for review", "accepted": "Accepted",
                "rejected": "Rejected"}

conn = state.connection()
user = state.require_user()

st.title("Review answers")
add_shortcuts(**KEYS)  # first, so its frame stays in place (and its listener alive) across runs
# Arriving without a campaign in the address, open the newest one with answers waiting.
campaign_id = campaign_picker(user, default=lambda ids: review.first_waiting(conn, ids))
if campaign_id is None:
    st.info("You have no campaigns yet.")
    st.page_link("views/design.py", label="Design your first campaign", icon=":material/add:")
    st.stop()
campaign = campaigns.get(conn, campaign_id)
campaign_links("views/review.py", campaign)
spec = campaigns.spec(conn, campaign_id, campaign.spec_version)
key_question = next(iter(review.gold_questions(spec)), None)
flag_panel.draw(conn, user, campaign_id)  # flagged items, their reasons, put back / remove


def status_box() -> None:
    """Publish, pause or close from here too, folded away: reviewing is what this page is for."""
    with st.expander(f"Campaign status: {campaign.status}", icon=":material/toggle_on:"):
        status_controls(conn, user, campaign, where="review")


def filters() -> dict:
    """The filter widgets, as arguments for review.answers."""
    experts = review.experts(conn, user, campaign_id)
    f1, f2, f3, f4, f5 = st.columns([2, 1, 2, 2, 3])
    chosen = {
        "expert": f1.selectbox("Expert", [None, *experts], format_func=lambda e: e or "Everyone"),
        "item_id": f2.number_input("Item #", min_value=0, value=0,
                                   help="0 shows every item.") or None,
        "status": f3.selectbox("Status", list(STATUS_WORDS), format_func=STATUS_WORDS.get,
                               index=1),
        "too_fast": f4.selectbox("Speed", list(SPEED), format_func=SPEED.get,
                                 help="Too fast: answered in under a quarter of the campaign's "
                                      "expected time per item."),
    }
    days = f5.date_input("Submitted between", value=(), help="Pick a start and an end day.")
    if isinstance(days, tuple) and len(days) == 2:
        chosen["since"] = datetime.combine(days[0], time(0))
        chosen["until"] = datetime.combine(days[1], time(0)) + timedelta(days=1)
    return chosen


def table_of(answers: pd.DataFrame) -> pd.DataFrame:
    """The answers as the list shows them: words, not JSON; empty cells, not None."""
    shown = answers[["response_id", "item_id", "external_id", "expert", "status", "too_fast",
                     "submitted_at", "duration_s"]].copy()
    shown["external_id"] = shown["external_id"].fillna("")
    shown["status"] = shown["status"].map(lambda s: STATUS_WORDS.get(s, s))
    if key_question is not None:
        shown["summary"] = [answer_text(key_question, json.loads(a).get(key_question["id"])) or ""
                            for a in answers["answer"]]
    return shown


def move_to(position: int) -> None:
    """Select the answer at `position` of the list (after an action or Next/Previous)."""
    st.session_state[f"review-goto-{campaign_id}"] = position
    st.session_state[f"review-table-{campaign_id}"] = \
        st.session_state.get(f"review-table-{campaign_id}", 0) + 1


chosen = filters()
try:
    answers = review.answers(conn, user, campaign_id, **chosen)
except DomainError as error:
    show_error(error)
    st.stop()
if answers.empty:
    st.info("No answers match these filters.")
    status_box()
    st.stop()

waiting = answers[answers["status"] == "submitted"]
top_left, top_right = st.columns([3, 1], vertical_alignment="bottom")
fast = int(answers["too_fast"].sum())
top_left.caption(f"{plural(len(answers), 'answer')}, newest first (at most 500)"
                 + (f", {fast} flagged too fast" if fast else "") + ". Select one to review it; "
                 "keys: **Alt+A** accept · **Alt+R** reject · **Alt+↓** next · **Alt+↑** previous.")
with top_right.popover(f"Accept all {len(waiting)} waiting", disabled=waiting.empty,
                       width="stretch", icon=":material/done_all:"):
    st.markdown(f"Accept the {plural(len(waiting), 'answer')} in this list that "
                f"{'is' if len(waiting) == 1 else 'are'} waiting for review?")
    if st.button("Accept them", type="primary", key="review_accept_all"):
        try:
            done = review.accept_many(conn, user, campaign_id,
                                      waiting["response_id"].astype(int).tolist(),
                                      settings.now())
        except DomainError as error:
            show_error(error)
        else:
            flash(f"Accepted {plural(done, 'answer')}.", ":material/done_all:")
            move_to(0)
            st.rerun()

nonce = st.session_state.get(f"review-table-{campaign_id}", 0)
goto = min(st.session_state.get(f"review-goto-{campaign_id}", 0), len(answers) - 1)
columns = {
    "response_id": st.column_config.NumberColumn("Answer #", format="%d"),
    "item_id": st.column_config.NumberColumn("Item #", format="%d"),
    "external_id": "External id", "expert": "Expert", "status": "Status",
    "too_fast": st.column_config.CheckboxColumn("Too fast"),
    "submitted_at": st.column_config.DatetimeColumn("Submitted (UTC)", format="YYYY-MM-DD HH:mm"),
    "duration_s": st.column_config.NumberColumn("Seconds", format="%.0f"),
    "summary": literal(key_question["prompt"]) if key_question else "Answer"}
picked = st.dataframe(table_of(answers), hide_index=True, width="stretch", height=250,
                      on_select="rerun", selection_mode="single-row", column_config=columns,
                      key=f"answers-{campaign_id}-{nonce}",
                      selection_default={"selection": {"rows": [goto], "columns": []}})
rows = picked.selection.rows
if not rows:
    st.caption("Select an answer in the list to review it.")
    status_box()
    st.stop()
position = rows[0]
row = answers.iloc[position]
response_id = int(row.response_id)
got = review.detail(conn, user, response_id)

st.subheader(f"Answer #{response_id} by {literal(row.expert)}")
facts = [f"item #{row.item_id}" + (f" · {literal(row.external_id)}" if row.external_id else ""),
         STATUS_WORDS.get(row.status, row.status), f"{row.duration_s:.0f} s"]
if row.too_fast:
    facts.append(":orange[too fast]")
st.caption(" · ".join(facts))
item_col, answer_col = st.columns(2, gap="large")
with item_col:
    st.markdown("##### The item, as the expert saw it")
    show_item(got["spec"], got["payload"], got["model_responses"])
with answer_col:
    st.markdown(f"##### The answer (form version {row.spec_version})")
    show_answer(got["spec"], got["answer"])
    # Flags the experts raised about this item are drawn here (see core/responses.py).

reason = st.text_input("Reason", placeholder="Required to reject; the expert will see it.",
                       key=f"reason-{response_id}")


def next_after(new_status: str) -> int:
    """Where the next answer is once this one has `new_status`: it leaves a list filtered on
    another status, so the next one takes its place."""
    leaves = chosen["status"] is not None and chosen["status"] != new_status
    return position if leaves else position + 1


def act(action: str) -> None:
    """Accept or reject the answer shown, then select the next one (a button callback, so
    the page is drawn once, after the change)."""
    reason = st.session_state.get(f"reason-{response_id}", "")
    try:
        if action == "accept":
            review.accept(conn, user, response_id, settings.now(), reason)
        else:
            review.reject(conn, user, response_id, reason, settings.now())
    except DomainError as error:
        st.session_state[f"review-error-{campaign_id}"] = error
        return
    if action == "accept":
        flash(f"Accepted answer #{response_id}.", ":material/check:")
    else:
        flash(f"Rejected answer #{response_id}; its pay was reversed.", ":material/block:")
    move_to(next_after("accepted" if action == "accept" else "rejected"))


a, r, p, n, _ = st.columns([1, 1, 1, 1, 2])
a.button("Accept", type="primary", disabled=row.status != "submitted", width="stretch",
         key="review_accept", on_click=act, args=("accept",))
r.button("Reject", disabled=row.status == "rejected", width="stretch", key="review_reject",
         help="Frees the item for another expert and reverses this answer's pay.",
         on_click=act, args=("reject",))
p.button("Previous", disabled=position == 0, width="stretch", key="review_previous",
         on_click=move_to, args=(position - 1,))
n.button("Next", disabled=position >= len(answers) - 1, width="stretch", key="review_next",
         on_click=move_to, args=(position + 1,))
refusal = st.session_state.pop(f"review-error-{campaign_id}", None)
if refusal is not None:
    show_error(refusal)

questions = review.gold_questions(got["spec"])
if questions:
    with st.expander("Make this item gold", icon=":material/star:"):
        st.caption("Use this answer as the item's known right answer: gold items check every "
                   "expert who gets them, against the question you choose.")
        names = {q["id"]: q["prompt"] for q in questions}
        g1, g2 = st.columns([3, 1], vertical_alignment="bottom")
        question_id = g1.selectbox("Question the gold answer checks", list(names),
                                   format_func=names.get, key=f"gold-question-{campaign_id}")
        if g2.button("Make gold", width="stretch", key="review_gold"):
            try:
                value = review.make_gold(conn, user, response_id, settings.now(), question_id)
            except DomainError as error:
                show_error(error)
            else:
                flash(f"Item #{row.item_id} is now a gold item: “{names[question_id]}” = "
                      f"“{value}”.", ":material/star:")
                st.rerun()


def show_history() -> None:
    """The campaign's review actions, newest first."""
    past = review.history(conn, campaign_id)
    if past.empty:
        st.caption("Nothing reviewed yet.")
        return
    past["reason"] = past["reason"].fillna("")
    st.dataframe(past, hide_index=True, width="stretch", column_config={
        "acted_at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm"),
        "reviewer": "Reviewer", "action": "Action",
        "response_id": st.column_config.NumberColumn("Answer #", format="%d"),
        "reason": "Reason"})


# Read only while open: an accept's run does not read the whole history only to hide it.
history = st.expander("Review history", key=f"review-history-{campaign_id}", on_change="rerun")
with history:
    if history.open:
        show_history()
status_box()
