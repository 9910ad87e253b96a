# ruff: noqa: F811 (the fixtures imported below are named as test arguments)
"""Concept review edits: merging synonyms, splitting a generic concept, and their history."""

from __future__ import annotations

import pytest

from core import concept_edits, revolt_review
from core.errors import Forbidden, Invalid, NotFound
from tests.test_revolt_review import finished  # noqa: F401 (a fixture)


def keys(conn, requester, campaign_id) -> dict[str, tuple]:
    found = revolt_review.concepts(conn, requester, campaign_id)
    return {r.concept_key: (sorted(r.spellings), r.items) for r in found.itertuples()}


def final(conn, requester, campaign_id) -> dict[int, tuple]:
    table = revolt_review.final_labels(conn, requester, campaign_id)
    table = table[table["conflict"].fillna(False).astype(bool)]
    return {int(r.item_id): (r.concept_key, None if r.final_label != r.final_label
                             or r.final_label is None else r.final_label)
            for r in table.itertuples()}


def test_merging_synonyms_pools_their_items_and_spellings(conn, requester, cats, finished, now):
    moved = concept_edits.merge(conn, requester, cats.id, ["tiger"], "big cat", now)
    assert moved == 1
    found = keys(conn, requester, cats.id)
    assert set(found) == {"big cat", "statue"}
    assert found["big cat"] == (["Big cat", "big cats"], 2)
    history = concept_edits.history(conn, requester, cats.id)
    assert history[["action", "from_key", "to_key", "items"]].values.tolist() == [
        ["merge", "tiger", "big cat", 1]]


def test_a_merge_carries_the_merged_concepts_label_and_leaves_no_stale_mapping(
        conn, requester, cats, finished, now):
    revolt_review.map_concept(conn, requester, cats.id, "tiger", "Yes", now)
    revolt_review.map_concept(conn, requester, cats.id, "statue", "No", now)
    concept_edits.merge(conn, requester, cats.id, ["tiger"], "big cat", now)
    labels = final(conn, requester, cats.id)
    assert labels[finished["big"]] == ("big cat", "Yes")
    assert labels[finished["first"]] == ("big cat", "Yes")
    mapped = conn.execute("SELECT concept_key, label FROM revolt_concept_labels "
                          "WHERE campaign_id = ? ORDER BY 1", [cats.id]).fetchall()
    assert mapped == [("big cat", "Yes"), ("statue", "No")]
    assert concept_edits.history(conn, requester, cats.id)["label_moved"].tolist() == ["Yes"]
    # the concept it went into keeps its own mapping when it had one
    concept_edits.merge(conn, requester, cats.id, ["statue"], "big cat", now)
    assert final(conn, requester, cats.id)[finished["statue"]] == ("big cat", "Yes")


def test_splitting_moves_chosen_items_to_a_new_concept(conn, requester, cats, finished, now):
    revolt_review.map_concept(conn, requester, cats.id, "big cat", "Yes", now)
    key = concept_edits.split(conn, requester, cats.id, "big cat", [finished["first"]],
                              "Striped big cats", now)
    assert key == "striped big cat"
    found = keys(conn, requester, cats.id)
    assert found["big cat"][1] == 1 and found["striped big cat"] == (["Striped big cats"], 1)
    labels = final(conn, requester, cats.id)
    assert labels[finished["big"]] == ("big cat", "Yes")
    assert labels[finished["first"]] == ("striped big cat", None)  # pending until mapped
    revolt_review.map_concept(conn, requester, cats.id, "striped big cat", "No", now)
    assert final(conn, requester, cats.id)[finished["first"]] == ("striped big cat", "No")
    history = concept_edits.history(conn, requester, cats.id)
    assert history[["action", "from_key", "to_key", "item_ids"]].values.tolist() == [
        ["split", "big cat", "striped big cat", str(finished["first"])]]


def test_edits_refuse_what_makes_no_sense(conn, requester, cats, finished, now, make_user):
    with pytest.raises(Invalid, match="other concept"):
        concept_edits.merge(conn, requester, cats.id, ["big cat"], "big cat", now)
    with pytest.raises(NotFound, match="lynx"):
        concept_edits.merge(conn, requester, cats.id, ["lynx"], "big cat", now)
    with pytest.raises(Invalid, match="same concept"):
        concept_edits.split(conn, requester, cats.id, "big cat", [finished["big"]], "Big Cats",
                            now)
    with pytest.raises(Invalid, match="was not given this concept"):
        concept_edits.split(conn, requester, cats.id, "statue", [finished["big"]], "Sculpture",
                            now)
    with pytest.raises(Invalid, match="Choose the items"):
        concept_edits.split(conn, requester, cats.id, "statue", [], "Sculpture", now)
    with pytest.raises(Forbidden):
        concept_edits.merge(conn, make_user("mallory"), cats.id, ["tiger"], "big cat", now)
    assert concept_edits.history(conn, requester, cats.id).empty
