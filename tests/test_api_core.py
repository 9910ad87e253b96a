"""Tokens and the webhook outbox in core, on both engines, with a real receiver on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, timedelta

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from core import assign, egress, events, lifecycle, responses, tokens, users, webhooks
from core.errors import Forbidden, Invalid, NotFound
from tests.api_helpers import Receiver
from tests.conftest import NOW
from tests.test_quality import label

LATER = NOW + timedelta(hours=1)  # after the answers of `label`
ANYWHERE = egress.parse_policy("127.0.0.1", None, hosts_setting="QUORUM_WEBHOOK_HOSTS")


@pytest.fixture
def receiver():
    made = []

    def make(statuses=(), hang=0.0):
        made.append(Receiver([*statuses], hang))
        return made[-1]

    yield make
    for r in made:
        r.close()


def test_a_token_is_shown_once_stored_hashed_and_acts_for_its_owner(conn, requester):
    made = tokens.create(conn, requester, "training job", 30, NOW)
    assert made.secret.startswith("qpat_") and made.expires_at == NOW + timedelta(days=30)
    stored = conn.execute("SELECT token_hash, prefix FROM api_tokens").fetchall()
    assert stored == [(tokens.digest(made.secret), made.secret[:9])]
    assert made.secret not in json.dumps([list(map(str, r)) for r in conn.execute(
        "SELECT * FROM api_tokens").fetchall()])
    assert tokens.authenticate(conn, made.secret, NOW).id == requester.id
    listed = tokens.list_for(conn, requester, NOW)
    assert list(listed["state"]) == ["active"] and "token_hash" not in listed


def test_revoked_expired_unknown_and_missing_tokens_are_refused(conn, requester, make_user):
    made = tokens.create(conn, requester, "ci", 1, NOW)
    with pytest.raises(tokens.Unauthenticated, match="expired"):
        tokens.authenticate(conn, made.secret, NOW + timedelta(days=1))
    with pytest.raises(tokens.Unauthenticated, match="not known"):
        tokens.authenticate(conn, made.secret + "x", NOW)
    with pytest.raises(tokens.Unauthenticated, match="Bearer"):
        tokens.authenticate(conn, None, NOW)
    other = make_user("eve")
    with pytest.raises(NotFound):
        tokens.revoke(conn, other, made.id, NOW)  # not hers
    tokens.revoke(conn, requester, made.id, NOW)
    with pytest.raises(tokens.Unauthenticated, match="revoked"):
        tokens.authenticate(conn, made.secret, NOW)
    with pytest.raises(Invalid) as bad:
        tokens.create(conn, requester, " ", 999, NOW)
    assert set(bad.value.problems) == {"name", "days"}


def test_a_disabled_accounts_tokens_are_refused(conn, make_user):
    admin, boss = make_user("admin", roles=("admin",)), make_user("boss", roles=("requester",))
    made = tokens.create(conn, boss, "job", 5, NOW)
    users.set_disabled(conn, admin, "boss", True, NOW)
    with pytest.raises(tokens.Unauthenticated, match="disabled"):
        tokens.authenticate(conn, made.secret, NOW)
    users.set_disabled(conn, admin, "boss", False, NOW)
    assert tokens.authenticate(conn, made.secret, NOW).username == "boss"


def test_a_token_acts_with_the_roles_its_owner_has_now(conn, make_user):
    boss = make_user("boss", roles=("requester",))
    made = tokens.create(conn, boss, "job", 5, NOW)
    conn.execute("DELETE FROM user_roles WHERE user_id = ?", [boss.id])
    assert tokens.authenticate(conn, made.secret, NOW).roles == ()


def test_registering_checks_owner_events_and_the_egress_rule(conn, requester, make_user,
                                                            make_campaign):
    campaign = make_campaign()
    with pytest.raises(Invalid) as bad:
        webhooks.register(conn, requester, campaign.id, "ftp://x", ["nope"], ANYWHERE, NOW)
    assert set(bad.value.problems) == {"url", "events"}
    with pytest.raises(Invalid, match="not a host"):
        webhooks.register(conn, requester, campaign.id, "http://10.0.0.1/h",
                          ["answer.submitted"], ANYWHERE, NOW)
    with pytest.raises(Forbidden, match="only an administrator"):
        webhooks.register(conn, requester, campaign.id, "http://127.0.0.1/h",
                          ["answer.submitted"], egress.CLOSED, NOW)
    with pytest.raises(Forbidden):
        webhooks.register(conn, make_user("eve", roles=("requester",)), campaign.id,
                          "http://127.0.0.1/h", ["answer.submitted"], ANYWHERE, NOW)


def test_an_answer_queues_one_signed_event_per_receiver_in_its_transaction(
        conn, requester, make_user, make_campaign, receiver):
    campaign = make_campaign(n_items=1, overlap=1)
    hook = receiver()
    reg = webhooks.register(conn, requester, campaign.id, hook.url,
                            ["answer.submitted", "campaign.completed"], ANYWHERE, NOW)
    assert reg.secret.startswith("whsec_")
    label(conn, make_user("ada"), campaign, "positive")
    queued = conn.execute("SELECT event, status FROM webhook_outbox ORDER BY id").fetchall()
    assert queued == [("answer.submitted", "pending"), ("campaign.completed", "pending")]
    with httpx.Client(timeout=5) as client:
        assert webhooks.deliver_due(conn, client, "w1", ANYWHERE, lambda: LATER) == 2
    assert len(hook.received) == 2
    for headers, body, _ in hook.received:
        # Signed at LATER (a fixed past time), so checked as a receiver would at that time.
        assert headers["webhook-timestamp"] == str(int(LATER.replace(tzinfo=UTC).timestamp()))
        assert headers["webhook-signature"] == Webhook(reg.secret).sign(
            headers["webhook-id"], LATER, body.decode())
    types = sorted(json.loads(body)["type"] for _, body, _ in hook.received)  # sent at once
    assert types == ["answer.submitted", "campaign.completed"]
    shown = webhooks.deliveries(conn, requester, campaign.id)
    assert list(shown["status"]) == ["delivered", "delivered"]
    assert list(shown["last_status"]) == [200, 200]
    assert "RECEIVER-PRIVATE-BODY" not in shown.to_csv()  # the reply's body is never kept


def test_a_refused_submission_queues_nothing(conn, requester, make_user, make_campaign):
    campaign = make_campaign(n_items=1, overlap=1)
    webhooks.register(conn, requester, campaign.id, "http://127.0.0.1:9/h",
                      ["answer.submitted"], ANYWHERE, NOW)
    lifecycle.move(conn, requester, campaign.id, "paused", NOW)
    with pytest.raises(Exception):  # noqa: B017 (any refusal: the campaign is paused)
        label(conn, make_user("ada"), campaign, "positive")
    assert conn.execute("SELECT count(*) FROM webhook_outbox").fetchone()[0] == 0


def test_a_failing_receiver_is_retried_with_backoff_and_gets_the_event_once(
        conn, requester, make_user, make_campaign, receiver):
    campaign = make_campaign(n_items=2)
    hook = receiver([500, 503, 429])
    webhooks.register(conn, requester, campaign.id, hook.url, ["answer.submitted"], ANYWHERE,
                      NOW)
    label(conn, make_user("ada"), campaign, "positive")
    backoff = (10, 20, 40)
    clock = [LATER]
    with httpx.Client(timeout=5) as client:
        def run() -> int:
            return webhooks.deliver_due(conn, client, "w1", ANYWHERE, lambda: clock[0], backoff)
        assert run() == 1
        assert run() == 0  # not due yet: 10 s to wait
        for wait in backoff:
            clock[0] += timedelta(seconds=wait)
            assert run() == 1
        clock[0] += timedelta(days=1)
        assert run() == 0
    assert len(hook.received) == 4
    assert len({h["webhook-id"] for h, _, _ in hook.received}) == 1  # one message, retried
    row = webhooks.deliveries(conn, requester, campaign.id).iloc[0]
    assert (row["status"], row["attempts"], row["last_status"]) == ("delivered", 4, 200)


def test_a_receiver_that_never_succeeds_is_given_up_with_the_reason(conn, requester, make_user,
                                                                   make_campaign):
    campaign = make_campaign(n_items=2)
    webhooks.register(conn, requester, campaign.id, "http://127.0.0.1:9/h",
                      ["answer.submitted"], ANYWHERE, NOW)
    label(conn, make_user("ada"), campaign, "positive")
    clock = [LATER]
    with httpx.Client(timeout=2) as client:
        for _ in range(3):
            webhooks.deliver_due(conn, client, "w1", ANYWHERE, lambda: clock[0], (1, 1))
            clock[0] += timedelta(seconds=2)
    row = webhooks.deliveries(conn, requester, campaign.id).iloc[0]
    assert row["status"] == "failed" and row["attempts"] == 3
    assert row["last_error"].startswith("could not connect")


def test_two_workers_never_lease_the_same_row_and_a_dead_ones_lease_runs_out(
        conn, requester, make_user, make_campaign):
    campaign = make_campaign(n_items=3, overlap=1)
    webhooks.register(conn, requester, campaign.id, "http://127.0.0.1:9/h",
                      ["answer.submitted"], ANYWHERE, NOW)
    for name in ("ada", "bob", "cyd"):
        label(conn, make_user(name), campaign, "positive")
    first = webhooks.lease_due(conn, "w1", LATER, limit=2)
    second = webhooks.lease_due(conn, "w2", LATER, limit=5)
    assert len(first) == 2 and len(second) == 1
    assert not {d.id for d in first} & {d.id for d in second}
    assert webhooks.lease_due(conn, "w3", LATER) == []
    later = LATER + webhooks.LEASE + timedelta(seconds=1)
    assert len(webhooks.lease_due(conn, "w3", later)) == 3  # w1 and w2 died holding them


def test_deleting_or_rotating_a_webhook(conn, requester, make_user, make_campaign):
    campaign = make_campaign(n_items=3)
    reg = webhooks.register(conn, requester, campaign.id, "http://127.0.0.1:9/h",
                            ["answer.submitted"], ANYWHERE, NOW)
    rotated = webhooks.rotate(conn, requester, reg.id, NOW)
    assert rotated.secret != reg.secret
    label(conn, make_user("ada"), campaign, "positive")
    (leased,) = webhooks.lease_due(conn, "w1", LATER)
    assert leased.secret == rotated.secret
    webhooks.delete(conn, requester, reg.id, NOW)
    label(conn, make_user("bob"), campaign, "positive")
    assert conn.execute("SELECT count(*) FROM webhook_outbox").fetchone()[0] == 1
    assert webhooks.list_for(conn, requester, campaign.id).empty


def test_emit_refuses_an_unknown_event(conn):
    with pytest.raises(ValueError):
        with conn.transaction() as cur:
            events.emit(cur, 1, "answer.deleted", {}, NOW)


def test_a_receiver_that_never_answers_does_not_slow_submissions(conn, requester, make_user,
                                                                 make_campaign, receiver):
    campaign = make_campaign(n_items=6, overlap=1)
    hung = receiver(hang=10)
    webhooks.register(conn, requester, campaign.id, hung.url, ["answer.submitted"], ANYWHERE,
                      NOW)
    label(conn, make_user("first"), campaign, "positive")
    with httpx.Client(timeout=5) as client:
        sending = threading.Thread(target=webhooks.deliver_due, args=(
            conn, client, "w1", ANYWHERE, lambda: LATER))
        sending.start()
        hung.arrived.wait(5)  # a delivery is now held open by the receiver
        took = []
        for n in range(4):
            started = time.perf_counter()
            label(conn, make_user(f"next{n}"), campaign, "positive")
            took.append(time.perf_counter() - started)
        assert max(took) < 1.0, took  # a submit does not wait for any delivery
        assert sending.is_alive()
        sending.join()
    row = webhooks.deliveries(conn, requester, campaign.id).iloc[-1]
    assert (row["status"], row["last_error"]) == ("pending", "timed out")


def test_a_team_finishing_and_a_concept_mapped_are_events(conn, requester, make_user,
                                                          make_campaign):
    from core import revolt, revolt_review
    from tests.revolt_helpers import CAT_SPEC, SETTINGS, Clock, batch, form_team, vote_all

    cats = make_campaign(n_items=8, spec=CAT_SPEC, kind="revolt", overlap=3)
    webhooks.register(conn, requester, cats.id, "http://127.0.0.1:9/h",
                      ["team.finished", "concepts.mapped"], ANYWHERE, NOW)
    clock = Clock(NOW)
    people = [make_user(f"member{n}") for n in range(3)]
    team = form_team(conn, people, cats.id, clock)
    for user, labels in zip(people, (["Yes", "No", "Yes", "No"], ["Yes", "No", "No", "No"],
                                     ["Yes", "No", "No", "No"]), strict=True):
        vote_all(conn, user, team, labels, clock)
    disputed = batch(conn, team)[2]
    for user in people:
        revolt.explain(conn, user, team, disputed, "Whiskers, maybe.", clock.tick(), SETTINGS)
    assert conn.execute("SELECT count(*) FROM webhook_outbox").fetchone()[0] == 0
    for user in people:
        revolt.categorize(conn, user, team, disputed, "Big cat", clock.tick(), SETTINGS)
    revolt_review.map_concept(conn, requester, cats.id, "big cat", "Yes", clock.tick())
    rows = conn.execute("SELECT event, payload FROM webhook_outbox ORDER BY id").fetchall()
    assert [event for event, _ in rows] == ["team.finished", "concepts.mapped"]
    assert json.loads(rows[0][1])["data"] == {"campaign_id": cats.id, "team_id": team,
                                              "reason": json.loads(rows[0][1])["data"]["reason"]}
    assert json.loads(rows[1][1])["data"] == {"campaign_id": cats.id, "concept_key": "big cat",
                                              "label": "Yes"}


def test_two_last_answers_at_once_still_complete_the_campaign_once(
        conn, requester, make_user, make_campaign):
    """Each of two simultaneous last answers sees the other's item open in its own snapshot;
    the campaign.completed event must still be queued, and only once."""
    experts = [make_user("ada"), make_user("bob")]
    for _ in range(8):
        campaign = make_campaign(n_items=2, overlap=1)
        webhooks.register(conn, requester, campaign.id, "http://127.0.0.1:9/h",
                          ["campaign.completed"], ANYWHERE, NOW)
        held = [assign.claim_next(conn, e, campaign.id, NOW).assignment for e in experts]
        start = threading.Barrier(2)

        def answer(expert, got, start=start):
            start.wait()
            responses.submit(conn, expert, got.item_id, {"label": "positive"},
                             got.spec_version, NOW + timedelta(minutes=2))

        threads = [threading.Thread(target=answer, args=pair)
                   for pair in zip(experts, held, strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert conn.execute("SELECT count(*) FROM webhook_outbox WHERE campaign_id = ? "
                            "AND event = 'campaign.completed'", [campaign.id]).fetchone() == (1,)
