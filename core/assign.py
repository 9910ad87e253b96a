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
    return writing(conn, lambda cur: _claim(cur, user, campaign_id, now, rng), locks_rows=True)


def _claim(cur: Cursor, user: User, campaign_id: int, now: datetime,
           rng: random.Random | None) -> Claim:
    campaign = campaigns.fetch(cur, campaign_id)
    check_can_answer(cur, user, campaign, now)
    if campaign.kind == "revolt":
        raise Conflict(f"“{campaign.title}” is a team task: its items are labeled together in "
                       "team sessions, not one by one.")
    held = _held(cur, user, campaign_id, now)
    if held:
        item_id, leased_at, expires_at = held
        payload = cur.execute("SELECT payload FROM items WHERE id = ?", [item_id]).fetchone()[0]
        return Claim(Assignment(item_id, campaign_id, json.loads(payload), campaign.spec_version,
                                leased_at, expires_at, "You were already working on this item."),
                     "resumed")
    cap_reason = _cap_reached(cur, user, campaign)
    if cap_reason:
        return Claim(None, cap_reason)
    draw_gold = rng is not None and campaign.gold_rate > 0 and rng.random() < campaign.gold_rate
    row = _pick_gold(cur, user, campaign_id) if draw_gold else None
    row = row or _pick_with_room(cur, user, campaign, now)
    if row is None:
        return Claim(None, "Every item you could answer here is answered or reserved by other "
                           "experts. Try another campaign, or come back later: reservations "
                           "that run out free their items.")
    item_id, payload, answered, lapsed = row
    expires_at = now + timedelta(minutes=campaign.lease_minutes)
    # No two claims take an item's last free slot: on PostgreSQL the chosen row is locked
    # (`for_update`) and its room counted again under the lock; on DuckDB a process's writers
    # take turns and no other process can open the file.
    lease = [item_id, user.id, campaign_id, now, expires_at]
    if lapsed is False:  # the common case: DuckDB's ON CONFLICT costs three times a plain insert
        cur.execute("INSERT INTO leases VALUES (?, ?, ?, ?, ?)", lease)
    else:  # an earlier reservation of the item by this expert ran out (or, for gold, may have)
        cur.execute("INSERT INTO leases VALUES (?, ?, ?, ?, ?) ON CONFLICT (item_id, user_id) "
                    "DO UPDATE SET leased_at = excluded.leased_at, "
                    "expires_at = excluded.expires_at", lease)
    return Claim(Assignment(item_id, campaign_id, json.loads(payload), campaign.spec_version,
                            now, expires_at, _why_chosen(answered, campaign.overlap)), "new")


def _held(cur: Cursor, user: User, campaign_id: int, now: datetime):
    """The expert's oldest live reservation in the campaign: (item, leased at, expires at)."""
    # Ordered here rather than in SQL: an expert holds a handful at most, and DuckDB's
    # ORDER BY … LIMIT costs a millisecond on any table.
    rows = cur.execute("SELECT item_id, leased_at, expires_at FROM leases "
                       "WHERE user_id = ? AND campaign_id = ? AND expires_at > ?",
                       [user.id, campaign_id, now]).fetchall()
    return min(rows, key=lambda row: (row[1], row[0]), default=None)


# Claims look at a window of the campaign's items, not at all of them, so that a claim costs
# the same in a campaign of 20,000 items as in one of 500,000: DuckDB has no index that serves
# ORDER BY … LIMIT, but an id range prunes every row group outside it, and on PostgreSQL the
# window bounds the index walk. The first window holds the WINDOW oldest items from the
# campaign's claim hint (the lowest item that may still have room); when it has nothing for this
# expert, windows twice as wide follow, up to the campaign's last item.
WINDOW = 2048
# A claim moves the hint only once the item it hands out is more than this far above it, not
# each time the item the hint names fills: the first window still holds three quarters of its
# items above the filled ones, and most claims skip the move's two statements.
HINT_SLACK = WINDOW // 4

# In a window, the item with the most answers still below the overlap, counting live
# reservations, then the oldest; also whether this expert has a reservation of it that ran out.
# `$passed` are items found full under their lock earlier in this claim (PostgreSQL only).
_NEXT_ITEM_SQL = """
    SELECT i.id, i.payload, i.response_count, coalesce(held.mine, false) FROM items i
    LEFT JOIN (SELECT item_id, count(*) FILTER (WHERE expires_at > $now) AS n,
                      bool_or(user_id = $u) AS mine
               FROM leases WHERE campaign_id = $c AND item_id BETWEEN $lo AND $hi
               GROUP BY item_id) held ON held.item_id = i.id
    WHERE i.campaign_id = $c AND i.id BETWEEN $lo AND $hi
      AND i.response_count < $overlap AND i.flag_state IS NULL
      AND ($gold_apart = false OR i.gold IS NULL)
      AND i.response_count + coalesce(held.n, 0) < $overlap
      AND i.id NOT IN (SELECT item_id FROM responses WHERE user_id = $u)
      AND i.id NOT IN (SELECT item_id FROM skips WHERE user_id = $u AND campaign_id = $c)
      {passed}
    ORDER BY i.response_count DESC, i.id
    LIMIT 1
"""


def _pick_with_room(cur: Cursor, user: User, campaign: Campaign, now: datetime):
    """The next item with room, locked, from the first window that has one for the expert."""
    low, version = claim_start(cur, campaign)
    lo, size = low, WINDOW
    while True:
        hi = lo + size - 1
        row = _pick_in_window(cur, user, campaign, now, lo, hi)
        if row is not None or not _items_after(cur, campaign.id, hi):
            break
        lo, size = hi + 1, size * 2
    if row is not None and version is not None and row[0] - low > HINT_SLACK:
        _move_hint(cur, campaign, low, version)
    return row


def _pick_in_window(cur: Cursor, user: User, campaign: Campaign, now: datetime,
                    lo: int, hi: int):
    """The window's next item with room, locked; its room is counted again under the lock
    where the engine locks rows, since another process may have reserved it between this
    query's snapshot and the lock. (DuckDB has no row locks and needs none: its writers take
    turns, so no other claim commits between this snapshot and the commit.)
    """
    passed: list[int] = []
    lock = cur.for_update("i", skip_locked=True)
    while True:
        params = {"c": campaign.id, "overlap": campaign.overlap, "now": now, "u": user.id,
                  "gold_apart": campaign.gold_rate > 0, "lo": lo, "hi": hi}
        if passed:
            params["passed"] = passed
        sql = _NEXT_ITEM_SQL.format(
            passed="AND NOT (i.id = ANY($passed::BIGINT[]))" if passed else "")
        row = cur.execute(sql + lock, params).fetchone()
        if row is None or not lock:
            return row
        held = cur.execute("SELECT count(*) FROM leases WHERE item_id = ? AND expires_at > ? "
                           "AND user_id <> ?", [row[0], now, user.id]).fetchone()[0]
        if row[2] + held < campaign.overlap:
            return row
        passed.append(row[0])


def _items_after(cur: Cursor, campaign_id: int, item_id: int) -> bool:
    return cur.execute("SELECT 1 FROM items WHERE campaign_id = ? AND id > ? LIMIT 1",
                       [campaign_id, item_id]).fetchone() is not None


def claim_start(cur: Cursor, campaign: Campaign) -> tuple[int, int | None]:
    """The campaign's claim hint, the lowest item id that may still have room (every item below
    it has all its answers or is paused), and the version to move it by; None when this
    transaction made or moved it already.
    """
    row = cur.execute("SELECT low_id, version FROM claim_hints WHERE campaign_id = ?",
                      [campaign.id]).fetchone()
    if row is None:
        # Not moved in the transaction that makes the row: a rejection committing meanwhile
        # would not see the row to move it down.
        cur.execute("INSERT INTO claim_hints VALUES (?, 0, 0) ON CONFLICT DO NOTHING",
                    [campaign.id])
        return _first_with_room(cur, campaign, 0, None), None
    low, version = row
    if low:
        return low, version
    # An unknown hint (0: a new campaign, a raised overlap) is found once, reading the campaign.
    new_low = _first_with_room(cur, campaign, 0, None)
    _swap_hint(cur, campaign, new_low, version)
    return new_low, None


def _move_hint(cur: Cursor, campaign: Campaign, low: int, version: int) -> None:
    """Move the hint up to the lowest item with room in the window it starts."""
    new_low = _first_with_room(cur, campaign, low, low + WINDOW - 1)
    if new_low > low:
        _swap_hint(cur, campaign, new_low, version)


def _swap_hint(cur: Cursor, campaign: Campaign, low: int, version: int) -> None:
    # Compare-and-swap: a rejection or a withdrawal that gave an item room again since
    # `version` was read bumped it, and the hint stays where it was.
    cur.execute("UPDATE claim_hints SET low_id = ?, version = version + 1 "
                "WHERE campaign_id = ? AND version = ?", [low, campaign.id, version])


def _first_with_room(cur: Cursor, campaign: Campaign, lo: int, hi: int | None) -> int:
    """The lowest item in [lo, hi] below the overlap; past the range's last item when none is."""
    if hi is None:
        return cur.execute(
            "SELECT coalesce(min(id) FILTER (WHERE response_count < $overlap "
            "AND flag_state IS NULL), max(id) + 1, $lo) "
            "FROM items WHERE campaign_id = $c AND id >= $lo",
            {"c": campaign.id, "lo": lo, "overlap": campaign.overlap}).fetchone()[0]
    return cur.execute(
        "SELECT coalesce(min(id) FILTER (WHERE response_count < $overlap "
        "AND flag_state IS NULL), $hi + 1) "
        "FROM items WHERE campaign_id = $c AND id BETWEEN $lo AND $hi",
        {"c": campaign.id, "lo": lo, "hi": hi, "overlap": campaign.overlap}).fetchone()[0]


def room_freed(cur: Cursor, campaign_id: int, item_id: int) -> None:
    """An item has room again (an answer rejected or withdrawn, a paused item put back):
    claims look at it again. (A raised overlap forgets the hint: campaigns.update.)

    Call it in the transaction that gives the room.
    """
    cur.execute("UPDATE claim_hints SET low_id = least(low_id, ?), version = version + 1 "
                "WHERE campaign_id = ?", [item_id, campaign_id])


def _pick_gold(cur: Cursor, user: User, campaign_id: int):
    """A gold item the expert has not seen; gold items are not limited by the overlap."""
    return cur.execute(
        """
        SELECT i.id, i.payload, 0, NULL FROM items i
        WHERE i.campaign_id = $c AND i.gold IS NOT NULL AND i.flag_state IS NULL
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
                              & (open_campaigns["left_for_you"] > 0)
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
