"""Campaign design: settings validation, spec versions, lifecycle rules."""

from datetime import timedelta

import pytest

from core import assign, campaigns, lifecycle, responses
from core.errors import Conflict, Forbidden, Invalid
from tests.conftest import CLASSIFY, NOW

SETTINGS = dict(title="Toxicity of forum posts", skill="general", language="en-US",
                minutes_per_item=1, pay_per_item=0.5, overlap=3,
                opens_at=NOW - timedelta(days=1), expires_at=NOW + timedelta(days=10))


def test_a_draft_is_created_and_listed_for_its_owner_only(conn, requester, make_user):
    draft = campaigns.create(conn, requester, spec_text=CLASSIFY, now=NOW, **SETTINGS)
    assert (draft.status, draft.spec_version, str(draft.pay_per_item)) == ("draft", 1, "0.50")
    other = make_user("ron", roles=("requester",), expertise=())
    admin = make_user("boss", roles=("admin",), expertise=())
    assert campaigns.overview(conn, requester)["title"].tolist() == ["Toxicity of forum posts"]
    assert campaigns.overview(conn, other).empty
    assert len(campaigns.overview(conn, admin)) == 1
    with pytest.raises(Forbidden):
        campaigns.update(conn, other, draft.id, spec_text=CLASSIFY, now=NOW, **SETTINGS)


@pytest.mark.parametrize("change, field", [
    ({"title": ""}, "title"),
    ({"skill": "alchemy"}, "skill"),
    ({"language": "xx"}, "language"),
    ({"overlap": 0}, "overlap"),
    ({"pay_per_item": "lots"}, "pay_per_item"),
    ({"pay_per_item": -1}, "pay_per_item"),
    ({"per_expert_cap": 0}, "per_expert_cap"),
    ({"expires_at": NOW - timedelta(days=2)}, "expires_at"),
    ({"kind": "solo"}, "kind"),
])
def test_bad_settings_name_the_field(conn, requester, change, field):
    with pytest.raises(Invalid) as refused:
        campaigns.create(conn, requester, spec_text=CLASSIFY, now=NOW, **{**SETTINGS, **change})
    assert field in refused.value.problems
    assert conn.execute("SELECT count(*) FROM campaigns").fetchone()[0] == 0


def test_an_invalid_spec_cannot_be_saved(conn, requester):
    with pytest.raises(Invalid) as refused:
        campaigns.create(conn, requester, spec_text="blocks: [{type: rating, id: a, prompt: p}]",
                         now=NOW, **SETTINGS)
    assert "blocks[0].min" in refused.value.problems
    assert conn.execute("SELECT count(*) FROM campaign_specs").fetchone()[0] == 0


def test_editing_a_spec_with_answers_makes_a_new_version(conn, requester, make_user,
                                                         make_campaign):
    campaign = make_campaign(n_items=3)
    ada = make_user("ada")
    got = assign.claim_next(conn, ada, campaign.id, NOW).assignment
    responses.submit(conn, ada, got.item_id, {"label": "positive"}, got.spec_version, NOW)
    edited = CLASSIFY.replace("[positive, negative, neutral]", "[positive, negative, mixed]")
    settings = {k: getattr(campaign, k) for k in ("title", "skill", "language", "overlap",
                                                  "minutes_per_item", "pay_per_item",
                                                  "opens_at", "expires_at")}
    updated = campaigns.update(conn, requester, campaign.id, spec_text=edited, now=NOW,
                               **settings)
    assert updated.spec_version == 2
    assert "neutral" in campaigns.spec(conn, campaign.id, 1)["blocks"][2]["options"]
    assert "mixed" in campaigns.spec(conn, campaign.id, 2)["blocks"][2]["options"]
    assert conn.execute("SELECT spec_version FROM responses").fetchone()[0] == 1
    versions = campaigns.spec_versions(conn, campaign.id)
    assert versions[["version", "answers"]].values.tolist() == [[2, 0], [1, 1]]
    # A further edit before anyone answers version 2 rewrites version 2 in place.
    again = campaigns.update(conn, requester, campaign.id,
                             spec_text=edited.replace("mixed", "unclear"), now=NOW, **settings)
    assert again.spec_version == 2
    # Answers given against version 2 are checked against version 2.
    bob = make_user("bob")
    got = assign.claim_next(conn, bob, campaign.id, NOW).assignment
    assert got.spec_version == 2
    with pytest.raises(Invalid):
        responses.submit(conn, bob, got.item_id, {"label": "neutral"}, 2, NOW)
    responses.submit(conn, bob, got.item_id, {"label": "unclear"}, 2, NOW)


def test_lifecycle_moves_and_records_who_and_when(conn, requester, make_campaign):
    campaign = make_campaign(status="draft")
    assert lifecycle.allowed_moves("draft") == ["live", "closed"]
    lifecycle.move(conn, requester, campaign.id, "live", NOW)
    lifecycle.move(conn, requester, campaign.id, "paused", NOW + timedelta(hours=1), "holiday")
    lifecycle.move(conn, requester, campaign.id, "live", NOW + timedelta(hours=2))
    lifecycle.move(conn, requester, campaign.id, "closed", NOW + timedelta(hours=3))
    history = lifecycle.history(conn, campaign.id)
    assert history[["from_status", "to_status", "by"]].values.tolist() == [
        ["live", "closed", "rita"], ["paused", "live", "rita"], ["live", "paused", "rita"],
        ["draft", "live", "rita"]]
    assert history["note"].tolist()[2] == "holiday"
    with pytest.raises(Conflict, match="closed campaign cannot become live"):
        lifecycle.move(conn, requester, campaign.id, "live", NOW)
    with pytest.raises(Conflict, match="cannot be edited"):
        campaigns.update(conn, requester, campaign.id, spec_text=CLASSIFY, now=NOW, **SETTINGS)


def test_publishing_needs_items_and_a_future_expiry(conn, requester, make_campaign):
    empty = make_campaign(n_items=0, status="draft")
    with pytest.raises(Conflict, match="no items"):
        lifecycle.move(conn, requester, empty.id, "live", NOW)
    stale = make_campaign(status="draft", opens_at=NOW - timedelta(days=9),
                          expires_at=NOW - timedelta(days=1))
    with pytest.raises(Conflict, match="expired"):
        lifecycle.move(conn, requester, stale.id, "live", NOW)
    assert campaigns.get(conn, stale.id).status == "draft"


def test_closing_ends_open_leases(conn, requester, make_user, make_campaign):
    campaign = make_campaign()
    assign.claim_next(conn, make_user("ada"), campaign.id, NOW)
    lifecycle.move(conn, requester, campaign.id, "closed", NOW)
    assert conn.execute("SELECT count(*) FROM leases").fetchone()[0] == 0


def test_experts_cannot_design_or_move_campaigns(conn, make_user, make_campaign):
    campaign = make_campaign()
    ada = make_user("ada")
    with pytest.raises(Forbidden):
        campaigns.create(conn, ada, spec_text=CLASSIFY, now=NOW, **SETTINGS)
    with pytest.raises(Forbidden):
        lifecycle.move(conn, ada, campaign.id, "paused", NOW)
