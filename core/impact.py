"""Leadership's impact numbers: people, campaigns, items, cost against vendors, satisfaction.

Every function takes the admin asking, and a half-open date range [start, end). Answers and
pay are read from the daily rollup (core/rollups.py), which holds whole days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pandas as pd

from core.db import Connection, reading
from core.users import User, require_role


@dataclass(frozen=True)
class Totals:
    signups: int
    active_experts: int
    campaigns_launched: int
    items_collected: int
    cost: Decimal
    cost_per_item: Decimal | None
    vendor_cost: Decimal
    saving: Decimal
    satisfaction: float | None
    survey_responses: int


def _range(start: date, end: date) -> dict:
    return {"start": start, "end": end}


def totals(conn: Connection, actor: User, start: date, end: date,
           vendor_price: Decimal) -> Totals:
    """The headline numbers over the range; the saving is against buying items from a vendor."""
    require_role(actor, "admin")
    with reading(conn) as cur:
        signups, active, launched, items, cost, score, surveys = cur.execute(
            """
            SELECT
              (SELECT count(*) FROM users WHERE created_at >= $start AND created_at < $end),
              (SELECT count(DISTINCT user_id) FROM work_rollup
                 WHERE answers > 0 AND day >= $start AND day < $end),
              (SELECT count(*) FROM campaigns WHERE status <> 'draft'
                 AND opens_at >= $start AND opens_at < $end),
              (SELECT coalesce(sum(kept), 0)::BIGINT FROM work_rollup
                 WHERE day >= $start AND day < $end),
              (SELECT coalesce(sum(pay), 0) FROM work_rollup
                 WHERE day >= $start AND day < $end),
              (SELECT avg(score) FROM surveys WHERE answered_at >= $start AND answered_at < $end),
              (SELECT count(*) FROM surveys WHERE answered_at >= $start AND answered_at < $end)
            """, _range(start, end)).fetchone()
    cost = Decimal(cost)
    vendor = (vendor_price * items).quantize(Decimal("0.01"))
    per_item = (cost / items).quantize(Decimal("0.01")) if items else None
    return Totals(signups, active, launched, items, cost, per_item, vendor, vendor - cost,
                  None if score is None else float(score), surveys)


def signups(conn: Connection, actor: User, start: date, end: date
            ) -> pd.DataFrame:
    """Sign-ups per day and the running total of accounts (counting those before the range)."""
    require_role(actor, "admin")
    with reading(conn) as cur:
        return cur.execute(
            """
            WITH days AS (SELECT created_at::DATE AS day, count(*) AS signups FROM users
                          WHERE created_at < $end GROUP BY 1),
            running AS (SELECT day, signups, sum(signups) OVER (ORDER BY day) AS accounts
                        FROM days)
            SELECT * FROM running WHERE day >= $start ORDER BY day
            """, _range(start, end)).df()


def monthly(conn: Connection, actor: User, start: date, end: date
            ) -> pd.DataFrame:
    """Per calendar month: active experts, campaigns launched, items, cost, satisfaction.

    Every month of the range appears, with zeros (and no satisfaction) where nothing happened;
    `satisfaction_change` is the difference from the previous month that had responses.
    """
    require_role(actor, "admin")
    with reading(conn) as cur:
        return cur.execute(
            """
            WITH months AS (
                SELECT first_day::DATE AS month
                FROM generate_series(date_trunc('month', $start::TIMESTAMP),
                                     ($end::DATE - 1)::TIMESTAMP, INTERVAL '1 month')
                     AS series (first_day)
            ), work AS (
                SELECT date_trunc('month', day)::DATE AS month,
                       count(DISTINCT user_id) FILTER (WHERE answers > 0) AS active_experts,
                       sum(kept)::BIGINT AS items
                FROM work_rollup WHERE day >= $start AND day < $end AND answers <> 0
                GROUP BY 1
            ), launched AS (
                SELECT date_trunc('month', opens_at)::DATE AS month, count(*) AS campaigns
                FROM campaigns WHERE status <> 'draft' AND opens_at >= $start
                  AND opens_at < $end GROUP BY 1
            ), spend AS (
                SELECT date_trunc('month', day)::DATE AS month, sum(pay) AS cost
                FROM work_rollup WHERE day >= $start AND day < $end AND pay <> 0 GROUP BY 1
            ), happy AS (
                SELECT date_trunc('month', answered_at)::DATE AS month,
                       avg(score)::DOUBLE AS satisfaction, count(*) AS survey_responses
                FROM surveys WHERE answered_at >= $start AND answered_at < $end GROUP BY 1
            ), happy_change AS (  -- the change from the previous month that had responses
                SELECT *, satisfaction - lag(satisfaction) OVER (ORDER BY month)
                       AS satisfaction_change
                FROM happy
            )
            SELECT m.month, coalesce(w.active_experts, 0) AS active_experts,
                   coalesce(l.campaigns, 0) AS campaigns_launched,
                   coalesce(w.items, 0) AS items, coalesce(s.cost, 0)::DOUBLE AS cost,
                   h.satisfaction, coalesce(h.survey_responses, 0) AS survey_responses,
                   h.satisfaction_change
            FROM months m LEFT JOIN work w USING (month) LEFT JOIN launched l USING (month)
            LEFT JOIN spend s USING (month) LEFT JOIN happy_change h USING (month)
            ORDER BY m.month
            """, _range(start, end)).df()


def items_by_skill(conn: Connection, actor: User, start: date, end: date
                   ) -> pd.DataFrame:
    """Items collected per skill area per day, with each skill's running total."""
    require_role(actor, "admin")
    with reading(conn) as cur:
        return cur.execute(
            """
            WITH per_day AS (
                SELECT w.day, s.name AS skill, sum(w.kept)::BIGINT AS items
                FROM work_rollup w JOIN campaigns c ON c.id = w.campaign_id
                JOIN skills s ON s.code = c.skill
                WHERE w.kept <> 0 AND w.day >= $start AND w.day < $end
                GROUP BY 1, 2
            )
            SELECT day, skill, items,
                   sum(items) OVER (PARTITION BY skill ORDER BY day) AS cumulative
            FROM per_day ORDER BY day, skill
            """, _range(start, end)).df()


def top_campaigns(conn: Connection, actor: User, start: date, end: date,
                  limit: int = 10) -> pd.DataFrame:
    """The campaigns that collected the most items in the range, with their cost."""
    require_role(actor, "admin")
    with reading(conn) as cur:
        return cur.execute(
            """
            WITH items AS (
                SELECT campaign_id, sum(kept)::BIGINT AS items, count(DISTINCT user_id) AS experts
                FROM work_rollup WHERE kept <> 0 AND day >= $start AND day < $end GROUP BY 1
            ), spend AS (
                SELECT campaign_id, sum(pay) AS cost FROM work_rollup
                WHERE pay <> 0 AND day >= $start AND day < $end GROUP BY 1
            )
            SELECT c.title AS campaign, s.name AS skill, c.language, c.status, i.items,
                   i.experts, coalesce(sp.cost, 0)::DOUBLE AS cost,
                   coalesce(sp.cost, 0)::DOUBLE / i.items AS cost_per_item
            FROM items i JOIN campaigns c ON c.id = i.campaign_id
            JOIN skills s ON s.code = c.skill LEFT JOIN spend sp ON sp.campaign_id = i.campaign_id
            ORDER BY i.items DESC, c.title LIMIT $limit
            """, {**_range(start, end), "limit": limit}).df()
