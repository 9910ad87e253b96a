"""The satisfaction survey and leadership's impact numbers, on hand-built data."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from core import assign, impact, responses, survey
from core.errors import Forbidden, Invalid
from tests.conftest import NOW

POLICY = survey.Policy(after_answers=2, period_days=30)


def answer(conn, user, campaign, when):
    got = assign.claim_next(conn, user, campaign.id, when).assignment
    responses.submit(conn, user, got.item_id, {"label": "positive"}, got.spec_version,
                     when + timedelta(minutes=2))


def test_survey_is_offered_after_answers_and_at_most_once_per_period(conn, make_user,
                                                                     make_campaign):
    campaign = make_campaign(n_items=6, overlap=1)
    ada = make_user("ada")
    answer(conn, ada, campaign, NOW)
    assert not survey.due(conn, ada, NOW + timedelta(hours=1), POLICY)
    answer(conn, ada, campaign, NOW)
    assert survey.due(conn, ada, NOW + timedelta(hours=1), POLICY)
    survey.answer(conn, ada, 4, "  Smooth, but the guidelines were long.  ",
                  NOW + timedelta(hours=1))
    answer(conn, ada, campaign, NOW + timedelta(hours=2))
    answer(conn, ada, campaign, NOW + timedelta(hours=2))
    assert not survey.due(conn, ada, NOW + timedelta(days=10), POLICY)  # answered this period
    assert survey.due(conn, ada, NOW + timedelta(days=31), POLICY)
    survey.dismiss(conn, ada, NOW + timedelta(days=31))
    assert not survey.due(conn, ada, NOW + timedelta(days=32), POLICY)
    assert conn.execute("SELECT comment FROM surveys").fetchone()[0] == \
        "Smooth, but the guidelines were long."
    with pytest.raises(Invalid):
        survey.answer(conn, ada, 6, "", NOW)


@pytest.fixture
def history(conn, make_user, make_campaign):
    """Sign-ups, answers and surveys spread over September to November 2026."""
    admin = make_user("boss", roles=("admin",), expertise=())
    campaign = make_campaign(n_items=10, overlap=2, opens_at=datetime(2026, 9, 1),
                             expires_at=datetime(2026, 12, 31))
    ada, bob = make_user("ada"), make_user("bob")
    conn.execute("UPDATE users SET created_at = ? WHERE username = 'ada'", [datetime(2026, 9, 3)])
    conn.execute("UPDATE users SET created_at = ? WHERE username = 'bob'", [datetime(2026, 11, 2)])
    answer(conn, ada, campaign, datetime(2026, 9, 10))
    answer(conn, ada, campaign, datetime(2026, 9, 11))
    answer(conn, ada, campaign, datetime(2026, 11, 5))
    answer(conn, bob, campaign, datetime(2026, 11, 6))
    survey.answer(conn, ada, 3, "", datetime(2026, 9, 12))
    survey.answer(conn, ada, 5, "Better now", datetime(2026, 11, 7))
    survey.answer(conn, bob, 4, "", datetime(2026, 11, 8))
    return admin


def test_totals_and_saving_against_the_vendor(conn, history):
    t = impact.totals(conn, history, date(2026, 9, 1), date(2026, 12, 1), Decimal("4.00"))
    assert (t.active_experts, t.items_collected, t.campaigns_launched) == (2, 4, 1)
    assert t.cost == Decimal("5.00") and t.cost_per_item == Decimal("1.25")
    assert t.vendor_cost == Decimal("16.00") and t.saving == Decimal("11.00")
    assert t.satisfaction == pytest.approx(4.0) and t.survey_responses == 3
    october = impact.totals(conn, history, date(2026, 10, 1), date(2026, 11, 1), Decimal("4"))
    assert (october.items_collected, october.cost_per_item, october.satisfaction) == (0, None,
                                                                                      None)


def test_monthly_rows_cover_empty_months_and_compare_satisfaction(conn, history):
    months = impact.monthly(conn, history, date(2026, 9, 1), date(2026, 12, 1))
    assert [m.month for m in months["month"]] == [9, 10, 11]
    assert months["active_experts"].tolist() == [1, 0, 2]
    assert months["items"].tolist() == [2, 0, 2]
    assert months["survey_responses"].tolist() == [1, 0, 2]
    assert months["satisfaction"].tolist()[0] == 3.0 and months["satisfaction"].isna()[1]
    assert months["satisfaction"].tolist()[2] == 4.5
    assert months["satisfaction_change"].tolist()[2] == 1.5  # against September, skipping October
    assert months["cost"].tolist() == [2.5, 0.0, 2.5]


def test_signups_are_cumulative_from_before_the_range(conn, history):
    days = impact.signups(conn, history, date(2026, 10, 1), date(2026, 12, 1))
    # boss and rita signed up on NOW (Nov 24); ada before the range; bob on Nov 2.
    assert days[["signups", "accounts"]].values.tolist() == [[1, 2], [2, 4]]


def test_items_by_skill_and_top_campaigns(conn, history):
    by_skill = impact.items_by_skill(conn, history, date(2026, 9, 1), date(2026, 12, 1))
    assert by_skill["cumulative"].tolist() == [1, 2, 3, 4]
    assert set(by_skill["skill"]) == {"General knowledge"}
    top = impact.top_campaigns(conn, history, date(2026, 9, 1), date(2026, 12, 1))
    assert top[["items", "experts", "cost"]].values.tolist() == [[4, 2, 5.0]]


def test_only_admins_see_impact(conn, make_user):
    with pytest.raises(Forbidden):
        impact.totals(conn, make_user("ada"), date(2026, 1, 1), date(2026, 2, 1), Decimal(1))
