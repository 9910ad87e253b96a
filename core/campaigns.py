"""Campaigns: creation, look-up, and the lists each role sees."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd
import yaml

from core import workflow
from core.db import Connection, Cursor, frame_table, reading, writing
from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.users import User, expertise_problem, require_role

KINDS = ("standard", "revolt")
STATUSES = ("draft", "live", "paused", "closed")


@dataclass(frozen=True)
class Campaign:
    id: int
    title: str
    description: str
    guidelines: str
    skill: str
    language: str
    kind: str
    expertise_level: str
    expertise_type: str
    minutes_per_item: float
    pay_per_item: Decimal
    overlap: int
    per_expert_cap: int | None
    lease_minutes: int
    status: str
    opens_at: datetime
    expires_at: datetime
    spec_version: int
    created_by: int
    created_at: datetime
    gold_rate: float
    bonus_min_quality: float | None
    bonus_per_item: Decimal
    challenge_rewards: list[Decimal]
    edit_minutes: int = 30   # how long an expert may edit or withdraw an unreviewed answer
    flag_limit: int = 2      # open flags that pause an item until the requester decides

    def open_at(self, now: datetime) -> bool:
        """Whether experts may answer now: live, opened and not yet expired."""
        return self.status == "live" and self.opens_at <= now < self.expires_at

    def closed_reason(self, now: datetime) -> str | None:
        """Why answers are refused now, in words for the expert, or None when open."""
        if self.status in ("draft", "paused"):
            return f"The campaign “{self.title}” is {self.status}; it is not taking answers now."
        if self.status == "closed":
            return f"The campaign “{self.title}” has been closed by its requester."
        if now >= self.expires_at:
            return f"The campaign “{self.title}” expired on {self.expires_at:%Y-%m-%d %H:%M} UTC."
        if now < self.opens_at:
            return f"The campaign “{self.title}” opens on {self.opens_at:%Y-%m-%d %H:%M} UTC."
        return None


_COLUMNS = ", ".join(f.name for f in fields(Campaign))


def get(conn: Connection, campaign_id: int) -> Campaign:
    """The campaign with this id; NotFound otherwise."""
    with reading(conn) as cur:
        return fetch(cur, campaign_id)


def fetch(cur: Cursor, campaign_id: int) -> Campaign:
    """The campaign with this id read through an open cursor (inside a transaction)."""
    row = cur.execute(f"SELECT {_COLUMNS} FROM campaigns WHERE id = ?", [campaign_id]).fetchone()
    if row is None:
        raise NotFound(f"There is no campaign number {campaign_id}.")
    return Campaign(*row)


def spec(conn: Connection, campaign_id: int, version: int) -> dict[str, Any]:
    """The workflow spec of a campaign at a version."""
    with reading(conn) as cur:
        return spec_of(cur, campaign_id, version)


def spec_of(cur: Cursor, campaign_id: int, version: int) -> dict[str, Any]:
    """The workflow spec of a campaign at a version, read through an open cursor."""
    row = cur.execute("SELECT spec FROM campaign_specs WHERE campaign_id = ? AND version = ?",
                      [campaign_id, version]).fetchone()
    if row is None:
        raise NotFound(f"Campaign {campaign_id} has no spec version {version}.")
    return json.loads(row[0])


def create(conn: Connection, actor: User, *, spec_text: str, now: datetime,
           status: str = "draft", **settings: Any) -> Campaign:
    """Create a campaign from its settings and workflow spec (requesters and admins)."""
    require_role(actor, "requester", "admin")
    parsed = workflow.parse_spec(spec_text)
    values = _checked_settings(conn, settings)
    if status not in STATUSES:
        raise Invalid(f"Unknown status {status!r}.")

    def work(cur: Cursor) -> int:
        names = list(values)
        campaign_id = cur.execute(
            f"INSERT INTO campaigns ({', '.join(names)}, status, spec_version, created_by,"
            f" created_at) VALUES ({', '.join('?' * len(names))}, ?, 1, ?, ?) RETURNING id",
            [*values.values(), status, actor.id, now]).fetchone()[0]
        cur.execute("INSERT INTO campaign_specs VALUES (?, 1, ?, ?, ?)",
                    [campaign_id, workflow.dumps(parsed), actor.id, now])
        return campaign_id

    return get(conn, writing(conn, work))


_SETTINGS = ("title", "description", "guidelines", "skill", "language", "kind",
             "expertise_level", "expertise_type", "minutes_per_item", "pay_per_item",
             "overlap", "per_expert_cap", "lease_minutes", "opens_at", "expires_at",
             "gold_rate", "bonus_min_quality", "bonus_per_item", "challenge_rewards",
             "edit_minutes", "flag_limit")


def _checked_settings(conn: Connection, settings: dict) -> dict[str, Any]:
    unknown = set(settings) - set(_SETTINGS)
    if unknown:
        raise Invalid(f"Unknown campaign setting(s): {', '.join(sorted(unknown))}.")
    s = {"description": "", "guidelines": "", "kind": "standard", "expertise_level": "Any",
         "expertise_type": "", "per_expert_cap": None, "lease_minutes": 30, "gold_rate": 0.0,
         "bonus_min_quality": None, "bonus_per_item": 0, "challenge_rewards": [],
         "edit_minutes": 30, "flag_limit": 2, **settings}
    problems: dict[str, str] = {}
    for key in ("title", "skill", "language", "opens_at", "expires_at"):
        if not s.get(key):
            problems[key] = "This is required."
    if s.get("kind") not in KINDS:
        problems["kind"] = f"Choose one of {', '.join(KINDS)}."
    if not problems.get("skill") and not problems.get("language"):
        problem = expertise_problem(conn, [(s["skill"], s["language"])])
        if problem:
            problems["skill" if "skill" in problem else "language"] = problem
    for key, low in (("minutes_per_item", 0.1), ("overlap", 1), ("lease_minutes", 1)):
        if not isinstance(s.get(key), int | float) or s[key] < low:
            problems[key] = f"Must be a number of at least {low}."
    for key in ("pay_per_item", "bonus_per_item"):
        amount = _money(s.get(key))
        if amount is None:
            problems[key] = "Enter an amount of at least 0, such as 1.50."
        s[key] = amount
    rewards = [_money(r) for r in s.get("challenge_rewards") or []]
    if any(r is None or r <= 0 for r in rewards):
        problems["challenge_rewards"] = "Each reward must be an amount above 0, e.g. 50, 30, 20."
    s["challenge_rewards"] = rewards
    if not isinstance(s.get("gold_rate"), int | float) or not 0 <= s["gold_rate"] <= 0.5:
        problems["gold_rate"] = "Use a share between 0 and 0.5 (0.1 means one task in ten)."
    low = s.get("bonus_min_quality")
    if low is not None and (not isinstance(low, int | float) or not 0 < low <= 1):
        problems["bonus_min_quality"] = "Use a quality between 0 and 1, or leave it empty."
    cap = s.get("per_expert_cap")
    if cap is not None and (not isinstance(cap, int) or cap < 1):
        problems["per_expert_cap"] = "Leave empty for no cap, or enter a whole number ≥ 1."
    if not isinstance(s.get("edit_minutes"), int) or not 0 <= s["edit_minutes"] <= 10080:
        problems["edit_minutes"] = ("Enter whole minutes from 0 (no editing) to 10080 (a week) "
                                    "for how long experts may change an answer.")
    if not isinstance(s.get("flag_limit"), int) or s["flag_limit"] < 1:
        problems["flag_limit"] = "Enter a whole number of at least 1 (flags that pause an item)."
    if not problems.get("opens_at") and not problems.get("expires_at"):
        if s["expires_at"] <= s["opens_at"]:
            problems["expires_at"] = "The expiry must come after the opening."
    if problems:
        raise Invalid("Please fix the highlighted settings.", problems)
    return {key: s[key] for key in _SETTINGS}


def require_owner(actor: User, campaign: Campaign) -> None:
    """Raise Forbidden unless the actor created the campaign or is an admin."""
    require_role(actor, "requester", "admin")
    if campaign.created_by != actor.id and not actor.has("admin"):
        raise Forbidden("Only the campaign's owner or an administrator can change it.")


def update(conn: Connection, actor: User, campaign_id: int, *, spec_text: str,
           now: datetime, **settings: Any) -> Campaign:
    """Save new settings and spec; a changed spec that has answers becomes a new version."""
    campaign = get(conn, campaign_id)
    require_owner(actor, campaign)
    if campaign.status == "closed":
        raise Conflict("A closed campaign cannot be edited.")
    parsed = workflow.parse_spec(spec_text)
    unchanged = {key: getattr(campaign, key) for key in _SETTINGS if key not in settings}
    values = _checked_settings(conn, {**unchanged, **settings})
    if campaign.status != "draft" and values["kind"] != campaign.kind:
        raise Invalid("The kind of a published campaign cannot change.",
                      {"kind": "Keep the kind it was published with."})

    def work(cur: Cursor) -> None:
        current = cur.execute(
            "SELECT spec FROM campaign_specs WHERE campaign_id = ? AND version = ?",
            [campaign_id, campaign.spec_version]).fetchone()[0]
        version = campaign.spec_version
        if json.loads(current) != parsed:
            answered = cur.execute(
                "SELECT 1 FROM responses WHERE campaign_id = ? AND spec_version = ? LIMIT 1",
                [campaign_id, version]).fetchone()
            if answered:  # answers stay tied to the version they were given against
                version += 1
                cur.execute("INSERT INTO campaign_specs VALUES (?, ?, ?, ?, ?)",
                            [campaign_id, version, workflow.dumps(parsed), actor.id, now])
            else:
                cur.execute("UPDATE campaign_specs SET spec = ?, created_by = ?, created_at = ? "
                            "WHERE campaign_id = ? AND version = ?",
                            [workflow.dumps(parsed), actor.id, now, campaign_id, version])
        assignments = ", ".join(f"{name} = ?" for name in values)
        cur.execute(f"UPDATE campaigns SET {assignments}, spec_version = ? WHERE id = ?",
                    [*values.values(), version, campaign_id])
        if values["overlap"] > campaign.overlap:
            # Filled items have room again, below where claims start (assign.claim_start):
            # forget the claim hint so that the next claim finds it anew.
            cur.execute("UPDATE claim_hints SET low_id = 0, version = version + 1 "
                        "WHERE campaign_id = ?", [campaign_id])

    writing(conn, work)
    return get(conn, campaign_id)


def spec_versions(conn: Connection, campaign_id: int) -> pd.DataFrame:
    """Every spec version of a campaign with when, by whom, and how many answers use it."""
    with reading(conn) as cur:
        return cur.execute(
            "SELECT s.version, s.created_at, u.username AS created_by, "
            " (SELECT count(*) FROM responses r WHERE r.campaign_id = s.campaign_id "
            "  AND r.spec_version = s.version) AS answers "
            "FROM campaign_specs s JOIN users u ON u.id = s.created_by "
            "WHERE s.campaign_id = ? ORDER BY s.version DESC", [campaign_id]).df()


def item_count(conn: Connection, campaign_id: int) -> int:
    """How many items the campaign has."""
    with reading(conn) as cur:
        return cur.execute("SELECT count(*) FROM items WHERE campaign_id = ?",
                           [campaign_id]).fetchone()[0]


def first_item_payload(conn: Connection, campaign_id: int) -> dict | None:
    """The payload of the campaign's first item, for previews."""
    with reading(conn) as cur:
        row = cur.execute("SELECT payload FROM items WHERE campaign_id = ? ORDER BY id LIMIT 1",
                          [campaign_id]).fetchone()
    return json.loads(row[0]) if row else None


def item_payload_at(conn: Connection, campaign_id: int, position: int) -> dict | None:
    """The payload of the campaign's item at `position` (0 = first, in import order)."""
    with reading(conn) as cur:
        row = cur.execute("SELECT payload::VARCHAR FROM items WHERE campaign_id = ? ORDER BY id "
                          "LIMIT 1 OFFSET ?", [campaign_id, max(int(position), 0)]).fetchone()
    return json.loads(row[0]) if row else None


def items_page(conn: Connection, actor: User, campaign_id: int, limit: int = 200,
               offset: int = 0) -> pd.DataFrame:
    """The campaign's items in import order: id, external id, answers so far, whether gold,
    and one column per payload field."""
    require_owner(actor, get(conn, campaign_id))
    with reading(conn) as cur:
        rows = cur.execute(
            "SELECT id, external_id, response_count, gold IS NOT NULL AS gold, "
            "payload::VARCHAR AS payload FROM items WHERE campaign_id = ? ORDER BY id "
            "LIMIT ? OFFSET ?", [campaign_id, limit, offset]).df()
    values = pd.DataFrame([json.loads(p) for p in rows.pop("payload")], index=rows.index)
    values = values.map(lambda v: "" if v is None else v if isinstance(v, str)
                        else json.dumps(v, ensure_ascii=False))
    return pd.concat([rows, values], axis=1)


def spec_text(conn: Connection, campaign_id: int) -> str:
    """The current spec as YAML, for editing."""
    campaign = get(conn, campaign_id)
    return yaml.safe_dump(spec(conn, campaign_id, campaign.spec_version), sort_keys=False,
                          allow_unicode=True)


def _money(value: Any) -> Decimal | None:
    """An amount rounded to cents, or None if it is not a non-negative number."""
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (ArithmeticError, ValueError):
        return None
    return amount if amount >= 0 else None


def add_items(conn: Connection, actor: User, campaign_id: int,
              items: pd.DataFrame, now: datetime) -> int:
    """Append items (columns: payload as dicts, optional external_id, gold); return the count."""
    require_owner(actor, get(conn, campaign_id))
    if items.empty:
        return 0
    frame = pd.DataFrame({
        "campaign_id": campaign_id,
        "external_id": items.get("external_id", pd.Series([None] * len(items))).astype(object),
        "payload": [json.dumps(p, ensure_ascii=False) for p in items["payload"]],
        "gold": [None if g is None else json.dumps(g) for g in items.get(
            "gold", pd.Series([None] * len(items)))],
        "created_at": now,
    })

    def work(cur: Cursor) -> int:
        with frame_table(cur, "new_items", frame):
            cur.execute("INSERT INTO items (campaign_id, external_id, payload, gold, created_at) "
                        "SELECT campaign_id, external_id, payload::JSON, gold::JSON, created_at "
                        "FROM new_items")
        return len(frame)

    return writing(conn, work)


def for_expert(conn: Connection, user: User, now: datetime) -> pd.DataFrame:
    """Live, open campaigns matching the expert's skills and languages, with their counts."""
    with reading(conn) as cur:
        return cur.execute(
            """
            WITH mine AS (
                SELECT DISTINCT c.* FROM campaigns c
                JOIN expertise e ON e.skill = c.skill AND e.language = c.language
                WHERE e.user_id = $user AND c.status = 'live'
                  AND c.opens_at <= $now AND c.expires_at > $now
            ), left_ AS (
                SELECT i.campaign_id,
                       sum(greatest(m.overlap - i.response_count, 0))::BIGINT AS answers_left,
                       count(*) FILTER (WHERE i.response_count < m.overlap
                                        AND i.flag_state IS NULL) AS items_left,
                       count(*) AS items_total
                FROM items i JOIN mine m ON m.id = i.campaign_id GROUP BY i.campaign_id
            ), passed AS (
                -- open items this expert answered, skipped or flagged: not theirs to take
                SELECT i.campaign_id, count(*) AS n FROM items i JOIN mine m ON m.id = i.campaign_id
                WHERE i.id IN (SELECT item_id FROM responses WHERE user_id = $user
                               UNION SELECT item_id FROM skips WHERE user_id = $user)
                  AND i.response_count < m.overlap AND i.flag_state IS NULL
                GROUP BY i.campaign_id
            ), done AS (
                SELECT campaign_id, count(*) AS my_count FROM responses
                WHERE user_id = $user AND status <> 'rejected'
                  AND campaign_id IN (SELECT id FROM mine)
                GROUP BY campaign_id
            )
            SELECT m.id, m.title, m.description, m.skill, s.name AS skill_name, m.language,
                   l.name AS language_name, m.kind, m.expertise_level, m.expertise_type,
                   m.minutes_per_item, m.pay_per_item, m.overlap, m.per_expert_cap,
                   m.expires_at, coalesce(left_.items_left, 0) AS items_left,
                   coalesce(left_.items_total, 0) AS items_total,
                   coalesce(done.my_count, 0) AS my_count,
                   greatest(least(coalesce(left_.items_left, 0) - coalesce(passed.n, 0),
                                  coalesce(m.per_expert_cap - coalesce(done.my_count, 0),
                                           coalesce(left_.items_left, 0))), 0)
                       AS left_for_you
            FROM mine m JOIN skills s ON s.code = m.skill JOIN languages l ON l.tag = m.language
            LEFT JOIN left_ ON left_.campaign_id = m.id
            LEFT JOIN passed ON passed.campaign_id = m.id
            LEFT JOIN done ON done.campaign_id = m.id
            ORDER BY m.expires_at, m.id
            """, {"user": user.id, "now": now}).df()


def choices(conn: Connection, actor: User) -> pd.DataFrame:
    """The campaigns a requester's pages can open (id, title, kind, status), newest first:
    a requester's own, or all for an admin. Light enough to run on every page view."""
    require_role(actor, "requester", "admin")
    with reading(conn) as cur:
        return cur.execute(
            "SELECT id, title, kind, status FROM campaigns WHERE NOT $only_mine "
            "OR created_by = $actor ORDER BY created_at DESC, id DESC",
            {"only_mine": not actor.has("admin"), "actor": actor.id}).df()


def overview(conn: Connection, actor: User) -> pd.DataFrame:
    """Every campaign with progress: a requester's own, or all for an admin."""
    require_role(actor, "requester", "admin")
    only_mine = not actor.has("admin")
    with reading(conn) as cur:
        return cur.execute(
            """
            SELECT c.id, c.title, c.kind, s.name AS skill, c.language, c.status, c.opens_at,
                   c.expires_at, c.overlap, c.pay_per_item, u.username AS created_by,
                   (SELECT count(*) FROM items i WHERE i.campaign_id = c.id) AS items,
                   (SELECT count(*) FROM items i WHERE i.campaign_id = c.id
                       AND i.response_count >= c.overlap) AS items_complete,
                   (SELECT count(*) FROM responses r WHERE r.campaign_id = c.id) AS answers
            FROM campaigns c JOIN skills s ON s.code = c.skill JOIN users u ON u.id = c.created_by
            WHERE NOT $only_mine OR c.created_by = $actor
            ORDER BY c.created_at DESC, c.id DESC
            """, {"only_mine": only_mine, "actor": actor.id}).df()
