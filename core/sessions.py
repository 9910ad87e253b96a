"""Sessions the server can end, and the one-time codes that hand one to a browser as a cookie.

A session is named by a random token; only its SHA-256 is stored, so the table cannot sign
anyone in. A one-time code (also stored hashed, good for `CODE_SECONDS`, used once) lets the
login form, which runs over the websocket and cannot set an HttpOnly cookie, send the browser
to a route that exchanges the code for a session of its own and sets the cookie.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from core import users
from core.db import Connection, Cursor, reading, writing

CODE_SECONDS = 60
_USER_COLUMNS = ("u.id, u.username, u.name, u.email, u.created_at, "
                 "array_agg(r.role ORDER BY r.role) FILTER (WHERE r.role IS NOT NULL)")
_GROUP_BY = "GROUP BY u.id, u.username, u.name, u.email, u.created_at"


def digest(secret: str) -> str:
    """The stored form of a token or code: hex SHA-256 (they are random, so no salt is needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    """A fresh random token or code (256 bits)."""
    return secrets.token_urlsafe(32)


def create(conn: Connection, user: users.User, now: datetime, hours: float,
           token: Callable[[], str] = new_secret) -> str:
    """Start a session for the user lasting `hours`; returns its token (the cookie's value)."""
    value = token()

    def work(cur: Cursor) -> None:
        # Each person's dead sessions go as they sign in again, so the table stays small.
        cur.execute("DELETE FROM sessions WHERE user_id = ? AND (ended_at IS NOT NULL "
                    "OR expires_at <= ?)", [user.id, now])
        cur.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, NULL)",
                    [digest(value), user.id, now, now + timedelta(hours=hours)])

    writing(conn, work)
    return value


def lookup(conn: Connection, token: str | None, now: datetime) -> users.User | None:
    """The user of a live session (not ended, not expired, account enabled), or None."""
    if not token:
        return None
    with reading(conn) as cur:
        row = cur.execute(
            f"SELECT {_USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id "
            "LEFT JOIN user_roles r ON r.user_id = u.id "
            "WHERE s.token_hash = ? AND s.ended_at IS NULL AND s.expires_at > ? "
            f"AND u.disabled_at IS NULL {_GROUP_BY}", [digest(token), now]).fetchone()
    return None if row is None else users.user_from_row(row)


def end(conn: Connection, token: str, now: datetime) -> None:
    """End one session (ending one already ended changes nothing)."""
    writing(conn, lambda cur: cur.execute(
        "UPDATE sessions SET ended_at = ? WHERE token_hash = ? AND ended_at IS NULL",
        [now, digest(token)]))


def end_all_in(cur: Cursor, user_id: int, now: datetime) -> None:
    """Inside a transaction: end every session and unused code of the user, noting when."""
    cur.execute("UPDATE sessions SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL",
                [now, user_id])
    cur.execute("UPDATE session_codes SET used_at = ? WHERE user_id = ? AND used_at IS NULL",
                [now, user_id])
    cur.execute("UPDATE users SET signed_out_at = ? WHERE id = ?", [now, user_id])


def end_all(conn: Connection, user: users.User, now: datetime) -> None:
    """End every session of the user, in every browser (log out)."""
    writing(conn, lambda cur: end_all_in(cur, user.id, now))


def signed_out_at(conn: Connection, user: users.User) -> datetime | None:
    """When the user's sessions were last ended: an identity issued before then is stale."""
    with reading(conn) as cur:
        row = cur.execute("SELECT signed_out_at FROM users WHERE id = ?", [user.id]).fetchone()
    return None if row is None else row[0]


def issue_code(conn: Connection, user: users.User, now: datetime,
               code: Callable[[], str] = new_secret) -> str:
    """A one-time code, good for CODE_SECONDS, that the cookie route exchanges for a session."""
    value = code()

    def work(cur: Cursor) -> None:
        cur.execute("DELETE FROM session_codes WHERE expires_at <= ?",
                    [now - timedelta(seconds=CODE_SECONDS)])
        cur.execute("INSERT INTO session_codes VALUES (?, ?, ?, ?, NULL)",
                    [digest(value), user.id, now, now + timedelta(seconds=CODE_SECONDS)])

    writing(conn, work)
    return value


def exchange_code(conn: Connection, code: str, now: datetime, hours: float,
                  token: Callable[[], str] = new_secret) -> str | None:
    """Use a one-time code: a new session's token, or None if unknown, used or expired."""
    if not code:
        return None
    value = token()

    def work(cur: Cursor) -> bool:
        row = cur.execute(
            "SELECT c.user_id FROM session_codes c JOIN users u ON u.id = c.user_id "
            "WHERE c.code_hash = ? AND c.used_at IS NULL AND c.expires_at > ? "
            "AND u.disabled_at IS NULL", [digest(code), now]).fetchone()
        if row is None:
            return False
        # Two exchanges of one code conflict on this row: only one of them commits.
        cur.execute("UPDATE session_codes SET used_at = ? WHERE code_hash = ?",
                    [now, digest(code)])
        cur.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, NULL)",
                    [digest(value), row[0], now, now + timedelta(hours=hours)])
        return True

    return value if writing(conn, work) else None
