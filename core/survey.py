"""The satisfaction survey: offered after some answers, at most once per period, easy to skip."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core.db import Connection, reading, writing
from core.errors import Invalid
from core.users import User


@dataclass(frozen=True)
class Policy:
    """When to offer the survey: after `after_answers` answers, at most once per `period_days`."""
    after_answers: int = 10
    period_days: int = 30


def due(conn: Connection, user: User, now: datetime,
        policy: Policy = Policy()) -> bool:
    """Whether to offer the survey now: not asked this period, and enough answers since last."""
    with reading(conn) as cur:
        answered = cur.execute(
            "WITH asked AS (SELECT max(asked_at) AS last FROM (SELECT answered_at AS asked_at "
            "  FROM surveys WHERE user_id = $u UNION ALL SELECT dismissed_at "
            "  FROM survey_dismissals WHERE user_id = $u) AS asks) "
            "SELECT CASE WHEN last > $cutoff THEN NULL ELSE (SELECT count(*) FROM responses "
            "  WHERE user_id = $u AND submitted_at > coalesce(last, $never)) END FROM asked",
            {"u": user.id, "cutoff": now - timedelta(days=policy.period_days),
             "never": datetime.min}).fetchone()[0]
    return answered is not None and answered >= policy.after_answers


def answer(conn: Connection, user: User, score: int, comment: str,
           now: datetime) -> None:
    """Record a 1–5 score with an optional comment."""
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise Invalid("Choose a score from 1 to 5.", {"score": "pick one of the five"})
    if len(comment) > 2000:
        raise Invalid("Keep the comment under 2,000 characters.", {"comment": "too long"})
    writing(conn, lambda cur: cur.execute(
        "INSERT INTO surveys (user_id, score, comment, answered_at) VALUES (?, ?, ?, ?)",
        [user.id, score, comment.strip(), now]))


def dismiss(conn: Connection, user: User, now: datetime) -> None:
    """Not now: the survey comes back after the next period."""
    writing(conn, lambda cur: cur.execute("INSERT INTO survey_dismissals VALUES (?, ?)",
                                          [user.id, now]))
