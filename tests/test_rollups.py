"""The daily rollup (core/rollups.py) against the answers and the ledger it summarises.

The leaderboard and the impact dashboard read the rollup; here every figure they give is
compared with the same figure computed from the raw answers and pay rows, as they were computed
before the rollup existed, on both engines.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from core import assign, db, edits, impact, leaderboard, lifecycle, responses, review, rollups
from core.errors import Invalid
from tests.conftest import NOW

ROLLUP = "SELECT * FROM work_rollup WHERE answers <> 0 OR kept <> 0 OR pay <> 0 ORDER BY 1, 2, 3"

# The leaderboard's points as computed from every answer (before the rollup).
RAW_STANDINGS = """
    WITH counted AS (
        SELECT r.user_id, r.campaign_id, count(*) AS answers
        FROM responses r
        WHERE (r.status = 'accepted' OR (r.status = 'submitted' AND NOT r.too_fast))
          AND ($since::TIMESTAMP IS NULL OR r.submitted_at >= $since)
          AND ($campaign::INTEGER IS NULL OR r.campaign_id = $campaign)
        GROUP BY r.user_id, r.campaign_id
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
    FROM points ORDER BY rank, user_id
"""

# The dashboard's answer and pay figures as computed from every row (before the rollup).
RAW_TOTALS = """
    SELECT (SELECT count(DISTINCT user_id) FROM responses
              WHERE submitted_at >= $start AND submitted_at < $end),
           (SELECT count(*) FROM responses WHERE status <> 'rejected'
              AND submitted_at >= $start AND submitted_at < $end),
           (SELECT coalesce(sum(amount), 0) FROM pay_ledger
              WHERE created_at >= $start AND created_at < $end)
"""
RAW_MONTHLY = """
    SELECT coalesce(w.month, s.month) AS month, coalesce(w.active_experts, 0) AS active_experts,
           coalesce(w.items, 0) AS items, coalesce(s.cost, 0)::DOUBLE AS cost
    FROM (SELECT date_trunc('month', submitted_at)::DATE AS month,
                 count(DISTINCT user_id) AS active_experts,
                 count(*) FILTER (WHERE status <> 'rejected') AS items
          FROM responses WHERE submitted_at >= $start AND submitted_at < $end GROUP BY 1) w
    FULL JOIN (SELECT date_trunc('month', created_at)::DATE AS month, sum(amount) AS cost
               FROM pay_ledger WHERE created_at >= $start AND created_at < $end GROUP BY 1) s
      ON s.month = w.month
    ORDER BY 1
"""
RAW_BY_SKILL = """
    SELECT r.submitted_at::DATE AS day, s.name AS skill, count(*) AS items
    FROM responses r JOIN campaigns c ON c.id = r.campaign_id JOIN skills s ON s.code = c.skill
    WHERE r.status <> 'rejected' AND r.submitted_at >= $start AND r.submitted_at < $end
    GROUP BY 1, 2 ORDER BY 1, 2
"""
RAW_TOP = """
    SELECT c.title AS campaign, i.items, i.experts, coalesce(sp.cost, 0)::DOUBLE AS cost
    FROM (SELECT campaign_id, count(*) AS items, count(DISTINCT user_id) AS experts
          FROM responses WHERE status <> 'rejected' AND submitted_at >= $start
            AND submitted_at < $end GROUP BY 1) i
    JOIN campaigns c ON c.id = i.campaign_id
    LEFT JOIN (SELECT campaign_id, sum(amount) AS cost FROM pay_ledger
               WHERE created_at >= $start AND created_at < $end GROUP BY 1) sp
      ON sp.campaign_id = i.campaign_id
    ORDER BY i.items DESC, c.title
"""


def raw_df(conn, sql: str, params: dict) -> pd.DataFrame:
    """A query's result as the core functions build theirs (a cursor's DataFrame)."""
    with db.reading(conn) as cur:
        return cur.execute(sql, params).df()


def answer(conn, user, campaign, when, seconds=120, label="positive"):
    got = assign.claim_next(conn, user, campaign.id, when).assignment
    responses.submit(conn, user, got.item_id, {"label": label}, got.spec_version,
                     when + timedelta(seconds=seconds))
    return conn.execute("SELECT max(id) FROM responses WHERE user_id = ?", [user.id]).fetchone()[0]


@pytest.fixture
def work(conn, requester, make_user, make_campaign):
    """Answers over ten days in two campaigns: in time and too fast, accepted, rejected (with
    the reversal on a later day), one withdrawn, a closing bonus and challenge rewards."""
    admin = make_user("boss", roles=("admin",), expertise=())
    first = make_campaign(n_items=8, overlap=3, opens_at=NOW - timedelta(days=12),
                          bonus_min_quality=0.5, bonus_per_item=0.5, challenge_rewards=[20, 10])
    second = make_campaign(n_items=6, overlap=2, title="Second", opens_at=NOW - timedelta(days=12),
                           pay_per_item=0.75)
    ada, bob, cyd = make_user("ada"), make_user("bob"), make_user("cyd")
    start = NOW - timedelta(days=10, hours=5, minutes=17)  # days start at odd hours
    ids = []
    for n in range(6):
        when = start + timedelta(days=2 * n, hours=n * 3)
        ids.append(answer(conn, ada, first, when, seconds=20 if n % 3 == 0 else 90))
        ids.append(answer(conn, bob, first, when + timedelta(minutes=7), label="negative"))
        answer(conn, cyd, first, when + timedelta(minutes=9))
        if n % 2:
            ids.append(answer(conn, cyd, second, when + timedelta(hours=1), seconds=5))
            ids.append(answer(conn, bob, second, when + timedelta(hours=2)))
    review.accept(conn, requester, ids[0], NOW - timedelta(days=1))  # was too fast
    review.accept(conn, requester, ids[1], NOW - timedelta(days=1))
    review.accept(conn, requester, ids[1], NOW - timedelta(days=1))  # twice: no change
    review.reject(conn, requester, ids[3], "Copied", NOW - timedelta(hours=2))
    review.accept_many(conn, requester, second.id, ids[4:7], NOW - timedelta(hours=3))
    review.reject(conn, requester, ids[2], "Too fast to be read", NOW - timedelta(hours=30))
    lifecycle.move(conn, requester, first.id, "closed", NOW - timedelta(hours=1))
    taken_back = answer(conn, ada, second, NOW - timedelta(minutes=10))
    edits.withdraw(conn, ada, taken_back, NOW - timedelta(minutes=5))  # leaves counts and pay
    return admin, first, second


def test_the_rollup_equals_the_answers_and_ledger_it_summarises(conn, work):
    kinds = {r[0] for r in conn.execute("SELECT DISTINCT kind FROM pay_ledger").fetchall()}
    assert kinds == {"item", "reversal", "bonus", "reward"}
    kept = raw_df(conn, ROLLUP, {})
    # Rows that sum to nothing (an answer withdrawn with its pay) are left out on both sides.
    computed = raw_df(conn, "SELECT * FROM (" + rollups.COMPUTED_SQL.format(
        responses="true", ledger="true") + ") AS c WHERE answers <> 0 OR kept <> 0 OR pay <> 0"
        " ORDER BY 1, 2, 3", {})
    assert len(kept) > 10
    pd.testing.assert_frame_equal(kept, computed, check_dtype=False)
    db.writing(conn, rollups.rebuild)  # and a rebuild gives the same rows
    pd.testing.assert_frame_equal(raw_df(conn, ROLLUP, {}), kept, check_dtype=False)


@pytest.mark.parametrize("hour", [0, 9.5, 23.99])
def test_leaderboards_equal_the_raw_computation(conn, work, hour):
    _, first, second = work
    now = datetime.combine(NOW.date(), datetime.min.time()) + timedelta(hours=hour)
    for period in leaderboard.PERIODS:
        for scope, key in (("overall", None), ("skill", "general"), ("campaign", first.id),
                           ("campaign", second.id)):
            params = leaderboard._params(scope, key, period, now)
            got = leaderboard.standings(conn, scope=scope, key=key, period=period, now=now)
            raw = raw_df(conn, RAW_STANDINGS,
                         {k: params[k] for k in ("since", "campaign", "skill")})
            assert len(raw) > 0
            pd.testing.assert_frame_equal(got, raw, check_dtype=False)


@pytest.mark.parametrize("days", [1, 3, 7, 30, 400])
def test_impact_figures_equal_the_raw_computation(conn, work, days):
    admin = work[0]
    end = NOW.date() + timedelta(days=1)
    start = end - timedelta(days=days)
    span = {"start": start, "end": end}
    totals = impact.totals(conn, admin, start, end, Decimal("1.00"))
    active, items, cost = conn.execute(RAW_TOTALS, span).fetchone()
    assert (totals.active_experts, totals.items_collected, totals.cost) == (
        active, items, Decimal(cost))
    monthly = impact.monthly(conn, admin, start, end)
    raw = raw_df(conn, RAW_MONTHLY, span)
    shown = monthly[(monthly["items"] > 0) | (monthly["cost"] != 0)
                    | (monthly["active_experts"] > 0)].reset_index(drop=True)
    shown = shown[["month", "active_experts", "items", "cost"]].assign(
        month=lambda f: pd.to_datetime(f["month"]))
    pd.testing.assert_frame_equal(shown, raw.assign(month=pd.to_datetime(raw["month"])),
                                  check_dtype=False)
    by_skill = impact.items_by_skill(conn, admin, start, end)
    pd.testing.assert_frame_equal(by_skill[["day", "skill", "items"]],
                                  raw_df(conn, RAW_BY_SKILL, span), check_dtype=False)
    top = impact.top_campaigns(conn, admin, start, end)
    pd.testing.assert_frame_equal(top[["campaign", "items", "experts", "cost"]],
                                  raw_df(conn, RAW_TOP, span), check_dtype=False)
    assert days < 3 or totals.items_collected > 0


def test_the_migration_fills_the_rollup_from_what_is_stored(conn, work):
    kept = conn.execute(ROLLUP).fetchall()
    conn.execute("DELETE FROM work_rollup")
    backfill = db.migrations(conn.engine)
    sql = next(text for version, _, text in backfill if version == 16)
    insert = sql[sql.index("INSERT INTO work_rollup"):].split(";")[0]
    conn.execute(insert)
    assert conn.execute(ROLLUP).fetchall() == kept


def test_a_refused_submit_leaves_the_rollup_as_it_was(conn, make_user, make_campaign):
    campaign = make_campaign(n_items=1, overlap=1)
    ada = make_user("ada")
    got = assign.claim_next(conn, ada, campaign.id, NOW).assignment
    with pytest.raises(Invalid):
        responses.submit(conn, ada, got.item_id, {"label": "not an option"}, got.spec_version,
                         NOW + timedelta(minutes=1))
    assert conn.execute("SELECT count(*) FROM work_rollup").fetchone()[0] == 0
    responses.submit(conn, ada, got.item_id, {"label": "positive"}, got.spec_version,
                     NOW + timedelta(minutes=1))
    assert conn.execute("SELECT day, answers, kept, counted, pay FROM work_rollup").fetchall() == [
        (date(2026, 11, 24), 1, 1, 1, Decimal("1.25"))]


def test_ids_past_the_packed_key_are_refused_not_added_to_another_row(conn):
    with pytest.raises(OverflowError, match="campaign ids below 100,000"):
        db.writing(conn, lambda cur: rollups.answered(cur, NOW, 100_000, 1, too_fast=False,
                                                      seconds=1.0, pay=Decimal("1")))
    assert conn.execute("SELECT count(*) FROM work_rollup").fetchone() == (0,)
