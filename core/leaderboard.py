"""Leaderboard: points from kept answers weighted by quality, ranked fairly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

import pandas as pd

from core.db import Connection, reading
from core.errors import Invalid
from core.users import User

PERIODS = {"week": 7, "month": 30, "all": None}
SCOPES = ("overall", "skill", "campaign")

# Points: each accepted answer, or submitted one not flagged too fast, is worth the expert's
# quality score in its campaign (1 while unmeasured). Equal points share a rank (1, 2, 2, 4).
# The answers are counted from the daily rollup (core/rollups.py) for whole days and from the
# answers themselves for the part of the first day after `since` (`full_days_from` is the first
# whole day; both NULL for all time).
STANDINGS_SQL = """
    WITH counted AS (
        SELECT user_id, campaign_id, sum(answers)::BIGINT AS answers
        FROM (
            SELECT w.user_id, w.campaign_id, w.counted AS answers
            FROM work_rollup w
            WHERE w.counted <> 0
              AND ($full_days_from::DATE IS NULL OR w.day >= $full_days_from)
              AND ($campaign::INTEGER IS NULL OR w.campaign_id = $campaign)
            UNION ALL
            SELECT r.user_id, r.campaign_id, count(*)
            FROM responses r
            WHERE (r.status = 'accepted' OR (r.status = 'submitted' AND NOT r.too_fast))
              AND r.submitted_at >= $since AND r.submitted_at < $full_days_from
              AND ($campaign::INTEGER IS NULL OR r.campaign_id = $campaign)
            GROUP BY r.user_id, r.campaign_id
        ) AS parts
        GROUP BY user_id, campaign_id
        HAVING sum(answers) > 0
    ), points AS (
        SELECT c.user_id, sum(c.answers * coalesce(q.score, 1.0)) AS points,
               sum(c.answers) AS answers
        FROM counted c
        JOIN campaigns k ON k.id = c.campaign_id
                         AND ($skill::VARCHAR IS NULL OR k.skill = $skill)
        LEFT JOIN expert_quality q ON q.campaign_id = c.campaign_id AND q.user_id = c.user_id
        GROUP BY c.user_id
    )
    SELECT rank() OVER (ORDER BY points::DECIMAL(18, 6) DESC) AS rank, user_id, points, answers
    FROM points
"""


@dataclass(frozen=True)
class Board:
    """The top of a leaderboard and the viewer's own row (None if they have no points)."""
    top: pd.DataFrame
    me: dict | None
    experts: int


def standings(conn: Connection, *, scope: str = "overall",
              key: str | int | None = None, period: str = "all",
              now: datetime) -> pd.DataFrame:
    """Every expert with points in the scope and period, ranked (ties share a rank)."""
    params = _params(scope, key, period, now)
    with reading(conn) as cur:
        return cur.execute(STANDINGS_SQL + " ORDER BY rank, user_id", params).df()


def board(conn: Connection, viewer: User, *, scope: str = "overall",
          key: str | int | None = None, period: str = "all", now: datetime,
          top: int = 20) -> Board:
    """The top `top` experts by name (anonymous if they opted out) and the viewer's rank."""
    params = _params(scope, key, period, now)
    with reading(conn) as cur:
        ranked = cur.execute(
            f"""
            WITH ranked AS ({STANDINGS_SQL})
            SELECT r.rank, r.user_id, r.points, r.answers, count(*) OVER () AS experts,
                   CASE WHEN u.leaderboard_opt_out AND u.id <> $viewer
                        THEN 'Anonymous expert' ELSE u.name END AS name
            FROM ranked r JOIN users u ON u.id = r.user_id
            WHERE r.rank <= $top OR r.user_id = $viewer
            ORDER BY r.rank, r.user_id
            """, {**params, "viewer": viewer.id, "top": top}).df()
    mine = ranked[ranked["user_id"] == viewer.id]
    experts = int(ranked["experts"].iloc[0]) if not ranked.empty else 0
    shown = ranked[ranked["rank"] <= top].drop(columns=["experts"])
    return Board(shown.reset_index(drop=True),
                 mine.drop(columns=["experts"]).iloc[0].to_dict() if not mine.empty else None,
                 experts)


def waiting_for_review(conn: Connection, user: User) -> int:
    """The expert's answers flagged too fast that earn no points until a reviewer accepts them."""
    with reading(conn) as cur:
        return cur.execute("SELECT count(*) FILTER (WHERE status = 'submitted' AND too_fast) "
                           "FROM responses WHERE user_id = ?", [user.id]).fetchone()[0]


def _params(scope: str, key, period: str, now: datetime) -> dict:
    if scope not in SCOPES or period not in PERIODS:
        raise Invalid(f"Unknown leaderboard {scope!r} / {period!r}.")
    if scope != "overall" and key is None:
        raise Invalid(f"Choose a {scope} for this leaderboard.")
    days = PERIODS[period]
    since = now - timedelta(days=days) if days else None
    whole = None if since is None else (
        since.date() + timedelta(days=0 if since.time() == time(0) else 1))
    return {"since": since, "full_days_from": whole,
            "campaign": key if scope == "campaign" else None,
            "skill": key if scope == "skill" else None}
