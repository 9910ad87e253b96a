"""Model-call analytics for requesters: error rate and latency by model and error type."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core import models
from core.db import Connection
from core.users import User
from ui.format import headers


def error_rate_over_time(frame: pd.DataFrame, unit: str) -> alt.Chart:
    """Share of failed calls per model and period."""
    return alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("period:T", title=f"{unit.title()} (UTC)"),
        y=alt.Y("error_rate:Q", title="Error rate", axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("model:N", title="Model"),
        tooltip=[alt.Tooltip("period:T", title=unit.title(), format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("model:N", title="Model"), alt.Tooltip("calls:Q", title="Calls"),
                 alt.Tooltip("failed:Q", title="Failed"),
                 alt.Tooltip("timeouts:Q", title="Timeouts"),
                 alt.Tooltip("error_rate:Q", title="Error rate", format=".0%")],
    ).properties(height=240)


def latency_over_time(frame: pd.DataFrame, unit: str) -> alt.Chart:
    """Median latency of answered calls per model and period."""
    return alt.Chart(frame.dropna(subset=["median_ms"])).mark_line(point=True).encode(
        x=alt.X("period:T", title=f"{unit.title()} (UTC)"),
        y=alt.Y("median_ms:Q", title="Median latency (ms)"),
        color=alt.Color("model:N", title="Model"),
        tooltip=[alt.Tooltip("period:T", title=unit.title(), format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("model:N", title="Model"),
                 alt.Tooltip("median_ms:Q", title="Median ms", format=",.0f")],
    ).properties(height=240)


def failures_by_type(frame: pd.DataFrame) -> alt.Chart:
    """Failed calls per model, stacked by error type."""
    return alt.Chart(frame).mark_bar().encode(
        y=alt.Y("model:N", title=None),
        x=alt.X("failures:Q", title="Failed calls", axis=alt.Axis(tickMinStep=1)),
        color=alt.Color("error_type:N", title="Error type"),
        tooltip=[alt.Tooltip("model:N", title="Model"),
                 alt.Tooltip("error_type:N", title="Error type"),
                 alt.Tooltip("failures:Q", title="Failures"),
                 alt.Tooltip("median_ms:Q", title="Median ms to fail", format=",.0f")],
    ).properties(height=max(80, 40 * frame["model"].nunique()))


def show_call_analytics(conn: Connection, user: User,
                        campaign_id: int | None = None) -> None:
    """Every recorded model call the user may see, summed up per model, over time and by error."""
    summary = models.call_summary(conn, user, campaign_id)
    if summary.empty:
        st.caption("No model has been called yet.")
        return
    calls, failed = int(summary["calls"].sum()), int(summary["failed"].sum())
    a, b, c = st.columns(3)
    a.metric("Model calls", f"{calls:,}", help="Every call, retries included.")
    b.metric("Failed", f"{failed:,}", help=f"{failed / calls:.1%} of calls failed.")
    c.metric("Models", len(summary))
    st.dataframe(summary, hide_index=True, width="stretch", placeholder="",
                 column_config=headers(summary, {
        "model": "Model", "calls": "Calls", "failed": "Failed",
        "error_rate": st.column_config.NumberColumn("Error rate", format="percent"),
        "median_ms": st.column_config.NumberColumn("Median ms", format="%.0f",
                                                   help="Latency of answered calls."),
        "p95_ms": st.column_config.NumberColumn("p95 ms", format="%.0f"),
        "prompt_tokens": "Prompt tokens", "completion_tokens": "Completion tokens"}))
    over_time = models.calls_over_time(conn, user, campaign_id)
    unit = over_time.attrs.get("unit", "hour")
    left, right = st.columns(2)
    with left:
        st.markdown("**Error rate by model**")
        st.altair_chart(error_rate_over_time(over_time, unit), width="stretch")
    with right:
        st.markdown("**Latency by model**")
        st.altair_chart(latency_over_time(over_time, unit), width="stretch")
    errors = models.errors_by_type(conn, user, campaign_id)
    if errors.empty:
        st.caption("No call has failed.")
    else:
        st.markdown("**Failures by error type**")
        st.altair_chart(failures_by_type(errors), width="stretch")
    with st.expander("Latest calls"):
        log = models.call_log(conn, user, campaign_id)
        st.dataframe(log, hide_index=True, width="stretch", placeholder="",
                     column_config=headers(log, {
                         "started_at": st.column_config.DatetimeColumn(
                             "Asked (UTC)", format="YYYY-MM-DD HH:mm:ss"),
                         "latency_ms": st.column_config.NumberColumn("Latency (ms)",
                                                                     format="%.0f")}))
