"""Gold items, quality scores, aggregated labels, bonus and challenge payouts, leaderboard."""

import random
from datetime import timedelta

import pandas as pd
import pytest

from core import assign, campaigns, leaderboard, lifecycle, pay, quality, responses, review
from tests.conftest import CLASSIFY, NOW


def label(conn, user, campaign, value, when=NOW, rng=None, seconds=120):
    got = assign.claim_next(conn, user, campaign.id, when, rng).assignment
    responses.submit(conn, user, got.item_id, {"label": value}, got.spec_version,
                     when + timedelta(seconds=seconds))
    return got.item_id


def add_gold(conn, requester, campaign, answers):
    frame = pd.DataFrame({"payload": [{"text": f"Gold {n}"} for n in range(len(answers))],
                          "gold": [{"label": a} for a in answers]})
    campaigns.add_items(conn, requester, campaign.id, frame, NOW)


def test_gold_items_reach_experts_at_the_campaign_rate(conn, requester, make_user,
                                                       make_campaign):
    campaign = make_campaign(n_items=40, overlap=1, gold_rate=0.25)
    add_gold(conn, requester, campaign, ["positive"] * 40)
    ada = make_user("ada")
    rng = random.Random(11)
    served = [label(conn, ada, campaign, "positive", rng=rng) for _ in range(40)]
    gold_ids = {r[0] for r in conn.execute("SELECT id FROM items WHERE gold IS NOT NULL")
                .fetchall()}
    share = sum(item in gold_ids for item in served) / len(served)
    assert 0.1 <= share <= 0.4
    # Without a draw, gold items stay out of the normal queue while a gold rate is set.
    assert all(label(conn, ada, campaign, "positive") not in gold_ids for _ in range(3))


def test_quality_combines_gold_and_consensus_and_explains_itself(conn, requester, make_user,
                                                                 make_campaign):
    campaign = make_campaign(n_items=4, overlap=3)
    add_gold(conn, requester, campaign, ["positive", "negative"])
    ada, bob, cyd = make_user("ada"), make_user("bob"), make_user("cyd")
    # Everyone answers every item (overlap 3 covers them): ada and bob agree, cyd dissents.
    for _ in range(6):
        label(conn, ada, campaign, "positive")
        label(conn, bob, campaign, "positive")
        label(conn, cyd, campaign, "negative")
    quality.refresh(conn, campaign.id, NOW + timedelta(hours=1))
    scores = {q.title: q for q in quality.for_expert(conn, ada.id)}
    ada_q = scores["Sentiment of product reviews"]
    assert (ada_q.gold_answers, ada_q.gold_correct) == (2, 1)
    assert (ada_q.consensus_answers, ada_q.consensus_agreed) == (4, 4)
    assert ada_q.score == pytest.approx(5 / 6)
    assert ada_q.explanation() == ("50% right on 2 gold items; agrees with the consensus on "
                                   "100% of 4 items.")
    cyd_q = quality.for_expert(conn, cyd.id)[0]
    assert cyd_q.score == pytest.approx(1 / 6)
    labels = quality.labels_table(conn, campaign.id)
    assert set(labels["ds_label"]) == {"positive"}
    assert (labels["majority_share"].round(3) == 0.667).all()
    alpha = quality.agreement_table(conn, campaign.id).set_index("question_id")
    assert alpha.loc["label", "level"] == "nominal" and alpha.loc["label", "units"] == 6
    assert alpha.loc["label", "alpha"] < 0.5


def test_an_expert_with_nothing_to_check_gets_no_score(conn, make_user, make_campaign):
    campaign = make_campaign(n_items=3, overlap=1)
    ada = make_user("ada")
    label(conn, ada, campaign, "positive")
    quality.refresh(conn, campaign.id, NOW + timedelta(minutes=10))
    q = quality.for_expert(conn, ada.id)[0]
    assert q.score is None and "Nothing to check against yet" in q.explanation()


def three_experts(conn, make_user, make_campaign, **settings):
    campaign = make_campaign(n_items=6, overlap=3, **settings)
    people = [make_user(n) for n in ("ada", "bob", "cyd")]
    for _ in range(2):
        for person, value in zip(people, ["positive", "positive", "negative"], strict=True):
            label(conn, person, campaign, value)
    return campaign, people


def test_closing_pays_bonus_and_top_n_exactly_once(conn, requester, make_user, make_campaign):
    campaign, (ada, bob, cyd) = three_experts(
        conn, make_user, make_campaign, bonus_min_quality=0.9, bonus_per_item=0.5,
        challenge_rewards=[50, 30])
    lifecycle.move(conn, requester, campaign.id, "closed", NOW + timedelta(days=1))
    rows = conn.execute("SELECT user_id, kind, amount FROM pay_ledger WHERE kind <> 'item' "
                        "ORDER BY user_id, kind").fetchall()
    # ada and bob agree with the consensus (score 1) and tie for first place; cyd (score 0)
    # gets no bonus and, ranked third, no reward.
    assert [(u, k, float(a)) for u, k, a in rows] == [
        (ada.id, "bonus", 1.0), (ada.id, "reward", 50.0),
        (bob.id, "bonus", 1.0), (bob.id, "reward", 50.0)]
    before = conn.execute("SELECT count(*) FROM pay_ledger").fetchone()[0]
    pay_again = campaigns.get(conn, campaign.id)
    from core.db import writing
    writing(conn, lambda cur: pay.pay_on_close(cur, pay_again, NOW + timedelta(days=2)))
    assert conn.execute("SELECT count(*) FROM pay_ledger").fetchone()[0] == before
    won = pay.challenges_won(conn, ada)
    assert won["note"].tolist() == ["Challenge: rank 1 in “Sentiment of product reviews”"]
    assert pay.history(conn, ada)["kind"].tolist()[:2] in (["bonus", "reward"],
                                                           ["reward", "bonus"])


def test_ledger_sums_with_reversals(conn, requester, make_user, make_campaign):
    campaign, (ada, _, _) = three_experts(conn, make_user, make_campaign)
    first = conn.execute("SELECT min(id) FROM responses WHERE user_id = ?", [ada.id]).fetchone()[0]
    review.reject(conn, requester, first, "Wrong label", NOW + timedelta(hours=1))
    total = conn.execute("SELECT sum(amount) FROM pay_ledger WHERE user_id = ?",
                         [ada.id]).fetchone()[0]
    assert float(total) == pytest.approx(1.25)
    assert pay.history(conn, ada)["amount"].astype(float).tolist() == [-1.25, 1.25, 1.25]


def test_leaderboard_ranks_ties_periods_opt_out_and_too_fast(conn, requester, make_user,
                                                             make_campaign):
    campaign = make_campaign(n_items=10, overlap=4, minutes_per_item=2,
                             opens_at=NOW - timedelta(days=30))
    ada, bob, cyd, dee = (make_user(n) for n in ("ada", "bob", "cyd", "dee"))
    for person, count in ((ada, 3), (bob, 3), (cyd, 1)):
        for _ in range(count):
            label(conn, person, campaign, "positive")
    label(conn, cyd, campaign, "positive", when=NOW - timedelta(days=20))
    fast = label(conn, dee, campaign, "positive", seconds=5)  # 5 s on a 2-minute item
    conn.execute("UPDATE users SET leaderboard_opt_out = true WHERE id = ?", [bob.id])
    view = leaderboard.board(conn, dee, now=NOW + timedelta(hours=1))
    assert view.top[["rank", "name", "points"]].values.tolist() == [
        [1, "Ada", 3.0], [1, "Anonymous expert", 3.0], [3, "Cyd", 2.0]]
    assert view.me is None and view.experts == 3
    week = leaderboard.board(conn, cyd, period="week", now=NOW + timedelta(hours=1))
    assert week.me["rank"] == 3 and week.me["points"] == 1.0
    assert leaderboard.board(conn, bob, now=NOW).me["name"] == "Bob"  # you always see yourself
    # Reviewing the fast answer makes it count.
    fast_response = conn.execute("SELECT id FROM responses WHERE item_id = ? AND user_id = ?",
                                 [fast, dee.id]).fetchone()[0]
    review.accept(conn, requester, fast_response, NOW)
    assert leaderboard.board(conn, dee, now=NOW).me["rank"] == 4
    top_one = leaderboard.board(conn, cyd, now=NOW, top=1)
    assert len(top_one.top) == 2 and top_one.me["rank"] == 3  # both tied leaders, and cyd
    by_skill = leaderboard.board(conn, ada, scope="skill", key="law", now=NOW)
    assert by_skill.top.empty and by_skill.me is None


def test_quality_weights_points(conn, make_user, make_campaign):
    campaign, (ada, bob, cyd) = three_experts(conn, make_user, make_campaign)
    quality.refresh(conn, campaign.id, NOW)
    standings = leaderboard.standings(conn, scope="campaign", key=campaign.id, now=NOW)
    points = dict(zip(standings["user_id"], standings["points"], strict=True))
    assert points == {ada.id: 2.0, bob.id: 2.0, cyd.id: 0.0}


def answer_by(conn, user, campaign, choose, when=NOW):
    """Claim the expert's next item, if any is left, and answer what `choose(item_id)` says."""
    got = assign.claim_next(conn, user, campaign.id, when).assignment
    if got is not None:
        responses.submit(conn, user, got.item_id, {"label": choose(got.item_id)},
                         got.spec_version, when + timedelta(seconds=120))


def test_consensus_scores_count_agreement_with_the_stored_labels(conn, make_user,
                                                                 make_campaign):
    campaign = make_campaign(n_items=30, overlap=2)
    options, rng = ["positive", "negative", "neutral"], random.Random(1)
    # Experts of mixed reliability and effort take turns; a few items end with one answer.
    plan = [(0.9, 30), (0.5, 20), (0.4, 8), (0.85, 2)]
    people = [make_user(f"expert{n}") for n in range(len(plan))]
    for turn in range(max(count for _, count in plan)):
        for person, (accuracy, count) in zip(people, plan, strict=True):
            if turn < count:
                answer_by(conn, person, campaign, lambda item, a=accuracy: (
                    options[item % 3] if rng.random() < a else rng.choice(options)))
    quality.refresh(conn, campaign.id, NOW + timedelta(hours=1))
    # What each expert's score must count: their answers on items others answered too,
    # checked against the label stored and shown for the item.
    expected = conn.execute(
        "SELECT r.user_id, count(*), count(*) FILTER (WHERE r.answer->>'label' = l.ds_label) "
        "FROM responses r JOIN item_labels l ON l.item_id = r.item_id "
        "WHERE r.campaign_id = ? AND l.answers >= 2 AND l.ds_label IS NOT NULL "
        "GROUP BY r.user_id ORDER BY r.user_id", [campaign.id]).fetchall()
    stored = conn.execute(
        "SELECT user_id, consensus_answers, consensus_agreed FROM expert_quality "
        "WHERE campaign_id = ? AND consensus_answers > 0 ORDER BY user_id",
        [campaign.id]).fetchall()
    assert stored == expected


TAGGING = CLASSIFY.rstrip("\n") + """
  - type: multiple_choice
    id: topics
    prompt: Which topics does it touch?
    options: [price, delivery, support]
"""


def test_multiple_choice_answers_agree_whatever_order_the_options_were_picked_in(
        conn, make_user, make_campaign):
    campaign = make_campaign(n_items=3, overlap=2, spec=TAGGING)
    ada, bob = make_user("ada"), make_user("bob")
    picks = {ada: [["price", "delivery"], ["support"], ["delivery", "support"]],
             bob: [["delivery", "price"], ["support"], ["support", "delivery", "support"]]}
    for person, answers in picks.items():
        for topics in answers:
            got = assign.claim_next(conn, person, campaign.id, NOW).assignment
            responses.submit(conn, person, got.item_id, {"label": "positive", "topics": topics},
                             got.spec_version, NOW + timedelta(seconds=120))
    quality.refresh(conn, campaign.id, NOW + timedelta(hours=1))
    alpha = quality.agreement_table(conn, campaign.id).set_index("question_id")
    assert alpha.loc["topics", "alpha"] == pytest.approx(1.0)
    assert alpha.loc["topics", "units"] == 3
