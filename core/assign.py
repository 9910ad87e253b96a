"""Handing out items: the lease that reserves an item for one expert for a while."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core import campaigns, catalog
from core.campaigns import Campaign
from core.db import Connection, Cursor, reading, writing
from core.errors import Conflict, Forbidden
from core.users import User


@dataclass(frozen=True)
class Assignment:
    """An item reserved for one expert until `expires_at`."""
    item_id: int
    campaign_id: int
    payload: dict[str, Any]
    spec_version: int
    leased_at: datetime
    expires_at: datetime
    reason: str


@dataclass(frozen=True)
class Claim:
    """The outcome of asking for work: an assignment, or why there is none."""
    assignment: Assignment | None
    reason: str


def claim_next(conn: Connection, user: User, campaign_id: int, now: datetime,
               rng: random.Random | None = None) -> Claim:
    """Reserve the next item of a campaign for the expert, or say why there is none.

    With a gold rate set, `rng` decides when the next task is a gold item instead.
    """
    draw_gold = rng is not None and rng.random() < _gold_rate(conn, campaign_id)
    return writing(conn, lambda cur: _claim(cur, user, campaign_id, now, draw_gold),
                   locks_rows=True)


def _gold_rate(conn: Connection, campaign_id: int) -> float:
    with reading(conn) as cur:
        row = cur.execute("SELECT gold_rate FROM campaigns WHERE id = ?", [campaign_id]).fetchone()
    return row[0] if row else 0.0


def _claim(cur: Cursor, user: User, campaign_id: int, now: datetime,
           draw_gold: bool) -> Claim:
    campaign = campaigns.fetch(cur, campaign_id)
    check_can_answer(cur, user, campaign, now)
    if campaign.kind == "revolt":
        raise Conflict(f"“{campaign.title}” is a team task: its items are labeled together in "
                       "team sessions, not one by one.")
    held = cur.execute(
        "SELECT l.item_id, i.payload, l.leased_at, l.expires_at FROM leases l "
        "JOIN items i ON i.id = l.item_id WHERE l.user_id = ? AND l.campaign_id = ? "
        "AND l.expires_at > ? ORDER BY l.leased_at LIMIT 1", [user.id, campaign_id, now]).fetchone()
    if held:
        item_id, payload, leased_at, expires_at = held
        return Claim(Assignment(item_id, campaign_id, json.loads(payload), campaign.spec_version,
                                leased_at, expires_at, "You were already working on this item."),
                     "resumed")
    cap_reason = _cap_reached(cur, user, campaign)
    if cap_reason:
        return Claim(None, cap_reason)
    row = _pick_gold(cur, user, campaign_id) if draw_gold else None
    row = row or _pick_with_room(cur, user, campaign, now)
    if row is None:
        return Claim(None, "Every item you could answer here is answered or reserved by other "
                           "experts. Try another campaign, or come back later: reservations "
                           "that run out free their items.")
    item_id, payload, answered = row
    expires_at = now + timedelta(minutes=campaign.lease_minutes)
    # Bumping the item row makes two transactions that reserve the same item conflict (and one
    # retry) instead of both seeing a free slot: DuckDB has no SELECT … FOR UPDATE. (On
    # PostgreSQL the row lock above already keeps other claimers off this item.)
    cur.execute("UPDATE items SET version = version + 1 WHERE id = ?", [item_id])
    cur.execute(
        "INSERT INTO leases VALUES (?, ?, ?, ?, ?) ON CONFLICT (item_id, user_id) "
        "DO UPDATE SET leased_at = excluded.leased_at, expires_at = excluded.expires_at",
        [item_id, user.id, campaign_id, now, expires_at])
    return Claim(Assignment(item_id, campaign_id, json.loads(payload), campaign.spec_version,
                            now, expires_at, _why_chosen(answered, campaign.overlap)), "new")


# The item with the most answers still below the overlap, counting live reservations; `$passed`
# are items found full under their lock in this same claim.
_NEXT_ITEM_SQL = """
    SELECT i.id, i.payload, i.response_count FROM items i
    LEFT JOIN (SELECT item_id, count(*) AS n FROM leases WHERE expires_at > $now
               GROUP BY item_id) held ON held.item_id = i.id
    WHERE i.campaign_id = $c AND i.response_count < $overlap
      AND ($gold_apart = false OR i.gold IS NULL)
      AND i.response_count + coalesce(held.n, 0) < $overlap
      AND i.id NOT IN (SELECT item_id FROM responses WHERE user_id = $u)
      AND i.id NOT IN (SELECT item_id FROM skips WHERE user_id = $u AND campaign_id = $c)
      AND NOT (i.id = ANY($passed::BIGINT[]))
    ORDER BY i.response_count DESC, i.id
    LIMIT 1
"""


def _pick_with_room(cur: Cursor, user: User, campaign: Campaign, now: datetime):
    """The next item with room, locked; its room is counted again under the lock, since on
    PostgreSQL another process may have reserved it between this query's snapshot and the lock.
    """
    passed: list[int] = []
    while True:
        row = cur.execute(_NEXT_ITEM_SQL + cur.for_update("i", skip_locked=True),
                          {"c": campaign.id, "overlap": campaign.overlap, "now": now,
                           "u": user.id, "gold_apart": campaign.gold_rate > 0,
                           "passed": passed}).fetchone()
        if row is None:
            return None
        held = cur.execute("SELECT count(*) FROM leases WHERE item_id = ? AND expires_at > ? "
                           "AND user_id <> ?", [row[0], now, user.id]).fetchone()[0]
        if row[2] + held < campaign.overlap:
            return row
        passed.append(row[0])


def _pick_gold(cur: Cursor, user: User, campaign_id: int):
    """A gold item the expert has not seen; gold items are not limited by the overlap."""
    return cur.execute(
        """
        SELECT i.id, i.payload, 0 FROM items i
        WHERE i.campaign_id = $c AND i.gold IS NOT NULL
          AND i.id NOT IN (SELECT item_id FROM responses WHERE user_id = $u)
          AND i.id NOT IN (SELECT item_id FROM skips WHERE user_id = $u AND campaign_id = $c)
        ORDER BY i.response_count, i.id LIMIT 1
        """, {"c": campaign_id, "u": user.id}).fetchone()


def _why_chosen(answered: int, overlap: int) -> str:
    if answered == 0:
        return "Next unanswered item, oldest first."
    needed = overlap - answered
    return (f"Already answered by {answered}; it needs {needed} more to be complete, "
            "so it comes before fresh items.")


def _cap_reached(cur: Cursor, user: User, campaign: Campaign) -> str | None:
    if campaign.per_expert_cap is None:
        return None
    done = answered_in(cur, user.id, campaign.id)
    if done >= campaign.per_expert_cap:
        return (f"You have answered {done} items here, the most this campaign allows one expert "
                f"({campaign.per_expert_cap}). Thank you! Pick another campaign.")
    return None


def answered_in(cur: Cursor, user_id: int, campaign_id: int) -> int:
    """The expert's kept answers in a campaign (filtering on the user alone uses the index)."""
    return cur.execute("SELECT count(*) FILTER (WHERE campaign_id = ? AND status <> 'rejected') "
                       "FROM responses WHERE user_id = ?", [campaign_id, user_id]).fetchone()[0]


def check_can_answer(cur: Cursor, user: User, campaign: Campaign,
                     now: datetime) -> None:
    """Raise unless the campaign is open and matches one of the expert's skill and language."""
    closed = campaign.closed_reason(now)
    if closed:
        raise Conflict(closed)
    if not user.has("expert"):
        raise Forbidden("Answering needs the expert role, which your account does not have.")
    fits = cur.execute("SELECT 1 FROM expertise WHERE user_id = ? AND skill = ? AND language = ?",
                       [user.id, campaign.skill, campaign.language]).fetchone()
    if not fits:
        raise Forbidden("This campaign asks for "
                        f"{catalog.expertise_name(campaign.skill, campaign.language)}. "
                        "Add that expertise on your profile to take part.")


def skip(conn: Connection, user: User, item_id: int, now: datetime) -> None:
    """Give an item back without answering it; the expert will not be offered it again."""
    def work(cur: Cursor) -> None:
        row = cur.execute("SELECT campaign_id FROM leases WHERE item_id = ? AND user_id = ?",
                          [item_id, user.id]).fetchone()
        if row is None:
            return  # already released (expired and cleaned, or a second click): nothing to do
        cur.execute("DELETE FROM leases WHERE item_id = ? AND user_id = ?", [item_id, user.id])
        cur.execute("INSERT INTO skips VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    [item_id, user.id, row[0], now])

    writing(conn, work)


def claim_best(conn: Connection, user: User, now: datetime,
               rng: random.Random | None = None, exclude: Iterable[int] = ()) -> Claim:
    """Reserve the next item across the expert's campaigns: the soonest to expire first.

    `exclude` names campaigns that cannot be worked on now (e.g. their models are not set up).
    """
    open_campaigns = campaigns.for_expert(conn, user, now)
    standard = open_campaigns[(open_campaigns["kind"] == "standard")
                              & (open_campaigns["items_left"] > 0)
                              & ~open_campaigns["id"].isin(list(exclude))]
    for campaign_id, title in standard[["id", "title"]].itertuples(index=False):
        claim = claim_next(conn, user, int(campaign_id), now, rng)
        if claim.assignment:
            reason = f"“{title}” is the campaign of yours that expires soonest with work left."
            return Claim(claim.assignment, reason)
    return Claim(None, "There is nothing for you to answer right now in your campaigns.")


def live_lease_count(conn: Connection, item_id: int, now: datetime) -> int:
    """How many unexpired leases hold an item."""
    with reading(conn) as cur:
        return cur.execute("SELECT count(*) FROM leases WHERE item_id = ? AND expires_at > ?",
                           [item_id, now]).fetchone()[0]
