"""Changing one's mind: an expert edits or withdraws a recent answer nobody has reviewed yet.

Each change is one transaction. An edit replaces the stored answer and keeps the version it
replaced in `answer_versions`; counts and pay do not move. A withdrawal keeps the last version
there too, deletes the answer, frees its place on the item, reverses its pay with a new ledger
row and records a skip, so the item goes to other experts and not back to this one. Exports and
quality read `responses`, so they carry the final answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from core import assign, campaigns, pay, rollups, workflow
from core.db import Connection, Cursor, reading, writing
from core.errors import Conflict, Forbidden, NotFound
from core.users import User


@dataclass(frozen=True)
class Editable:
    """One of the expert's answers that may still be changed, and until when."""
    response_id: int
    item_id: int
    campaign_id: int
    spec_version: int
    answer: dict[str, Any]
    payload: dict[str, Any]
    submitted_at: datetime
    edited_at: datetime | None
    version: int
    until: datetime


def recent(conn: Connection, user: User, campaign_id: int, now: datetime,
           limit: int = 5) -> list[Editable]:
    """The expert's latest answers in a campaign that they may still edit or withdraw."""
    with reading(conn) as cur:
        campaign = campaigns.fetch(cur, campaign_id)
        if campaign.edit_minutes <= 0 or campaign.closed_reason(now):
            return []
        rows = cur.execute(
            """
            SELECT r.id, r.item_id, r.campaign_id, r.spec_version, r.answer, i.payload,
                   r.submitted_at, v.edited_at, coalesce(v.n, 0) + 1
            FROM responses r JOIN items i ON i.id = r.item_id
            LEFT JOIN (SELECT response_id, max(replaced_at) AS edited_at, count(*) AS n
                       FROM answer_versions WHERE user_id = $u AND campaign_id = $c
                       GROUP BY response_id) v ON v.response_id = r.id
            WHERE r.user_id = $u AND r.campaign_id = $c AND r.status = 'submitted'
              AND r.submitted_at > $since
              AND NOT EXISTS (SELECT 1 FROM review_actions a WHERE a.response_id = r.id)
            ORDER BY r.submitted_at DESC, r.id DESC LIMIT $limit
            """, {"u": user.id, "c": campaign_id, "limit": limit,
                  "since": now - timedelta(minutes=campaign.edit_minutes)}).fetchall()
    window = timedelta(minutes=campaign.edit_minutes)
    return [Editable(r[0], r[1], r[2], r[3], json.loads(r[4]), json.loads(r[5]), r[6], r[7],
                     r[8], r[6] + window) for r in rows]


def edit(conn: Connection, user: User, response_id: int, answer: dict[str, Any],
         now: datetime) -> int:
    """Replace an answer with a new version (the old one is kept); return the new version."""
    def work(cur: Cursor) -> int:
        row, campaign = _changeable(cur, user, response_id, now)
        campaign_id, spec_version, old_text, version = row[1], row[2], row[3], row[6]
        spec = campaigns.spec_of(cur, campaign_id, spec_version)
        old = json.loads(old_text)
        record = old.get(workflow.MODEL_STEP)
        available = None if record is None else [
            r["slot"] for r in record.get("responses", []) if r.get("status") == "ok"]
        clean = workflow.clean_answer(spec, answer, available)
        if record is not None:
            clean[workflow.MODEL_STEP] = record  # the responses judged stay the same
        if clean == old:
            raise Conflict("This is the answer already stored: change something first.")
        # The version's key makes two edits of one answer from the same version conflict, and
        # on DuckDB so does the UPDATE of the same row: one retries and sees the other's.
        _keep_version(cur, response_id, version, row, user.id, now, "edit")
        cur.execute("UPDATE responses SET answer = ? WHERE id = ?",
                    [json.dumps(clean, ensure_ascii=False), response_id])
        return version + 1

    return writing(conn, work, locks_rows=True)


def withdraw(conn: Connection, user: User, response_id: int, now: datetime) -> None:
    """Take an answer back: it leaves counts and pay, and its place on the item is freed."""
    def work(cur: Cursor) -> None:
        row, campaign = _changeable(cur, user, response_id, now)
        item_id, campaign_id, version = row[0], row[1], row[6]
        _keep_version(cur, response_id, version, row, user.id, now, "withdraw")
        rollups.withdrawn(cur, response_id)
        cur.execute("DELETE FROM responses WHERE id = ?", [response_id])
        cur.execute("UPDATE items SET response_count = response_count - 1, version = version + 1"
                    " WHERE id = ?", [item_id])
        assign.room_freed(cur, campaign_id, item_id)
        pay.reverse_answer(cur, response_id, user.id, campaign_id, "Answer withdrawn", now)
        cur.execute("UPDATE model_generations SET response_id = NULL WHERE response_id = ?",
                    [response_id])
        # Not offered to this expert again: they chose to give it up.
        cur.execute("INSERT INTO skips VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    [item_id, user.id, campaign_id, now])

    writing(conn, work, locks_rows=True)


def versions(conn: Connection, user: User, response_id: int) -> pd.DataFrame:
    """Earlier versions of an answer, oldest first: its expert's, or its campaign owner's."""
    with reading(conn) as cur:
        rows = cur.execute(
            "SELECT version, answer, submitted_at, replaced_at, change, user_id, campaign_id "
            "FROM answer_versions WHERE response_id = ? ORDER BY version",
            [response_id]).df()
        if not rows.empty and int(rows["user_id"].iloc[0]) != user.id:
            campaigns.require_owner(user, campaigns.fetch(cur, int(rows["campaign_id"].iloc[0])))
    return rows.drop(columns=["user_id", "campaign_id"])


def _changeable(cur: Cursor, user: User, response_id: int, now: datetime):
    """The answer's row and campaign, locked, if this expert may still change it."""
    row = cur.execute(
        "SELECT item_id, campaign_id, spec_version, answer, submitted_at, "
        "(SELECT max(replaced_at) FROM answer_versions WHERE response_id = $r), "
        "(SELECT count(*) FROM answer_versions WHERE response_id = $r) + 1, "
        "user_id, status FROM responses WHERE id = $r" + cur.for_update("responses"),
        {"r": response_id}).fetchone()
    if row is None:
        raise NotFound("That answer is no longer stored: it may have been withdrawn already.")
    if row[7] != user.id:
        raise Forbidden("Only the expert who gave an answer can change it.")
    campaign = campaigns.fetch(cur, row[1])
    closed = campaign.closed_reason(now)
    if closed:
        raise Conflict(f"{closed} Its answers can no longer be changed.")
    reviewed = cur.execute("SELECT 1 FROM review_actions WHERE response_id = ? LIMIT 1",
                           [response_id]).fetchone()
    if row[8] != "submitted" or reviewed:
        raise Conflict("This answer has been reviewed already, so it stays as it is.")
    if campaign.edit_minutes <= 0:
        raise Conflict("This campaign does not let answers be changed once submitted.")
    if now >= row[4] + timedelta(minutes=campaign.edit_minutes):
        raise Conflict(f"Answers here can be changed for {campaign.edit_minutes} minutes after "
                       "they are submitted; that time is over for this one.")
    return row[:7], campaign


def _keep_version(cur: Cursor, response_id: int, version: int, row, user_id: int,
                  now: datetime, change: str) -> None:
    item_id, campaign_id, spec_version, answer, submitted_at, edited_at, _ = row
    cur.execute("INSERT INTO answer_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [response_id, version, item_id, campaign_id, user_id, spec_version, answer,
                 edited_at or submitted_at, now, change])
