"""Watch a campaign fill: completion, pace, time per item, experts, cost, forecast, export.

A campaign whose form asks models also shows its model calls: error rate and latency by model
and error type over time.
"""

import streamlit as st

from core import campaigns, io, models, monitor, quality, quality_jobs, workflow
from core.errors import DomainError
from server import settings
from ui import charts, state
from ui.feedback import show_error
from ui.files import private_path
from ui.format import (
    computed_when,
    duration,
    headers,
    measures_agreement,
    money,
    plural,
    question_prompts,
    short,
)
from ui.model_charts import show_call_analytics
from ui.models import api_keys
from ui.pickers import campaign_picker
from ui.team_monitor import show_teams
from ui.text import literal

conn = state.connection()
user = state.require_user()
now = settings.now()

st.title("Monitor")
campaign_id = campaign_picker(user)
if campaign_id is None:
    st.info("You have no campaigns yet.")
    st.page_link("views/design.py", label="Design your first campaign", icon=":material/add:")
    st.stop()
try:
    s = monitor.summary(conn, user, campaign_id, now)
except DomainError as error:
    show_error(error)
    st.stop()

a, b, c, d, e = st.columns(5)
a.metric("Items complete", f"{s.items_complete:,} / {s.items_total:,}",
         help="Items that have all the answers the campaign asks for.")
b.metric("Answers", f"{s.answers:,}", help=f"{s.rejected:,} more were rejected in review.")
c.metric("Active experts (7 days)", s.active_experts)
d.metric("Cost so far", money(s.cost), help="Sum of the pay ledger for this campaign.")
if s.forecast is None:
    e.metric("Forecast", "—", help="No answers in the last 7 days, so no pace to extrapolate.")
elif s.answers_needed == 0:
    e.metric("Forecast", "Complete")
else:
    e.metric("Forecast completion", f"{s.forecast:%Y-%m-%d}",
             help=f"{s.answers_needed:,} answers to go at {s.answers_per_day:,.1f} a day "
                  "(the pace of the last 7 days).")
st.progress(s.completion, text=f"{s.completion:.0%} of items complete")

campaign = campaigns.get(conn, campaign_id)
if campaign.kind == "revolt":
    show_teams(conn, user, campaign_id, now)

per_day = monitor.answers_per_day(conn, campaign_id)
left, right = st.columns(2)
with left:
    st.subheader("Answers per day")
    if per_day.empty:
        st.caption("No answers yet.")
    else:
        st.altair_chart(charts.answers_per_day(per_day), width="stretch")
with right:
    st.subheader("Time per answer")
    minutes = monitor.durations(conn, campaign_id)
    if minutes.empty:
        st.caption("No answers yet.")
    else:
        st.altair_chart(charts.minutes_histogram(minutes), width="stretch")

st.subheader("Agreement and labels")
st.caption(computed_when(quality_jobs.freshness(conn, campaign_id), now))
alphas = quality.agreement_table(conn, campaign_id)
form = campaigns.spec(conn, campaign_id, campaign.spec_version)
prompts = question_prompts(form)
if alphas.empty:
    if not measures_agreement(form):
        st.caption("The form has no choice or rating question to measure agreement on.")
    elif s.answers:  # with no answers at all, the line above already says so
        st.caption("Agreement is measured once items have two or more answers.")
else:
    cols = st.columns(max(len(alphas), 1) + 2)
    for column, row in zip(cols, alphas.itertuples(), strict=False):
        column.metric(f"α · {literal(short(prompts.get(row.question_id, row.question_id), 40))}",
                      "—" if row.alpha != row.alpha
                      else f"{row.alpha:.2f}",
                      help=f"Krippendorff's alpha ({row.level}) over {row.units:,} items with "
                           "two or more answers. 1 is perfect agreement, 0 is chance.")
labels = quality.labels_table(conn, campaign_id)
if not labels.empty:
    st.caption("Aggregated labels, least certain first (Dawid-Skene weighs experts by their "
               "track record; majority vote counts heads; empty means a tie).")
    st.dataframe(labels, hide_index=True, width="stretch", placeholder="",
                 height=min(240, 38 + 35 * len(labels)), column_config=headers(labels, {
        "majority_share": st.column_config.NumberColumn("Majority share", format="%.2f"),
        "ds_label": "Dawid-Skene label",
        "ds_confidence": st.column_config.NumberColumn("Confidence", format="%.2f")}))

st.subheader("Experts")
experts = monitor.per_expert(conn, campaign_id)
scores = quality.campaign_scores(conn, campaign_id)
experts = experts.merge(scores, on="expert", how="left")
if experts.empty:
    st.caption("Nobody has answered yet.")
else:
    experts["median_minutes"] = (experts["median_minutes"] * 60).map(duration)
    st.dataframe(experts, hide_index=True, width="stretch", placeholder="",
                 column_config=headers(experts, {
        "median_minutes": st.column_config.TextColumn("Median time"),
        "earned": st.column_config.NumberColumn("Earned", format="dollar"),
        "quality": st.column_config.ProgressColumn("Quality", min_value=0, max_value=1,
                                                   format="percent"),
        "last_answer": st.column_config.DatetimeColumn("Last answer (UTC)",
                                                       format="YYYY-MM-DD HH:mm")}))

if workflow.model_step(campaigns.spec(conn, campaign_id, campaign.spec_version)) is not None:
    st.subheader("Model calls")
    unavailable = models.unavailable_reason(conn, campaign_id, api_keys(conn))
    if unavailable:
        st.warning(literal(unavailable), icon=":material/cloud_off:")
    show_call_analytics(conn, user, campaign_id)

st.subheader("Export")
what = st.radio("Data", ["answers", "items", "revolt"] if campaign.kind == "revolt"
                else ["answers", "items"],
                horizontal=True, format_func={"answers": "Answers", "items": "Items",
                                              "revolt": "Team results"}.get,
                help="Team results: each item's votes, explanations, concepts and final label.")
fmt = st.radio("Format", io.EXPORT_FORMATS, horizontal=True,
               format_func={"csv": "CSV", "jsonl": "JSON Lines", "parquet": "Parquet"}.get)
if st.button("Prepare download", icon=":material/download:"):
    with private_path(f"campaign-{campaign_id}-{what}.{fmt}") as path:
        try:
            rows = io.export(conn, user, what, campaign_id, path, fmt)
        except DomainError as error:
            show_error(error)
        else:
            noun = {"answers": "answer", "items": "item", "revolt": "team result row"}[what]
            st.download_button(f"Download {plural(rows, noun)} ({fmt})",
                               path.read_bytes(),
                               file_name=path.name, type="primary", icon=":material/download:")
