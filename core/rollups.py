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

from datetime import datetime
from decimal import Decimal

from core.db import Cursor

_COLUMNS = ("answers", "kept", "counted", "accepted", "seconds", "pay")
_ADD = ("INSERT INTO work_rollup (day, campaign_id, user_id, answers, kept, counted, accepted, "
        "seconds, pay) {rows} ON CONFLICT (day, campaign_id, user_id) DO UPDATE SET "
        + ", ".join(f"{c} = work_rollup.{c} + excluded.{c}" for c in _COLUMNS))

# What the rollup holds, computed from the answers and the ledger (the migration's backfill).
COMPUTED_SQL = """
    SELECT day, campaign_id, user_id, sum(answers)::INTEGER AS answers,
           sum(kept)::INTEGER AS kept, sum(counted)::INTEGER AS counted,
           sum(accepted)::INTEGER AS accepted, sum(seconds)::DOUBLE AS seconds,
           sum(pay)::DECIMAL(14, 2) AS pay
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
"""


def answered(cur: Cursor, now: datetime, campaign_id: int, user_id: int, *, too_fast: bool,
             seconds: float, pay: Decimal) -> None:
    """A new answer submitted at `now` (status submitted) and the pay it earned."""
    cur.execute(_ADD.format(rows="VALUES (?, ?, ?, 1, 1, ?, 0, ?, ?)"),
                [now.date(), campaign_id, user_id, 0 if too_fast else 1, seconds, pay])


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

    delta = [new - was for new, was in zip(shares(status), shares(old), strict=True)]
    cur.execute(_ADD.format(rows="VALUES (?, ?, ?, 0, ?, ?, ?, 0, 0)"),
                [submitted_at.date(), campaign_id, user_id, *delta])


def accepted_many(cur: Cursor, response_ids: list[int]) -> None:
    """Submitted answers about to be accepted together (call before writing their status)."""
    cur.execute(_ADD.format(
        rows="SELECT submitted_at::DATE, campaign_id, user_id, 0, 0, "
             "count(*) FILTER (WHERE too_fast), count(*), 0, 0 FROM responses "
             "WHERE status = 'submitted' AND id = ANY(?::BIGINT[]) GROUP BY 1, 2, 3"),
        [response_ids])


def withdrawn(cur: Cursor, response_id: int) -> None:
    """The answer is about to be deleted (call before deleting it): it leaves every count."""
    row = cur.execute("SELECT submitted_at, campaign_id, user_id, status, too_fast, duration_s "
                      "FROM responses WHERE id = ?", [response_id]).fetchone()
    if row is None:
        return
    submitted_at, campaign_id, user_id, status, too_fast, seconds = row
    counted = status == "accepted" or (status == "submitted" and not too_fast)
    cur.execute(_ADD.format(rows="VALUES (?, ?, ?, -1, ?, ?, ?, ?, 0)"),
                [submitted_at.date(), campaign_id, user_id, -int(status != "rejected"),
                 -int(counted), -int(status == "accepted"), -(seconds or 0)])


def paid(cur: Cursor, now: datetime, campaign_id: int | None, user_id: int,
         amount: Decimal) -> None:
    """A pay row of `amount` written at `now` (negative for a reversal)."""
    cur.execute(_ADD.format(rows="VALUES (?, ?, ?, 0, 0, 0, 0, 0, ?)"),
                [now.date(), campaign_id or 0, user_id, amount])


def paid_where(cur: Cursor, condition: str, params: list) -> None:
    """The pay rows just written that `condition` (on `pay_ledger`) picks out, in one go."""
    cur.execute(_ADD.format(
        rows="SELECT created_at::DATE, coalesce(campaign_id, 0), user_id, 0, 0, 0, 0, 0, "
             f"sum(amount) FROM pay_ledger WHERE {condition} GROUP BY 1, 2, 3"), params)


def rebuild(cur: Cursor, campaign_id: int | None = None) -> None:
    """Recompute the rollup (of one campaign, or all) from the answers and the ledger."""
    where = "true" if campaign_id is None else f"campaign_id = {int(campaign_id)}"
    cur.execute(f"DELETE FROM work_rollup WHERE {where}")
    cur.execute("INSERT INTO work_rollup (day, campaign_id, user_id, answers, kept, counted, "
                "accepted, seconds, pay) "
                + COMPUTED_SQL.format(responses=where, ledger=where))
