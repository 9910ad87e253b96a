"""No interleaving of claim, submit, skip, expiry and reject stores more answers than allowed.

Clocks are passed in, so each test stamps every call itself: a submit stamped before a lease's
expiry can commit after a claim stamped after it (the submit read its clock, then waited for the
write lock). The stored state must hold whatever the clocks say.
"""

import random
from datetime import timedelta

import pytest

from core import assign, responses, review
from core.errors import Conflict
from tests.conftest import snapshot

GOOD = {"label": "positive"}
LEASE = timedelta(minutes=10)
SECOND = timedelta(seconds=1)


def claim(conn, user, campaign, now):
    return assign.claim_next(conn, user, campaign.id, now).assignment


def answer(conn, user, assignment, now):
    return responses.submit(conn, user, assignment.item_id, GOOD, assignment.spec_version, now)


def kept_answers(conn) -> dict[int, int]:
    """Kept (not rejected) answers per item."""
    return dict(conn.execute("SELECT item_id, count(*) FROM responses WHERE status <> 'rejected' "
                             "GROUP BY item_id").fetchall())


def assert_invariant(conn, campaign) -> None:
    """Kept answers, and the pay still standing for them, never exceed the overlap or the cap."""
    def per_item(sql: str) -> dict[int, int]:
        return dict(conn.execute(sql, [campaign.id]).fetchall())

    counters = per_item("SELECT id, response_count FROM items WHERE campaign_id = ?")
    kept = per_item("SELECT item_id, count(*) FROM responses WHERE campaign_id = ? "
                    "AND status <> 'rejected' GROUP BY item_id")
    paid = per_item("SELECT r.item_id, sum(CASE p.kind WHEN 'item' THEN 1 WHEN 'reversal' "
                    "THEN -1 ELSE 0 END) FROM pay_ledger p JOIN responses r "
                    "ON r.id = p.response_id WHERE r.campaign_id = ? GROUP BY r.item_id")
    for item, counter in counters.items():
        assert counter == kept.get(item, 0) == paid.get(item, 0) <= campaign.overlap
    if campaign.per_expert_cap is not None:
        most = conn.execute("SELECT max(n) FROM (SELECT count(*) AS n FROM responses "
                            "WHERE campaign_id = ? AND status <> 'rejected' "
                            "GROUP BY user_id) AS mine",
                            [campaign.id]).fetchone()[0]
        assert (most or 0) <= campaign.per_expert_cap


def ada_holds_the_only_place(conn, make_user, make_campaign, now):
    """Overlap 1: Ada reserves the item at `now`; her lease runs out at the returned expiry."""
    campaign = make_campaign(n_items=1, overlap=1, lease_minutes=10)
    ada, bob = make_user("ada"), make_user("bob")
    return campaign, ada, bob, claim(conn, ada, campaign, now), now + LEASE


def test_a_submit_stamped_before_expiry_cannot_take_a_place_given_away(conn, make_user,
                                                                       make_campaign, now):
    campaign, ada, bob, held, expiry = ada_holds_the_only_place(conn, make_user, make_campaign,
                                                                now)
    taken = claim(conn, bob, campaign, expiry + SECOND)  # ada's lease has run out for bob
    assert taken.item_id == held.item_id
    before = snapshot(conn)
    with pytest.raises(Conflict, match="other experts have taken its remaining places"):
        answer(conn, ada, held, expiry - SECOND)  # stamped before expiry, committed after
    assert snapshot(conn) == before
    answer(conn, bob, taken, expiry + 2 * SECOND)
    assert kept_answers(conn) == {held.item_id: 1}
    assert conn.execute("SELECT count(*) FROM pay_ledger").fetchone()[0] == 1
    assert_invariant(conn, campaign)


def test_a_stale_submit_after_the_other_expert_answered_is_refused(conn, make_user,
                                                                   make_campaign, now):
    campaign, ada, bob, held, expiry = ada_holds_the_only_place(conn, make_user, make_campaign,
                                                                now)
    answer(conn, bob, claim(conn, bob, campaign, expiry + SECOND), expiry + 2 * SECOND)
    with pytest.raises(Conflict, match="cannot be counted"):
        answer(conn, ada, held, expiry - SECOND)
    assert kept_answers(conn) == {held.item_id: 1}
    assert conn.execute("SELECT count(*) FROM pay_ledger").fetchone()[0] == 1


def test_a_place_freed_by_a_rejection_goes_to_one_expert_only(conn, make_user, make_campaign,
                                                              requester, now):
    campaign, ada, bob, held, expiry = ada_holds_the_only_place(conn, make_user, make_campaign,
                                                                now)
    cyd = make_user("cyd")
    receipt = answer(conn, bob, claim(conn, bob, campaign, expiry + SECOND), expiry + SECOND)
    review.reject(conn, requester, receipt.response_id, "Off topic.", expiry + 2 * SECOND)
    freed = claim(conn, cyd, campaign, expiry + 3 * SECOND)
    assert freed.item_id == held.item_id
    with pytest.raises(Conflict, match="cannot be counted"):
        answer(conn, ada, held, expiry - SECOND)
    answer(conn, cyd, freed, expiry + 4 * SECOND)
    assert kept_answers(conn) == {held.item_id: 1}
    assert_invariant(conn, campaign)


def test_the_cap_holds_when_an_expired_reservation_is_answered_late(conn, make_user,
                                                                    make_campaign, now):
    campaign = make_campaign(n_items=2, overlap=2, lease_minutes=10, per_expert_cap=1)
    ada, bob, cyd = make_user("ada"), make_user("bob"), make_user("cyd")
    first = claim(conn, ada, campaign, now)
    claim(conn, bob, campaign, now)
    answer(conn, cyd, claim(conn, cyd, campaign, now), now)  # the other item is now ahead
    expiry = now + LEASE
    second = claim(conn, ada, campaign, expiry + SECOND)  # the first ran out: a new item
    assert second.item_id != first.item_id
    answer(conn, ada, first, expiry + 2 * SECOND)  # late, but the item had room: kept
    with pytest.raises(Conflict, match="cap of 1"):
        answer(conn, ada, second, expiry + 3 * SECOND)  # its lease is live, the cap is not
    assert responses.counts(conn, ada.id, campaign.id) == (1, 1)
    assert_invariant(conn, campaign)


def test_the_live_lease_holder_keeps_its_place(conn, make_user, make_campaign, now):
    campaign = make_campaign(n_items=1, overlap=2, lease_minutes=10, per_expert_cap=1)
    ada, bob, cyd = make_user("ada"), make_user("bob"), make_user("cyd")
    held = {u.username: claim(conn, u, campaign, now) for u in (ada, bob)}
    assert claim(conn, cyd, campaign, now + SECOND) is None
    answer(conn, bob, held["bob"], now + 2 * SECOND)
    answer(conn, ada, held["ada"], now + 3 * SECOND)
    assert kept_answers(conn) == {held["ada"].item_id: 2}


def test_gold_items_served_outside_the_overlap_are_still_answered(conn, make_user,
                                                                  make_campaign, now):
    campaign = make_campaign(n_items=1, overlap=1, gold_rate=0.5)
    conn.execute("UPDATE items SET gold = '{\"label\": \"positive\"}'")
    ada, bob = make_user("ada"), make_user("bob")
    rng = random.Random(0)
    rng.random = lambda: 0.0  # always draw gold
    for user in (ada, bob):
        got = assign.claim_next(conn, user, campaign.id, now, rng).assignment
        answer(conn, user, got, now + SECOND)
    assert kept_answers(conn) == {1: 2}


def interleavings(*threads: tuple) -> list[tuple]:
    """Every order of the threads' steps that keeps each thread's own steps in order."""
    if not any(threads):
        return [()]
    return [(thread[0], *rest) for n, thread in enumerate(threads) if thread
            for rest in interleavings(*threads[:n], thread[1:], *threads[n + 1:])]


def start_over(conn) -> None:
    """Forget every answer, lease and payment, as if the campaign had just opened."""
    for table in ("review_actions", "pay_ledger", "responses", "leases", "skips",
                  "claim_hints"):
        conn.execute(f"DELETE FROM {table}")
    conn.execute("UPDATE items SET response_count = 0")


def test_no_interleaving_stores_more_answers_than_the_overlap(conn, make_user, make_campaign,
                                                             requester, now):
    """Ada's lease runs out at T; each call reads its clock, then waits its turn for the lock.

    After T, Bob claims and answers; a requester rejects the first kept answer, then Cyd claims
    the freed place and answers. Ada's submit, stamped T - 1 s, commits at any point in between.
    """
    ada, bob, cyd = make_user("ada"), make_user("bob"), make_user("cyd")
    expiry = now + LEASE
    orders = interleavings(
        (("claim", bob, expiry + SECOND), ("submit", bob, expiry + 2 * SECOND)),
        (("reject", requester, expiry + 3 * SECOND), ("claim", cyd, expiry + 4 * SECOND),
         ("submit", cyd, expiry + 5 * SECOND)),
        (("submit", ada, expiry - SECOND),))
    assert len(orders) == 60
    campaign = make_campaign(n_items=1, overlap=1, lease_minutes=10)
    for order in orders:
        start_over(conn)
        held = {ada.id: claim(conn, ada, campaign, now)}
        for step, user, stamp in order:
            try:
                if step == "claim":
                    held[user.id] = claim(conn, user, campaign, stamp)
                elif step == "submit" and held.get(user.id):
                    answer(conn, user, held[user.id], stamp)
                elif step == "reject":
                    first = conn.execute("SELECT min(id) FROM responses "
                                         "WHERE status <> 'rejected'").fetchone()[0]
                    if first is not None:
                        review.reject(conn, user, first, "Redo.", stamp)
            except Conflict:
                pass  # a refusal is a fine outcome; storing too much is not
            assert_invariant(conn, campaign)
