"""Personal access tokens: made and revoked by their owner, shown once, stored as a hash.

A token acts with its owner's roles as they are when it is used (a role taken away is gone for
the token too). Only the SHA-256 of a token is stored: tokens are 32 random bytes, so a slow
password hash would add nothing but latency to every API call.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from core import users
from core.db import Connection, Cursor, reading, writing
from core.errors import Invalid, NotFound
from core.users import User

PREFIX = "qpat_"
MAX_DAYS = 366
MAX_PER_USER = 20


class Unauthenticated(Exception):
    """No valid token: missing, unknown, revoked or expired (the message says which)."""


@dataclass(frozen=True)
class NewToken:
    """A token just made: `secret` is shown to its owner this once and never again."""
    id: int
    name: str
    secret: str
    expires_at: datetime


def digest(secret: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create(conn: Connection, user: User, name: str, days: int, now: datetime) -> NewToken:
    """Make a token for the user, valid for `days` days."""
    name = name.strip()
    problems = {}
    if not name or len(name) > 80:
        problems["name"] = "Give the token a name of 1 to 80 characters, such as “training job”."
    if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        problems["days"] = f"Choose a validity between 1 and {MAX_DAYS} days."
    if problems:
        raise Invalid("Please fix the token's settings.", problems)
    secret = PREFIX + secrets.token_urlsafe(32)
    expires = now + timedelta(days=days)

    def work(cur: Cursor) -> int:
        live, = cur.execute("SELECT count(*) FROM api_tokens WHERE user_id = ? AND revoked_at "
                            "IS NULL AND expires_at > ?", [user.id, now]).fetchone()
        if live >= MAX_PER_USER:
            raise Invalid(f"You have {live} active tokens, the most allowed; revoke one first.")
        return cur.execute(
            "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            [user.id, name, digest(secret), secret[:len(PREFIX) + 4], now, expires]
        ).fetchone()[0]

    return NewToken(writing(conn, work), name, secret, expires)


def list_for(conn: Connection, user: User, now: datetime) -> pd.DataFrame:
    """The user's tokens (never their secrets), with whether each still works."""
    with reading(conn) as cur:
        return cur.execute(
            "SELECT id, name, prefix, created_at, expires_at, last_used_at, revoked_at, "
            " CASE WHEN revoked_at IS NOT NULL THEN 'revoked' WHEN expires_at <= ? THEN "
            " 'expired' ELSE 'active' END AS state "
            "FROM api_tokens WHERE user_id = ? ORDER BY created_at DESC, id DESC",
            [now, user.id]).df()


def revoke(conn: Connection, user: User, token_id: int, now: datetime) -> None:
    """Revoke one of the user's own tokens; it stops working at once."""
    def work(cur: Cursor) -> None:
        row = cur.execute("SELECT revoked_at FROM api_tokens WHERE id = ? AND user_id = ?",
                          [token_id, user.id]).fetchone()
        if row is None:
            raise NotFound("You have no such token.")
        if row[0] is None:
            cur.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ?", [now, token_id])

    writing(conn, work)


def authenticate(conn: Connection, secret: str | None, now: datetime) -> User:
    """The user a token acts for; Unauthenticated says why there is none."""
    if not secret:
        raise Unauthenticated("Send a personal access token: Authorization: Bearer <token> "
                              "(make one on your Profile page).")
    with reading(conn) as cur:
        row = cur.execute("SELECT t.id, u.username, t.expires_at, t.revoked_at, t.last_used_at, "
                          "u.disabled_at IS NOT NULL "
                          "FROM api_tokens t JOIN users u ON u.id = t.user_id "
                          "WHERE t.token_hash = ?", [digest(secret)]).fetchone()
    if row is None:
        raise Unauthenticated("This token is not known; check it was copied whole.")
    token_id, username, expires_at, revoked_at, used_at, disabled = row
    if disabled:  # an admin disabled the account: none of its tokens acts for it
        raise Unauthenticated("The account this token acts for is disabled; ask an "
                              "administrator to enable it again.")
    if revoked_at is not None:
        raise Unauthenticated("This token was revoked; make a new one on your Profile page.")
    if expires_at <= now:
        raise Unauthenticated(f"This token expired on {expires_at:%Y-%m-%d %H:%M} UTC; make a "
                              "new one on your Profile page.")
    if used_at is None or now - used_at > timedelta(minutes=1):
        # Noted at most once a minute, so a busy pipeline does not write on every call.
        writing(conn, lambda cur: cur.execute(
            "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [now, token_id]))
    return users.get_user(conn, username)
