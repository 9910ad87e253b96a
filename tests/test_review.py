"""Review: accept, reject with reason, slot freed, pay reversed, history kept; monitoring."""

import json
from datetime import timedelta

import pytest

from core import assign, monitor, profile, responses, review
from core.errors import Conflict, Forbidden, Invalid
from tests.conftest import NOW, snapshot


def answer(conn, user, campaign, when):
    got = assign.claim_next(conn, user, campaign.id, when).assignment
    return responses.submit(conn, user, got.item_id, {"label": "positive"}, got.spec_version,
                            when + timedelta(minutes=3))


@pytest.fixture
def answered(conn, make_user, make_campaign):
    campaign = make_campaign(n_items=1, overlap=1)
    ada = make_user("ada")
    receipt = answer(conn, ada, campaign, NOW)
    return campaign, ada, receipt.response_id


def test_rejection_frees_the_slot_and_reverses_pay(conn, requester, make_user, answered):
    campaign, ada, response_id = answered
    bob = make_user("bob")
    assert assign.claim_next(conn, bob, campaign.id, NOW).assignment is None
    review.reject(conn, requester, response_id, "Answer ignores the guidelines", NOW)
    assert assign.claim_next(conn, bob, campaign.id, NOW).assignment is not None
    ledger = conn.execute("SELECT kind, amount FROM pay_ledger WHERE user_id = ? ORDER BY id",
                          [ada.id]).fetchall()
    assert [(k, float(a)) for k, a in ledger] == [("item", 1.25), ("reversal", -1.25)]
    assert profile.totals(conn, ada).earnings == 0
    assert profile.totals(conn, ada).answers == 0
    history = review.history(conn, campaign.id)
    assert history[["reviewer", "action", "reason"]].values.tolist() == [
        ["rita", "reject", "Answer ignores the guidelines"]]


def test_rejecting_twice_or_accepting_after_is_refused(conn, requester, answered):
    _, _, response_id = answered
    review.reject(conn, requester, response_id, "Spam", NOW)
    before = snapshot(conn)
    with pytest.raises(Conflict, match="already rejected"):
        review.reject(conn, requester, response_id, "Spam again", NOW)
    with pytest.raises(Conflict, match="cannot be accepted"):
        review.accept(conn, requester, response_id, NOW)
    assert snapshot(conn) == before


def test_accept_is_recorded_once(conn, requester, answered):
    campaign, _, response_id = answered
    review.accept(conn, requester, response_id, NOW, "Clear and correct")
    review.accept(conn, requester, response_id, NOW)
    assert review.answers(conn, requester, campaign.id)["status"].tolist() == ["accepted"]
    assert len(review.history(conn, campaign.id)) == 1


def test_a_reason_is_required_and_only_owners_review(conn, requester, make_user, answered):
    _, ada, response_id = answered
    with pytest.raises(Invalid, match="reason"):
        review.reject(conn, requester, response_id, "  ", NOW)
    with pytest.raises(Forbidden):
        review.reject(conn, ada, response_id, "I changed my mind", NOW)
    other = make_user("ron", roles=("requester",), expertise=())
    with pytest.raises(Forbidden):
        review.accept(conn, other, response_id, NOW)


def test_filters_narrow_the_answers(conn, requester, make_user, make_campaign):
    campaign = make_campaign(n_items=3, overlap=2)
    ada, bob = make_user("ada"), make_user("bob")
    answer(conn, ada, campaign, NOW)
    answer(conn, ada, campaign, NOW + timedelta(days=1))
    answer(conn, bob, campaign, NOW + timedelta(days=2))
    listed = review.answers(conn, requester, campaign.id)
    assert len(listed) == 3
    assert len(review.answers(conn, requester, campaign.id, expert="ada")) == 2
    assert len(review.answers(conn, requester, campaign.id, item_id=1)) == 2
    assert len(review.answers(conn, requester, campaign.id, since=NOW + timedelta(days=1))) == 2
    assert len(review.answers(conn, requester, campaign.id, until=NOW + timedelta(hours=1))) == 1
    assert review.answers(conn, requester, campaign.id, status="accepted").empty


def test_monitoring_numbers_match_the_data(conn, requester, make_user, make_campaign):
    campaign = make_campaign(n_items=4, overlap=2)  # opened a day before NOW
    ada, bob = make_user("ada"), make_user("bob")
    for n in range(2):
        answer(conn, ada, campaign, NOW + timedelta(hours=n))
        answer(conn, bob, campaign, NOW + timedelta(hours=n))
    later = NOW + timedelta(days=1)
    review.reject(conn, requester, 1, "Off topic", later)
    s = monitor.summary(conn, requester, campaign.id, later)
    assert (s.items_total, s.items_complete, s.answers, s.rejected) == (4, 1, 3, 1)
    assert s.answers_needed == 5 and s.active_experts == 2
    assert float(s.cost) == pytest.approx(3 * 1.25)
    # 3 kept answers over the 2 days since opening: 1.5 a day, 5 to go, so 3⅓ days.
    assert s.answers_per_day == pytest.approx(1.5)
    assert s.forecast == later + timedelta(days=5 / 1.5)
    per_day = monitor.answers_per_day(conn, campaign.id)
    assert per_day[["answers", "rejected"]].values.tolist() == [[3, 1]]
    experts = monitor.per_expert(conn, campaign.id)
    assert experts[["expert", "answers", "rejected"]].values.tolist() == [
        ["ada", 2, 1], ["bob", 2, 0]]
    assert experts["median_minutes"].tolist() == [3.0, 3.0]
    assert monitor.durations(conn, campaign.id)["minutes"].tolist() == [3.0] * 4


def test_no_recent_answers_means_no_forecast(conn, requester, make_campaign):
    campaign = make_campaign(n_items=2)
    s = monitor.summary(conn, requester, campaign.id, NOW)
    assert s.forecast is None and s.answers_per_day == 0 and s.completion == 0


def test_an_answer_can_make_its_item_gold(conn, requester, answered):
    campaign, _, response_id = answered
    assert review.make_gold(conn, requester, response_id, NOW) == "positive"
    assert json.loads(conn.execute("SELECT gold FROM items WHERE id = 1").fetchone()[0]) == \
        {"label": "positive"}
    assert review.history(conn, campaign.id)["action"].tolist() == ["gold"]


TWO_QUESTIONS = """\
blocks:
  - type: text
    field: text
  - type: single_choice
    id: label
    prompt: Which label fits?
    options: [positive, negative]
  - type: rating
    id: clarity
    prompt: How clear is the text?
    min: 1
    max: 5
"""


def test_make_gold_uses_the_question_chosen(conn, requester, make_user, make_campaign):
    campaign = make_campaign(n_items=1, overlap=1, spec=TWO_QUESTIONS)
    ada = make_user("ada")
    got = assign.claim_next(conn, ada, campaign.id, NOW).assignment
    receipt = responses.submit(conn, ada, got.item_id, {"label": "negative", "clarity": 4},
                               got.spec_version, NOW + timedelta(minutes=3))
    assert [q["id"] for q in review.gold_questions(campaign_spec(conn, campaign))] == [
        "label", "clarity"]
    assert review.make_gold(conn, requester, receipt.response_id, NOW, "clarity") == "4"
    assert json.loads(conn.execute("SELECT gold FROM items WHERE id = ?",
                                   [got.item_id]).fetchone()[0]) == {"clarity": 4}
    assert review.make_gold(conn, requester, receipt.response_id, NOW) == "negative"
    assert json.loads(conn.execute("SELECT gold FROM items WHERE id = ?",
                                   [got.item_id]).fetchone()[0]) == {"label": "negative"}
    with pytest.raises(Invalid, match="not a single-choice or rating question"):
        review.make_gold(conn, requester, receipt.response_id, NOW, "text")
    assert sorted(review.history(conn, campaign.id)["reason"]) == [
        "clarity = 4", "label = negative"]


def campaign_spec(conn, campaign):
    from core import campaigns
    return campaigns.spec(conn, campaign.id, campaign.spec_version)


def test_bulk_accept_accepts_the_waiting_answers_of_a_filtered_set(
        conn, requester, make_user, make_campaign):
    campaign = make_campaign(n_items=4, overlap=1, minutes_per_item=2)
    ids = []
    for n, name in enumerate(("ada", "bob", "cyril", "dina")):
        who = make_user(name)
        got = assign.claim_next(conn, who, campaign.id, NOW).assignment
        took = timedelta(seconds=10) if n < 2 else timedelta(minutes=3)  # two too fast
        ids.append(responses.submit(conn, who, got.item_id, {"label": "positive"},
                                    got.spec_version, NOW + took).response_id)
    review.reject(conn, requester, ids[3], "Off topic", NOW)
    fast = review.answers(conn, requester, campaign.id, too_fast=True)
    assert sorted(fast["response_id"]) == sorted(ids[:2])
    assert fast["too_fast"].tolist() == [True, True]
    slow = review.answers(conn, requester, campaign.id, too_fast=False)
    done = review.accept_many(conn, requester, campaign.id, slow["response_id"].tolist(), NOW,
                              "Looks right")
    assert done == 1  # the rejected one is left as it is
    statuses = dict(conn.execute("SELECT id, status FROM responses").fetchall())
    assert [statuses[i] for i in ids] == ["submitted", "submitted", "accepted", "rejected"]
    assert review.accept_many(conn, requester, campaign.id, [ids[2]], NOW) == 0
    assert review.accept_many(conn, requester, campaign.id, [], NOW) == 0
    history = review.history(conn, campaign.id)
    assert sorted(history[["action", "response_id", "reason"]].values.tolist()) == [
        ["accept", ids[2], "Looks right"], ["reject", ids[3], "Off topic"]]
    with pytest.raises(Forbidden):
        review.accept_many(conn, make_user("mallory", roles=("requester",)), campaign.id,
                           ids, NOW)


def test_detail_gives_the_form_the_item_and_the_answer(conn, requester, answered):
    campaign, _, response_id = answered
    got = review.detail(conn, requester, response_id)
    assert got["answer"] == {"label": "positive"}
    assert got["model_responses"] is None
    assert [b.get("id") for b in got["spec"]["blocks"] if "id" in b] == ["label"]
    assert "text" in got["payload"]


def test_first_waiting_names_the_first_campaign_with_an_answer_to_review(
        conn, requester, make_user, make_campaign):
    quiet, busy = make_campaign(n_items=2, overlap=1), make_campaign(n_items=2, overlap=1)
    ada = make_user("ada")
    assert review.first_waiting(conn, [quiet.id, busy.id]) is None
    receipt = answer(conn, ada, busy, NOW)
    assert review.first_waiting(conn, [quiet.id, busy.id]) == busy.id
    answer(conn, ada, quiet, NOW)
    assert review.first_waiting(conn, [quiet.id, busy.id]) == quiet.id  # the order given wins
    review.accept(conn, requester, receipt.response_id, NOW)
    assert review.first_waiting(conn, [busy.id]) is None  # accepted: nothing waits any more
    assert review.first_waiting(conn, []) is None
