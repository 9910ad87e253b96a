"""Model-in-the-loop through core, against a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import httpx
import pytest

from core import assign, egress, models, responses, workflow
from core.errors import Conflict, Forbidden, Invalid
from tests.conftest import snapshot
from tests.fake_openai import Delay, Drop, FakeOpenAI, HttpError, Malformed, Raw, Reply, Trickle
from tests.mitl import POLICY, RANK, item_prompt_form, legacy_model, model_campaign, register

clock = time.perf_counter
GOOD = {"rate_a": 4, "rate_b": 2, "better": "A", "rewrite": "A better answer."}


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def setup(conn, requester, make_user, fake, now):
    """Models alpha, beta, gamma on the fake server; a COMPARE campaign; ada holding an item."""
    register(conn, requester, fake.base_url, now, "alpha", "beta", "gamma", timeout_s=1)
    campaign = model_campaign(conn, requester, now)
    ada = make_user("ada")
    held = assign.claim_next(conn, ada, campaign.id, now).assignment
    return campaign, ada, held


def ask(conn, user, held, now, prompt="What is the capital of France?", **kw):
    return models.generate(conn, user, held.item_id, prompt=prompt, keys={}, now=now,
                           clock=clock, **kw)


def submit(conn, user, held, now, answer=GOOD):
    return responses.submit(conn, user, held.item_id, answer, held.spec_version, now)


def calls(conn) -> list[tuple]:
    return conn.execute("SELECT slot, model_name, attempt, status, error_type, http_status "
                        "FROM model_calls ORDER BY slot, attempt").fetchall()


# ---------------------------------------------------------------------------------- registry

def test_the_registry_checks_every_field_and_keeps_only_the_key_variable_name(conn, requester,
                                                                               now):
    with pytest.raises(Invalid) as refused:
        models.save_model(conn, requester, name="Bad Name", base_url="localhost:8000",
                          model="", api_key_env="sk-live-123", timeout_s=0, max_tokens=0,
                          temperature=3, now=now, policy=POLICY)
    assert set(refused.value.problems) == {"name", "base_url", "model", "api_key_env",
                                           "timeout_s", "max_tokens", "temperature"}
    assert "never the key itself" in refused.value.problems["api_key_env"]
    with pytest.raises(Invalid, match="highlighted") as refused:
        models.save_model(conn, requester, name="x", base_url="http://h/v1/chat/completions",
                          model="m", api_key_env="", timeout_s=5, max_tokens=5, temperature=0,
                          now=now, policy=POLICY)
    assert "base URL only" in refused.value.problems["base_url"]
    hosted = egress.EgressPolicy(hosts=("api.example.com",), secret_names=("OPENAI_API_KEY",))
    saved = models.save_model(conn, requester, name="gpt", base_url="https://api.example.com/v1/",
                              model="gpt-x", api_key_env="OPENAI_API_KEY", timeout_s=30,
                              max_tokens=512, temperature=0.7, now=now, policy=hosted)
    assert saved.endpoint == "https://api.example.com/v1/chat/completions"
    stored = conn.execute("SELECT * FROM models").fetchall()
    assert "OPENAI_API_KEY" in str(stored) and "sk-" not in str(stored)


def test_names_are_unique_and_only_the_owner_or_an_admin_changes_a_model(conn, requester,
                                                                         make_user, now):
    register(conn, requester, "http://127.0.0.1:9/v1", now, "alpha", "beta")
    with pytest.raises(Invalid) as refused:
        models.save_model(conn, requester, name="beta", base_url="http://127.0.0.1:9/v1",
                          model="b", api_key_env="", timeout_s=5, max_tokens=5, temperature=0,
                          now=now, existing="alpha", policy=POLICY)
    assert "taken" in refused.value.problems["name"]
    other = make_user("rex", roles=("requester",), expertise=())
    with pytest.raises(Forbidden, match="registered this model"):
        models.delete_model(conn, other, "alpha")
    with pytest.raises(Forbidden, match="requester or admin"):
        models.registry(conn, make_user("ada"))
    boss = make_user("boss", roles=("admin",), expertise=())
    changed = models.save_model(conn, boss, name="alpha2", base_url="http://127.0.0.1:9/v1",
                                model="a", api_key_env="", timeout_s=9, max_tokens=5,
                                temperature=0, now=now, existing="alpha", policy=POLICY)
    assert changed.timeout_s == 9 and changed.created_by == requester.id
    models.delete_model(conn, boss, "beta")
    assert models.registry(conn, requester)["name"].tolist() == ["alpha2"]


def test_check_connection_says_plainly_what_happened(conn, requester, fake, now):
    register(conn, requester, fake.base_url, now, "alpha", api_key_env="FAKE_KEY")
    alpha = models.get_model(conn, "alpha")
    missing = models.check_connection(alpha, {}, clock, policy=POLICY)
    assert not missing.ok and "FAKE_KEY is not set" in missing.message and not fake.requests
    good = models.check_connection(alpha, {"FAKE_KEY": "sk-test"}, clock, policy=POLICY)
    assert good.ok and good.message.startswith("Connected: “alpha” answered in")
    assert fake.requests[-1]["authorization"] == "Bearer sk-test"
    fake.plan("alpha", HttpError(401, '{"error": {"message": "bad key"}}'))
    refused = models.check_connection(alpha, {"FAKE_KEY": "sk-wrong"}, clock, policy=POLICY)
    assert not refused.ok and "refused Quorum's API key (HTTP 401 · auth)" in refused.message
    assert "bad key" not in refused.message  # the server's words are never passed on
    register(conn, requester, "http://127.0.0.1:9/v1", now, "nowhere")
    unreachable = models.check_connection(models.get_model(conn, "nowhere"), {}, clock,
                                          policy=POLICY)
    assert not unreachable.ok and "could not be reached" in unreachable.message


# ------------------------------------------------------------------------------ egress policy

def test_the_operator_names_the_hosts_and_key_variables_and_bad_settings_are_refused():
    policy = egress.parse_policy("localhost:8000, *.example.com, [::1]:9000, 10.0.0.5",
                                 "OPENAI_API_KEY, QUORUM_MODEL_KEY_*")
    assert policy.hosts == ("localhost:8000", "*.example.com", "[::1]:9000", "10.0.0.5")
    allowed = ["http://localhost:8000/v1", "http://LOCALHOST.:8000/v1", "https://a.example.com/v1",
               "https://a.b.example.com", "http://[::1]:9000/v1", "http://10.0.0.5:1234/v1"]
    refused = ["http://localhost:8001/v1", "https://example.com/v1", "https://aexample.com",
               "http://evil.test#@localhost:8000", "http://evil.test\\@localhost:8000/",
               "http://10.0.0.50/v1", "file:///etc/passwd", "http://ex\u0430mple.com"]
    assert [u for u in allowed if not egress.allows_url(policy, u)] == []
    assert [u for u in refused if egress.allows_url(policy, u)] == []
    assert [n for n in ("OPENAI_API_KEY", "QUORUM_MODEL_KEY_VLLM")
            if not egress.allows_secret(policy, n)] == []
    assert [n for n in ("OPENAI_API_KEY_2", "HOME", "QUORUM_MODEL_KEY", "")
            if egress.allows_secret(policy, n)] == []
    assert egress.parse_policy(None, None) == egress.CLOSED  # nothing set: the closed default
    assert egress.parse_policy("  ", "").hosts is None
    with pytest.raises(Invalid, match="QUORUM_MODEL_KEY_VARS holds “\\*”"):
        egress.parse_policy(None, "*")
    with pytest.raises(Invalid, match="QUORUM_MODEL_HOSTS holds “http://x/v1”"):
        egress.parse_policy("ok.example.com, http://x/v1", None)
    with pytest.raises(Invalid, match="user name and password"):
        egress.check_url(policy, None, "http://me:pw@localhost:8000/v1")


def test_a_key_variable_the_operator_did_not_allow_is_refused_and_never_sent(
        conn, requester, fake, now, monkeypatch):
    policy = egress.EgressPolicy(hosts=("127.0.0.1",), secret_names=("QUORUM_MODEL_KEY_*",))
    with pytest.raises(Invalid) as refused:
        models.save_model(conn, requester, name="leak", base_url=fake.base_url, model="leak",
                          api_key_env="SERVER_SECRET", timeout_s=5, max_tokens=5, temperature=0,
                          now=now, policy=policy)
    assert "QUORUM_MODEL_KEY_VARS" in refused.value.problems["api_key_env"]
    assert "QUORUM_MODEL_KEY_*" in refused.value.problems["api_key_env"]
    with pytest.raises(Invalid) as refused:  # with no variable allowed: only keyless servers
        register(conn, requester, fake.base_url, now, "leak", api_key_env="OPENAI_API_KEY",
                 policy=egress.EgressPolicy(hosts=("127.0.0.1",)))
    assert "sends no API keys" in refused.value.problems["api_key_env"]
    assert models.list_models(conn) == []
    # a row from before the policy: even handed its value, core sends nothing anywhere
    legacy_model(conn, requester, "leak", fake.base_url, "SERVER_SECRET", now)
    leak = models.get_model(conn, "leak")
    check = models.check_connection(leak, {"SERVER_SECRET": "s3cret"}, clock, policy=policy)
    assert not check.ok and "QUORUM_MODEL_KEY_VARS" in check.message
    assert fake.requests == []


def test_hosts_outside_the_allow_list_are_refused_and_never_called(conn, requester, make_user,
                                                                   fake, now):
    policy = egress.EgressPolicy(hosts=("models.example.com",))
    with pytest.raises(Invalid) as refused:
        register(conn, requester, fake.base_url, now, "inside", policy=policy)
    assert "127.0.0.1 is not a host this server may call" in refused.value.problems["base_url"]
    assert "QUORUM_MODEL_HOSTS" in refused.value.problems["base_url"]
    legacy_model(conn, requester, "inside", fake.base_url, "", now)
    check = models.check_connection(models.get_model(conn, "inside"), {}, clock, policy=policy)
    assert not check.ok and "QUORUM_MODEL_HOSTS" in check.message
    campaign = model_campaign(conn, requester, now, spec=item_prompt_form("inside"))
    ada = make_user("ada")
    held = assign.claim_next(conn, ada, campaign.id, now).assignment
    with pytest.raises(Conflict, match="may not call"):
        models.generate(conn, ada, held.item_id, prompt=None, keys={}, now=now, clock=clock,
                        policy=policy)
    assert fake.requests == []
    assert conn.execute("SELECT count(*) FROM model_generations").fetchone()[0] == 0


def test_without_an_allow_list_only_administrators_set_base_urls(conn, requester, make_user,
                                                                  fake, now):
    closed = egress.CLOSED
    with pytest.raises(Forbidden, match="only an administrator sets where requests go"):
        register(conn, requester, fake.base_url, now, "alpha", policy=closed)
    boss = make_user("boss", roles=("admin",), expertise=())
    register(conn, boss, fake.base_url, now, "alpha", policy=closed)
    legacy_model(conn, requester, "mine", fake.base_url, "", now)
    changed = models.save_model(conn, requester, name="mine", base_url=fake.base_url + "/",
                                model="mine", api_key_env="", timeout_s=9, max_tokens=5,
                                temperature=0, now=now, existing="mine", policy=closed)
    assert changed.timeout_s == 9  # the address as it was: other fields may change
    with pytest.raises(Forbidden, match="administrator"):
        models.save_model(conn, requester, name="mine", base_url="http://127.0.0.1:9/v1",
                          model="mine", api_key_env="", timeout_s=9, max_tokens=5,
                          temperature=0, now=now, existing="mine", policy=closed)
    # requesters use what administrators registered
    assert models.check_connection(models.get_model(conn, "alpha"), {}, clock,
                                   policy=closed).ok


# ----------------------------------------------------------------- failures and deadlines

SECRET_BODY = '{"error": {"message": "db password is hunter2"}, "internal": "TOPSECRET"}'


@pytest.mark.parametrize("failure, shown", [
    (HttpError(500, SECRET_BODY), "HTTP 500 · server_error"),
    (HttpError(404, "TOPSECRET hunter2"), "HTTP 404 · client_error"),
    (Malformed("TOPSECRET hunter2"), "HTTP 200 · malformed"),
    (Raw(b"TOPSECRET hunter2 internal banner\r\n\r\n"), "could not be reached"),
])
def test_what_a_failing_server_says_is_never_shown_or_stored(conn, setup, fake, requester,
                                                             now, failure, shown):
    campaign, ada, held = setup
    fake.plan("alpha", failure)
    check = models.check_connection(models.get_model(conn, "alpha"), {}, clock, policy=POLICY)
    assert not check.ok and shown in check.message
    assert "TOPSECRET" not in check.message and "hunter2" not in check.message
    fake.plan("beta", failure)
    got = ask(conn, ada, held, now)
    assert shown in got.results[1].message
    stored = conn.execute("SELECT error_detail FROM model_calls").fetchall()
    log = models.call_log(conn, requester, campaign.id)
    for text in (str(stored), got.results[1].message, log.to_csv()):
        assert "TOPSECRET" not in text and "hunter2" not in text


def test_a_trickling_server_cannot_hold_a_call_past_its_deadline(conn, requester, fake, now):
    register(conn, requester, fake.base_url, now, "slow", timeout_s=2)
    fake.plan("slow", Trickle(interval=0.5, size=60))  # 30 s of one byte at a time
    started = time.monotonic()
    check = models.check_connection(models.get_model(conn, "slow"), {}, clock, policy=POLICY)
    took = time.monotonic() - started
    assert not check.ok and "Timed out" in check.message
    assert took < 2.6, f"a 2-second test took {took:.1f} s"
    # and the connection itself is given up at the deadline, not left to run for 30 s
    deadline = started + 2
    while not fake.hangups and time.monotonic() < deadline + 3:
        time.sleep(0.1)
    assert fake.hangups and fake.hangups[0] < deadline + 2.1  # two bytes after it


def test_a_trickling_model_is_cut_off_at_its_deadline_during_an_ask(conn, setup, fake, now):
    campaign, ada, held = setup  # alpha and beta, 1 s each
    fake.plan("beta", Trickle(interval=0.4, size=60))
    started = time.monotonic()
    with httpx.Client() as shared:  # as the pages do: one client that outlives the ask
        got = ask(conn, ada, held, now, client=shared)
        assert got.results[1].error_type == "timeout" and time.monotonic() - started < 1.6
        while not fake.hangups and time.monotonic() < started + 4:
            time.sleep(0.1)
    assert fake.hangups and fake.hangups[0] < started + 2.4


# ---------------------------------------------------------------------------- asking models

def test_models_are_called_at_once_and_every_call_is_recorded(conn, setup, fake, now):
    campaign, ada, held = setup
    fake.plan("alpha", Reply("Paris is the capital.", delay=0.6))
    fake.plan("beta", Reply("It is Paris.", delay=0.3))
    seen = []
    started = clock()
    got = ask(conn, ada, held, now, on_result=lambda r: seen.append(r.slot))
    took = clock() - started
    assert took < 0.85, "the two calls ran one after the other (0.9 s)"
    assert seen == ["B", "A"]  # each shown as it arrives, the faster first
    assert got.available == ["A", "B"] and got.generation == 1
    assert [r.content for r in got.results] == ["Paris is the capital.", "It is Paris."]
    sent = fake.requests[0]["body"]
    assert sent["messages"] == [
        {"role": "system", "content": "You are a careful assistant."},
        {"role": "user", "content": "What is the capital of France?"}]
    assert (sent["max_tokens"], sent["temperature"]) == (256, 0.2)
    rows = conn.execute("SELECT model_name, attempt, status, latency_ms, prompt_tokens, "
                        "completion_tokens FROM model_calls ORDER BY model_name").fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [("alpha", 1, "ok"), ("beta", 1, "ok")]
    assert rows[0][3] >= 600 and rows[1][3] >= 300
    assert rows[0][4] == 11 and rows[0][5] == 4  # as the server reported them


def test_one_model_times_out_the_other_is_shown_and_a_retry_completes_the_item(conn, setup,
                                                                               fake, now):
    campaign, ada, held = setup
    fake.plan("beta", Delay(5))
    seen = []
    started = clock()
    got = ask(conn, ada, held, now, on_result=lambda r: seen.append((r.slot, r.ok,
                                                                     clock() - started)))
    assert [(s, ok) for s, ok, _ in seen] == [("A", True), ("B", False)]
    assert seen[0][2] < 0.6 and 0.95 < seen[1][2] < 2  # A at once, B at its 1 s timeout
    assert got.available == ["A"] and got.results[1].message == (
        "Timed out: no answer within 1 second.")
    again = models.retry(conn, ada, held.item_id, ["B"], keys={}, now=now, clock=clock)
    assert again.available == ["A", "B"] and again.results[1].attempt == 2
    receipt = submit(conn, ada, held, now + timedelta(minutes=3))
    assert receipt.campaign_count == 1
    assert calls(conn) == [("A", "alpha", 1, "ok", None, 200),
                           ("B", "beta", 1, "failed", "timeout", None),
                           ("B", "beta", 2, "ok", None, 200)]
    answer = json.loads(conn.execute("SELECT answer FROM responses").fetchone()[0])
    assert {k: answer[k] for k in GOOD} == GOOD
    record = answer[workflow.MODEL_STEP]
    assert record["prompt"] == "What is the capital of France?"
    assert [(r["slot"], r["model"], r["status"], r["attempts"]) for r in record["responses"]] == [
        ("A", "alpha", "ok", 1), ("B", "beta", "ok", 2)]
    assert record["responses"][1]["text"] == "beta answers: What is the capital of France?"
    assert conn.execute("SELECT outcome, response_id FROM model_generations").fetchall() == [
        ("submitted", receipt.response_id)]


@pytest.mark.parametrize("failure, error_type, status", [
    (HttpError(500), "server_error", 500),
    (HttpError(429, "slow down"), "rate_limited", 429),
    (Malformed(), "malformed", 200),
    (Malformed('{"choices": []}'), "malformed", 200),
    (Drop(), "connection", None),
    (Reply("   "), "empty", 200),
])
def test_one_model_fails_and_the_item_is_still_submitted_with_the_failure_kept(
        conn, setup, fake, now, failure, error_type, status):
    campaign, ada, held = setup
    fake.plan("beta", failure)
    got = ask(conn, ada, held, now)
    assert got.available == ["A"] and not got.all_failed and got.can_retry("B")
    assert got.results[1].error_type == error_type and got.results[1].message
    with pytest.raises(Invalid) as refused:  # nothing may be said about the missing response
        submit(conn, ada, held, now)
    assert set(refused.value.problems) == {"rate_b", "better"}
    receipt = submit(conn, ada, held, now, {"rate_a": 3, "rewrite": "Mine."})
    stored = json.loads(conn.execute("SELECT answer FROM responses WHERE id = ?",
                                     [receipt.response_id]).fetchone()[0])
    assert (stored["rate_a"], stored["rate_b"], stored["better"]) == (3, None, None)
    assert [r["status"] for r in stored[workflow.MODEL_STEP]["responses"]] == ["ok", "failed"]
    assert stored[workflow.MODEL_STEP]["responses"][1]["error_type"] == error_type
    assert calls(conn)[1] == ("B", "beta", 1, "failed", error_type, status)
    assert conn.execute("SELECT kind, amount FROM pay_ledger").fetchall() == [
        ("item", pytest.approx(2))]


def test_when_every_model_fails_the_expert_may_skip_at_no_cost(conn, setup, fake, make_user,
                                                               now):
    campaign, ada, held = setup
    fake.plan("alpha", HttpError(503))
    fake.plan("beta", Drop())
    got = ask(conn, ada, held, now, prompt="Tell me a joke")
    assert got.all_failed and got.available == []
    before = snapshot(conn)
    with pytest.raises(Invalid, match="None of the models answered") as refused:
        submit(conn, ada, held, now, {"rewrite": "My own."})
    assert workflow.MODEL_STEP in refused.value.problems
    assert snapshot(conn) == before
    # the prompt the expert wrote is kept, and a retry of both is possible
    assert models.state(conn, ada, held.item_id).prompt == "Tell me a joke"
    fake.plan("alpha", HttpError(503))
    fake.plan("beta", HttpError(502))
    assert models.retry(conn, ada, held.item_id, ["A", "B"], keys={}, now=now,
                        clock=clock).all_failed
    models.skip_failed_item(conn, ada, held.item_id, now)
    models.skip_failed_item(conn, ada, held.item_id, now)  # a second click changes nothing
    assert conn.execute("SELECT count(*) FROM leases").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM pay_ledger").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM responses").fetchone()[0] == 0
    assert conn.execute("SELECT outcome FROM model_generations").fetchall() == [("skipped",)]
    assert len(calls(conn)) == 4
    nxt = assign.claim_next(conn, ada, campaign.id, now).assignment
    assert nxt.item_id != held.item_id  # the expert moves on
    bob = make_user("bob")
    assert assign.claim_next(conn, bob, campaign.id, now).assignment.item_id == held.item_id


def test_the_free_skip_is_refused_while_a_response_is_there(conn, setup, fake, now):
    campaign, ada, held = setup
    fake.plan("beta", HttpError(500))
    ask(conn, ada, held, now)
    with pytest.raises(Conflict, match="At least one model answered"):
        models.skip_failed_item(conn, ada, held.item_id, now)


def test_regenerating_keeps_every_attempt_and_near_duplicates_are_pointed_out(conn, setup,
                                                                              fake, now):
    campaign, ada, held = setup
    same = "The capital of France is Paris, a city on the Seine."
    fake.plan("alpha", Reply(same))
    fake.plan("beta", Reply(same.replace("Seine.", "Seine!")))
    first = ask(conn, ada, held, now)
    assert [(a, b) for a, b, _ in first.similar] == [("A", "B")]
    assert first.similar[0][2] > 0.9
    second = ask(conn, ada, held, now, prompt="What is the capital of Spain?")
    assert second.generation == 2 and second.similar == []
    assert second.results[0].content == "alpha answers: What is the capital of Spain?"
    receipt = submit(conn, ada, held, now)
    assert conn.execute("SELECT attempt, outcome, response_id FROM model_generations "
                        "ORDER BY attempt").fetchall() == [
        (1, "superseded", receipt.response_id), (2, "submitted", receipt.response_id)]
    record = json.loads(conn.execute("SELECT answer FROM responses").fetchone()[0])[
        workflow.MODEL_STEP]
    assert (record["generation"], record["generations"]) == (2, 2)
    assert record["prompt"] == "What is the capital of Spain?"
    assert len(calls(conn)) == 4


def test_asks_and_retries_are_limited(conn, setup, fake, now):
    campaign, ada, held = setup
    for _ in range(models.MAX_GENERATIONS):
        fake.plan("beta", HttpError(500))
        ask(conn, ada, held, now)
    with pytest.raises(Conflict, match="the most allowed"):
        ask(conn, ada, held, now)
    for _ in range(models.MAX_RETRIES):
        fake.plan("beta", HttpError(500))
        models.retry(conn, ada, held.item_id, ["B"], keys={}, now=now, clock=clock)
    assert not models.state(conn, ada, held.item_id).can_retry("B")
    with pytest.raises(Conflict, match="retried 3 times"):
        models.retry(conn, ada, held.item_id, ["B"], keys={}, now=now, clock=clock)
    with pytest.raises(Conflict, match="came already"):
        models.retry(conn, ada, held.item_id, ["A"], keys={}, now=now, clock=clock)


def test_asking_needs_a_reservation_and_a_prompt(conn, setup, make_user, now):
    campaign, ada, held = setup
    with pytest.raises(Invalid, match="Write your prompt") as refused:
        ask(conn, ada, held, now, prompt="   ")
    assert workflow.MODEL_STEP in refused.value.problems
    with pytest.raises(Conflict, match="no longer reserved"):
        ask(conn, make_user("bob"), held, now)
    with pytest.raises(Invalid, match="Ask the models first"):
        submit(conn, ada, held, now)
    assert conn.execute("SELECT count(*) FROM model_generations").fetchone()[0] == 0


def test_a_page_that_goes_away_mid_ask_still_records_every_call(conn, setup, fake, now):
    campaign, ada, held = setup
    fake.plan("beta", Reply(delay=0.3))

    def page_gone(result):
        raise RuntimeError("the page was closed")

    with pytest.raises(RuntimeError, match="closed"):
        ask(conn, ada, held, now, on_result=page_gone)
    assert [c[3] for c in calls(conn)] == ["ok", "ok"]
    assert models.state(conn, ada, held.item_id).available == ["A", "B"]


def test_items_can_supply_the_prompt_and_ranking_covers_the_responses_that_came(
        conn, requester, make_user, fake, now):
    register(conn, requester, fake.base_url, now, "alpha", "beta", "gamma",
             api_key_env="FAKE_KEY")
    campaign = model_campaign(conn, requester, now, spec=RANK, title="Rank")
    ada = make_user("ada")
    held = assign.claim_next(conn, ada, campaign.id, now).assignment
    fake.plan("gamma", HttpError(500))
    got = models.generate(conn, ada, held.item_id, prompt="ignored", keys={"FAKE_KEY": "k"},
                          now=now, clock=clock, policy=POLICY)
    assert got.prompt == held.payload["prompt"] and got.available == ["A", "B"]
    assert {r["authorization"] for r in fake.requests} == {"Bearer k"}
    for bad, field in (({"order": ["A", "B", "C"], "best": "A"}, "order"),
                       ({"order": ["A"], "best": "A"}, "order"),
                       ({"order": ["B", "A"], "best": "C"}, "best")):
        with pytest.raises(Invalid) as refused:
            responses.submit(conn, ada, held.item_id, bad, held.spec_version, now)
        assert set(refused.value.problems) == {field}
    responses.submit(conn, ada, held.item_id, {"order": ["B", "A"], "best": "B"},
                     held.spec_version, now)
    stored = json.loads(conn.execute("SELECT answer FROM responses").fetchone()[0])
    assert stored["order"] == ["B", "A"]


# ---------------------------------------------------------------------------- availability

def test_campaigns_whose_models_are_not_set_up_are_unavailable(conn, requester, make_user,
                                                               make_campaign, fake, now):
    plain = make_campaign()
    campaign = model_campaign(conn, requester, now)
    assert models.unavailable_reason(conn, plain.id, {}) is None
    reason = models.unavailable_reason(conn, campaign.id, {})
    assert "unavailable" in reason and "“alpha” is not in the model registry" in reason
    register(conn, requester, fake.base_url, now, "alpha")
    register(conn, requester, fake.base_url, now, "beta", api_key_env="BETA_KEY")
    assert "BETA_KEY" in models.unavailable_campaigns(conn, [plain.id, campaign.id],
                                                      {})[campaign.id]
    assert models.unavailable_reason(conn, campaign.id, {"BETA_KEY": "k"}) is None
    ada = make_user("ada")
    held = assign.claim_next(conn, ada, campaign.id, now).assignment
    models.delete_model(conn, requester, "beta")
    with pytest.raises(Conflict, match="not configured any more"):
        ask(conn, ada, held, now)
    assert models.release_held(conn, ada, campaign.id) == 1
    assert conn.execute("SELECT count(*) FROM skips").fetchone()[0] == 0


# ------------------------------------------------------------------------------- analytics

def test_analytics_give_error_rate_and_latency_by_model_and_error_type(
        conn, setup, fake, requester, make_user, now):
    campaign, ada, held = setup
    fake.plan("beta", HttpError(500), Drop())
    ask(conn, ada, held, now)
    models.retry(conn, ada, held.item_id, ["B"], keys={}, now=now + timedelta(hours=1),
                 clock=clock)
    summary = models.call_summary(conn, requester, campaign.id)
    assert summary[["model", "calls", "failed"]].values.tolist() == [["alpha", 1, 0],
                                                                     ["beta", 2, 2]]
    assert summary["error_rate"].tolist() == [0.0, 1.0]
    assert summary["median_ms"].notna().tolist() == [True, False]
    by_type = models.errors_by_type(conn, requester, campaign.id)
    assert sorted(by_type[["error_type", "failures"]].values.tolist()) == [
        ["connection", 1], ["server_error", 1]]
    over_time = models.calls_over_time(conn, requester)
    assert over_time.attrs["unit"] == "hour"
    assert over_time[["model", "calls", "failed"]].values.tolist() == [
        ["alpha", 1, 0], ["beta", 1, 1], ["beta", 1, 1]]
    log = models.call_log(conn, requester, campaign.id)
    assert log["expert"].tolist() == ["ada"] * 3 and log["attempt"].tolist() == [2, 1, 1]
    other = make_user("rex", roles=("requester",), expertise=())
    with pytest.raises(Forbidden):
        models.call_summary(conn, other, campaign.id)
    assert models.call_summary(conn, other).empty  # none of its own campaigns
    boss = make_user("boss", roles=("admin",), expertise=())
    assert models.call_summary(conn, boss)["calls"].sum() == 3
    with pytest.raises(Forbidden):
        models.call_summary(conn, ada)
