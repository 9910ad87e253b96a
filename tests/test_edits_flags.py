"""Experts change their minds and flag bad items: edits, withdrawals, flags, true progress."""

import json
from datetime import timedelta

import pytest

from core import assign, campaigns, edits, flags, io, leaderboard, profile, responses, review
from core.errors import Conflict, Forbidden, Invalid

GOOD, BAD = {"label": "positive"}, {"label": "negative"}


def claim(conn, user, campaign, now):
    return assign.claim_next(conn, user, campaign.id, now).assignment


def answer(conn, user, campaign, now, value=GOOD):
    got = claim(conn, user, campaign, now)
    return responses.submit(conn, user, got.item_id, value, got.spec_version,
                            now + timedelta(minutes=2))


def test_edit_replaces_the_answer_and_keeps_the_earlier_version(conn, make_user, make_campaign,
                                                                requester, now, tmp_path):
    campaign = make_campaign(n_items=2)
    ada = make_user("ada")
    receipt = answer(conn, ada, campaign, now)
    before_pay = profile.totals(conn, ada).earnings
    [mine] = edits.recent(conn, ada, campaign.id, now + timedelta(minutes=3))
    assert mine.answer == GOOD and mine.version == 1
    assert mine.until == mine.submitted_at + timedelta(minutes=campaign.edit_minutes)

    assert edits.edit(conn, ada, receipt.response_id, BAD, now + timedelta(minutes=4)) == 2
    stored = conn.execute("SELECT answer FROM responses WHERE id = ?",
                          [receipt.response_id]).fetchone()[0]
    assert json.loads(stored) == BAD
    history = edits.versions(conn, ada, receipt.response_id)
    assert history[["version", "change"]].values.tolist() == [[1, "edit"]]
    assert json.loads(history["answer"].iloc[0]) == GOOD
    # counts and pay do not move on an edit
    assert responses.counts(conn, ada.id, campaign.id) == (1, 1)
    assert profile.totals(conn, ada).earnings == before_pay
    assert conn.execute("SELECT sum(response_count) FROM items").fetchone()[0] == 1
    # the export carries the final answer and when it was edited
    out = tmp_path / "answers.jsonl"
    io.export(conn, requester, "answers", campaign.id, out, "jsonl")
    [row] = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["answer"] == BAD and row["edited_at"] is not None
    [again] = edits.recent(conn, ada, campaign.id, now + timedelta(minutes=5))
    assert again.version == 2 and again.edited_at == now + timedelta(minutes=4)


def test_withdraw_frees_the_item_and_reverses_the_pay(conn, make_user, make_campaign, now):
    campaign = make_campaign(n_items=1, overlap=1)
    ada, bob = make_user("ada"), make_user("bob")
    receipt = answer(conn, ada, campaign, now)
    assert claim(conn, bob, campaign, now + timedelta(minutes=3)) is None  # full

    edits.withdraw(conn, ada, receipt.response_id, now + timedelta(minutes=3))
    assert conn.execute("SELECT count(*) FROM responses").fetchone()[0] == 0
    assert conn.execute("SELECT response_count FROM items").fetchone()[0] == 0
    assert responses.counts(conn, ada.id, campaign.id) == (0, 0)
    assert profile.totals(conn, ada).earnings == 0
    assert [(k, float(a)) for k, a in conn.execute(
        "SELECT kind, amount FROM pay_ledger ORDER BY id").fetchall()] == [
        ("item", 1.25), ("reversal", -1.25)]
    history = edits.versions(conn, ada, receipt.response_id)
    assert history["change"].tolist() == ["withdraw"]
    # the place goes to someone else, not back to the expert who gave it up
    assert claim(conn, ada, campaign, now + timedelta(minutes=4)) is None
    assert claim(conn, bob, campaign, now + timedelta(minutes=4)) is not None
    with pytest.raises(Exception, match="no longer stored"):
        edits.withdraw(conn, ada, receipt.response_id, now + timedelta(minutes=5))


def test_changes_are_refused_after_the_window_after_review_and_for_others(
        conn, make_user, make_campaign, requester, now):
    campaign = make_campaign(n_items=3, edit_minutes=10)
    ada, bob = make_user("ada"), make_user("bob")
    first = answer(conn, ada, campaign, now)
    late = now + timedelta(minutes=13)  # submitted at +2, window of 10
    with pytest.raises(Conflict, match="10 minutes"):
        edits.edit(conn, ada, first.response_id, BAD, late)
    assert edits.recent(conn, ada, campaign.id, late) == []
    second = answer(conn, ada, campaign, now + timedelta(minutes=3))
    with pytest.raises(Forbidden):
        edits.withdraw(conn, bob, second.response_id, now + timedelta(minutes=6))
    with pytest.raises(Invalid):
        edits.edit(conn, ada, second.response_id, {"label": "purple"}, now + timedelta(minutes=6))
    with pytest.raises(Conflict, match="already stored"):
        edits.edit(conn, ada, second.response_id, GOOD, now + timedelta(minutes=6))
    review.accept(conn, requester, second.response_id, now + timedelta(minutes=6))
    with pytest.raises(Conflict, match="reviewed"):
        edits.withdraw(conn, ada, second.response_id, now + timedelta(minutes=7))
    assert conn.execute("SELECT count(*) FROM answer_versions").fetchone()[0] == 0


def test_edit_minutes_is_a_campaign_setting_with_a_default(conn, make_campaign, requester, now):
    campaign = make_campaign()
    assert (campaign.edit_minutes, campaign.flag_limit) == (30, 2)
    with pytest.raises(Invalid) as refused:
        make_campaign(edit_minutes=-1, flag_limit=0)
    assert set(refused.value.problems) >= {"edit_minutes", "flag_limit"}
    changed = campaigns.update(conn, requester, campaign.id, now=now, edit_minutes=0,
                               flag_limit=3, spec_text=campaigns.spec_text(conn, campaign.id))
    assert (changed.edit_minutes, changed.flag_limit) == (0, 3)


def test_flags_pause_an_item_at_the_limit_and_claims_pass_it_by(
        conn, make_user, make_campaign, requester, now):
    campaign = make_campaign(n_items=2, overlap=3, flag_limit=2)
    ada, bob, cyd = make_user("ada"), make_user("bob"), make_user("cyd")
    first = claim(conn, ada, campaign, now)
    assert flags.flag(conn, ada, first.item_id, "broken", "", now) is False
    # the expert moves on at no cost: no lease, no pay, the next item is another one
    assert conn.execute("SELECT count(*) FROM leases").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM pay_ledger").fetchone()[0] == 0
    assert claim(conn, ada, campaign, now).item_id != first.item_id
    got = claim(conn, bob, campaign, now)
    assert got.item_id == first.item_id  # one flag is not enough to hold it back
    assert flags.flag(conn, bob, got.item_id, "other", "The text is cut off", now) is True
    # paused: cyd is handed the other item only
    assert claim(conn, cyd, campaign, now).item_id != first.item_id
    listed = flags.for_campaign(conn, requester, campaign.id)
    assert listed[["item_id", "state", "expert", "reason", "note"]].values.tolist() == [
        [first.item_id, "paused", "ada", "broken", ""],
        [first.item_id, "paused", "bob", "other", "The text is cut off"]]
    assert flags.paused_count(conn, campaign.id) == 1
    home = campaigns.for_expert(conn, cyd, now).set_index("id")
    assert home.loc[campaign.id, "items_left"] == 1

    with pytest.raises(Forbidden):
        flags.resolve(conn, cyd, first.item_id, "restore", now)
    flags.resolve(conn, requester, first.item_id, "restore", now)
    assert flags.for_campaign(conn, requester, campaign.id).empty
    dan = make_user("dan")
    assert claim(conn, dan, campaign, now).item_id == first.item_id
    assert flags.for_campaign(conn, requester, campaign.id, include_resolved=True)[
        "resolution"].tolist() == ["restored", "restored"]


def test_a_removed_item_is_never_handed_out(conn, make_user, make_campaign, requester, now):
    campaign = make_campaign(n_items=1, overlap=2, flag_limit=1)
    ada, bob = make_user("ada"), make_user("bob")
    got = claim(conn, ada, campaign, now)
    with pytest.raises(Invalid):
        flags.flag(conn, ada, got.item_id, "other", "  ", now)
    assert flags.flag(conn, ada, got.item_id, "harmful", "", now) is True
    flags.resolve(conn, requester, got.item_id, "remove", now)
    assert claim(conn, bob, campaign, now) is None
    assert conn.execute("SELECT flag_state FROM items").fetchone()[0] == "removed"
    with pytest.raises(Conflict, match="no longer holding"):
        flags.flag(conn, bob, got.item_id, "broken", "", now)


def test_progress_counts_what_is_left_for_this_expert(conn, make_user, make_campaign, now):
    campaign = make_campaign(n_items=4, overlap=2, per_expert_cap=3)
    ada, bob = make_user("ada"), make_user("bob")

    def mine(user):
        row = campaigns.for_expert(conn, user, now).set_index("id").loc[campaign.id]
        return int(row["items_left"]), int(row["left_for_you"]), int(row["my_count"])

    assert mine(ada) == (4, 3, 0)  # four items, but the cap lets ada answer three
    answer(conn, ada, campaign, now)
    answer(conn, ada, campaign, now)
    assert mine(ada) == (4, 1, 2)
    assert mine(bob) == (4, 3, 0)
    skipped = claim(conn, ada, campaign, now)
    assign.skip(conn, ada, skipped.item_id, now)
    assert mine(ada) == (4, 1, 2)  # capped at one more, one of the two others still open
    answer(conn, ada, campaign, now)
    assert mine(ada)[1:] == (0, 3)
    # claim_best skips a campaign with nothing left for this expert
    assert assign.claim_best(conn, ada, now).assignment is None


def test_answers_waiting_for_review_are_counted_for_the_leaderboard(conn, make_user,
                                                                    make_campaign, requester,
                                                                    now):
    campaign = make_campaign(n_items=3, minutes_per_item=4)
    ada = make_user("ada")
    quick = claim(conn, ada, campaign, now)
    receipt = responses.submit(conn, ada, quick.item_id, GOOD, quick.spec_version,
                               now + timedelta(seconds=5))
    assert receipt.too_fast and receipt.seconds == 5 and receipt.expected_minutes == 4
    assert leaderboard.waiting_for_review(conn, ada) == 1
    slow = answer(conn, ada, campaign, now)  # two minutes of four: not too fast
    assert not slow.too_fast
    assert leaderboard.waiting_for_review(conn, ada) == 1
    review.accept(conn, requester, receipt.response_id, now + timedelta(minutes=5))
    assert leaderboard.waiting_for_review(conn, ada) == 0


def test_an_answer_about_model_responses_keeps_the_responses_it_judged(conn, make_user,
                                                                       requester, now):
    from core import models, workflow
    from tests.fake_openai import FakeOpenAI, HttpError
    from tests.mitl import model_campaign, register

    with FakeOpenAI() as fake:
        register(conn, requester, fake.base_url, now, "alpha", "beta", timeout_s=1)
        campaign = model_campaign(conn, requester, now)
        ada = make_user("ada")
        held = assign.claim_next(conn, ada, campaign.id, now).assignment
        fake.plan("beta", HttpError(500))
        models.generate(conn, ada, held.item_id, prompt="Capital of France?", keys={}, now=now,
                        clock=lambda: 0.0)
        receipt = responses.submit(conn, ada, held.item_id, {"rate_a": 3}, held.spec_version,
                                   now + timedelta(minutes=2))
    with pytest.raises(Invalid) as refused:  # still nothing may be said about the failed one
        edits.edit(conn, ada, receipt.response_id, {"rate_a": 4, "rate_b": 2}, now)
    assert "rate_b" in refused.value.problems
    edits.edit(conn, ada, receipt.response_id, {"rate_a": 5, "rewrite": "Paris."},
               now + timedelta(minutes=3))
    stored = json.loads(conn.execute("SELECT answer FROM responses").fetchone()[0])
    assert (stored["rate_a"], stored["rewrite"]) == (5, "Paris.")
    assert [r["status"] for r in stored[workflow.MODEL_STEP]["responses"]] == ["ok", "failed"]
    edits.withdraw(conn, ada, receipt.response_id, now + timedelta(minutes=4))
    assert conn.execute("SELECT count(*) FROM model_generations WHERE response_id IS NOT NULL"
                        ).fetchone()[0] == 0
