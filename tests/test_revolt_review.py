"""Concept review, final labels, team monitoring and the team export."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pytest

from core import io, revolt, revolt_review
from core.errors import Conflict, Forbidden, Invalid, NotFound
from tests.revolt_helpers import (
    SETTINGS,
    abandon,
    batch,
    form_team,
    team_in,
    vote_all,
)


@pytest.fixture
def finished(conn, cats, make_user, clock):
    """Two teams that went all the way, and a third still voting.

    Team 1 disagrees on items 3 and 4 and names them "Big cat" / "Statue"; team 2 disagrees on
    its first item and calls it "big cats" (the same concept, spelled differently).
    """
    people = [make_user(f"expert{n}") for n in range(9)]
    one = form_team(conn, people[:3], cats.id, clock)
    for user, labels in zip(people[:3], (["Yes", "No", "Yes", "No"], ["Yes", "No", "No", "Yes"],
                                         ["Yes", "No", "No", "Yes"]), strict=True):
        vote_all(conn, user, one, labels, clock)
    big, statue = batch(conn, one)[2:]
    for user in people[:3]:
        for item in (big, statue):
            revolt.explain(conn, user, one, item, f"{user.username} on item {item}.",
                           clock.tick(), SETTINGS)
    for user, (first, second) in zip(people[:3], (("Big cat", "Statue"), ("big cat", "Statue"),
                                                  ("Tiger", "statue")), strict=True):
        revolt.categorize(conn, user, one, big, first, clock.tick(), SETTINGS)
        revolt.categorize(conn, user, one, statue, second, clock.tick(), SETTINGS)

    two = form_team(conn, people[3:6], cats.id, clock)
    vote_all(conn, people[3], two, ["No", "Yes", "Yes", "Yes"], clock)
    vote_all(conn, people[4], two, ["Yes", "Yes", "Yes", "Yes"], clock)
    revolt.leave(conn, people[5], two, clock.tick(), SETTINGS)
    first = batch(conn, two)[0]
    for user in people[3:5]:
        revolt.explain(conn, user, two, first, "Stripes and a huge paw.", clock.tick(), SETTINGS)
    for user in people[3:5]:
        revolt.categorize(conn, user, two, first, "big cats", clock.tick(), SETTINGS)

    three = form_team(conn, people[6:9], cats.id, clock)
    vote_all(conn, people[6], three, ["Yes"] * 4, clock)
    return {"one": one, "two": two, "three": three, "big": big, "statue": statue,
            "first": first, "people": people}


def test_concepts_are_grouped_across_teams_with_counts(conn, requester, cats, finished):
    found = revolt_review.concepts(conn, requester, cats.id)
    rows = {r.concept_key: r for r in found.itertuples()}
    assert list(found["concept_key"]) == ["big cat", "statue", "tiger"]
    big = rows["big cat"]
    assert (big.concept, big.teams, big.items, big.uses, big.items_decided) == (
        "Big cat", 2, 2, 4, 2)
    assert list(big.spellings) == ["Big cat", "big cats"]
    assert (rows["tiger"].items, rows["tiger"].items_decided) == (1, 0)
    examples = revolt_review.concept_examples(conn, requester, cats.id, "big cat")
    assert list(examples["item_id"]) == [finished["big"], finished["first"]]
    assert list(examples.iloc[0]["explanations"]) == [
        f"expert{n} on item {finished['big']}." for n in range(3)]
    assert sorted(examples.iloc[1]["votes"]) == ["No", "Yes"]


def test_final_labels_follow_unanimity_then_mapped_concepts(conn, requester, cats, finished,
                                                            now):
    def sources():
        table = revolt_review.final_labels(conn, requester, cats.id)
        return {r.item_id: (None if pd.isna(r.final_label) else r.final_label, r.label_source)
                for r in table.itertuples()}

    before = sources()
    one = batch(conn, finished["one"])
    assert [before[i] for i in one] == [
        ("Yes", "unanimous"), ("No", "unanimous"), (None, "pending: concept not mapped"),
        (None, "pending: concept not mapped")]
    assert {before[i] for i in batch(conn, finished["three"])} == {(None, "team still voting")}

    revolt_review.map_concept(conn, requester, cats.id, "big cat", "Yes", now)
    revolt_review.map_concept(conn, requester, cats.id, "statue", None, now, as_new=True)
    after = sources()
    assert after[finished["big"]] == ("Yes", "concept")
    assert after[finished["first"]] == ("Yes", "concept")
    assert after[finished["statue"]] == ("Statue", "concept (new label)")
    summary = dict(revolt_review.label_summary(conn, requester, cats.id).itertuples(index=False))
    assert summary == {"unanimous": 5, "concept": 2, "concept (new label)": 1,
                       "team still voting": 4}

    revolt_review.map_concept(conn, requester, cats.id, "big cat", "No", now)
    assert sources()[finished["big"]] == ("No", "concept")
    revolt_review.map_concept(conn, requester, cats.id, "big cat", None, now)
    assert sources()[finished["big"]] == (None, "pending: concept not mapped")
    with pytest.raises(Invalid, match="not one of this campaign's labels"):
        revolt_review.map_concept(conn, requester, cats.id, "big cat", "Maybe", now)
    with pytest.raises(NotFound):
        revolt_review.map_concept(conn, requester, cats.id, "unicorn", "Yes", now)
    with pytest.raises(Forbidden):
        revolt_review.map_concept(conn, finished["people"][0], cats.id, "big cat", "Yes", now)


def test_items_without_a_concept_wait_for_another_team_once_everyone_left(conn, requester,
                                                                          cats, trio_factory,
                                                                          clock):
    ann, bob, cyd = trio_factory()
    team_id = form_team(conn, [ann, bob, cyd], cats.id, clock)
    vote_all(conn, ann, team_id, ["Yes", "Yes", "Yes", "Yes"], clock)
    vote_all(conn, bob, team_id, ["No", "Yes", "Yes", "Yes"], clock)
    revolt.leave(conn, cyd, team_id, clock.tick(), SETTINGS)  # Explain starts without cyd
    table = revolt_review.final_labels(conn, requester, cats.id)
    assert table["label_source"][0] == "pending: team still working"
    revolt.leave(conn, ann, team_id, clock.tick(), SETTINGS)
    revolt.leave(conn, bob, team_id, clock.tick(), SETTINGS)
    table = revolt_review.final_labels(conn, requester, cats.id)
    assert list(table["label_source"]) == [
        "waiting for another team: the team that had it ended during Explain with nobody left",
        "unanimous", "unanimous", "unanimous"]
    assert list(table["final_label"])[1:] == ["Yes", "Yes", "Yes"]


WAITING = "waiting for another team: the team that had it ended during {} with nobody left"


def labels_by_item(conn, requester, campaign_id) -> dict[int, tuple]:
    table = revolt_review.final_labels(conn, requester, campaign_id)
    return {r.item_id: (r.team_id, r.votes, None if pd.isna(r.final_label) else r.final_label,
                        r.label_source) for r in table.itertuples()}


@pytest.mark.parametrize("ended_in", ["vote", "explain", "categorize"])
def test_the_requester_sees_why_items_wait_and_who_finally_labels_them(
        conn, requester, cats, trio_factory, make_user, clock, tmp_path, ended_in):
    trio = trio_factory()
    team_id, items = team_in(conn, trio, cats.id, clock, ended_in)
    abandon(conn, trio, team_id, cats.id, clock)
    votes = 2 if ended_in == "vote" else 3
    waiting = WAITING.format(revolt.STAGE_NAMES[ended_in])
    given_back = items[3:] if ended_in == "categorize" else items[2:]
    before = labels_by_item(conn, requester, cats.id)
    assert [before[i] for i in items[:2]] == [(team_id, votes, "Yes", "unanimous"),
                                              (team_id, votes, "No", "unanimous")]
    assert [before[i] for i in given_back] == [(team_id, votes, None, waiting)] * len(given_back)
    if ended_in == "categorize":  # the concept it got can still decide it
        assert before[items[2]] == (team_id, 3, None, "pending: concept not mapped")
    shown = revolt_review.waiting(conn, requester, cats.id)
    assert shown[["item_id", "team_id", "reason"]].values.tolist() == [
        [i, team_id, waiting] for i in given_back]
    teams = revolt_review.teams(conn, requester, cats.id, clock.now)
    assert teams[["items", "given_back"]].values.tolist() == [[4 - len(given_back),
                                                               len(given_back)]]
    path = tmp_path / "waiting.jsonl"
    io.export(conn, requester, "revolt", cats.id, path, "jsonl")
    rows = {r["item_id"]: r for r in map(json.loads, path.read_text().splitlines())}
    assert [rows[i]["label_source"] for i in given_back] == [waiting] * len(given_back)
    assert len(rows[given_back[0]]["votes"]) == votes and rows[given_back[0]]["earlier_teams"] \
        is None

    newcomers = [make_user(f"new{n}") for n in range(3)]
    second = form_team(conn, newcomers, cats.id, clock)
    for user in newcomers:
        vote_all(conn, user, second, ["No"] * 4, clock)
    after = labels_by_item(conn, requester, cats.id)
    assert [after[i] for i in given_back] == [(second, 3, "No", "unanimous")] * len(given_back)
    assert revolt_review.waiting(conn, requester, cats.id).empty
    io.export(conn, requester, "revolt", cats.id, path, "jsonl")
    rows = {r["item_id"]: r for r in map(json.loads, path.read_text().splitlines())}
    assert len(rows) == 8 - len(given_back)  # one row per item, from the team deciding it
    row = rows[given_back[0]]
    assert (row["team_id"], row["label_source"], [v["label"] for v in row["votes"]]) == (
        second, "unanimous", ["No"] * 3)
    (earlier,) = row["earlier_teams"]  # the first team's judgments stay, as history
    assert (earlier["team_id"], earlier["ended_during"], earlier["reason"]) == (
        team_id, ended_in, waiting.removeprefix("waiting for another team: "))
    assert [v["expert"] for v in earlier["votes"]] == ["ann", "bob", "cyd"][:votes]


@pytest.fixture
def trio_factory(make_user):
    return lambda: [make_user(name) for name in ("ann", "bob", "cyd")]


def test_export_has_votes_explanations_concepts_and_final_labels(conn, requester, cats, finished,
                                                                 now, tmp_path):
    revolt_review.map_concept(conn, requester, cats.id, "big cat", "Yes", now)
    path = tmp_path / "team.jsonl"
    assert io.export(conn, requester, "revolt", cats.id, path, "jsonl") == 12
    rows = {r["item_id"]: r for r in map(json.loads, path.read_text().splitlines())}
    big = rows[finished["big"]]
    assert [v["label"] for v in big["votes"]] == ["Yes", "No", "No"]
    assert [v["expert"] for v in big["explanations"]] == ["expert0", "expert1", "expert2"]
    assert [c["concept"] for c in big["concepts"]] == ["Big cat", "Big cat", "Tiger"]
    assert (big["team_concept"], big["final_label"], big["label_source"], big["conflict"]) == (
        "Big cat", "Yes", "concept", True)
    assert big["payload"] == {"text": "Review number 2"}
    for fmt in ("csv", "parquet"):
        assert io.export(conn, requester, "revolt", cats.id, tmp_path / f"t.{fmt}", fmt) == 12
    with pytest.raises(Invalid, match="one campaign at a time"):
        io.export(conn, requester, "revolt", None, path, "csv")


def test_export_of_a_standard_campaign_has_no_team_results(conn, requester, make_campaign,
                                                           tmp_path):
    plain = make_campaign(n_items=1)
    with pytest.raises(Conflict, match="not a team campaign"):
        io.export(conn, requester, "revolt", plain.id, tmp_path / "x.csv", "csv")


def test_monitoring_shows_teams_by_stage_dropouts_and_time(conn, requester, cats, finished,
                                                           clock):
    table = revolt_review.teams(conn, requester, cats.id, clock.now)
    assert list(table["team"]) == [finished["three"], finished["two"], finished["one"]]
    assert list(table["stage"]) == ["vote", "done", "done"]
    assert list(table["left_early"]) == [0, 1, 0]
    assert list(table["conflicts"]) == [0, 1, 2]
    assert revolt_review.teams_by_stage(conn, requester, cats.id) == {
        "vote": 1, "explain": 0, "categorize": 0, "done": 2}
    times = revolt_review.stage_times(conn, requester, cats.id, clock.now)
    assert list(times["stage"]) == ["vote", "explain", "categorize"]
    assert list(times["teams_finished"]) == [2, 2, 2]
    assert list(times["teams_in_it"]) == [1, 0, 0]
    assert (times["median_minutes"] > 0).all()
    gone = revolt_review.dropouts(conn, requester, cats.id)
    assert gone.to_dict("records") == [{"stage": "vote", "dropped": 0, "left_early": 1}]
    log = revolt_review.transitions(conn, requester, cats.id)
    assert len(log) == 4 + 4 + 1 and log.iloc[0]["to_stage"] == "vote"
    assert all(log["reason"].str.len() > 10)
    clock.tick(600)
    assert revolt_review.teams(conn, requester, cats.id, clock.now)["minutes_in_stage"][0] \
        == pytest.approx(10 + 4 / 60, abs=0.1)


def test_configured_pay_is_what_members_earn(conn, requester, cats, trio_factory, clock, now):
    revolt.configure(conn, requester, cats.id, pay_vote="3.10", pay_explain="0",
                     pay_categorize="2", team_cap=None, excluded_campaigns=[], now=now)
    trio = trio_factory()
    team_id = form_team(conn, trio, cats.id, clock)
    for user in trio:
        vote_all(conn, user, team_id, ["Yes"] * 4, clock)
    assert [float(a) for (a,) in conn.execute(
        "SELECT amount FROM pay_ledger WHERE kind = 'stage'").fetchall()] == [3.10] * 3
    assert float(revolt.config(conn, cats.id, SETTINGS).total_pay) == pytest.approx(5.10)
    assert conn.execute("SELECT sum(amount) FROM revolt_stage_done").fetchone()[0] == \
        conn.execute("SELECT sum(amount) FROM pay_ledger").fetchone()[0]
    assert float(revolt.session(conn, trio[0], team_id, SETTINGS).earned) == pytest.approx(3.1)
    assert clock.now - now < timedelta(minutes=5)
