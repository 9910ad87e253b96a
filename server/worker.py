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


class Workers:
    """The background threads serving one connection."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []


_running: list[Workers] = []


def start(conn: Connection, s: settings.Settings) -> Workers:
    """Start the connection's workers: quality (unless `quality_every_seconds` is 0) and
    webhook deliveries (unless `webhook_every_seconds` is 0)."""
    workers = Workers()
    base = f"{socket.gethostname()}:{os.getpid()}:{len(_running)}"
    if s.quality_every_seconds > 0:
        workers.threads.append(threading.Thread(
            target=_loop, args=(conn, base, s.quality_every_seconds, workers.stopping),
            daemon=True, name="quorum-quality-worker"))
    if s.webhook_every_seconds > 0:
        workers.threads.append(threading.Thread(
            target=_deliver_loop, args=(conn, f"{base}:webhooks", s, workers.stopping),
            daemon=True, name="quorum-webhook-worker"))
    _running.append(workers)
    for thread in workers.threads:
        thread.start()
    return workers


def stop(stopped: list[Workers], timeout: float = 10) -> None:
    """End these workers after their current pass: all are told first, then each is awaited."""
    for workers in stopped:
        workers.stopping.set()
    for workers in stopped:
        for thread in workers.threads:
            thread.join(timeout=timeout)
        if workers in _running:
            _running.remove(workers)


@atexit.register
def _stop() -> None:
    # A daemon thread killed inside a database call at interpreter exit can abort the process:
    # let the current pass end first.
    stop(list(_running))


def _loop(conn: Connection, name: str, every_seconds: float, stopping: threading.Event) -> None:
    while not stopping.is_set():
        try:
            done = quality_jobs.run_once(conn, name, settings.now())
            if done:
                log.info("quality recomputed for campaigns %s", done)
        except Exception:  # the worker must outlive one bad pass; the next one retries
            log.exception("quality worker pass failed")
        stopping.wait(every_seconds)


def _deliver_loop(conn: Connection, name: str, s: settings.Settings,
                  stopping: threading.Event) -> None:
    # No redirects: a receiver must not send the server somewhere the egress rule did not allow.
    with httpx.Client(timeout=s.webhook_timeout_seconds, follow_redirects=False) as client:
        while not stopping.is_set():
            sent = 0
            try:
                sent = webhooks.deliver_due(conn, client, name, s.webhook_hosts, settings.now,
                                            s.webhook_backoff)
            except Exception:  # the worker must outlive one bad pass; the next one retries
                log.exception("webhook delivery pass failed")
            if not sent:  # more may be due at once after a full batch
                stopping.wait(s.webhook_every_seconds)
