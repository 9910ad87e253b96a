"""Webhooks: receivers registered per campaign, and delivering the outbox to them.

A registration is outbound traffic a requester chooses, so its URL passes the operator's egress
rule (`core/egress.py`, as a model's base URL does) when it is saved and again before each
send. Deliveries follow the Standard Webhooks scheme (`webhook-id`, `webhook-timestamp`,
`webhook-signature` headers, HMAC-SHA256 with the registration's `whsec_` secret). The worker
leases due outbox rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so replicas never send one row
twice at once; a lease left by a dead process runs out), sends them, and records the status
code: a 2xx delivers, anything else is retried on the backoff schedule until it gives up. A
receiver's reply body is never read, stored or shown.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pandas as pd
from standardwebhooks.webhooks import Webhook as Signer

from core import campaigns, egress
from core.db import Connection, Cursor, reading, writing
from core.errors import Invalid, NotFound
from core.events import EVENTS
from core.users import User

MAX_PER_CAMPAIGN = 10
LEASE = timedelta(minutes=2)  # longer than a send's timeout
DEFAULT_BACKOFF = (5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0)


@dataclass(frozen=True)
class Registration:
    """A webhook just made or rotated: `secret` is shown to the requester this once."""
    id: int
    url: str
    events: tuple[str, ...]
    secret: str


@dataclass(frozen=True)
class Delivery:
    """One outbox row leased for sending."""
    id: int
    webhook_id: int
    url: str
    secret: str
    payload: str
    attempts: int

    @property
    def message_id(self) -> str:
        return f"msg_{self.id}"


def new_secret() -> str:
    """A signing secret in the Standard Webhooks form (`whsec_` and 24 random bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def register(conn: Connection, actor: User, campaign_id: int, url: str,
             events: Sequence[str], policy: egress.EgressPolicy, now: datetime) -> Registration:
    """Register a receiver on a campaign (its owner or an admin) for some events."""
    campaigns.require_owner(actor, campaigns.get(conn, campaign_id))
    url = (url or "").strip()
    problems = {}
    if not url.startswith(("http://", "https://")):
        problems["url"] = "Enter an http:// or https:// address."
    chosen = tuple(dict.fromkeys(events))
    unknown = [e for e in chosen if e not in EVENTS]
    if not chosen or unknown:
        problems["events"] = f"Choose one or more of {', '.join(EVENTS)}."
    if problems:
        raise Invalid("Please fix the webhook.", problems)
    try:
        egress.check_url(policy, actor, url)
    except Invalid as error:
        raise Invalid(str(error), {"url": str(error)}) from None
    secret = new_secret()

    def work(cur: Cursor) -> int:
        count, = cur.execute("SELECT count(*) FROM webhooks WHERE campaign_id = ? "
                             "AND deleted_at IS NULL", [campaign_id]).fetchone()
        if count >= MAX_PER_CAMPAIGN:
            raise Invalid(f"This campaign has {count} webhooks, the most allowed; delete one.")
        return cur.execute(
            "INSERT INTO webhooks (campaign_id, url, events, secret, created_by, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            [campaign_id, url, list(chosen), secret, actor.id, now]).fetchone()[0]

    return Registration(writing(conn, work), url, chosen, secret)


def _owned_hook(conn: Connection, actor: User, webhook_id: int) -> tuple[int, str, tuple]:
    with reading(conn) as cur:
        row = cur.execute("SELECT campaign_id, url, events FROM webhooks WHERE id = ? "
                          "AND deleted_at IS NULL", [webhook_id]).fetchone()
    if row is None:
        raise NotFound(f"There is no webhook number {webhook_id}.")
    campaigns.require_owner(actor, campaigns.get(conn, row[0]))
    return row[0], row[1], tuple(row[2])


def rotate(conn: Connection, actor: User, webhook_id: int, now: datetime) -> Registration:
    """Give a webhook a new signing secret; deliveries from now on are signed with it."""
    _, url, events = _owned_hook(conn, actor, webhook_id)
    secret = new_secret()
    writing(conn, lambda cur: cur.execute(
        "UPDATE webhooks SET secret = ?, rotated_at = ? WHERE id = ?", [secret, now, webhook_id]))
    return Registration(webhook_id, url, events, secret)


def delete(conn: Connection, actor: User, webhook_id: int, now: datetime) -> None:
    """Stop a webhook: nothing more is queued for it and what waits is not sent."""
    _owned_hook(conn, actor, webhook_id)

    def work(cur: Cursor) -> None:
        cur.execute("UPDATE webhooks SET deleted_at = ? WHERE id = ?", [now, webhook_id])
        cur.execute("UPDATE webhook_outbox SET status = 'failed', last_error = 'webhook deleted' "
                    "WHERE webhook_id = ? AND status = 'pending'", [webhook_id])

    writing(conn, work)


def list_for(conn: Connection, actor: User, campaign_id: int) -> pd.DataFrame:
    """The campaign's webhooks (never their secrets) with their delivery counts."""
    campaigns.require_owner(actor, campaigns.get(conn, campaign_id))
    with reading(conn) as cur:
        frame = cur.execute(
            "SELECT w.id, w.url, w.events, w.created_at, w.rotated_at, "
            " count(o.id) FILTER (WHERE o.status = 'delivered') AS delivered, "
            " count(o.id) FILTER (WHERE o.status = 'pending') AS pending, "
            " count(o.id) FILTER (WHERE o.status = 'failed') AS failed "
            "FROM webhooks w LEFT JOIN webhook_outbox o ON o.webhook_id = w.id "
            "WHERE w.campaign_id = ? AND w.deleted_at IS NULL "
            "GROUP BY w.id, w.url, w.events, w.created_at, w.rotated_at ORDER BY w.id",
            [campaign_id]).df()
    frame["events"] = [list(e) for e in frame["events"]]
    return frame


def deliveries(conn: Connection, actor: User, campaign_id: int,
               limit: int = 200) -> pd.DataFrame:
    """The campaign's latest deliveries with their status codes (never a reply's body)."""
    campaigns.require_owner(actor, campaigns.get(conn, campaign_id))
    with reading(conn) as cur:
        return cur.execute(
            "SELECT o.id, 'msg_' || CAST(o.id AS VARCHAR) AS message_id, o.webhook_id, w.url, "
            " o.event, o.status, o.attempts, o.last_status, o.last_error, o.created_at, "
            " o.last_attempt_at, o.delivered_at, "
            " CASE WHEN o.status = 'pending' THEN o.next_attempt_at END AS next_attempt_at "
            "FROM webhook_outbox o JOIN webhooks w ON w.id = o.webhook_id "
            "WHERE o.campaign_id = ? ORDER BY o.id DESC LIMIT ?", [campaign_id, limit]).df()


def lease_due(conn: Connection, worker: str, now: datetime, limit: int = 20) -> list[Delivery]:
    """Take up to `limit` due deliveries no other worker holds, for `LEASE`."""
    with reading(conn) as cur:  # the idle case reads only: no write lock taken every pass
        if not cur.execute(
                "SELECT 1 FROM webhook_outbox WHERE status = 'pending' AND next_attempt_at <= ? "
                "AND (lease_until IS NULL OR lease_until <= ?) LIMIT 1", [now, now]).fetchone():
            return []

    def work(cur: Cursor) -> list[Delivery]:
        ids = [row[0] for row in cur.execute(
            "SELECT id FROM webhook_outbox WHERE status = 'pending' AND next_attempt_at <= ? "
            "AND (lease_until IS NULL OR lease_until <= ?) ORDER BY next_attempt_at, id LIMIT ?"
            + cur.for_update("webhook_outbox", skip_locked=True), [now, now, limit]).fetchall()]
        if not ids:
            return []
        cur.execute("UPDATE webhook_outbox SET leased_by = ?, lease_until = ? "
                    "WHERE id = ANY(?)", [worker, now + LEASE, ids])
        rows = cur.execute(
            "SELECT o.id, o.webhook_id, w.url, w.secret, o.payload, o.attempts "
            "FROM webhook_outbox o JOIN webhooks w ON w.id = o.webhook_id "
            "WHERE o.id = ANY(?) ORDER BY o.id", [ids]).fetchall()
        return [Delivery(*row) for row in rows]

    return writing(conn, work, locks_rows=True)


def send(client: httpx.Client, delivery: Delivery, policy: egress.EgressPolicy,
         now: datetime) -> tuple[int | None, str | None]:
    """POST one signed delivery; the receiver's status code, or Quorum's words for a failure."""
    if not egress.allows_url(policy, delivery.url):
        return None, "host not allowed by the server's webhook hosts setting"
    headers = {"content-type": "application/json", "user-agent": "Quorum-Webhooks/1",
               "webhook-id": delivery.message_id,
               "webhook-timestamp": str(int(now.replace(tzinfo=UTC).timestamp())),
               "webhook-signature": Signer(delivery.secret).sign(
                   delivery.message_id, now, delivery.payload)}
    try:
        # Streamed and closed unread: a receiver's reply body is never shown or stored.
        with client.stream("POST", delivery.url, content=delivery.payload.encode(),
                           headers=headers) as reply:
            return reply.status_code, None
    except httpx.TimeoutException:
        return None, "timed out"
    except httpx.HTTPError as error:
        return None, f"could not connect ({type(error).__name__})"


def record(conn: Connection, delivery: Delivery, worker: str, status: int | None,
           error: str | None, now: datetime, backoff: Sequence[float] = DEFAULT_BACKOFF) -> str:
    """Store one attempt's outcome; return the row's new status (delivered, pending, failed)."""
    attempts = delivery.attempts + 1
    if status is not None and 200 <= status < 300:
        outcome, next_at = "delivered", now
    elif attempts > len(backoff):
        outcome, next_at = "failed", now
    else:
        outcome, next_at = "pending", now + timedelta(seconds=backoff[attempts - 1])
    error = error if status is None else (None if outcome == "delivered" else f"HTTP {status}")
    writing(conn, lambda cur: cur.execute(
        "UPDATE webhook_outbox SET status = ?, attempts = ?, next_attempt_at = ?, "
        "last_status = ?, last_error = ?, last_attempt_at = ?, leased_by = NULL, "
        "lease_until = NULL, delivered_at = CASE WHEN ? = 'delivered' THEN ? END "
        "WHERE id = ? AND leased_by = ?",
        [outcome, attempts, next_at, status, error, now, outcome, now, delivery.id, worker]))
    return outcome


def deliver_due(conn: Connection, client: httpx.Client, worker: str, policy: egress.EgressPolicy,
                clock, backoff: Sequence[float] = DEFAULT_BACKOFF, threads: int = 8) -> int:
    """One pass of the worker: lease what is due, send it concurrently, record each outcome.

    `clock()` gives the current time (a send is signed with the time it goes out).
    """
    due = lease_due(conn, worker, clock())
    if not due:
        return 0

    def one(delivery: Delivery) -> None:
        status, error = send(client, delivery, policy, clock())
        record(conn, delivery, worker, status, error, clock(), backoff)

    with ThreadPoolExecutor(max_workers=min(threads, len(due))) as pool:
        list(pool.map(one, due))
    return len(due)


def parse_backoff(text: str | None) -> tuple[float, ...]:
    """The retry schedule from its comma-separated seconds; Invalid names a bad entry."""
    if not text or not text.strip():
        return DEFAULT_BACKOFF
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise Invalid("QUORUM_WEBHOOK_RETRY_SECONDS lists the seconds to wait before each "
                      "retry, such as 5,30,120.") from None
    if not values or any(v < 0 for v in values):
        raise Invalid("QUORUM_WEBHOOK_RETRY_SECONDS needs one or more waits of 0 seconds or more.")
    return values

