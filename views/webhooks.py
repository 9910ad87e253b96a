"""Webhooks of a campaign: register a receiver for events, its secret shown once, rotate it,
and every delivery with the receiver's status code (never its reply)."""

import streamlit as st

from core import webhooks
from core.errors import DomainError, Invalid
from core.events import EVENTS
from server import settings
from ui import state
from ui.feedback import field_error, flash, show_error
from ui.pickers import campaign_picker

conn = state.connection()
user = state.require_user()
now = settings.now()
EVENT_HELP = {"answer.submitted": "an expert's answer is stored",
              "campaign.completed": "every item has its answers, or the campaign closes",
              "team.finished": "a team of a team campaign finishes",
              "concepts.mapped": "a concept is mapped to a label"}
_SECRET = "webhook_secret_shown_once"

st.title("Webhooks")
st.caption("Quorum tells your service when something happens in a campaign: it POSTs a JSON "
           "event to your address, signed with the Standard Webhooks scheme (headers "
           "`webhook-id`, `webhook-timestamp`, `webhook-signature`). A delivery that fails is "
           "retried with growing waits; answers are never held up by it.")
campaign_id = campaign_picker(user)
if campaign_id is None:
    st.info("You have no campaigns yet.")
    st.page_link("views/design.py", label="Design your first campaign", icon=":material/add:")
    st.stop()
try:
    hooks = webhooks.list_for(conn, user, campaign_id)
except DomainError as error:
    show_error(error)
    st.stop()

shown = st.session_state.get(_SECRET)
if shown is not None and shown[0] == campaign_id:
    registration = shown[1]
    with st.container(border=True):
        st.success(f"Signing secret of webhook #{registration.id}. Copy it now: it is shown only "
                   "this once. Verify each delivery with it (for example with the "
                   "`standardwebhooks` package).", icon=":material/key:")
        st.code(registration.secret, language=None)
        if st.button("I have copied it", key="secret-copied"):
            del st.session_state[_SECRET]
            st.rerun()

st.subheader("Register a receiver")
error: Invalid | None = st.session_state.get("webhook_error")
with st.form("new-webhook", border=True):
    url = st.text_input("Receiver address", placeholder="https://example.com/quorum-events")
    field_error(error, "url")
    chosen = st.multiselect("Events", list(EVENTS), default=["answer.submitted"],
                            format_func=lambda e: f"{e} — {EVENT_HELP[e]}")
    field_error(error, "events")
    if st.form_submit_button("Register", type="primary"):
        try:
            made = webhooks.register(conn, user, campaign_id, url, chosen,
                                     settings.load().webhook_hosts, now)
        except Invalid as problem:
            st.session_state["webhook_error"] = problem
        except DomainError as refusal:
            st.session_state["webhook_error"] = Invalid(str(refusal), {"url": str(refusal)})
        else:
            st.session_state.pop("webhook_error", None)
            st.session_state[_SECRET] = (campaign_id, made)
            flash(f"Registered webhook #{made.id}.", ":material/webhook:")
        st.rerun()
if error is not None and not error.problems:
    show_error(error)

st.subheader("Receivers")
if hooks.empty:
    st.caption("No receivers yet: register one above.")
for hook in hooks.itertuples():
    with st.container(border=True):
        text, rotate, remove = st.columns([6, 1, 1], vertical_alignment="center")
        text.code(hook.url, language=None)  # shown as it is, never as a link or markup
        text.markdown(f"**#{hook.id}** · {', '.join(hook.events)} · {hook.delivered} delivered"
                      f" · {hook.pending} waiting · {hook.failed} given up")
        if rotate.button("Rotate secret", key=f"rotate-{hook.id}",
                         help="A new secret signs every delivery from now on."):
            st.session_state[_SECRET] = (campaign_id,
                                         webhooks.rotate(conn, user, int(hook.id), now))
            flash(f"Webhook #{hook.id} has a new secret.", ":material/key:")
            st.rerun()
        if remove.button("Delete", key=f"delete-{hook.id}"):
            webhooks.delete(conn, user, int(hook.id), now)
            flash(f"Deleted webhook #{hook.id}; what waited for it will not be sent.",
                  ":material/delete:")
            st.rerun()

st.subheader("Deliveries")
sent = webhooks.deliveries(conn, user, campaign_id)
if sent.empty:
    st.caption("Nothing sent yet. Deliveries appear here with the receiver's status code.")
else:
    if st.button("Refresh", icon=":material/refresh:"):
        st.rerun()
    st.dataframe(sent.drop(columns=["id"]), hide_index=True, width="stretch", column_config={
        "message_id": "Message", "webhook_id": "Webhook", "url": "Address", "event": "Event",
        "status": "State", "attempts": "Attempts",
        "last_status": st.column_config.NumberColumn("Status code", format="%d"),
        "last_error": "Problem",
        "created_at": st.column_config.DatetimeColumn("Event at (UTC)",
                                                      format="YYYY-MM-DD HH:mm:ss"),
        "last_attempt_at": st.column_config.DatetimeColumn("Last try", format="HH:mm:ss"),
        "delivered_at": st.column_config.DatetimeColumn("Delivered", format="HH:mm:ss"),
        "next_attempt_at": st.column_config.DatetimeColumn("Next try", format="HH:mm:ss")})
