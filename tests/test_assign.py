"""Claiming, submitting and skipping items: leases, overlap, caps, closed campaigns."""

import threading
from datetime import timedelta

import pytest

from core import assign, campaigns, responses
from core.errors import Conflict, Forbidden, Invalid
from tests.conftest import snapshot

GOOD = {"label": "positive"}


def claim(conn, user, campaign, now):
    return assign.claim_next(conn, user, campaign.id, now).assignment


def answer(conn, user, assignment, now, value=GOOD):
    return responses.submit(conn, user, assignment.item_id, value, assignment.spec_version, now)


def test_claim_then_submit_stores_everything_in_one_go(conn, make_user, make_campaign, now):
    campaign = make_campaign(n_items=3)
    ada = make_user("ada")
    got = claim(conn, ada, campaign, now)
    assert got.payload == {"text": "Review number 0"}
    assert got.expires_at == now + timedelta(minutes=30)
    assert "oldest first" in got.reason
    receipt = answer(conn, ada, got, now + timedelta(minutes=2))
    assert (receipt.campaign_count, receipt.total_count, str(receipt.earned)) == (1, 1, "1.25")
    row = conn.execute("SELECT answer, duration_s, spec_version, status FROM responses").fetchone()
    assert row == ('{"label": "positive"}', 120.0, 1, "submitted")
    assert conn.execute("SELECT response_count FROM items WHERE id = ?",
                        [got.item_id]).fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM leases").fetchone()[0] == 0
    assert conn.execute("SELECT kind, amount FROM pay_ledger").fetchall() == [
        ("item", pytest.approx(1.25))]


def test_reclaiming_returns_the_held_item(conn, make_user, make_campaign, now):
    campaign = make_campaign()
    ada = make_user("ada")
    first = claim(conn, ada, campaign, now)
    again = claim(conn, ada, campaign, now + timedelta(minutes=5))
    assert again.item_id == first.item_id and "already working" in again.reason


def test_next_item_prefers_items_closest_to_complete(conn, make_user, make_campaign, now):
    campaign = make_campaign(n_items=3, overlap=3)
    ada, bob = make_user("ada"), make_user("bob")
    answer(conn, ada, claim(conn, ada, campaign, now), now)
    got = claim(conn, bob, campaign, now)
    assert got.item_id == 1 and "needs 2 more" in got.reason


def test_overlap_limits_how_many_experts_get_an_item(conn, make_user, make_campaign, now):
    campaign = make_campaign(n_items=1, overlap=2)
    ada, bob, cy = make_user("ada"), make_user("bob"), make_user("cyd")
    assert claim(conn, ada, campaign, now) is not None
    assert claim(conn, bob, campaign, now) is not None
    refused = assign.claim_next(conn, cy, campaign.id, now)
    assert refused.assignment is None and "reserved by other experts" in refused.reason


def test_an_expert_never_gets_an_item_twice(conn, make_user, make_campaign, now):
    campaign = make_campaign(n_items=2, overlap=3)
    ada = make_user("ada")
    seen = set()
    for _ in range(2):
        got = claim(conn, ada, campaign, now)
        seen.add(got.item_id)
        answer(conn, ada, got, now)
    assert seen == {1, 2}
    assert assign.claim_next(conn, ada, campaign.id, now).assignment is None


def test_expired_leases_free_the_item(conn, make_user, make_campaign, now):
    campaign = make_campaign(n_items=1, overlap=1, lease_minutes=10)
    ada, bob = make_user("ada"), make_user("bob")
    held = claim(conn, ada, campaign, now)
    assert claim(conn, bob, campaign, now + timedelta(minutes=9)) is None
    later = claim(conn, bob, campaign, now + timedelta(minutes=11))
    assert later.item_id == held.item_id
    assert assign.live_lease_count(conn, held.item_id, now + timedelta(minutes=11)) == 1


def test_an_expert_whose_lease_ran_out_gets_the_item_again_with_a_fresh_lease(
        conn, make_user, make_campaign, now):
    campaign = make_campaign(n_items=1, overlap=1, lease_minutes=10)
    ada = make_user("ada")
    first = claim(conn, ada, campaign, now)
    again = claim(conn, ada, campaign, now + timedelta(minutes=11))
    assert again.item_id == first.item_id and "already working" not in again.reason
    assert again.expires_at == now + timedelta(minutes=21)
    assert conn.execute("SELECT item_id, user_id, expires_at FROM leases").fetchall() == [
        (first.item_id, ada.id, now + timedelta(minutes=21))]
    assert answer(conn, ada, again, now + timedelta(minutes=12)).campaign_count == 1


def test_late_answer_counts_while_the_item_still_has_room(conn, make_user, make_campaign, now):
    campaign = make_campaign(n_items=1, overlap=2, lease_minutes=10)
    ada = make_user("ada")
    held = claim(conn, ada, campaign, now)
    receipt = answer(conn, ada, held, now + timedelta(minutes=25))
    assert receipt.campaign_count == 1


def test_late_answer_is_refused_once_others_filled_the_item(conn, make_user, make_campaign,
                                                            now):
    campaign = make_campaign(n_items=1, overlap=1, lease_minutes=10)
    ada, bob = make_user("ada"), make_user("bob")
    held = claim(conn, ada, campaign, now)
    answer(conn, bob, claim(conn, bob, campaign, now + timedelta(minutes=11)),
           now + timedelta(minutes=12))
    before = snapshot(conn)
    with pytest.raises(Conflict, match="ran out after 10 minutes"):
        answer(conn, ada, held, now + timedelta(minutes=13))
    assert snapshot(conn) == before


def test_per_expert_cap_holds(conn, make_user, make_campaign, now):
    campaign = make_campaign(n_items=5, per_expert_cap=2)
    ada = make_user("ada")
    for _ in range(2):
        answer(conn, ada, claim(conn, ada, campaign, now), now)
    refused = assign.claim_next(conn, ada, campaign.id, now)
    assert refused.assignment is None and "most this campaign allows" in refused.reason


def test_skip_releases_the_item_and_does_not_offer_it_again(conn, make_user, make_campaign,
                                                            now):
    campaign = make_campaign(n_items=2, overlap=1)
    ada, bob = make_user("ada"), make_user("bob")
    first = claim(conn, ada, campaign, now)
    assign.skip(conn, ada, first.item_id, now)
    assign.skip(conn, ada, first.item_id, now)  # a second click changes nothing
    assert claim(conn, ada, campaign, now).item_id != first.item_id
    assert claim(conn, bob, campaign, now).item_id == first.item_id


@pytest.mark.parametrize("change, message", [
    ({"status": "closed"}, "has been closed"),
    ({"status": "paused"}, "is paused"),
    ({"expires_at": "2026-11-24 12:30:00"}, "expired on 2026-11-24 12:30"),
])
def test_a_campaign_that_ends_while_the_page_is_open_refuses_the_answer(
        conn, make_user, make_campaign, now, change, message):
    campaign = make_campaign()
    ada = make_user("ada")
    held = claim(conn, ada, campaign, now)
    column, value = next(iter(change.items()))
    conn.execute(f"UPDATE campaigns SET {column} = ? WHERE id = ?", [value, campaign.id])
    before = snapshot(conn)
    with pytest.raises(Conflict, match=message) as refused:
        answer(conn, ada, held, now + timedelta(hours=1))
    assert "not saved" in str(refused.value)
    assert snapshot(conn) == before
    with pytest.raises(Conflict):
        assign.claim_next(conn, ada, campaign.id, now + timedelta(hours=1))


def test_a_campaign_not_yet_open_hands_out_nothing(conn, make_user, make_campaign, now):
    campaign = make_campaign(opens_at=now + timedelta(days=1), expires_at=now + timedelta(days=2))
    with pytest.raises(Conflict, match="opens on"):
        assign.claim_next(conn, make_user("ada"), campaign.id, now)


def test_bad_answers_are_refused_and_nothing_is_written(conn, make_user, make_campaign, now):
    campaign = make_campaign()
    ada = make_user("ada")
    held = claim(conn, ada, campaign, now)
    before = snapshot(conn)
    for bad in ({}, {"label": "furious"}, {"label": ""}):
        with pytest.raises(Invalid) as refused:
            answer(conn, ada, held, now, bad)
        assert "label" in refused.value.problems
    assert snapshot(conn) == before


def test_a_duplicate_submit_is_refused(conn, make_user, make_campaign, now):
    campaign = make_campaign()
    ada = make_user("ada")
    held = claim(conn, ada, campaign, now)
    answer(conn, ada, held, now)
    before = snapshot(conn)
    with pytest.raises(Conflict, match="already answered"):
        answer(conn, ada, held, now)
    assert snapshot(conn) == before


def test_experts_without_the_skill_or_role_are_refused(conn, make_user, make_campaign, now):
    campaign = make_campaign(skill="law", language="es-ES")
    with pytest.raises(Forbidden, match=r"Law and legal · Spanish \(Spain\)"):
        assign.claim_next(conn, make_user("ada"), campaign.id, now)
    requester_only = make_user("rex", roles=("requester",), expertise=[("law", "es-ES")])
    with pytest.raises(Forbidden, match="expert role"):
        assign.claim_next(conn, requester_only, campaign.id, now)


def test_eight_threads_claiming_at_once_never_exceed_overlap(conn, make_user, make_campaign,
                                                             now):
    campaign = make_campaign(n_items=3, overlap=2)
    experts = [make_user(f"expert{n}") for n in range(8)]
    start = threading.Barrier(len(experts))
    results, errors = {}, []

    def work(user):
        try:
            start.wait()
            results[user.username] = claim(conn, user, campaign, now)
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(u,)) for u in experts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    got = [a.item_id for a in results.values() if a is not None]
    assert len(got) == 6  # 3 items x overlap 2; the other two experts get nothing
    assert all(got.count(item) == 2 for item in set(got))
    assert conn.execute("SELECT max(c) FROM (SELECT count(*) AS c FROM leases "
                        "GROUP BY item_id) AS held").fetchone()[0] == 2


def test_submitting_from_threads_at_once_keeps_the_counter_true(conn, make_user,
                                                                make_campaign, now):
    campaign = make_campaign(n_items=2, overlap=4)
    experts = [make_user(f"expert{n}") for n in range(8)]
    held = {u.username: claim(conn, u, campaign, now) for u in experts}
    start = threading.Barrier(len(experts))

    def work(user):
        start.wait()
        answer(conn, user, held[user.username], now)

    threads = [threading.Thread(target=work, args=(u,)) for u in experts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stored = conn.execute("SELECT i.response_count, (SELECT count(*) FROM responses r "
                          "WHERE r.item_id = i.id) FROM items i").fetchall()
    assert all(counter == actual == 4 for counter, actual in stored)


def test_next_best_task_picks_the_campaign_expiring_soonest(conn, make_user, make_campaign,
                                                            now):
    later = make_campaign(title="Later", expires_at=now + timedelta(days=9))
    sooner = make_campaign(title="Sooner", expires_at=now + timedelta(days=2))
    ada = make_user("ada")
    best = assign.claim_best(conn, ada, now)
    assert best.assignment.campaign_id == sooner.id and "Sooner" in best.reason
    conn.execute("UPDATE campaigns SET status = 'closed' WHERE id = ?", [sooner.id])
    assign.skip(conn, ada, best.assignment.item_id, now)
    assert assign.claim_best(conn, ada, now).assignment.campaign_id == later.id


def test_landing_lists_only_open_campaigns_matching_the_expert(conn, make_user, make_campaign,
                                                               now):
    fits = make_campaign(title="Fits", n_items=4)
    make_campaign(title="Other skill", skill="law")
    make_campaign(title="Other language", language="fr-FR")
    make_campaign(title="Expired", expires_at=now - timedelta(hours=1),
                  opens_at=now - timedelta(days=3))
    make_campaign(title="Draft", status="draft")
    ada = make_user("ada")
    answer(conn, ada, claim(conn, ada, fits, now), now)
    mine = campaigns.for_expert(conn, ada, now)
    assert mine["title"].tolist() == ["Fits"]
    row = mine.iloc[0]
    assert (row.items_left, row.items_total, row.my_count) == (4, 4, 1)


def test_team_campaigns_hand_out_no_single_items(conn, make_user, make_campaign, now):
    campaign = make_campaign(kind="revolt")
    with pytest.raises(Conflict, match="team task"):
        assign.claim_next(conn, make_user("ada"), campaign.id, now)


def test_next_best_task_skips_excluded_campaigns(conn, make_user, make_campaign, now):
    sooner = make_campaign(title="Sooner", expires_at=now + timedelta(days=2))
    later = make_campaign(title="Later", expires_at=now + timedelta(days=9))
    best = assign.claim_best(conn, make_user("ada"), now, exclude=[sooner.id])
    assert best.assignment.campaign_id == later.id
