"""A campaign's progress for its requester: completion, pace, time, experts, cost, forecast."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import pandas as pd

from core import campaigns
from core.db import Connection, reading
from core.users import User

PACE_DAYS = 7  # the forecast extrapolates the pace of this many recent days


@dataclass(frozen=True)
class Summary:
    items_total: int
    items_complete: int
    answers: int
    rejected: int
    answers_needed: int
    active_experts: int
    cost: Decimal
    answers_per_day: float
    forecast: datetime | None

    @property
    def completion(self) -> float:
        """Share of items that have all their answers."""
        return self.items_complete / self.items_total if self.items_total else 0.0


def summary(conn: Connection, actor: User, campaign_id: int,
            now: datetime) -> Summary:
    """The campaign's headline numbers and the forecast completion date at the recent pace."""
    campaign = campaigns.get(conn, campaign_id)
    campaigns.require_owner(actor, campaign)
    recent = now - timedelta(days=PACE_DAYS)
    with reading(conn) as cur:
        total, complete, needed = cur.execute(
            "SELECT count(*), count(*) FILTER (WHERE response_count >= ?), "
            "coalesce(sum(greatest(? - response_count, 0)), 0) FROM items WHERE campaign_id = ?",
            [campaign.overlap, campaign.overlap, campaign_id]).fetchone()
        answers, rejected, recent_answers, active = cur.execute(
            "SELECT count(*) FILTER (WHERE status <> 'rejected'), "
            "count(*) FILTER (WHERE status = 'rejected'), "
            "count(*) FILTER (WHERE submitted_at >= ? AND status <> 'rejected'), "
            "count(DISTINCT user_id) FILTER (WHERE submitted_at >= ?) "
            "FROM responses WHERE campaign_id = ?", [recent, recent, campaign_id]).fetchone()
        cost = cur.execute("SELECT coalesce(sum(amount), 0) FROM pay_ledger WHERE campaign_id = ?",
                           [campaign_id]).fetchone()[0]
    days = max(min(PACE_DAYS, (now - campaign.opens_at).total_seconds() / 86400), 1 / 24)
    pace = recent_answers / days
    forecast = now + timedelta(days=needed / pace) if pace > 0 and needed else None
    if needed == 0 and total:
        forecast = now
    return Summary(total, complete, answers, rejected, int(needed), active, Decimal(cost), pace,
                   forecast)


def answers_per_day(conn: Connection, campaign_id: int) -> pd.DataFrame:
    """Answers kept and rejected per calendar day (UTC)."""
    with reading(conn) as cur:
        return cur.execute(
            "SELECT submitted_at::DATE AS day, count(*) FILTER (WHERE status <> 'rejected') "
            "AS answers, count(*) FILTER (WHERE status = 'rejected') AS rejected "
            "FROM responses WHERE campaign_id = ? GROUP BY 1 ORDER BY day",
            [campaign_id]).df()


def durations(conn: Connection, campaign_id: int) -> pd.DataFrame:
    """Minutes spent per answer (the latest 20,000 on large campaigns)."""
    with reading(conn) as cur:
        return cur.execute(
            "SELECT duration_s / 60 AS minutes FROM responses WHERE campaign_id = ? "
            "ORDER BY id DESC LIMIT 20000", [campaign_id]).df()


def per_expert(conn: Connection, campaign_id: int) -> pd.DataFrame:
    """Each expert's answers, review outcomes, median time, earnings and last activity."""
    with reading(conn) as cur:
        return cur.execute(
            """
            WITH pay AS (SELECT user_id, sum(amount) AS earned FROM pay_ledger
                         WHERE campaign_id = $c GROUP BY user_id)
            SELECT u.username AS expert, count(*) AS answers,
                   count(*) FILTER (WHERE r.status = 'accepted') AS accepted,
                   count(*) FILTER (WHERE r.status = 'rejected') AS rejected,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY r.duration_s) / 60
                       AS median_minutes,
                   coalesce(max(pay.earned), 0) AS earned,
                   max(r.submitted_at) AS last_answer
            FROM responses r JOIN users u ON u.id = r.user_id
            LEFT JOIN pay ON pay.user_id = r.user_id
            WHERE r.campaign_id = $c GROUP BY u.username ORDER BY answers DESC, expert
            """, {"c": campaign_id}).df()
