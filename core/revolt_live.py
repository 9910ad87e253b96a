"""What keeps team pages live without polling: versions, presence in batches, and tending.

A waiting member's or lobby visitor's page does not ask the database anything while nothing
moves. The server's change feed (server/events.py) reads the `versions` of every team and
lobby it watches in one query per tick and wakes only the pages whose version changed; while a
page's event stream is open, the feed writes its presence (`record_presence`, one batched write
every `Settings.beat_seconds`) and does the time-driven work polls used to do (`tend`: drop a
member silent for `dropout_seconds`, forget silent lobby visitors, form teams, end abandoned
teams). Everything is in the database, so it works across processes and survives a restart.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core import campaigns, revolt, revolt_lobby
from core.assign import check_can_answer
from core.db import Connection, Cursor, reading, writing
from core.errors import Forbidden, NotFound
from core.revolt import Settings
from core.users import User

Version = tuple[int, ...]
TEAM, LOBBY = "team", "lobby"

# One query for every watched team and lobby. A team's version moves with its stage, every
# entry and finished stage (teammates' counts), a member leaving or dropping, and a member
# going quiet or coming back; a lobby's with who is present and who is ready.
_VERSIONS_SQL = """
    WITH entries AS (
        SELECT team_id, count(*) AS n FROM (
            SELECT team_id FROM revolt_votes WHERE team_id = ANY($teams)
            UNION ALL SELECT team_id FROM revolt_explanations WHERE team_id = ANY($teams)
            UNION ALL SELECT team_id FROM revolt_categories WHERE team_id = ANY($teams)
            UNION ALL SELECT team_id FROM revolt_stage_done WHERE team_id = ANY($teams)
        ) AS e GROUP BY team_id),
    members AS (
        SELECT team_id, count(*) FILTER (WHERE status = 'active') AS active,
               count(*) FILTER (WHERE status = 'active' AND last_seen < $quiet) AS quiet
        FROM revolt_members WHERE team_id = ANY($teams) GROUP BY team_id)
    SELECT 'team', t.id, CAST(t.version AS BIGINT), CAST(coalesce(e.n, 0) AS BIGINT),
           CAST(coalesce(m.active, 0) AS BIGINT), CAST(coalesce(m.quiet, 0) AS BIGINT)
    FROM revolt_teams t LEFT JOIN entries e ON e.team_id = t.id
    LEFT JOIN members m ON m.team_id = t.id WHERE t.id = ANY($teams)
    UNION ALL
    SELECT 'lobby', campaign_id, CAST(count(*) AS BIGINT), CAST(sum(user_id) AS BIGINT),
           CAST(count(*) FILTER (WHERE ready_until > $now) AS BIGINT),
           CAST(coalesce(sum(user_id) FILTER (WHERE ready_until > $now), 0) AS BIGINT)
    FROM revolt_lobby WHERE campaign_id = ANY($lobbies) AND last_seen >= $present
    GROUP BY campaign_id
"""


def versions(conn: Connection, teams: list[int], lobbies: list[int], now: datetime,
             settings: Settings) -> dict[tuple[str, int], Version]:
    """The version of each team and lobby given, in one query (an empty lobby is `()`)."""
    with reading(conn) as cur:
        rows = cur.execute(_VERSIONS_SQL, {
            "teams": [int(t) for t in teams], "lobbies": [int(c) for c in lobbies],
            "now": now, "quiet": now - timedelta(seconds=settings.quiet_seconds),
            "present": now - timedelta(seconds=settings.dropout_seconds)}).fetchall()
    found: dict[tuple[str, int], Version] = {(LOBBY, int(c)): () for c in lobbies}
    found.update({(kind, int(key)): tuple(int(v) for v in values)
                  for kind, key, *values in rows})
    return found


def team_version(conn: Connection, team_id: int, now: datetime, settings: Settings) -> Version:
    """One team's version, as the page that draws it records it."""
    return versions(conn, [team_id], [], now, settings).get((TEAM, team_id), ())


def lobby_version(conn: Connection, campaign_id: int, now: datetime,
                  settings: Settings) -> Version:
    """One lobby's version, as the page that draws it records it."""
    return versions(conn, [], [campaign_id], now, settings)[(LOBBY, campaign_id)]


def check_may_watch_team(conn: Connection, user: User, team_id: int) -> None:
    """Raise unless the user is a member of the team (whatever their status)."""
    with reading(conn) as cur:
        known = cur.execute("SELECT EXISTS (SELECT 1 FROM revolt_members WHERE team_id = ? "
                            "AND user_id = ?), EXISTS (SELECT 1 FROM revolt_teams WHERE id = ?)",
                            [team_id, user.id, team_id]).fetchone()
    if not known[1]:
        raise NotFound(f"There is no team number {team_id}.")
    if not known[0]:
        raise Forbidden(f"You are not a member of team {team_id}.")


def check_may_watch_lobby(conn: Connection, user: User, campaign_id: int,
                          now: datetime) -> None:
    """Raise unless the user waits in the campaign's lobby, or may join it."""
    with reading(conn) as cur:
        campaign = campaigns.fetch(cur, campaign_id)
        revolt.require_team_campaign(campaign)
        if cur.execute("SELECT 1 FROM revolt_lobby WHERE campaign_id = ? AND user_id = ?",
                       [campaign_id, user.id]).fetchone():
            return
        check_can_answer(cur, user, campaign, now)


def record_presence(conn: Connection, members: list[tuple[int, int]],
                    visitors: list[tuple[int, int]], now: datetime) -> None:
    """Note in one transaction that these (team, user) members and (campaign, user) lobby
    visitors have their page open now."""
    if not members and not visitors:
        return

    def work(cur: Cursor) -> None:
        if members:
            cur.execute(
                "UPDATE revolt_members SET last_seen = $now FROM (SELECT unnest($teams) AS t, "
                "unnest($users) AS u) AS here WHERE revolt_members.team_id = here.t "
                "AND revolt_members.user_id = here.u AND revolt_members.status = 'active' "
                "AND revolt_members.last_seen < $now",
                {"now": now, "teams": [t for t, _ in members], "users": [u for _, u in members]})
        if visitors:
            cur.execute(
                "UPDATE revolt_lobby SET last_seen = $now FROM (SELECT unnest($campaigns) AS c, "
                "unnest($users) AS u) AS here WHERE revolt_lobby.campaign_id = here.c "
                "AND revolt_lobby.user_id = here.u AND revolt_lobby.last_seen < $now",
                {"now": now, "campaigns": [c for c, _ in visitors],
                 "users": [u for _, u in visitors]})

    writing(conn, work)


# Teams with something due by the clock alone: a silent member to drop, or a campaign that
# stopped. (A stage that every member finished moves in the transaction of the last entry.)
_DUE_BY_TIME_SQL = """
    SELECT DISTINCT t.id FROM revolt_teams t JOIN campaigns c ON c.id = t.campaign_id
    LEFT JOIN revolt_members m ON m.team_id = t.id AND m.status = 'active'
        AND m.last_seen < $silent
    LEFT JOIN revolt_stage_done d ON d.team_id = m.team_id AND d.user_id = m.user_id
        AND d.stage = 'categorize'
    WHERE t.id = ANY($teams) AND t.stage <> 'done'
      AND ((m.user_id IS NOT NULL AND d.user_id IS NULL) OR c.status <> 'live'
           OR c.opens_at > $now OR c.expires_at <= $now)
    ORDER BY t.id
"""


def tend(conn: Connection, teams: list[int], lobbies: list[int], now: datetime,
         settings: Settings) -> list[revolt.Transition]:
    """Do what the clock makes due for these teams and lobbies; returns the teams' moves.

    One read finds the teams with a member silent for `dropout_seconds` (or a stopped
    campaign) and the lobbies with work; only those are written."""
    with reading(conn) as cur:
        due = [t for (t,) in cur.execute(_DUE_BY_TIME_SQL, {
            "teams": [int(t) for t in teams], "now": now,
            "silent": now - timedelta(seconds=settings.dropout_seconds)}).fetchall()]
    moves = [move for team_id in due for move in revolt.advance(conn, team_id, now, settings)]
    for campaign_id in revolt_lobby.lobbies_with_work(conn, lobbies, now, settings):
        revolt_lobby.tend(conn, campaign_id, now, settings)
    return moves
