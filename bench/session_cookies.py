"""Sign-in cookies for simulated browsers (bench/sessions_load.py), as the app would set them."""

from __future__ import annotations

import time
from pathlib import Path

import jwt

from server import settings

COOKIE_NAME = "quorum_auth"  # ui.auth.COOKIE_NAME; ui.auth itself wants a Streamlit runtime


def cookie_for(database: Path, username: str, days: int = 1) -> str:
    """A Cookie header value signing `username` in on a server using `database`'s key file."""
    key = settings.cookie_key(settings.load().cookie_key, database)
    token = jwt.encode({"username": username, "exp_date": time.time() + days * 86400}, key,
                       algorithm="HS256")
    return f"{COOKIE_NAME}={token}"
