"""Concept review edits: merge synonym concepts into one (which keeps its name), split a
generic concept by moving some of its items to another, and the history of both.

An edit rewrites `concept_key` (and for a split the name) of the teams' categorizations it
touches, in one transaction with its history row, so `revolt_review.FINAL_LABELS_SQL` reads
the new concepts at once. A merge carries the label mapped for a merged concept over to the
concept it went into when that one had none; mappings of keys no longer used are removed, so
no stale mapping can decide an item.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from core import campaigns, revolt
from core.db import Connection, Cursor, reading, writing
from core.errors import Invalid, NotFound
from core.users import User

_IN_CAMPAIGN = "team_id IN (SELECT id FROM revolt_teams WHERE campaign_id = ?)"


def _owned(conn: Connection, actor: User, campaign_id: int) -> None:
    campaign = campaigns.get(conn, campaign_id)
    campaigns.require_owner(actor, campaign)
    revolt.require_team_campaign(campaign)


def merge(conn: Connection, actor: User, campaign_id: int, keys: list[str], into: str,
          now: datetime) -> int:
    """Merge the concepts `keys` into the concept `into`; return the items moved."""
    _owned(conn, actor, campaign_id)
    sources = [k for k in dict.fromkeys(keys) if k != into]
    if not sources:
        raise Invalid("Choose at least one other concept to merge into this one.",
                      {"concepts": "pick the synonyms to merge"})

    def work(cur: Cursor) -> int:
        _require_concepts(cur, campaign_id, [into, *sources])
        name = _name(cur, campaign_id, into)
        moved = 0
        for key in sources:
            items = _items(cur, campaign_id, key)
            # the merged rows take the name of the concept they join, so it keeps its name
            # (the history keeps the key they had)
            cur.execute(f"UPDATE revolt_categories SET concept_key = ?, concept = ? "
                        f"WHERE concept_key = ? AND {_IN_CAMPAIGN}", [into, name, key,
                                                                       campaign_id])
            carried = _carry_label(cur, campaign_id, key, into, actor, now)
            _log(cur, campaign_id, "merge", key, into, name, items, carried, actor, now)
            moved += len(items)
        return moved

    return writing(conn, work)


def split(conn: Connection, actor: User, campaign_id: int, key: str, item_ids: list[int],
          new_name: str, now: datetime) -> str:
    """Move the items `item_ids` of concept `key` to the concept named `new_name` (new or
    existing); return that concept's key."""
    _owned(conn, actor, campaign_id)
    name = revolt.clean_concept(new_name)
    target = revolt.concept_key(name)
    if not target:
        raise Invalid("Name the concept the items move to.", {"name": "required"})
    if target == key:
        raise Invalid(f"“{name}” is the same concept as the one the items are in; give the new "
                      "concept another name.", {"name": "choose a different name"})
    ids = sorted({int(i) for i in item_ids})
    if not ids:
        raise Invalid("Choose the items to move to the new concept.",
                      {"items": "select one or more items"})

    def work(cur: Cursor) -> str:
        _require_concepts(cur, campaign_id, [key])
        present = set(_items(cur, campaign_id, key))
        missing = [i for i in ids if i not in present]
        if missing:
            raise Invalid(f"Item {', '.join(map(str, missing))} was not given this concept.",
                          {"items": "choose items listed under the concept"})
        cur.execute(f"UPDATE revolt_categories SET concept_key = ?, concept = ? "
                    f"WHERE concept_key = ? AND item_id = ANY(?::BIGINT[]) AND {_IN_CAMPAIGN}",
                    [target, name, key, ids, campaign_id])
        _log(cur, campaign_id, "split", key, target, name, ids, None, actor, now)
        return target

    return writing(conn, work)


def history(conn: Connection, actor: User, campaign_id: int) -> pd.DataFrame:
    """The campaign's merges and splits, newest first, with who made them."""
    _owned(conn, actor, campaign_id)
    with reading(conn) as cur:
        return cur.execute(
            "SELECT e.edited_at, u.username AS edited_by, e.action, e.from_key, e.to_key, "
            "e.to_name, e.items, e.item_ids, e.label_moved FROM revolt_concept_edits e "
            "JOIN users u ON u.id = e.edited_by WHERE e.campaign_id = ? ORDER BY e.seq DESC",
            [campaign_id]).df()


def _require_concepts(cur: Cursor, campaign_id: int, keys: list[str]) -> None:
    known = {r[0] for r in cur.execute(
        f"SELECT DISTINCT concept_key FROM revolt_categories WHERE concept_key = ANY(?) "
        f"AND {_IN_CAMPAIGN}", [keys, campaign_id]).fetchall()}
    missing = [k for k in keys if k not in known]
    if missing:
        raise NotFound(f"No team gave the concept “{missing[0]}” in this campaign (it may have "
                       "been merged already).")


def _items(cur: Cursor, campaign_id: int, key: str) -> list[int]:
    return [r[0] for r in cur.execute(
        f"SELECT DISTINCT item_id FROM revolt_categories WHERE concept_key = ? AND "
        f"{_IN_CAMPAIGN} ORDER BY item_id", [key, campaign_id]).fetchall()]


def _name(cur: Cursor, campaign_id: int, key: str) -> str:
    return cur.execute(f"SELECT mode() WITHIN GROUP (ORDER BY concept) FROM revolt_categories "
                       f"WHERE concept_key = ? AND {_IN_CAMPAIGN}",
                       [key, campaign_id]).fetchone()[0]


def _carry_label(cur: Cursor, campaign_id: int, key: str, into: str, actor: User,
                 now: datetime) -> str | None:
    """The merged concept's mapping goes to `into` when that has none; it is removed either way."""
    mine = cur.execute("SELECT label, is_new FROM revolt_concept_labels WHERE campaign_id = ? "
                       "AND concept_key = ?", [campaign_id, key]).fetchone()
    if mine is None:
        return None
    cur.execute("DELETE FROM revolt_concept_labels WHERE campaign_id = ? AND concept_key = ?",
                [campaign_id, key])
    taken = cur.execute("SELECT 1 FROM revolt_concept_labels WHERE campaign_id = ? "
                        "AND concept_key = ?", [campaign_id, into]).fetchone()
    if taken:
        return None
    cur.execute("INSERT INTO revolt_concept_labels VALUES (?, ?, ?, ?, ?, ?)",
                [campaign_id, into, mine[0], mine[1], actor.id, now])
    return mine[0]


def _log(cur: Cursor, campaign_id: int, action: str, from_key: str, to_key: str, name: str,
         items: list[int], label: str | None, actor: User, now: datetime) -> None:
    seq = cur.execute("SELECT coalesce(max(seq), 0) + 1 FROM revolt_concept_edits "
                      "WHERE campaign_id = ?", [campaign_id]).fetchone()[0]
    cur.execute("INSERT INTO revolt_concept_edits VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [campaign_id, seq, action, from_key, to_key, name, len(items),
                 ",".join(map(str, items)), label, actor.id, now])
