"""Altair chart builders with readable axes and tooltips."""

from __future__ import annotations

import altair as alt
import pandas as pd


def answers_per_day(frame: pd.DataFrame) -> alt.Chart:
    """Stacked bars of kept and rejected answers per day."""
    long = frame.melt("day", ["answers", "rejected"], var_name="kind", value_name="count")
    long["kind"] = long["kind"].map({"answers": "Kept", "rejected": "Rejected"})
    return alt.Chart(long).mark_bar().encode(
        x=alt.X("day:T", title="Day (UTC)", axis=alt.Axis(format="%b %d")),
        y=alt.Y("count:Q", title="Answers", stack=True),
        color=alt.Color("kind:N", title=None,
                        scale=alt.Scale(domain=["Kept", "Rejected"],
                                        range=["#3b5bdb", "#e8590c"])),
        tooltip=[alt.Tooltip("day:T", title="Day", format="%Y-%m-%d"),
                 alt.Tooltip("kind:N", title="Answers"), alt.Tooltip("count:Q", title="Count")],
    ).properties(height=260)


def minutes_histogram(frame: pd.DataFrame) -> alt.Chart:
    """How long answers took, in minutes."""
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("minutes:Q", bin=alt.Bin(maxbins=30), title="Minutes per answer"),
        y=alt.Y("count():Q", title="Answers"),
        tooltip=[alt.Tooltip("minutes:Q", bin=alt.Bin(maxbins=30), title="Minutes"),
                 alt.Tooltip("count():Q", title="Answers")],
    ).properties(height=260)
