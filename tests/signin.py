"""Signing in from tests: the demo's generated passwords, and a session for an AppTest.

The demo workspace has no fixed password: its accounts' passwords are made when it is created
and written to `demo_passwords.txt` beside the database (server/runtime.py).
"""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from core import sessions, users
from server import runtime, settings
from ui.state import TOKEN_KEY

PASSWORDS_FILE = runtime.PASSWORDS_FILE


def demo_passwords(data_dir: Path) -> dict[str, str]:
    """username → password of the demo workspace whose database is in `data_dir`."""
    text = (Path(data_dir) / PASSWORDS_FILE).read_text()
    pairs = (line.split(None, 1) for line in text.splitlines()
             if line.strip() and not line.startswith("#"))
    return {name: password.strip() for name, password in pairs}


def demo_password(data_dir: Path, username: str) -> str:
    """The generated password of one demo account."""
    return demo_passwords(data_dir)[username]


def sign_in(at: AppTest, username: str) -> AppTest:
    """Give the AppTest's session a live session of `username`, as the login form would.

    AppTest cannot send cookies, so this sets the tab's token (what app.py reads first) on the
    app's own database, opened here as the app opens it (QUORUM_DB and friends).
    """
    conn = runtime.connection()
    user = users.get_user(conn, username)
    at.session_state[TOKEN_KEY] = sessions.create(conn, user, settings.now(),
                                                  settings.load().session_hours)
    return at


def open_address(at: AppTest, url_path: str) -> AppTest:
    """Open the page registered at /<url_path>, as a typed address would (not yet run)."""
    at._page_hash = calc_hash(url_path)  # st.Page hashes its url_path; a file path need not match
    return at


def signed_in(at: AppTest) -> users.User | None:
    """The user of the AppTest tab's live session (as app.py finds it), or None."""
    try:
        token = at.session_state[TOKEN_KEY]
    except KeyError:
        return None
    return sessions.lookup(runtime.connection(), token, settings.now())
