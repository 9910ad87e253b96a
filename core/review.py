"""Reviewing answers: accept or reject with a reason; rejection frees the slot and reverses pay."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pandas as pd

from core import assign, campaigns, pay, quality, rollups, workflow
from core.db import Connection, Cursor, reading, writing
from core.errors import Conflict, Invalid, NotFound
from core.users import User

STATUSES = ("submitted", "accepted", "rejected")
GOLD_TYPES = ("single_choice", "rating")


def answers(conn: Connection, actor: User, campaign_id: int, *,
            expert: str | None = None, item_id: int | None = None, status: str | None = None,
            since: datetime | None = None, until: datetime | None = None,
            too_fast: bool | None = None, limit: int = 500) -> pd.DataFrame:
    """A campaign's answers, newest first, filtered by expert, item, status, date and speed."""
    campaigns.require_owner(actor, campaigns.get(conn, campaign_id))
    with reading(conn) as cur:
        return cur.execute(
            """
            SELECT r.id AS response_id, r.item_id, i.external_id, u.username AS expert,
                   r.status, r.too_fast, r.submitted_at, r.duration_s, r.spec_version,
                   r.answer::VARCHAR AS answer, i.payload::VARCHAR AS payload
            FROM responses r JOIN items i ON i.id = r.item_id JOIN users u ON u.id = r.user_id
            WHERE r.campaign_id = $c
              AND ($expert::VARCHAR IS NULL OR u.username = $expert)
              AND ($item::INTEGER IS NULL OR r.item_id = $item)
              AND ($status::VARCHAR IS NULL OR r.status = $status)
              AND ($since::TIMESTAMP IS NULL OR r.submitted_at >= $since)
              AND ($until::TIMESTAMP IS NULL OR r.submitted_at < $until)
              AND ($fast::BOOLEAN IS NULL OR r.too_fast = $fast)
            ORDER BY r.submitted_at DESC, r.id DESC
            LIMIT $limit
            """, {"c": campaign_id, "expert": expert or None, "item": item_id,
                  "status": status or None, "since": since, "until": until,
                  "fast": too_fast, "limit": limit}).df()


def first_waiting(conn: Connection, campaign_ids: list[int]) -> int | None:
    """The first of `campaign_ids` (in their order) with an answer waiting for review, if any.

    Read from the work rollup (kept minus accepted is what waits), which has a row per day,
    campaign and expert instead of one per answer."""
    if not campaign_ids:
        return None
    with reading(conn) as cur:
        waiting = {r[0] for r in cur.execute(
            "SELECT campaign_id FROM work_rollup WHERE campaign_id = ANY($ids::INTEGER[]) "
            "GROUP BY campaign_id HAVING sum(kept) > sum(accepted)",
            {"ids": campaign_ids}).fetchall()}
    return next((c for c in campaign_ids if c in waiting), None)


def experts(conn: Connection, actor: User, campaign_id: int) -> list[str]:
    """The usernames of everyone who answered in the campaign, alphabetically."""
    campaigns.require_owner(actor, campaigns.get(conn, campaign_id))
    with reading(conn) as cur:
        return [r[0] for r in cur.execute(
            "SELECT DISTINCT u.username FROM responses r JOIN users u ON u.id = r.user_id "
            "WHERE r.campaign_id = ? ORDER BY u.username", [campaign_id]).fetchall()]


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


def accept_many(conn: Connection, actor: User, campaign_id: int, response_ids: list[int],
                now: datetime, reason: str = "") -> int:
    """Accept every still-submitted answer of `response_ids` in the campaign, in one
    transaction; return how many were accepted (accepted or rejected ones are left alone)."""
    campaigns.require_owner(actor, campaigns.get(conn, campaign_id))
    ids = sorted({int(i) for i in response_ids})
    if not ids:
        return 0

    def work(cur: Cursor) -> int:
        picked = [row[0] for row in cur.execute(
            "SELECT id FROM responses WHERE campaign_id = ? AND status = 'submitted' "
            "AND id = ANY(?::BIGINT[])", [campaign_id, ids]).fetchall()]
        if not picked:
            return 0
        rollups.accepted_many(cur, picked)
        cur.execute("UPDATE responses SET status = 'accepted' WHERE id = ANY(?::BIGINT[])",
                    [picked])
        cur.execute("INSERT INTO review_actions SELECT unnest(?::BIGINT[]), ?, 'accept', ?, ?",
                    [picked, actor.id, reason.strip(), now])
        return len(picked)

    return writing(conn, work)


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
        assign.room_freed(cur, campaign_id, item_id)
        pay.reverse_answer(cur, response_id, user_id, campaign_id,
                           f"Answer rejected: {reason.strip()}", now)
        _record(cur, response_id, actor, "reject", reason, now)

    writing(conn, work)


def gold_questions(spec: dict) -> list[dict]:
    """The questions a gold answer can check: single-choice and rating ones, in form order."""
    return [q for q in workflow.questions(spec) if q["type"] in GOLD_TYPES]


def make_gold(conn: Connection, actor: User, response_id: int,
              now: datetime, question_id: str | None = None) -> str:
    """Make an answer's item a gold item whose expected answer is this answer's to
    `question_id` (default: the question labels are aggregated on); return the value."""
    def work(cur: Cursor) -> str:
        campaign_id, _, item_id, _ = _response(cur, actor, response_id)
        campaign = campaigns.fetch(cur, campaign_id)
        spec = campaigns.spec_of(cur, campaign_id, campaign.spec_version)
        question = _gold_question(spec, question_id)
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


def _gold_question(spec: dict, question_id: str | None) -> dict:
    choices = gold_questions(spec)
    if not choices:
        raise Invalid("This form has no single-choice or rating question a gold answer "
                      "could check.")
    if question_id is None:
        return quality.key_question(spec) or choices[0]
    for question in choices:
        if question["id"] == question_id:
            return question
    raise Invalid(f"“{question_id}” is not a single-choice or rating question of this form.",
                  {"question": "pick one of the form's single-choice or rating questions"})


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


def detail(conn: Connection, actor: User, response_id: int) -> dict[str, Any]:
    """One answer as its expert gave it: the form version they saw, the item, the answer and
    the model responses it was about (answer["_model_responses"]), as plain dicts."""
    with reading(conn) as cur:
        campaign_id, _, item_id, _ = _response(cur, actor, response_id)
        version, answer, payload = cur.execute(
            "SELECT r.spec_version, r.answer::VARCHAR, i.payload::VARCHAR FROM responses r "
            "JOIN items i ON i.id = r.item_id WHERE r.id = ?", [response_id]).fetchone()
        spec = campaigns.spec_of(cur, campaign_id, version)
    answer = json.loads(answer)
    return {"spec": spec, "answer": answer, "payload": json.loads(payload),
            "model_responses": answer.pop("_model_responses", None)}


def history(conn: Connection, campaign_id: int, limit: int = 200) -> pd.DataFrame:
    """The campaign's review actions, newest first, with who did them."""
    with reading(conn) as cur:
        return cur.execute(
            "SELECT a.acted_at, u.username AS reviewer, a.action, a.response_id, a.reason "
            "FROM review_actions a JOIN responses r ON r.id = a.response_id "
            "JOIN users u ON u.id = a.reviewer_id WHERE r.campaign_id = ? "
            "ORDER BY a.acted_at DESC LIMIT ?", [campaign_id, limit]).df()
