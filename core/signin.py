"""Password sign-in: throttled per account and per client, the same work for unknown users.

Failed attempts are counted in `sign_in_failures` (so a restart forgets nothing) under the
username typed, known or not, and under the client's address. Past a few free failures each
one blocks further attempts for a delay that doubles, up to `max_delay_seconds`; an attempt
while blocked is refused before any password is checked, for any username alike. A known user
and an unknown one cost one bcrypt check each (the unknown one against a dummy hash of the
configured cost), so the answer's timing does not tell which usernames exist.
"""

from __future__ import annotations

import functools
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from core import users
from core.db import Connection, Cursor, reading, writing
from core.errors import DomainError, Forbidden, Invalid

MISMATCH = "That username and password do not match. Check both and try again."


@dataclass(frozen=True)
class Throttle:
    account_free: int = 5          # failures per username before delays start
    client_free: int = 20          # failures per client address before delays start
    first_delay_seconds: float = 30
    max_delay_seconds: float = 3600
    forget_after_seconds: float = 86400  # a quiet day wipes the count


class TooManyAttempts(DomainError):
    """Sign-in is paused for this account or client; the message says for how long."""

    def __init__(self, message: str, seconds: float):
        super().__init__(message)
        self.seconds = seconds


@functools.lru_cache(maxsize=8)
def _dummy_hash(rounds: int) -> str:
    return users.hash_password(secrets.token_urlsafe(16), rounds)


def authenticate(conn: Connection, username: str, password: str, *, client: str | None,
                 now: datetime, throttle: Throttle = Throttle(),
                 rounds: int = users.BCRYPT_ROUNDS,
                 check: Callable[[str, str], bool] = users.password_matches) -> users.User:
    """The user whose password this is; else Invalid, Forbidden (disabled) or TooManyAttempts."""
    name = username.strip().lower()
    subjects = [("account", name)] + ([("client", client)] if client else [])
    _refuse_if_blocked(conn, subjects, now)
    record = users.sign_in_record(conn, name) if name else None
    stored = record[1] if record else _dummy_hash(rounds)
    matches = check(password, stored)  # exactly one check, whoever typed whatever
    if record is not None and matches:
        user, _, disabled = record
        if disabled:
            raise Forbidden("This account is disabled. Ask an administrator to enable it.")
        writing(conn, lambda cur: cur.execute(
            "DELETE FROM sign_in_failures WHERE scope = 'account' AND subject = ?", [name]))
        return user
    wait = writing(conn, lambda cur: _count_failure(cur, subjects, now, throttle))
    if wait > 0:
        raise TooManyAttempts(f"{MISMATCH} After several failed attempts, sign-in is paused "
                              f"for {_duration(wait)}.", wait)
    raise Invalid(MISMATCH)


def _refuse_if_blocked(conn: Connection, subjects: list[tuple[str, str]],
                       now: datetime) -> None:
    with reading(conn) as cur:
        for scope, subject in subjects:
            row = cur.execute("SELECT blocked_until FROM sign_in_failures "
                              "WHERE scope = ? AND subject = ?", [scope, subject]).fetchone()
            if row and row[0] and row[0] > now:
                seconds = (row[0] - now).total_seconds()
                whom = "this account" if scope == "account" else "your network address"
                raise TooManyAttempts(
                    f"Too many failed sign-ins for {whom}. Wait {_duration(seconds)} and try "
                    "again; if you forgot your password, ask an administrator to set a new one "
                    "(python cli.py set-password).",
                    seconds)


def _count_failure(cur: Cursor, subjects: list[tuple[str, str]], now: datetime,
                   throttle: Throttle) -> float:
    """Add a failure to each subject; the longest delay this starts, in seconds (0: none)."""
    longest = 0.0
    # Counts nobody added to for a day go, so guessing made-up usernames cannot grow the table.
    forget = now - timedelta(seconds=throttle.forget_after_seconds)
    cur.execute("DELETE FROM sign_in_failures WHERE last_failed_at < ? "
                "AND (blocked_until IS NULL OR blocked_until < ?)", [forget, now])
    for scope, subject in subjects:
        row = cur.execute("SELECT failures, last_failed_at FROM sign_in_failures "
                          "WHERE scope = ? AND subject = ?", [scope, subject]).fetchone()
        fresh = row is None or (now - row[1]).total_seconds() > throttle.forget_after_seconds
        failures = 1 if fresh else row[0] + 1
        free = throttle.account_free if scope == "account" else throttle.client_free
        delay = delay_after(failures, free, throttle)
        blocked = now + timedelta(seconds=delay) if delay else None
        cur.execute("INSERT INTO sign_in_failures VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (scope, subject) DO UPDATE SET failures = excluded.failures, "
                    "last_failed_at = excluded.last_failed_at, "
                    "blocked_until = excluded.blocked_until",
                    [scope, subject, failures, now, blocked])
        longest = max(longest, delay)
    return longest


def delay_after(failures: int, free: int, throttle: Throttle) -> float:
    """Seconds sign-in pauses after the `failures`-th failure in a row (doubling past `free`)."""
    if failures <= free:
        return 0.0
    return min(throttle.max_delay_seconds,
               throttle.first_delay_seconds * 2 ** (failures - free - 1))


def _duration(seconds: float) -> str:
    if seconds < 90:
        n = max(1, math.ceil(seconds))
        return f"{n} second{'s' * (n != 1)}"
    n = math.ceil(seconds / 60)
    return f"{n} minutes"
