"""Quality in the background: stale campaigns found, computed once, nothing lost meanwhile."""

from datetime import timedelta

from core import quality, quality_jobs, review
from tests.conftest import NOW
from tests.test_quality import label, three_experts

LATER = NOW + timedelta(hours=1)


def test_a_worker_computes_what_changed_and_only_that(conn, requester, make_user,
                                                     make_campaign):
    campaign, _ = three_experts(conn, make_user, make_campaign)
    assert quality_jobs.freshness(conn, campaign.id).stale
    assert quality_jobs.run_once(conn, "w1", LATER) == [campaign.id]
    assert not quality.agreement_table(conn, campaign.id).empty
    fresh = quality_jobs.freshness(conn, campaign.id)
    assert fresh.computed_at == LATER and not fresh.stale and fresh.seconds >= 0
    assert quality_jobs.run_once(conn, "w1", LATER) == []  # nothing new: nothing computed
    first = conn.execute("SELECT min(id) FROM responses").fetchone()[0]
    review.reject(conn, requester, first, "Wrong", LATER)
    assert quality_jobs.freshness(conn, campaign.id).stale
    assert quality_jobs.run_once(conn, "w1", LATER) == [campaign.id]


def test_an_answer_arriving_while_it_computes_is_in_the_next_computation(
        conn, make_user, make_campaign, monkeypatch):
    campaign, _ = three_experts(conn, make_user, make_campaign)
    late = make_user("late")
    compute = quality.refresh

    def refresh_then_an_answer_arrives(conn_, campaign_id, now):
        compute(conn_, campaign_id, now)
        label(conn, late, campaign, "positive", when=now)  # committed after the answers' read

    monkeypatch.setattr(quality, "refresh", refresh_then_an_answer_arrives)
    assert quality_jobs.compute(conn, campaign.id, "w1", LATER)
    monkeypatch.setattr(quality, "refresh", compute)
    assert quality_jobs.freshness(conn, campaign.id).stale  # the new answer is not forgotten
    assert quality_jobs.run_once(conn, "w1", LATER) == [campaign.id]
    assert late.id in set(quality.campaign_scores(conn, campaign.id).merge(
        conn.execute("SELECT username AS expert, id FROM users").df())["id"])


def test_two_workers_never_compute_one_campaign_at_once_and_a_dead_ones_lease_runs_out(
        conn, make_user, make_campaign):
    campaign, _ = three_experts(conn, make_user, make_campaign)
    assert quality_jobs._take(conn, campaign.id, "dead-process", LATER)  # it died mid-way
    assert not quality_jobs.compute(conn, campaign.id, "w2", LATER + timedelta(minutes=1))
    assert quality_jobs.freshness(conn, campaign.id).computed_at is None
    after_lease = LATER + quality_jobs.LEASE + timedelta(seconds=1)
    assert quality_jobs.run_once(conn, "w2", after_lease) == [campaign.id]  # a restart resumes
