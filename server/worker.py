"""The process's background worker: quality is recomputed here, never while a page waits.

Every app process runs one (started with its connection); on PostgreSQL the replicas' workers
share the work through the leases in `quality_jobs`, so each campaign is computed by one of them.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading

from core import quality_jobs
from core.db import Connection
from server import settings

log = logging.getLogger("quorum.worker")


_stopping = threading.Event()
_threads: list[threading.Thread] = []


def start(conn: Connection, every_seconds: float) -> threading.Thread | None:
    """Start the worker thread for this process (none when `every_seconds` is 0)."""
    if every_seconds <= 0:
        return None
    name = f"{socket.gethostname()}:{os.getpid()}:{len(_threads)}"
    thread = threading.Thread(target=_loop, args=(conn, name, every_seconds), daemon=True,
                              name="quorum-quality-worker")
    _threads.append(thread)
    thread.start()
    return thread


@atexit.register
def _stop() -> None:
    # A daemon thread killed inside a database call at interpreter exit can abort the process:
    # let the current pass end first.
    _stopping.set()
    for thread in _threads:
        thread.join(timeout=10)


def _loop(conn: Connection, name: str, every_seconds: float) -> None:
    while not _stopping.is_set():
        try:
            done = quality_jobs.run_once(conn, name, settings.now())
            if done:
                log.info("quality recomputed for campaigns %s", done)
        except Exception:  # the worker must outlive one bad pass; the next one retries
            log.exception("quality worker pass failed")
        _stopping.wait(every_seconds)
