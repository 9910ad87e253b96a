"""Flags: an expert says something is wrong with an item instead of answering it.

Flagging costs the expert nothing: the reservation ends, the item is not offered to them again,
and no pay moves. Once `flag_limit` experts have flagged an item (open flags), it is paused:
claims pass it by (`items.flag_state`, read in the claim's own query, so no extra query) until
its requester decides to put it back or remove it.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from core import assign, campaigns
from core.db import Connection, Cursor, reading, writing
from core.errors import Conflict, Invalid, NotFound
from core.users import User

# What an expert can say is wrong, as stored and as shown.
REASONS = {
    "unclear": "The question or guidelines are unclear for this item",
    "broken": "Content is missing, broken or unreadable",
    "wrong_language": "It is not in the campaign's language",
    "harmful": "It is offensive, harmful or private",
    "other": "Something else (say what)",
}
DECISIONS = ("restore", "remove")


def flag(conn: Connection, user: User, item_id: int, reason: str, note: str,
         now: datetime) -> bool:
    """Flag an item the expert holds and let go of it; return whether the item is now paused."""
    if reason not in REASONS:
        raise Invalid("Choose what is wrong with the item.", {"reason": "choose a reason"})
    note = (note or "").strip()
    if reason == "other" and not note:
        raise Invalid("Say in a few words what is wrong.", {"note": "required for “other”"})
    if len(note) > 500:
        raise Invalid("Keep the note under 500 characters.", {"note": "at most 500 characters"})

    def work(cur: Cursor) -> bool:
        row = cur.execute("SELECT i.campaign_id, i.flag_state FROM items i WHERE i.id = ?"
                          + cur.for_update("i"), [item_id]).fetchone()
        if row is None:
            raise NotFound(f"There is no item number {item_id}.")
        campaign_id, state = row
        held = cur.execute("SELECT 1 FROM leases WHERE item_id = ? AND user_id = ?",
                           [item_id, user.id]).fetchone()
        if not held:
            raise Conflict("You are no longer holding this item, so it cannot be flagged from "
                           "here; it may have been handed to someone else.")
        cur.execute("DELETE FROM leases WHERE item_id = ? AND user_id = ?", [item_id, user.id])
        cur.execute("INSERT INTO skips VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    [item_id, user.id, campaign_id, now])
        cur.execute("INSERT INTO item_flags (item_id, user_id, campaign_id, reason, note, "
                    "flagged_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (item_id, user_id) DO "
                    "UPDATE SET reason = excluded.reason, note = excluded.note, "
                    "flagged_at = excluded.flagged_at, resolved_at = NULL, resolution = NULL, "
                    "resolved_by = NULL", [item_id, user.id, campaign_id, reason, note, now])
        if state is not None:
            return state == "paused"
        limit = campaigns.fetch(cur, campaign_id).flag_limit
        open_flags = cur.execute("SELECT count(*) FROM item_flags WHERE item_id = ? "
                                 "AND resolved_at IS NULL", [item_id]).fetchone()[0]
        if open_flags < limit:
            return False
        cur.execute("UPDATE items SET flag_state = 'paused', version = version + 1 WHERE id = ?",
                    [item_id])
        return True

    return writing(conn, work, locks_rows=True)


def for_campaign(conn: Connection, actor: User, campaign_id: int,
                 include_resolved: bool = False) -> pd.DataFrame:
    """A campaign's flagged items, paused ones first, each flag with its reason and note."""
    campaigns.require_owner(actor, campaigns.get(conn, campaign_id))
    with reading(conn) as cur:
        frame = cur.execute(
            """
            SELECT f.item_id, i.external_id, i.payload, coalesce(i.flag_state, 'open') AS state,
                   u.username AS expert, f.reason, f.note, f.flagged_at, f.resolution,
                   f.resolved_at, i.response_count AS answers
            FROM item_flags f JOIN items i ON i.id = f.item_id JOIN users u ON u.id = f.user_id
            WHERE f.campaign_id = $c AND ($all OR f.resolved_at IS NULL)
            ORDER BY coalesce(i.flag_state = 'paused', false) DESC, f.item_id, f.flagged_at
            """, {"c": campaign_id, "all": include_resolved}).df()
    frame["reason_text"] = frame["reason"].map(REASONS).fillna(frame["reason"])
    return frame


def paused_count(conn: Connection, campaign_id: int) -> int:
    """How many of a campaign's items are held back by flags."""
    with reading(conn) as cur:
        return cur.execute("SELECT count(*) FROM items WHERE campaign_id = ? "
                           "AND flag_state = 'paused'", [campaign_id]).fetchone()[0]


def resolve(conn: Connection, actor: User, item_id: int, decision: str,
            now: datetime) -> None:
    """The requester's decision on a flagged item: put it back in the pool, or remove it."""
    if decision not in DECISIONS:
        raise Invalid(f"Decide {' or '.join(DECISIONS)}.")

    def work(cur: Cursor) -> None:
        row = cur.execute("SELECT campaign_id FROM items WHERE id = ?" + cur.for_update("items"),
                          [item_id]).fetchone()
        if row is None:
            raise NotFound(f"There is no item number {item_id}.")
        campaigns.require_owner(actor, campaigns.fetch(cur, row[0]))
        cur.execute("UPDATE items SET flag_state = ?, version = version + 1 WHERE id = ?",
                    [None if decision == "restore" else "removed", item_id])
        if decision == "restore":
            assign.room_freed(cur, row[0], item_id)
        cur.execute("UPDATE item_flags SET resolved_at = ?, resolution = ?, resolved_by = ? "
                    "WHERE item_id = ? AND resolved_at IS NULL",
                    [now, "restored" if decision == "restore" else "removed", actor.id, item_id])

    writing(conn, work, locks_rows=True)
