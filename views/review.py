"""Review answers: filter, read one, accept it or reject it with a reason."""

import json
from datetime import datetime, time, timedelta

import streamlit as st

from core import monitor, review
from core.errors import DomainError
from server import settings
from ui import flags as flag_panel
from ui import state
from ui.feedback import flash, show_error
from ui.format import plural
from ui.pickers import campaign_picker
from ui.text import literal

conn = state.connection()
user = state.require_user()

st.title("Review answers")
campaign_id = campaign_picker(user)
if campaign_id is None:
    st.info("You have no campaigns yet.")
    st.stop()
flag_panel.draw(conn, user, campaign_id)  # flagged items, their reasons, put back / remove

experts = monitor.per_expert(conn, campaign_id)["expert"].tolist()
f1, f2, f3, f4 = st.columns([2, 1, 2, 3])
expert = f1.selectbox("Expert", [None, *experts], format_func=lambda e: e or "Everyone")
item = f2.number_input("Item #", min_value=0, value=0, help="0 shows every item.")
status = f3.selectbox("Status", [None, *review.STATUSES], format_func=lambda s: s or "Any")
days = f4.date_input("Submitted between", value=(), help="Pick a start and an end day.")
since = until = None
if isinstance(days, tuple) and len(days) == 2:
    since, until = datetime.combine(days[0], time(0)), datetime.combine(days[1], time(0)) + \
        timedelta(days=1)

try:
    answers = review.answers(conn, user, campaign_id, expert=expert, item_id=item or None,
                             status=status, since=since, until=until)
except DomainError as error:
    show_error(error)
    st.stop()
if answers.empty:
    st.info("No answers match these filters.")
    st.stop()

st.caption(f"{plural(len(answers), 'answer')}, newest first (at most 500). "
           "Select one to review it.")
picked = st.dataframe(
    answers[["response_id", "item_id", "external_id", "expert", "status", "submitted_at",
             "duration_s", "answer"]],
    hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
    column_config={"response_id": "Answer #", "item_id": "Item #", "external_id": "External id",
                   "expert": "Expert", "status": "Status", "answer": "Answer",
                   "submitted_at": st.column_config.DatetimeColumn("Submitted (UTC)",
                                                                   format="YYYY-MM-DD HH:mm"),
                   "duration_s": st.column_config.NumberColumn("Seconds", format="%.0f")})
rows = picked.selection.rows
if not rows:
    st.stop()
row = answers.iloc[rows[0]]

st.subheader(f"Answer #{row.response_id} by {literal(row.expert)}")
item_col, answer_col = st.columns(2)
with item_col:
    st.caption(f"Item #{row.item_id}" + (f" · {literal(row.external_id)}" if row.external_id
                                         else ""))
    st.json(json.loads(row.payload))
with answer_col:
    st.caption(f"Answer (form version {row.spec_version}) · {literal(row.status)}")
    st.json(json.loads(row.answer))

reason = st.text_input("Reason", placeholder="Required to reject; the expert will see it.",
                       key=f"reason-{row.response_id}")
accept_col, reject_col, gold_col, _ = st.columns([1, 1, 2, 2])
if accept_col.button("Accept", type="primary", disabled=row.status != "submitted",
                     width="stretch"):
    try:
        review.accept(conn, user, int(row.response_id), settings.now(), reason)
    except DomainError as error:
        show_error(error)
    else:
        flash(f"Accepted answer #{row.response_id}.", ":material/check:")
        st.rerun()
if reject_col.button("Reject", disabled=row.status == "rejected", width="stretch",
                     help="Frees the item for another expert and reverses this answer's pay."):
    try:
        review.reject(conn, user, int(row.response_id), reason, settings.now())
    except DomainError as error:
        show_error(error)
    else:
        flash(f"Rejected answer #{row.response_id}; its pay was reversed.", ":material/block:")
        st.rerun()

if gold_col.button("Make this item gold", width="stretch",
                   help="Use this answer as the item's known right answer: gold items check "
                        "every expert who gets them."):
    try:
        value = review.make_gold(conn, user, int(row.response_id), settings.now())
    except DomainError as error:
        show_error(error)
    else:
        flash(f"Item #{row.item_id} is now a gold item with the answer “{value}”.",
              ":material/star:")
        st.rerun()

with st.expander("Review history"):
    st.dataframe(review.history(conn, campaign_id), hide_index=True, width="stretch")
