"""Sign-in cookies for simulated browsers (bench/sessions_load.py), as the app would set them."""

from __future__ import annotations

from datetime import UTC, datetime

from core import sessions, users
from core.db import Connection
from server.routes import SESSION_COOKIE


def cookie_for(conn: Connection, username: str, hours: float = 24) -> str:
    """A Cookie header value naming a new session of `username` (made before the server starts:
    a DuckDB file has one process at a time)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    token = sessions.create(conn, users.get_user(conn, username), now, hours)
    return f"{SESSION_COOKIE}={token}"
