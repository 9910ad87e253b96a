"""The process's one database connection, shared by the pages, the HTTP routes and the worker.

It is opened by the first caller: the server's start (quorum.py's lifespan) in a real run, so the
demo workspace is built before anyone visits; a page under AppTest opens it on its first run.
"""

from __future__ import annotations

import threading

from core import db, workspace
from core.db import Connection
from server import settings, worker

_lock = threading.Lock()
_open: dict[tuple, Connection] = {}


def connection(s: settings.Settings | None = None) -> Connection:
    """The connection for these settings (read from the environment when not given)."""
    s = s or settings.load()
    key = (settings.database(s), s.demo, s.bcrypt_rounds, s.quality_every_seconds)
    conn = _open.get(key)
    if conn is not None:
        return conn
    with _lock:
        if key not in _open:
            conn = db.connect(key[0])
            workspace.ensure(conn, settings.now(), demo=s.demo, rounds=s.bcrypt_rounds)
            worker.start(conn, s.quality_every_seconds)
            worker.start_webhooks(conn, s)
            _open[key] = conn
        return _open[key]

