"""Quality in the background: which campaigns' results are stale, and computing them once.

A campaign is stale when the fingerprint of its answers and reviews (counts and sums that any
new answer, rejection or review changes) differs from the one its stored results were computed
from. The fingerprint is read before the computation reads the answers, so an answer that
arrives while it runs is either in the result or makes the campaign stale again: never lost.
A worker takes a campaign with a lease (compare-and-swap on `quality_jobs`), so two processes
never compute the same campaign at once, and a lease left by a dead process runs out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from core import quality
from core.db import Connection, Cursor, reading, writing

LEASE = timedelta(minutes=5)  # longer than any one campaign's computation


@dataclass(frozen=True)
class Freshness:
    """When a campaign's quality results were last computed, and whether newer work waits."""
    computed_at: datetime | None
    seconds: float | None
    stale: bool


def fingerprint(cur: Cursor, campaign_id: int) -> str:
    """What the campaign's quality depends on, as one comparable string."""
    answers, ids, rejected = cur.execute(
        "SELECT count(*), coalesce(sum(id), 0), count(*) FILTER (WHERE status = 'rejected') "
        "FROM responses WHERE campaign_id = ?", [campaign_id]).fetchone()
    edits, = cur.execute("SELECT count(*) FROM answer_versions WHERE campaign_id = ?",
                         [campaign_id]).fetchone()
    reviews, = cur.execute(
        "SELECT count(*) FROM review_actions a JOIN responses r ON r.id = a.response_id "
        "WHERE r.campaign_id = ?", [campaign_id]).fetchone()
    gold, = cur.execute("SELECT count(*) FROM items WHERE campaign_id = ? AND gold IS NOT NULL",
                        [campaign_id]).fetchone()
    return f"{answers}:{ids}:{rejected}:{reviews}:{gold}:{edits}"


def stale_campaigns(conn: Connection) -> list[int]:
    """Open campaigns with answers whose stored quality is older than their answers."""
    with reading(conn) as cur:
        candidates = cur.execute(
            "SELECT c.id, j.fingerprint FROM campaigns c "
            "LEFT JOIN quality_jobs j ON j.campaign_id = c.id "
            "WHERE c.status IN ('live', 'paused') AND c.kind = 'standard' AND EXISTS "
            "(SELECT 1 FROM responses r WHERE r.campaign_id = c.id) ORDER BY c.id").fetchall()
        return [campaign_id for campaign_id, stored in candidates
                if fingerprint(cur, campaign_id) != stored]


def freshness(conn: Connection, campaign_id: int) -> Freshness:
    """When the campaign's results were computed and whether answers came in since."""
    with reading(conn) as cur:
        row = cur.execute("SELECT fingerprint, computed_at, seconds FROM quality_jobs "
                          "WHERE campaign_id = ?", [campaign_id]).fetchone()
        current = fingerprint(cur, campaign_id)
    if row is None:
        return Freshness(None, None, set(current.split(":")) != {"0"})  # anything to compute
    return Freshness(row[1], row[2], row[0] != current)


def compute(conn: Connection, campaign_id: int, worker: str, now: datetime,
            clock=time.perf_counter) -> bool:
    """Compute one campaign's quality if no other worker holds it; True if this one did."""
    if not _take(conn, campaign_id, worker, now):
        return False
    try:
        with reading(conn) as cur:
            seen = fingerprint(cur, campaign_id)  # before the answers are read: see above
        started = clock()
        quality.refresh(conn, campaign_id, now)
        took = clock() - started
    except BaseException:
        _release(conn, campaign_id, worker)
        raise
    writing(conn, lambda cur: cur.execute(
        "UPDATE quality_jobs SET fingerprint = ?, computed_at = ?, seconds = ?, "
        "leased_by = NULL, lease_until = NULL WHERE campaign_id = ? AND leased_by = ?",
        [seen, now, took, campaign_id, worker]))
    return True


def run_once(conn: Connection, worker: str, now: datetime) -> list[int]:
    """One pass of a worker: compute every stale campaign no other worker holds."""
    return [c for c in stale_campaigns(conn) if compute(conn, c, worker, now)]


def _take(conn: Connection, campaign_id: int, worker: str, now: datetime) -> bool:
    def work(cur: Cursor) -> bool:
        cur.execute("INSERT INTO quality_jobs (campaign_id) VALUES (?) ON CONFLICT DO NOTHING",
                    [campaign_id])
        holder, until = cur.execute("SELECT leased_by, lease_until FROM quality_jobs "
                                    "WHERE campaign_id = ?", [campaign_id]).fetchone()
        if holder is not None and holder != worker and until > now:
            return False
        cur.execute("UPDATE quality_jobs SET leased_by = ?, lease_until = ? "
                    "WHERE campaign_id = ?", [worker, now + LEASE, campaign_id])
        return True

    return writing(conn, work)


def _release(conn: Connection, campaign_id: int, worker: str) -> None:
    writing(conn, lambda cur: cur.execute(
        "UPDATE quality_jobs SET leased_by = NULL, lease_until = NULL "
        "WHERE campaign_id = ? AND leased_by = ?", [campaign_id, worker]))
