"""The process's background workers: quality is recomputed here, never while a page waits,
and webhook deliveries are sent from here, never from the transaction that queued them.

Every app process runs them (started with its connection); on PostgreSQL the replicas' workers
share the work through leases (`quality_jobs`, and `webhook_outbox` rows taken with
`FOR UPDATE SKIP LOCKED`), so each campaign is computed, and each delivery sent, by one of them.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading

import httpx

from core import quality_jobs, webhooks
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


def start_webhooks(conn: Connection, s: settings.Settings) -> threading.Thread | None:
    """Start the webhook delivery thread (none when `webhook_every_seconds` is 0)."""
    if s.webhook_every_seconds <= 0:
        return None
    name = f"{socket.gethostname()}:{os.getpid()}:webhooks:{len(_threads)}"
    thread = threading.Thread(target=_deliver_loop, args=(conn, name, s), daemon=True,
                              name="quorum-webhook-worker")
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


def _deliver_loop(conn: Connection, name: str, s: settings.Settings) -> None:
    # No redirects: a receiver must not send the server somewhere the egress rule did not allow.
    with httpx.Client(timeout=s.webhook_timeout_seconds, follow_redirects=False) as client:
        while not _stopping.is_set():
            sent = 0
            try:
                sent = webhooks.deliver_due(conn, client, name, s.webhook_hosts, settings.now,
                                            s.webhook_backoff)
            except Exception:  # the worker must outlive one bad pass; the next one retries
                log.exception("webhook delivery pass failed")
            if not sent:  # more may be due at once after a full batch
                _stopping.wait(s.webhook_every_seconds)
