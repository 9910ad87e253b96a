"""Submitting answers: one transaction for the answer, the counter, the lease and the pay."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from core import campaigns, models, rollups, workflow
from core.assign import answered_in, check_can_answer
from core.db import Connection, Cursor, reading, writing
from core.errors import Conflict, NotFound
from core.events import answer_submitted
from core.users import User

# An answer given in under this share of the campaign's expected time is flagged too fast.
TOO_FAST_SHARE = 0.25


@dataclass(frozen=True)
class Receipt:
    """What the expert is told after their answer is committed."""
    response_id: int
    campaign_id: int
    campaign_count: int
    total_count: int
    earned: Decimal
    seconds: float = 0.0          # how long the answer took, from the reservation
    too_fast: bool = False        # far under the expected time: no points until reviewed
    expected_minutes: float = 0.0
    edit_minutes: int = 0         # how long the expert may still edit or withdraw it


def submit(conn: Connection, user: User, item_id: int, answer: dict[str, Any],
           spec_version: int, now: datetime) -> Receipt:
    """Validate and store an answer to a reserved item; the receipt is read after the commit."""
    response_id, campaign, pay, seconds, too_fast = writing(
        conn, lambda cur: _submit(cur, user, item_id, answer, spec_version, now),
        locks_rows=True)
    campaign_count, total_count = counts(conn, user.id, campaign.id)
    return Receipt(response_id, campaign.id, campaign_count, total_count, pay, seconds, too_fast,
                   campaign.minutes_per_item, campaign.edit_minutes)


def _submit(cur, user, item_id, answer, spec_version, now):
    # The item's row is locked first (on PostgreSQL), as claims lock it: submits and claims of
    # one item take turns, and the room re-checked below is the room at commit.
    item = cur.execute("SELECT campaign_id, response_count, gold IS NOT NULL FROM items "
                       "WHERE id = ?" + cur.for_update("items"), [item_id]).fetchone()
    if item is None:
        raise NotFound(f"There is no item number {item_id}.")
    campaign_id, answered, is_gold = item
    campaign = campaigns.fetch(cur, campaign_id)
    closed = campaign.closed_reason(now)
    if closed:
        raise Conflict(f"{closed} Your answer was not saved.")
    check_can_answer(cur, user, campaign, now)
    spec_row = cur.execute("SELECT spec FROM campaign_specs WHERE campaign_id = ? AND version = ?",
                           [campaign_id, spec_version]).fetchone()
    if spec_row is None:
        raise NotFound(f"Campaign {campaign_id} has no form version {spec_version}.")
    spec = json.loads(spec_row[0])
    # A form with a model step is answered about the responses that came; the answer keeps them.
    available, model_record = models.for_submission(cur, user.id, item_id, spec)
    clean = workflow.clean_answer(spec, answer, available)
    if model_record is not None:
        clean[workflow.MODEL_STEP] = model_record
    # Filtering on the user alone lets DuckDB use the responses_user index.
    if cur.execute("SELECT 1 FROM responses WHERE user_id = ? "
                   "HAVING count(*) FILTER (WHERE item_id = ?) > 0", [user.id, item_id]).fetchone():
        raise Conflict("You already answered this item; your first answer is the one kept.")
    leased_at, others = cur.execute(
        "SELECT max(leased_at) FILTER (WHERE user_id = $u), "
        "count(*) FILTER (WHERE user_id <> $u AND expires_at > $now) FROM leases "
        "WHERE item_id = $i", {"u": user.id, "i": item_id, "now": now}).fetchone()
    # Checked on every submit, live lease or not: `now` was read before the write lock, so a
    # lease that looks live here may already have been counted as free by a later claim.
    if not (is_gold and campaign.gold_rate > 0):
        _check_room(campaign, answered + others)
    _check_cap(cur, campaign, user)
    started_at = leased_at or now
    seconds = (now - started_at).total_seconds()
    too_fast = seconds < TOO_FAST_SHARE * campaign.minutes_per_item * 60
    response_id = cur.execute(
        "INSERT INTO responses (item_id, campaign_id, user_id, spec_version, answer, started_at,"
        " submitted_at, duration_s, too_fast) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        [item_id, campaign_id, user.id, spec_version, json.dumps(clean, ensure_ascii=False),
         started_at, now, seconds, too_fast]
    ).fetchone()[0]
    if model_record is not None:
        models.attach(cur, user.id, item_id, response_id)
    cur.execute("UPDATE items SET response_count = response_count + 1, version = version + 1 "
                "WHERE id = ?", [item_id])
    cur.execute("DELETE FROM leases WHERE item_id = ? AND user_id = ?", [item_id, user.id])
    answer_submitted(cur, campaign, item_id, response_id, answered + 1, now)  # for webhooks
    cur.execute("INSERT INTO pay_ledger (user_id, campaign_id, response_id, kind, amount, note,"
                " created_at) VALUES (?, ?, ?, 'item', ?, 'Answer submitted', ?)",
                [user.id, campaign_id, response_id, campaign.pay_per_item, now])
    rollups.answered(cur, now, campaign_id, user.id, seconds=seconds, pay=campaign.pay_per_item,
                     too_fast=too_fast)
    return response_id, campaign, campaign.pay_per_item, seconds, too_fast


def _check_room(campaign: campaigns.Campaign, taken: int) -> None:
    """Refuse an answer once stored answers and others' live reservations fill the item."""
    if taken >= campaign.overlap:
        raise Conflict(
            f"Your reservation of this item ran out after {campaign.lease_minutes} minutes and "
            "other experts have taken its remaining places, so this answer cannot be counted "
            "and was not saved.")


def _check_cap(cur: Cursor, campaign: campaigns.Campaign, user: User) -> None:
    """Refuse an answer beyond the campaign's cap on answers per expert."""
    if campaign.per_expert_cap is not None:
        done = answered_in(cur, user.id, campaign.id)
        if done >= campaign.per_expert_cap:
            raise Conflict(f"You have reached this campaign's cap of {campaign.per_expert_cap} "
                           "answers; this one was not saved.")


def counts(conn: Connection, user_id: int, campaign_id: int) -> tuple[int, int]:
    """The expert's number of answers in a campaign and overall."""
    with reading(conn) as cur:
        return cur.execute(
            "SELECT count(*) FILTER (WHERE campaign_id = ?), count(*) FROM responses "
            "WHERE user_id = ? AND status <> 'rejected'", [campaign_id, user_id]).fetchone()
