"""What an expert sees about their own work: counts, earnings, campaigns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pandas as pd

from core.db import Connection, reading
from core.users import User


@dataclass(frozen=True)
class Totals:
    answers: int
    earnings: Decimal
    campaigns: int


def totals(conn: Connection, user: User) -> Totals:
    """The expert's answers, campaigns answered in, and earnings from the pay ledger."""
    with reading(conn) as cur:
        answers, campaigns = cur.execute(
            "SELECT count(*), count(DISTINCT campaign_id) FROM responses "
            "WHERE user_id = ? AND status <> 'rejected'",
            [user.id]).fetchone()
        earnings = cur.execute("SELECT coalesce(sum(amount), 0) FROM pay_ledger WHERE user_id = ?",
                               [user.id]).fetchone()[0]
    return Totals(answers, Decimal(earnings), campaigns)


def campaigns_worked(conn: Connection, user: User, now: datetime) -> pd.DataFrame:
    """Campaigns the expert answered in, each marked ongoing or past, with count and pay."""
    with reading(conn) as cur:
        return cur.execute(
            """
            WITH mine AS (
                SELECT campaign_id, count(*) AS answers, max(submitted_at) AS last_answer
                FROM responses WHERE user_id = $u AND status <> 'rejected'
                GROUP BY campaign_id
            ), pay AS (
                SELECT campaign_id,
                       sum(amount) AS earned,
                       sum(amount) FILTER (WHERE kind = 'reward') AS reward
                FROM pay_ledger WHERE user_id = $u GROUP BY campaign_id
            )
            SELECT c.id, c.title, c.skill, c.language, c.status, c.expires_at, mine.answers,
                   mine.last_answer, coalesce(pay.earned, 0) AS earned,
                   coalesce(pay.reward, 0) AS reward,
                   (c.status = 'closed' OR c.expires_at <= $now) AS past
            FROM mine JOIN campaigns c ON c.id = mine.campaign_id
            LEFT JOIN pay ON pay.campaign_id = c.id
            ORDER BY mine.last_answer DESC
            """, {"u": user.id, "now": now}).df()
