"""Small formatting helpers: numbers, money, time spans, expertise and table headers.

Every screen shows these things through here, so no page shows a code, an id or a raw
number of seconds where a person expects words.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pandas as pd

from core import catalog, quality, workflow

# Words a header keeps in capitals when a snake_case name becomes sentence case.
_UPPER = {"id": "ID", "url": "URL", "csv": "CSV", "json": "JSON", "utc": "UTC", "api": "API",
          "ds": "DS"}


def money(amount: Decimal | float | int) -> str:
    """An amount as dollars with cents."""
    return f"${Decimal(str(amount)):,.2f}"


def time_left(until: datetime, now: datetime) -> str:
    """How long until `until`, in the largest unit that reads naturally."""
    seconds = (until - now).total_seconds()
    if seconds <= 0:
        return "expired"
    days, hours = int(seconds // 86400), int(seconds % 86400 // 3600)
    if days >= 2:
        return f"{days} days left"
    if days == 1:
        return f"1 day {hours} h left"
    if hours >= 1:
        return f"{hours} h {int(seconds % 3600 // 60)} min left"
    return f"{max(1, int(seconds // 60))} min left"


def plural(count: int, word: str) -> str:
    """'1 item', '3 items'."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def computed_when(fresh, now: datetime) -> str:
    """When quality results were computed, and whether newer answers are being taken in."""
    if fresh.computed_at is None:
        return ("Computed in the background after answers arrive: the first results appear "
                "within a minute." if fresh.stale else "No answers to compute quality from yet.")
    ago = now - fresh.computed_at
    minutes = int(ago.total_seconds() // 60)
    when = "just now" if minutes < 1 else f"{minutes} min ago" if minutes < 120 else \
        f"{minutes // 60} h ago"
    pending = " Newer answers are being taken in: reload in a moment." if fresh.stale else ""
    return f"Computed {when} (in {fresh.seconds:.1f} s).{pending}"


def expertise(skill: str, language: str) -> str:
    """A skill in a language as people read it: "General knowledge · English (United States)"."""
    return catalog.expertise_name(skill, language)


def header(name: str) -> str:
    """A column name as a table header in sentence case: "items_done" → "Items done"."""
    words = str(name).replace("_", " ").split()
    if not words:
        return ""
    out = [_UPPER.get(w.lower(), w.lower() if w.isupper() and len(w) > 1 and i else w)
           for i, w in enumerate(words)]
    first = out[0]
    out[0] = first if first.isupper() else first[:1].upper() + first[1:]
    return " ".join(out)


def headers(frame: pd.DataFrame, column_config: dict | None = None) -> dict:
    """A column_config that gives every column without a label of its own a sentence-case header.

    Entries already in `column_config` are kept as they are; for the rest the header comes from
    header(). Pass the result to st.dataframe(column_config=…).
    """
    config = dict(column_config or {})
    for column in frame.columns:
        if column not in config:
            config[column] = header(column)
    return config


# (unit, seconds in it, axis title word): chosen by the typical value, so a chart reads
# "12 s" or "3 min", never "0.0205 minutes".
_UNITS = (("s", 1, "seconds"), ("min", 60, "minutes"), ("h", 3600, "hours"))


def time_unit(seconds) -> tuple[str, int, str]:
    """The unit that suits a set of durations (by their median): seconds, minutes or hours."""
    values = pd.Series(seconds, dtype="float64").dropna()
    typical = float(values.median()) if len(values) else 0.0
    if typical < 120:
        return _UNITS[0]
    if typical < 120 * 60:
        return _UNITS[1]
    return _UNITS[2]


def duration(seconds: float | None) -> str:
    """One duration in the unit that reads naturally: "45 s", "3.5 min", "2.1 h"; None → ""."""
    if seconds is None or pd.isna(seconds):
        return ""
    unit, size, _ = time_unit([seconds])
    value = seconds / size
    if unit == "s":
        return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s".replace(".0 s", " s")
    return f"{value:.1f} {unit}".replace(f".0 {unit}", f" {unit}")


KIND_NAMES = {"standard": "Standard", "revolt": "Team labeling"}


def kind_name(kind: str) -> str:
    """A campaign's kind as people call it: "revolt" → "Team labeling"."""
    return KIND_NAMES.get(kind, str(kind).capitalize())


def status_name(status: str) -> str:
    """A status word as a table shows it: "live" → "Live"."""
    return str(status).replace("_", " ").capitalize()


def question_prompts(spec: dict) -> dict[str, str]:
    """Each question's id → the prompt experts read, for headers and labels in place of ids."""
    return {q["id"]: str(q.get("prompt") or q["id"]) for q in workflow.questions(spec)}


def short(text: str, limit: int = 60) -> str:
    """Text cut to `limit` characters at a word, with an ellipsis when cut."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = text[:limit - 1].rsplit(" ", 1)[0] or text[:limit - 1]
    return cut.rstrip(",;:.") + "…"


def measures_agreement(spec: dict) -> bool:
    """Whether the form has a choice or rating question agreement can be measured on."""
    return any(q["type"] in quality.ALPHA_LEVELS for q in workflow.questions(spec))
