"""Altair chart builders with readable axes and tooltips."""

from __future__ import annotations

import altair as alt
import pandas as pd

from ui.format import time_unit


def answers_per_day(frame: pd.DataFrame) -> alt.Chart:
    """Stacked bars of kept and rejected answers per day."""
    long = frame.melt("day", ["answers", "rejected"], var_name="kind", value_name="count")
    long["kind"] = long["kind"].map({"answers": "Kept", "rejected": "Rejected"})
    return alt.Chart(long).mark_bar().encode(
        x=alt.X("day:T", title="Day (UTC)", axis=alt.Axis(format="%b %d")),
        y=alt.Y("count:Q", title="Answers", stack=True, axis=alt.Axis(tickMinStep=1)),
        color=alt.Color("kind:N", title=None,
                        scale=alt.Scale(domain=["Kept", "Rejected"],
                                        range=["#3b5bdb", "#e8590c"])),
        tooltip=[alt.Tooltip("day:T", title="Day", format="%Y-%m-%d"),
                 alt.Tooltip("kind:N", title="Answers"), alt.Tooltip("count:Q", title="Count")],
    ).properties(height=260)


def minutes_histogram(frame: pd.DataFrame) -> alt.Chart:
    """How long answers took, in seconds, minutes or hours, whichever suits the typical answer.

    `frame` has a `minutes` column (as core measures them); the axis never reads
    "0.0205 minutes".
    """
    seconds = frame["minutes"].astype("float64") * 60
    unit, size, word = time_unit(seconds)
    shown = pd.DataFrame({"time": seconds / size})
    return alt.Chart(shown).mark_bar().encode(
        x=alt.X("time:Q", bin=alt.Bin(maxbins=30), title=f"{word.capitalize()} per answer"),
        y=alt.Y("count():Q", title="Answers", axis=alt.Axis(tickMinStep=1)),
        tooltip=[alt.Tooltip("time:Q", bin=alt.Bin(maxbins=30), title=word.capitalize(),
                             format=".1f" if unit != "s" else ".0f"),
                 alt.Tooltip("count():Q", title="Answers")],
    ).properties(height=260)


def cumulative_line(frame: pd.DataFrame, x: str, y: str, title: str) -> alt.Chart:
    """A running total over days."""
    return alt.Chart(frame).mark_area(line=True, opacity=0.25).encode(
        x=alt.X(f"{x}:T", title=None, axis=alt.Axis(format="%b %d")),
        y=alt.Y(f"{y}:Q", title=title),
        tooltip=[alt.Tooltip(f"{x}:T", title="Day", format="%Y-%m-%d"),
                 alt.Tooltip(f"{y}:Q", title=title, format=",")],
    ).properties(height=240)


def monthly_bars(frame: pd.DataFrame, y: str, title: str, color: str = "#3b5bdb") -> alt.Chart:
    """One bar per month."""
    return alt.Chart(frame).mark_bar(color=color).encode(
        x=alt.X("yearmonth(month):O", title=None, axis=alt.Axis(format="%b %Y", labelAngle=0)),
        y=alt.Y(f"{y}:Q", title=title, axis=alt.Axis(tickMinStep=1)),
        tooltip=[alt.Tooltip("month:T", title="Month", format="%B %Y"),
                 alt.Tooltip(f"{y}:Q", title=title, format=",")],
    ).properties(height=240)


def items_by_skill(frame: pd.DataFrame) -> alt.Chart:
    """Cumulative items collected, stacked by skill area."""
    return alt.Chart(frame).mark_area().encode(
        x=alt.X("day:T", title=None, axis=alt.Axis(format="%b %d")),
        y=alt.Y("cumulative:Q", title="Items collected (cumulative)", stack=True),
        color=alt.Color("skill:N", title="Skill"),
        tooltip=[alt.Tooltip("day:T", title="Day", format="%Y-%m-%d"),
                 alt.Tooltip("skill:N", title="Skill"),
                 alt.Tooltip("cumulative:Q", title="Items so far", format=",")],
    ).properties(height=280)


def satisfaction(frame: pd.DataFrame) -> alt.Chart:
    """Average satisfaction per month (1–5) with the number of responses."""
    rated = frame.dropna(subset=["satisfaction"])
    base = alt.Chart(rated).encode(
        x=alt.X("yearmonth(month):O", title=None, axis=alt.Axis(format="%b %Y", labelAngle=0)),
        tooltip=[alt.Tooltip("month:T", title="Month", format="%B %Y"),
                 alt.Tooltip("satisfaction:Q", title="Average (1–5)", format=".2f"),
                 alt.Tooltip("survey_responses:Q", title="Responses"),
                 alt.Tooltip("satisfaction_change:Q", title="Change", format="+.2f")])
    line = base.mark_line(point=True, color="#2f9e44").encode(
        y=alt.Y("satisfaction:Q", title="Average satisfaction (1–5)",
                scale=alt.Scale(domain=[1, 5])))
    return line.properties(height=240)
