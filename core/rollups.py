"""Work per day, campaign and expert (`work_rollup`), kept in the transactions that change it.

The leaderboard and the impact dashboard sum these rows instead of reading every answer and pay
row: at 3,000,000 answers that is tens of thousands of rows instead of millions. Each writer
calls one function here inside its own transaction, so the rollup changes with the answer or pay
row or not at all:

- `answered`: an answer and its pay (`responses.submit`);
- `withdrawn`: an answer its expert takes back (`edits.withdraw`), before it is deleted;
- `reviewed`: an answer's status changes (`review.accept`, `review.reject`), called before the
  status is written (`accepted_many` for a bulk accept);
- `paid` / `paid_where`: pay rows written elsewhere (reversals, team stages, bonuses, rewards);
- `rebuild`: recompute from the answers and the ledger, for bulk loads (the demo history, the
  benchmark generator) that insert rows directly.

A row's day is the answer's `submitted_at` day for the answer counts, and the pay row's
`created_at` day for pay. `counted` is what the leaderboard counts: accepted answers and
submitted ones not flagged too fast.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from core.db import Cursor

_COLUMNS = ("answers", "kept", "counted", "accepted", "seconds", "pay")
# The row's key: (day, campaign, expert) as one number (see migration 0016).
KEY_SQL = ("(day - DATE '1970-01-01')::BIGINT * 1000000000000 + campaign_id::BIGINT * 10000000"
           " + user_id")
_EPOCH = date(1970, 1, 1)
_ADD = ("INSERT INTO work_rollup (day, campaign_id, user_id, answers, kept, counted, accepted, "
        "seconds, pay, k) {rows} ON CONFLICT (k) DO UPDATE SET "
        + ", ".join(f"{c} = work_rollup.{c} + excluded.{c}" for c in _COLUMNS))
_UPDATE = ("UPDATE work_rollup SET " + ", ".join(f"{c} = {c} + ?" for c in _COLUMNS)
           + " WHERE k = ? RETURNING k")

# What the rollup holds, computed from the answers and the ledger (the migration's backfill).
COMPUTED_SQL = """
    SELECT day, campaign_id, user_id, sum(answers)::INTEGER AS answers,
           sum(kept)::INTEGER AS kept, sum(counted)::INTEGER AS counted,
           sum(accepted)::INTEGER AS accepted, sum(seconds)::DOUBLE AS seconds,
           sum(pay)::DECIMAL(14, 2) AS pay, {key} AS k
    FROM (
        SELECT submitted_at::DATE AS day, campaign_id, user_id, count(*) AS answers,
               count(*) FILTER (WHERE status <> 'rejected') AS kept,
               count(*) FILTER (WHERE status = 'accepted'
                                   OR (status = 'submitted' AND NOT too_fast)) AS counted,
               count(*) FILTER (WHERE status = 'accepted') AS accepted,
               sum(duration_s) AS seconds, 0 AS pay
        FROM responses WHERE {responses} GROUP BY 1, 2, 3
        UNION ALL
        SELECT created_at::DATE, coalesce(campaign_id, 0), user_id, 0, 0, 0, 0, 0, sum(amount)
        FROM pay_ledger WHERE {ledger} GROUP BY 1, 2, 3
    ) AS parts
    GROUP BY 1, 2, 3
""".replace("{key}", KEY_SQL)


def _add(cur: Cursor, day: date, campaign_id: int, user_id: int, answers: int = 0,
         kept: int = 0, counted: int = 0, accepted: int = 0, seconds: float = 0.0,
         pay: Decimal | int = 0) -> None:
    """Add to one row: an UPDATE by its key (an index look-up on both engines), and the upsert
    only for a row not there yet (an upsert costs DuckDB several milliseconds more)."""
    if campaign_id >= 10**5 or user_id >= 10**7:
        # The packed key would collide with another row's and add to the wrong one: refuse.
        raise OverflowError(f"work_rollup's key holds campaign ids below 100,000 and user ids "
                            f"below 10,000,000 (got {campaign_id}, {user_id}); widen it in a "
                            "migration first")
    deltas = [answers, kept, counted, accepted, seconds, pay]
    key = (day - _EPOCH).days * 10**12 + campaign_id * 10**7 + user_id
    if cur.execute(_UPDATE, [*deltas, key]).fetchone() is None:
        cur.execute(_ADD.format(rows="VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                    [day, campaign_id, user_id, *deltas, key])


def answered(cur: Cursor, now: datetime, campaign_id: int, user_id: int, *, too_fast: bool,
             seconds: float, pay: Decimal) -> None:
    """A new answer submitted at `now` (status submitted) and the pay it earned."""
    _add(cur, now.date(), campaign_id, user_id, answers=1, kept=1,
         counted=0 if too_fast else 1, seconds=seconds, pay=pay)


def reviewed(cur: Cursor, response_id: int, status: str) -> None:
    """The answer's status is about to become `status` (call before writing it)."""
    row = cur.execute("SELECT submitted_at, campaign_id, user_id, status, too_fast "
                      "FROM responses WHERE id = ?", [response_id]).fetchone()
    if row is None or row[3] == status:
        return
    submitted_at, campaign_id, user_id, old, too_fast = row

    def shares(s: str) -> tuple[int, int, int]:  # kept, counted, accepted
        return (int(s != "rejected"),
                int(s == "accepted" or (s == "submitted" and not too_fast)),
                int(s == "accepted"))

    kept, counted, accepted = [new - was for new, was in
                               zip(shares(status), shares(old), strict=True)]
    _add(cur, submitted_at.date(), campaign_id, user_id, kept=kept, counted=counted,
         accepted=accepted)


def accepted_many(cur: Cursor, response_ids: list[int]) -> None:
    """Submitted answers about to be accepted together (call before writing their status)."""
    cur.execute(_ADD.format(
        rows=f"SELECT day, campaign_id, user_id, 0, 0, counted, accepted, 0, 0, {KEY_SQL} FROM ("
             "SELECT submitted_at::DATE AS day, campaign_id, user_id, "
             "count(*) FILTER (WHERE too_fast) AS counted, count(*) AS accepted "
             "FROM responses WHERE status = 'submitted' AND id = ANY(?::BIGINT[]) "
             "GROUP BY 1, 2, 3) AS a"),
        [response_ids])


def withdrawn(cur: Cursor, response_id: int) -> None:
    """The answer is about to be deleted (call before deleting it): it leaves every count."""
    row = cur.execute("SELECT submitted_at, campaign_id, user_id, status, too_fast, duration_s "
                      "FROM responses WHERE id = ?", [response_id]).fetchone()
    if row is None:
        return
    submitted_at, campaign_id, user_id, status, too_fast, seconds = row
    counted = status == "accepted" or (status == "submitted" and not too_fast)
    _add(cur, submitted_at.date(), campaign_id, user_id, answers=-1,
         kept=-int(status != "rejected"), counted=-int(counted),
         accepted=-int(status == "accepted"), seconds=-(seconds or 0))


def paid(cur: Cursor, now: datetime, campaign_id: int | None, user_id: int,
         amount: Decimal) -> None:
    """A pay row of `amount` written at `now` (negative for a reversal)."""
    _add(cur, now.date(), campaign_id or 0, user_id, pay=amount)


def paid_where(cur: Cursor, condition: str, params: list) -> None:
    """The pay rows just written that `condition` (on `pay_ledger`) picks out, in one go."""
    cur.execute(_ADD.format(
        rows=f"SELECT day, campaign_id, user_id, 0, 0, 0, 0, 0, pay, {KEY_SQL} FROM ("
             "SELECT created_at::DATE AS day, coalesce(campaign_id, 0) AS campaign_id, user_id, "
             f"sum(amount) AS pay FROM pay_ledger WHERE {condition} GROUP BY 1, 2, 3) AS p"),
        params)


def rebuild(cur: Cursor, campaign_id: int | None = None) -> None:
    """Recompute the rollup (of one campaign, or all) from the answers and the ledger."""
    where = "true" if campaign_id is None else f"campaign_id = {int(campaign_id)}"
    cur.execute(f"DELETE FROM work_rollup WHERE {where}")
    cur.execute("INSERT INTO work_rollup (day, campaign_id, user_id, answers, kept, counted, "
                "accepted, seconds, pay, k) "
                + COMPUTED_SQL.format(responses=where, ledger=where))
