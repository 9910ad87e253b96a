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
