"""The process's one database connection, shared by the pages, the HTTP routes and the worker.

It is opened by the first caller: the server's start (quorum.py's lifespan) in a real run, so the
demo workspace is built before anyone visits; a page under AppTest opens it on its first run.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

from core import db, workspace
from core.db import Connection
from server import settings, worker

_lock = threading.Lock()
_open: dict[tuple, tuple[Connection, worker.Workers]] = {}


def connection(s: settings.Settings | None = None) -> Connection:
    """The connection for these settings (read from the environment when not given)."""
    s = s or settings.load()
    key = (settings.database(s), s.demo, s.bcrypt_rounds, s.quality_every_seconds)
    opened = _open.get(key)
    if opened is not None:
        return opened[0]
    with _lock:
        if key not in _open:
            conn = db.connect(key[0])
            made = workspace.ensure(conn, settings.now(), demo=s.demo, rounds=s.bcrypt_rounds)
            if made:
                announce_demo_passwords(made, s.db_path.parent)
            _open[key] = conn, worker.start(conn, s)
        return _open[key][0]


def close_all() -> None:
    """Stop every connection's workers and close it; the next caller opens afresh. (Tests call
    it when the databases their pages used go away, so no worker keeps polling them.)"""
    with _lock:
        opened = list(_open.values())
        _open.clear()
    worker.stop([workers for _, workers in opened])
    for conn, _ in opened:
        conn.close()


PASSWORDS_FILE = "demo_passwords.txt"


def announce_demo_passwords(passwords: dict[str, str], folder: Path) -> Path:
    """Show the operator the demo accounts' new passwords: on the console, and in an owner-only
    file in `folder` (beside the DuckDB file; data/ by default). Nobody else is shown them."""
    lines = ["# Quorum's demo workspace: its accounts and the passwords made when it was "
             "created.", "# Change one on the account's Profile page; this file is not updated.",
             *(f"{name} {password}" for name, password in passwords.items())]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / PASSWORDS_FILE
    fd, draft = tempfile.mkstemp(dir=folder, prefix=".demo_passwords-")  # 0600 from birth
    with os.fdopen(fd, "w") as out:
        out.write("\n".join(lines) + "\n")
    os.replace(draft, target)
    print("\n".join(["", "Quorum: the demo workspace was created. Its logins (also in "
                     f"{target}, readable by this user only):",
                     *(f"  {name:<8} {password}" for name, password in passwords.items()), ""]),
          flush=True)
    return target
