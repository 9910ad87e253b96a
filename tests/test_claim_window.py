"""Claims look at a window of a campaign's items from its claim hint: the hint never passes an
item with room, and a window with nothing for the expert never hides an item further on."""

import random
from datetime import timedelta

import pandas as pd
import pytest

from core import assign, campaigns, edits, flags, responses, review

GOOD = {"label": "positive"}


@pytest.fixture(autouse=True)
def eager_hint(monkeypatch):
    """These campaigns are small: the hint moves as soon as it can, so every move is seen."""
    monkeypatch.setattr(assign, "HINT_SLACK", 0)


def claim(conn, user, campaign, now):
    return assign.claim_next(conn, user, campaign.id, now).assignment


def answer(conn, user, assignment, now):
    return responses.submit(conn, user, assignment.item_id, GOOD, assignment.spec_version, now)


def hint(conn, campaign) -> int:
    row = conn.execute("SELECT low_id FROM claim_hints WHERE campaign_id = ?",
                       [campaign.id]).fetchone()
    return row[0] if row else 0


def items_with_room_below_hint(conn, campaign) -> list[int]:
    return [r[0] for r in conn.execute(
        "SELECT id FROM items WHERE campaign_id = ? AND response_count < ? AND id < ? "
        "ORDER BY id", [campaign.id, campaign.overlap, hint(conn, campaign)]).fetchall()]


def fill_past_the_hint(conn, user, campaign, now):
    """Answer the first three items and claim the fourth, so the hint passes the first; return
    the first item's assignment and its receipt."""
    first = claim(conn, user, campaign, now)
    receipt = answer(conn, user, first, now)
    for _ in range(2):
        answer(conn, user, claim(conn, user, campaign, now), now)
    claim(conn, user, campaign, now)
    assert hint(conn, campaign) > first.item_id
    return first, receipt


def oracle_has_work(conn, user, campaign, now) -> bool:
    """Whether any item of the campaign has room for the expert, read over the whole campaign."""
    return conn.execute(
        """
        SELECT count(*) FROM items i WHERE i.campaign_id = $c AND i.flag_state IS NULL
          AND i.response_count + (SELECT count(*) FROM leases l WHERE l.item_id = i.id
                                  AND l.expires_at > $now) < $overlap
          AND i.id NOT IN (SELECT item_id FROM responses WHERE user_id = $u)
          AND i.id NOT IN (SELECT item_id FROM skips WHERE user_id = $u)
        """, {"c": campaign.id, "now": now, "overlap": campaign.overlap,
              "u": user.id}).fetchone()[0] > 0


def test_the_hint_moves_past_filled_items_only(conn, make_user, make_campaign, now):
    campaign = make_campaign(n_items=6, overlap=1)
    ada = make_user("ada")
    for _n in range(3):
        answer(conn, ada, claim(conn, ada, campaign, now), now)
    claim(conn, ada, campaign, now)  # sees item 3 full and moves the hint to item 4
    assert hint(conn, campaign) == 4
    assert items_with_room_below_hint(conn, campaign) == []


def test_the_hint_waits_until_claims_hand_out_items_past_its_slack(conn, make_user,
                                                                   make_campaign, now,
                                                                   monkeypatch):
    monkeypatch.setattr(assign, "HINT_SLACK", 4)
    campaign = make_campaign(n_items=12, overlap=1)
    ada = make_user("ada")
    # The first claim makes the hint, the second finds it (item 2); the claim of item 6 is
    # four past it, within the slack.
    for _n in range(6):
        answer(conn, ada, claim(conn, ada, campaign, now), now)
    assert hint(conn, campaign) == 2
    claim(conn, ada, campaign, now)  # item 7: past the slack, so the hint moves up to it
    assert hint(conn, campaign) == 7
    assert items_with_room_below_hint(conn, campaign) == []


def test_a_rejected_answer_below_the_hint_is_handed_out_again(conn, make_user, make_campaign,
                                                              requester, now):
    campaign = make_campaign(n_items=4, overlap=1)
    ada, bob = make_user("ada"), make_user("bob")
    first, receipt = fill_past_the_hint(conn, ada, campaign, now)
    review.reject(conn, requester, receipt.response_id, "Off topic", now)
    assert hint(conn, campaign) == first.item_id
    assert claim(conn, bob, campaign, now).item_id == first.item_id


def test_a_withdrawn_answer_below_the_hint_is_handed_out_again(conn, make_user, make_campaign,
                                                               now):
    campaign = make_campaign(n_items=4, overlap=1)
    ada, bob = make_user("ada"), make_user("bob")
    first, receipt = fill_past_the_hint(conn, ada, campaign, now)
    edits.withdraw(conn, ada, receipt.response_id, now)
    assert hint(conn, campaign) == first.item_id
    assert claim(conn, bob, campaign, now).item_id == first.item_id


def test_windows_widen_until_they_reach_work_for_the_expert(conn, make_user, make_campaign, now,
                                                            monkeypatch):
    monkeypatch.setattr(assign, "WINDOW", 2)
    campaign = make_campaign(n_items=20, overlap=2)
    ada, bob = make_user("ada"), make_user("bob")
    for _ in range(13):  # ada alone: her items have room for others, none for her
        answer(conn, ada, claim(conn, ada, campaign, now), now)
    assert claim(conn, ada, campaign, now).item_id == 14
    assert claim(conn, bob, campaign, now).item_id == 1  # most answers first, then oldest


def test_an_expert_with_nothing_left_is_told_so(conn, make_user, make_campaign, now,
                                                monkeypatch):
    monkeypatch.setattr(assign, "WINDOW", 2)
    campaign = make_campaign(n_items=7, overlap=2)
    ada = make_user("ada")
    for _ in range(7):
        answer(conn, ada, claim(conn, ada, campaign, now), now)
    assert claim(conn, ada, campaign, now) is None


def test_windows_pass_other_campaigns_items(conn, make_user, make_campaign, requester, now,
                                             monkeypatch):
    monkeypatch.setattr(assign, "WINDOW", 2)
    first, second = make_campaign(n_items=3, overlap=1), make_campaign(n_items=3, overlap=1)
    later = pd.DataFrame({"payload": [{"text": f"Later {n}"} for n in range(3)]})
    campaigns.add_items(conn, requester, first.id, later, now)  # ids 7–9, after the second's
    ada = make_user("ada")
    got = []
    for _ in range(6):
        item = claim(conn, ada, first, now)
        got.append(item.item_id)
        answer(conn, ada, item, now)
    assert got == [1, 2, 3, 7, 8, 9]
    assert claim(conn, ada, first, now) is None
    assert claim(conn, ada, second, now).item_id == 4


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_work_never_hides_an_item_with_room(conn, make_user, make_campaign, requester,
                                                   now, monkeypatch, seed):
    """Claims, answers, skips, rejections and withdrawals in a random order, with windows of
    three items: after each step the hint passes no item with room, and an expert is refused
    only when no item of the whole campaign has room for them."""
    monkeypatch.setattr(assign, "WINDOW", 3)
    rng = random.Random(seed)
    campaign = make_campaign(n_items=15, overlap=2)
    experts = [make_user(f"expert{n}") for n in range(4)]
    answers: list[tuple] = []
    clock = now
    for _ in range(60):
        clock += timedelta(seconds=1)
        user = rng.choice(experts)
        action = rng.random()
        if action < 0.15 and answers:
            response_id, who = answers.pop(rng.randrange(len(answers)))
            if rng.random() < 0.5:
                review.reject(conn, requester, response_id, "Not right", clock)
            else:
                edits.withdraw(conn, who, response_id, clock)
        else:
            expected = oracle_has_work(conn, user, campaign, clock) or bool(conn.execute(
                "SELECT 1 FROM leases WHERE user_id = ? AND expires_at > ?",
                [user.id, clock]).fetchone())
            got = claim(conn, user, campaign, clock)
            assert (got is not None) == expected
            if got is not None:
                if rng.random() < 0.2:
                    assign.skip(conn, user, got.item_id, clock)
                else:
                    answers.append((answer(conn, user, got, clock).response_id, user))
        assert items_with_room_below_hint(conn, campaign) == []


def test_a_raised_overlap_hands_filled_items_out_again(conn, requester, make_user,
                                                       make_campaign, now):
    campaign = make_campaign(n_items=3, overlap=1)
    ada, bob = make_user("ada"), make_user("bob")
    for _n in range(3):
        answer(conn, ada, claim(conn, ada, campaign, now), now)
    assert claim(conn, bob, campaign, now) is None  # every item full; the hint is past them
    raised = campaigns.update(conn, requester, campaign.id,
                              spec_text=campaigns.spec_text(conn, campaign.id), now=now,
                              overlap=2)
    got = claim(conn, bob, raised, now)
    assert got is not None and got.item_id == 1


def test_a_paused_item_does_not_hold_claims_back_and_comes_back_when_restored(
        conn, requester, make_user, make_campaign, now):
    campaign = make_campaign(n_items=4, overlap=1)
    ada, bob = make_user("ada"), make_user("bob")
    conn.execute("UPDATE items SET flag_state = 'paused' WHERE id = 1")
    answer(conn, ada, claim(conn, ada, campaign, now), now)  # item 2
    claim(conn, ada, campaign, now)  # item 3, moving the hint past the paused item
    assert hint(conn, campaign) == 3
    flags.resolve(conn, requester, 1, "restore", now)
    assert claim(conn, bob, campaign, now).item_id == 1
