"""The Revolt lobby: who may join, presence, readiness, and forming teams with disjoint batches.

Experts enter a campaign's lobby, and their page polls it. Once enough of them are present to
form a team, each can say they are ready; readiness lasts `Settings.ready_seconds` and must be
renewed. As soon as `Settings.team_size` ready experts are present, a team forms, first ready
first teamed, with the next items no team has had. Forming runs in one transaction that deletes
the members' lobby rows, so two polls forming at once cannot put anyone in two teams.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from core import campaigns, revolt
from core.assign import check_can_answer
from core.campaigns import Campaign
from core.db import Connection, Cursor, reading, writing
from core.errors import Conflict, DomainError
from core.revolt import Config, Settings
from core.users import User

EXAMPLES = 2  # example items shown before joining


@dataclass(frozen=True)
class Preview:
    """What an expert reads before joining: the task, examples, time, pay, and whether they may."""
    campaign: Campaign
    config: Config
    spec: dict[str, Any]
    question: dict[str, Any]
    examples: tuple[dict[str, Any], ...]
    batch_size: int
    team_size: int
    vote_minutes: float
    most_minutes: float
    items_left: int
    teams_joined: int
    problem: str | None

    @property
    def can_join(self) -> bool:
        """Whether the expert may enter the lobby now."""
        return self.problem is None


@dataclass(frozen=True)
class Lobby:
    """The lobby as one expert sees it."""
    campaign_id: int
    present: int
    ready: int
    present_ids: frozenset[int]
    here: bool
    ready_until: datetime | None
    team_size: int
    items_left: int
    team_id: int | None

    @property
    def can_ready(self) -> bool:
        """Ready turns on once enough experts are here to form a team."""
        return self.here and self.present >= self.team_size and self.items_left > 0


def preview(conn: Connection, user: User, campaign_id: int, now: datetime,
            settings: Settings) -> Preview:
    """The campaign as an expert sees it before joining its lobby."""
    _end_abandoned_if_nothing_left(conn, campaign_id, now, settings)
    with reading(conn) as cur:
        campaign = campaigns.fetch(cur, campaign_id)
        revolt.require_team_campaign(campaign)
        spec = campaigns.spec_of(cur, campaign_id, campaign.spec_version)
        cfg = revolt.config_of(cur, campaign, settings)
        examples = tuple(json.loads(p) for (p,) in cur.execute(
            "SELECT payload FROM items WHERE campaign_id = ? ORDER BY id LIMIT ?",
            [campaign_id, EXAMPLES]).fetchall())
        left = items_left(cur, campaign_id)
        joined = _teams_joined(cur, user.id, campaign_id)
        problem = join_problem(cur, user, campaign, cfg, now)
    vote_minutes = campaign.minutes_per_item * min(settings.batch_size, max(left, 1))
    return Preview(campaign, cfg, spec, revolt.label_question(spec), examples,
                   settings.batch_size, settings.team_size, vote_minutes,
                   vote_minutes * 3, left, joined, problem)


def _end_abandoned_if_nothing_left(conn: Connection, campaign_id: int,
                                   now: datetime, settings: Settings) -> None:
    # Teams whose members all went silent are ended by lobby polls and Monitor; when they hold
    # the last items nobody may be in the lobby to poll, so end them before saying "nothing left".
    with reading(conn) as cur:
        if items_left(cur, campaign_id) > 0:
            return
    revolt.sweep(conn, campaign_id, now, settings)


def items_left(cur: Cursor, campaign_id: int) -> int:
    """Items of the campaign no team has been given yet."""
    return cur.execute("SELECT count(*) FROM items WHERE campaign_id = ? AND id NOT IN "
                       "(SELECT item_id FROM revolt_batch WHERE campaign_id = ?)",
                       [campaign_id, campaign_id]).fetchone()[0]


def _teams_joined(cur: Cursor, user_id: int, campaign_id: int) -> int:
    return cur.execute("SELECT count(*) FROM revolt_members WHERE user_id = ? AND campaign_id = ?",
                       [user_id, campaign_id]).fetchone()[0]


def join_problem(cur: Cursor, user: User, campaign: Campaign, cfg: Config,
                 now: datetime) -> str | None:
    """Why the expert may not join a team of this campaign now, in words for them; or None."""
    try:
        revolt.require_team_campaign(campaign)
        check_can_answer(cur, user, campaign, now)
    except DomainError as refusal:
        return str(refusal)
    joined = _teams_joined(cur, user.id, campaign.id)
    if cfg.team_cap is not None and joined >= cfg.team_cap:
        return (f"You have taken part in {joined} team{'s' if joined != 1 else ''} here, the most "
                f"this campaign allows one expert ({cfg.team_cap}), so that many people's "
                "judgments go into its labels. Thank you!")
    if cfg.excluded_campaigns:
        titles = [t for (t,) in cur.execute(
            "SELECT c.title FROM campaigns c WHERE c.id = ANY($ids) AND (EXISTS "
            "(SELECT 1 FROM responses r WHERE r.user_id = $u AND r.campaign_id = c.id) OR EXISTS "
            "(SELECT 1 FROM revolt_members m WHERE m.user_id = $u AND m.campaign_id = c.id)) "
            "ORDER BY c.id", {"ids": list(cfg.excluded_campaigns), "u": user.id}).fetchall()]
        if titles:
            quoted = ", ".join(f"“{t}”" for t in titles)
            return (f"This campaign wants fresh eyes: experts who took part in {quoted} cannot "
                    "join it.")
    if items_left(cur, campaign.id) == 0:
        return "Every item of this campaign has been given to a team; nothing is left to label."
    return None


def enter(conn: Connection, user: User, campaign_id: int, now: datetime,
          settings: Settings) -> Lobby:
    """Join the campaign's lobby (not yet ready), if the expert may."""
    def work(cur: Cursor) -> None:
        campaign = campaigns.fetch(cur, campaign_id)
        _check_may_join(cur, user, campaign, now, settings)
        cur.execute("INSERT INTO revolt_lobby VALUES (?, ?, ?, ?, NULL, NULL) ON CONFLICT "
                    "(campaign_id, user_id) DO UPDATE SET last_seen = excluded.last_seen",
                    [campaign_id, user.id, now, now])

    writing(conn, work)
    return state(conn, user, campaign_id, now, settings)


def _check_may_join(cur: Cursor, user: User, campaign: Campaign,
                    now: datetime, settings: Settings) -> None:
    busy = cur.execute(
        "SELECT m.team_id FROM revolt_members m WHERE m.user_id = ? AND m.campaign_id = ? "
        "AND m.closed_at IS NULL", [user.id, campaign.id]).fetchone()
    if busy:
        raise Conflict(f"You are still in team {busy[0]} of this campaign; finish or leave it "
                       "first.")
    problem = join_problem(cur, user, campaign, revolt.config_of(cur, campaign, settings), now)
    if problem:
        raise Conflict(problem)


def leave_lobby(conn: Connection, user: User, campaign_id: int) -> None:
    """Leave the lobby; nothing else changes."""
    writing(conn, lambda cur: cur.execute(
        "DELETE FROM revolt_lobby WHERE campaign_id = ? AND user_id = ?", [campaign_id, user.id]))


def set_ready(conn: Connection, user: User, campaign_id: int, now: datetime,
              settings: Settings) -> Lobby:
    """Say (or renew) that the expert is ready for `ready_seconds`; a team may form at once."""
    def work(cur: Cursor) -> None:
        campaign = campaigns.fetch(cur, campaign_id)
        row = cur.execute("SELECT ready_until FROM revolt_lobby WHERE campaign_id = ? "
                          "AND user_id = ?", [campaign_id, user.id]).fetchone()
        if row is None:
            raise Conflict("You are not in the lobby any more; join it again first.")
        _check_may_join(cur, user, campaign, now, settings)
        present = _present(cur, campaign_id, now, settings)
        if present < settings.team_size:
            raise Conflict(f"Ready turns on when {settings.team_size} experts are in the lobby; "
                           f"{present} {'is' if present == 1 else 'are'} here now.")
        still_ready = row[0] is not None and row[0] > now
        cur.execute("UPDATE revolt_lobby SET last_seen = ?, ready_until = ?, "
                    "ready_at = CASE WHEN ? THEN ready_at ELSE ? END "
                    "WHERE campaign_id = ? AND user_id = ?",
                    [now, now + timedelta(seconds=settings.ready_seconds), still_ready, now,
                     campaign_id, user.id])
        form_teams_in(cur, campaign, now, settings)

    writing(conn, work)
    return state(conn, user, campaign_id, now, settings)


def poll(conn: Connection, user: User, campaign_id: int, now: datetime,
         settings: Settings) -> Lobby:
    """The lobby page checking in: presence, forget the silent, form teams, end abandoned
    teams, and return the lobby as the expert sees it.

    Most polls only read: the write (which lobby pollers take turns on) happens only when the
    expert's presence is getting old or there is something to do.
    """
    if not _poll_has_work(conn, user, campaign_id, now, settings):
        return state(conn, user, campaign_id, now, settings)

    def work(cur: Cursor) -> None:
        cur.execute("UPDATE revolt_lobby SET last_seen = ? WHERE campaign_id = ? AND user_id = ?",
                    [now, campaign_id, user.id])
        _tend_in(cur, campaign_id, now, settings)

    writing(conn, work, one_at_a_time=("lobby", campaign_id))
    return state(conn, user, campaign_id, now, settings)


def tend(conn: Connection, campaign_id: int, now: datetime, settings: Settings) -> None:
    """The lobby's work that the clock makes due: forget the silent, form teams, end
    abandoned teams (what a poll does, without noting anyone's presence)."""
    writing(conn, lambda cur: _tend_in(cur, campaign_id, now, settings),
            one_at_a_time=("lobby", campaign_id))


def _tend_in(cur: Cursor, campaign_id: int, now: datetime, settings: Settings) -> None:
    cur.execute("DELETE FROM revolt_lobby WHERE campaign_id = ? AND last_seen < ?",
                [campaign_id, _silent_since(now, settings)])
    form_teams_in(cur, campaigns.fetch(cur, campaign_id), now, settings)
    revolt.sweep_in(cur, campaign_id, now, settings)  # teams whose members all went away


def lobbies_with_work(conn: Connection, campaign_ids: list[int], now: datetime,
                      settings: Settings) -> list[int]:
    """Of these lobbies, those where someone silent is to be forgotten, enough ready experts
    are present to form a team, or a team went silent: one read for all of them."""
    if not campaign_ids:
        return []
    since = _silent_since(now, settings)
    with reading(conn) as cur:
        busy = {c for (c,) in cur.execute(
            "SELECT campaign_id FROM revolt_lobby WHERE campaign_id = ANY(?) GROUP BY campaign_id "
            "HAVING count(*) FILTER (WHERE last_seen < ?) > 0 "
            "OR count(*) FILTER (WHERE ready_until > ? AND last_seen >= ?) >= ?",
            [[int(c) for c in campaign_ids], since, now, since, settings.team_size]).fetchall()}
        busy |= {c for (c,) in cur.execute(
            "SELECT DISTINCT t.campaign_id FROM revolt_teams t LEFT JOIN revolt_members m "
            "ON m.team_id = t.id AND m.status = 'active' AND m.last_seen >= ? "
            "WHERE t.campaign_id = ANY(?) AND t.stage <> 'done' "
            "GROUP BY t.id, t.campaign_id HAVING count(m.user_id) = 0",
            [since, [int(c) for c in campaign_ids]]).fetchall()}
    return sorted(busy)


def _poll_has_work(conn: Connection, user: User, campaign_id: int, now: datetime,
                   settings: Settings) -> bool:
    """Whether a lobby poll must write: the expert's presence is older than a sixth of the
    dropout time (so a silent one is still noticed within it), someone silent is to be
    forgotten, enough ready experts are present to form a team, or a team went silent."""
    since = _silent_since(now, settings)
    fresh = now - timedelta(seconds=settings.dropout_seconds / 6)
    with reading(conn) as cur:
        seen, silent, ready = cur.execute(
            "SELECT max(last_seen) FILTER (WHERE user_id = ?), "
            "count(*) FILTER (WHERE last_seen < ?), "
            "count(*) FILTER (WHERE ready_until > ? AND last_seen >= ?) "
            "FROM revolt_lobby WHERE campaign_id = ?",
            [user.id, since, now, since, campaign_id]).fetchone()
        if (seen is not None and seen < fresh) or silent or ready >= settings.team_size:
            return True
        return bool(revolt.silent_teams(cur, campaign_id, now, settings))


def form_teams(conn: Connection, campaign_id: int, now: datetime,
               settings: Settings) -> list[int]:
    """Form as many teams as the ready experts present allow; return the new teams' ids."""
    return writing(conn, lambda cur: form_teams_in(cur, campaigns.fetch(cur, campaign_id), now,
                                                   settings),
                   one_at_a_time=("lobby", campaign_id))


def form_teams_in(cur: Cursor, campaign: Campaign, now: datetime,
                  settings: Settings) -> list[int]:
    """`form_teams` inside an open write transaction."""
    ready = [u for (u,) in cur.execute(
        "SELECT user_id FROM revolt_lobby WHERE campaign_id = ? AND ready_until > ? "
        "AND last_seen >= ? ORDER BY ready_at, joined_at, user_id",
        [campaign.id, now, _silent_since(now, settings)]).fetchall()]
    if len(ready) < settings.team_size or campaign.closed_reason(now):
        return []
    spec = campaigns.spec_of(cur, campaign.id, campaign.spec_version)
    question = revolt.label_question(spec)
    formed = []
    while len(ready) >= settings.team_size:
        group, ready = ready[:settings.team_size], ready[settings.team_size:]
        # Items an ended team gave back come first (lowest ids), but never to someone who
        # already voted on them: a judgment is made once per expert (and votes are keyed so).
        items = [i for (i,) in cur.execute(
            "SELECT id FROM items WHERE campaign_id = $campaign AND id NOT IN "
            "(SELECT item_id FROM revolt_batch WHERE campaign_id = $campaign) AND id NOT IN "
            "(SELECT item_id FROM revolt_votes WHERE user_id = ANY($group)) "
            "ORDER BY id LIMIT $size",
            {"campaign": campaign.id, "group": group, "size": settings.batch_size}).fetchall()]
        if not items:
            break
        formed.append(_create_team(cur, campaign, question["id"], group, items, now))
    return formed


def _create_team(cur: Cursor, campaign: Campaign, question_id: str,
                 group: list[int], items: list[int], now: datetime) -> int:
    team_id = cur.execute(
        "INSERT INTO revolt_teams (campaign_id, spec_version, question_id, stage, version, size,"
        " formed_at, stage_started_at) VALUES (?, ?, ?, 'vote', 1, ?, ?, ?) RETURNING id",
        [campaign.id, campaign.spec_version, question_id, len(group), now, now]).fetchone()[0]
    for seat, user_id in enumerate(group, start=1):
        cur.execute("INSERT INTO revolt_members (team_id, user_id, campaign_id, seat, status, "
                    "last_seen) VALUES (?, ?, ?, ?, 'active', ?)",
                    [team_id, user_id, campaign.id, seat, now])
    cur.execute("INSERT INTO revolt_batch (item_id, team_id, campaign_id, position) "
                "SELECT unnest($items), $team, $campaign, generate_subscripts($items, 1)",
                {"items": items, "team": team_id, "campaign": campaign.id})
    cur.execute("DELETE FROM revolt_lobby WHERE campaign_id = ? AND user_id = ANY(?)",
                [campaign.id, group])
    cur.execute("INSERT INTO revolt_events VALUES (?, 1, ?, 'lobby', 'vote', ?, ?)",
                [team_id, campaign.id, f"{len(group)} ready experts met in the lobby; the team "
                 f"got {len(items)} item{'s' if len(items) != 1 else ''} no other team has.", now])
    return team_id


def _silent_since(now: datetime, settings: Settings) -> datetime:
    return now - timedelta(seconds=settings.dropout_seconds)


def _present(cur: Cursor, campaign_id: int, now: datetime,
             settings: Settings) -> int:
    return cur.execute("SELECT count(*) FROM revolt_lobby WHERE campaign_id = ? "
                       "AND last_seen >= ?",
                       [campaign_id, _silent_since(now, settings)]).fetchone()[0]


def state(conn: Connection, user: User, campaign_id: int, now: datetime,
          settings: Settings) -> Lobby:
    """The lobby as the expert sees it now (and their new team, if one just formed)."""
    since = _silent_since(now, settings)
    with reading(conn) as cur:
        rows = cur.execute("SELECT user_id, ready_until FROM revolt_lobby WHERE campaign_id = ? "
                           "AND last_seen >= ?", [campaign_id, since]).fetchall()
        team = cur.execute("SELECT team_id FROM revolt_members WHERE user_id = ? "
                           "AND campaign_id = ? AND closed_at IS NULL ORDER BY team_id DESC "
                           "LIMIT 1", [user.id, campaign_id]).fetchone()
        left = items_left(cur, campaign_id)
    mine = [until for uid, until in rows if uid == user.id]
    my_until = mine[0] if mine and mine[0] is not None and mine[0] > now else None
    return Lobby(campaign_id, len(rows), sum(1 for _, u in rows if u is not None and u > now),
                 frozenset(uid for uid, _ in rows), bool(mine), my_until, settings.team_size,
                 left, team[0] if team else None)


def formation_gap(conn: Connection, campaign_id: int, now: datetime,
                  days: int = 7) -> timedelta | None:
    """How long the campaign's teams took to form lately: the median gap between the
    formations of the last `days` days (None with fewer than two), to estimate a wait."""
    with reading(conn) as cur:
        formed = [t for (t,) in cur.execute(
            "SELECT formed_at FROM revolt_teams WHERE campaign_id = ? AND formed_at >= ? "
            "ORDER BY formed_at", [campaign_id, now - timedelta(days=days)]).fetchall()]
    gaps = sorted(b - a for a, b in zip(formed, formed[1:], strict=False))
    return gaps[len(gaps) // 2] if gaps else None


def lobby_counts(conn: Connection, campaign_ids: list[int], now: datetime,
                 settings: Settings) -> dict[int, tuple[int, int]]:
    """Per team campaign: experts in its lobby now, and items no team has had yet."""
    with reading(conn) as cur:
        rows = cur.execute(
            "SELECT c.id, (SELECT count(*) FROM revolt_lobby l WHERE l.campaign_id = c.id "
            " AND l.last_seen >= $since), (SELECT count(*) FROM items i WHERE i.campaign_id = c.id"
            " AND i.id NOT IN (SELECT item_id FROM revolt_batch b WHERE b.campaign_id = c.id)) "
            "FROM campaigns c WHERE c.id = ANY($ids)",
            {"ids": [int(i) for i in campaign_ids], "since": _silent_since(now, settings)}
        ).fetchall()
    return {campaign_id: (waiting, left) for campaign_id, waiting, left in rows}


def teams_forming(conn: Connection, user: User, campaign_ids: list[int], now: datetime,
                  settings: Settings) -> dict[int, int]:
    """Of these team campaigns (those that fit the expert), the ones where others wait in the
    lobby now while the expert is neither there nor in a team: campaign → experts waiting."""
    if not campaign_ids:
        return {}
    with reading(conn) as cur:
        rows = cur.execute(
            "SELECT l.campaign_id, count(*) FROM revolt_lobby l WHERE l.campaign_id = ANY($ids) "
            "AND l.last_seen >= $since AND l.user_id <> $user "
            "AND l.campaign_id NOT IN (SELECT campaign_id FROM revolt_lobby WHERE user_id = $user) "
            "AND l.campaign_id NOT IN (SELECT campaign_id FROM revolt_members "
            " WHERE user_id = $user AND closed_at IS NULL) "
            "GROUP BY l.campaign_id ORDER BY count(*) DESC, l.campaign_id",
            {"ids": [int(c) for c in campaign_ids], "since": _silent_since(now, settings),
             "user": user.id}).fetchall()
    return {int(campaign_id): int(waiting) for campaign_id, waiting in rows}


def stage_pay(cfg: Config) -> list[tuple[str, Decimal]]:
    """The pay per stage, in stage order, for showing before joining."""
    return [(revolt.STAGE_NAMES[s], cfg.pay_for(s)) for s in revolt.WORK_STAGES]
