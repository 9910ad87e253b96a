"""Small formatting helpers for numbers, money and time spans."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal


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
