"""Reviewing answers: accept or reject with a reason; rejection frees the slot and reverses pay."""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd

from core import campaigns, quality, rollups
from core.db import Connection, Cursor, reading, writing
from core.errors import Conflict, Invalid, NotFound
from core.users import User

STATUSES = ("submitted", "accepted", "rejected")


def answers(conn: Connection, actor: User, campaign_id: int, *,
            expert: str | None = None, item_id: int | None = None, status: str | None = None,
            since: datetime | None = None, until: datetime | None = None,
            limit: int = 500) -> pd.DataFrame:
    """A campaign's answers, newest first, filtered by expert, item, status and date."""
    campaigns.require_owner(actor, campaigns.get(conn, campaign_id))
    with reading(conn) as cur:
        return cur.execute(
            """
            SELECT r.id AS response_id, r.item_id, i.external_id, u.username AS expert,
                   r.status, r.submitted_at, r.duration_s, r.spec_version, r.answer, i.payload
            FROM responses r JOIN items i ON i.id = r.item_id JOIN users u ON u.id = r.user_id
            WHERE r.campaign_id = $c
              AND ($expert::VARCHAR IS NULL OR u.username = $expert)
              AND ($item::INTEGER IS NULL OR r.item_id = $item)
              AND ($status::VARCHAR IS NULL OR r.status = $status)
              AND ($since::TIMESTAMP IS NULL OR r.submitted_at >= $since)
              AND ($until::TIMESTAMP IS NULL OR r.submitted_at < $until)
            ORDER BY r.submitted_at DESC, r.id DESC
            LIMIT $limit
            """, {"c": campaign_id, "expert": expert or None, "item": item_id,
                  "status": status or None, "since": since, "until": until,
                  "limit": limit}).df()


def accept(conn: Connection, actor: User, response_id: int, now: datetime,
           reason: str = "") -> None:
    """Mark a submitted answer accepted."""
    def work(cur: Cursor) -> None:
        campaign_id, status, _, _ = _response(cur, actor, response_id)
        if status == "accepted":
            return  # accepting twice changes nothing
        if status == "rejected":
            raise Conflict("This answer was rejected and its place given to another expert; "
                           "it cannot be accepted now.")
        rollups.reviewed(cur, response_id, "accepted")
        cur.execute("UPDATE responses SET status = 'accepted' WHERE id = ?", [response_id])
        _record(cur, response_id, actor, "accept", reason, now)

    writing(conn, work)


def reject(conn: Connection, actor: User, response_id: int, reason: str,
           now: datetime) -> None:
    """Reject an answer: free its item slot and reverse its pay with a new ledger row."""
    if not reason.strip():
        raise Invalid("Give a reason: the expert sees it.", {"reason": "required to reject"})

    def work(cur: Cursor) -> None:
        campaign_id, status, item_id, user_id = _response(cur, actor, response_id)
        if status == "rejected":
            raise Conflict("This answer is already rejected.")
        rollups.reviewed(cur, response_id, "rejected")
        cur.execute("UPDATE responses SET status = 'rejected' WHERE id = ?", [response_id])
        cur.execute("UPDATE items SET response_count = response_count - 1, version = version + 1"
                    " WHERE id = ?", [item_id])
        paid = cur.execute("SELECT coalesce(sum(amount), 0) FROM pay_ledger "
                           "WHERE response_id = ?", [response_id]).fetchone()[0]
        if paid:
            cur.execute("INSERT INTO pay_ledger (user_id, campaign_id, response_id, kind, amount,"
                        " note, created_at) VALUES (?, ?, ?, 'reversal', ?, ?, ?)",
                        [user_id, campaign_id, response_id, -paid,
                         f"Answer rejected: {reason.strip()}", now])
            rollups.paid(cur, now, campaign_id, user_id, -paid)
        _record(cur, response_id, actor, "reject", reason, now)

    writing(conn, work)


def make_gold(conn: Connection, actor: User, response_id: int,
              now: datetime) -> str:
    """Make an answer's item a gold item whose expected answer is this answer's; return it."""
    def work(cur: Cursor) -> str:
        campaign_id, _, item_id, _ = _response(cur, actor, response_id)
        campaign = campaigns.fetch(cur, campaign_id)
        spec = campaigns.spec_of(cur, campaign_id, campaign.spec_version)
        question = quality.key_question(spec)
        if question is None:
            raise Invalid("This form has no single-choice or rating question a gold answer "
                          "could check.")
        value = cur.execute("SELECT answer->>? FROM responses WHERE id = ?",
                            [question["id"], response_id]).fetchone()[0]
        if value is None:
            raise Invalid(f"This answer has no “{question['id']}” to use as the gold answer.")
        gold = value if question["type"] == "single_choice" else int(value)
        cur.execute("UPDATE items SET gold = ?::JSON WHERE id = ?",
                    [json.dumps({question["id"]: gold}, ensure_ascii=False), item_id])
        _record(cur, response_id, actor, "gold", f"{question['id']} = {value}", now)
        return str(value)

    return writing(conn, work)


def _response(cur: Cursor, actor: User, response_id: int):
    row = cur.execute("SELECT campaign_id, status, item_id, user_id FROM responses WHERE id = ?",
                      [response_id]).fetchone()
    if row is None:
        raise NotFound(f"There is no answer number {response_id}.")
    campaigns.require_owner(actor, campaigns.fetch(cur, row[0]))
    return row


def _record(cur, response_id: int, actor: User, action: str, reason: str, now: datetime) -> None:
    cur.execute("INSERT INTO review_actions VALUES (?, ?, ?, ?, ?)",
                [response_id, actor.id, action, reason.strip(), now])


def history(conn: Connection, campaign_id: int, limit: int = 200) -> pd.DataFrame:
    """The campaign's review actions, newest first, with who did them."""
    with reading(conn) as cur:
        return cur.execute(
            "SELECT a.acted_at, u.username AS reviewer, a.action, a.response_id, a.reason "
            "FROM review_actions a JOIN responses r ON r.id = a.response_id "
            "JOIN users u ON u.id = a.reviewer_id WHERE r.campaign_id = ? "
            "ORDER BY a.acted_at DESC LIMIT ?", [campaign_id, limit]).df()
