"""Model-in-the-loop pages under AppTest, asking a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import db, users, workspace
from tests.fake_openai import Delay, Drop, FakeOpenAI, HttpError, Malformed, Reply
from tests.mitl import RANK, item_prompt_form, legacy_model, model_campaign, register
from tests.rendered import shown
from tests.signin import sign_in
from tests.test_pages import texts

ROOT = Path(__file__).resolve().parent.parent


def real_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def site(tmp_path, monkeypatch, fake):
    """An empty workspace with rita (requester), ada (expert) and a model campaign, then apps."""
    path = tmp_path / "quorum.duckdb"
    monkeypatch.setenv("QUORUM_DB", str(path))
    monkeypatch.setenv("QUORUM_BCRYPT_ROUNDS", "4")
    monkeypatch.setenv("QUORUM_EMPTY", "1")
    monkeypatch.setenv("FAKE_KEY", "sk-test")
    monkeypatch.setenv("QUORUM_MODEL_KEY_VARS", "FAKE_KEY")
    monkeypatch.setenv("QUORUM_MODEL_HOSTS", "127.0.0.1")
    now = real_now()
    conn = db.connect(path)
    workspace.ensure(conn, now, demo=False)
    for name, roles in (("rita", ("requester",)), ("ada", ("expert",))):
        users.register(conn, username=name, name=name.title(), email=f"{name}@example.com",
                       password="correct-horse-9", expertise=[("general", "en-US")], now=now,
                       rounds=4)
        user = users.get_user(conn, name)
        conn.execute("DELETE FROM user_roles WHERE user_id = ?", [user.id])
        for role in roles:
            conn.execute("INSERT INTO user_roles VALUES (?, ?, ?)", [user.id, role, now])

    class Site:
        connection = conn
        rita = users.get_user(conn, "rita")

        @staticmethod
        def app(username: str, page: str, **query: str) -> AppTest:
            at = AppTest.from_file(str(ROOT / page) if page.startswith("views/models")
                                   else str(ROOT / "app.py"), default_timeout=30)
            sign_in(at, username)
            for key, value in query.items():
                at.query_params[key] = value
            at.run()
            if not page.startswith("views/models"):
                at.switch_page(page).run()
            return at

        @staticmethod
        def rows(sql: str, params=()) -> list[tuple]:
            return conn.execute(sql, list(params)).fetchall()

    yield Site
    conn.close()


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def all_text(at: AppTest) -> str:
    return texts(at) + "\n".join(str(c.value) for c in at.code)


def test_an_expert_asks_two_models_one_times_out_retries_rates_and_submits(site, fake):
    register(site.connection, site.rita, fake.base_url, real_now(), "alpha", "beta",
             timeout_s=1, api_key_env="FAKE_KEY")
    campaign = model_campaign(site.connection, site.rita, real_now())
    fake.plan("beta", Delay(4))
    at = site.app("ada", "views/label.py", campaign=str(campaign.id))
    assert not at.exception
    item = site.rows("SELECT item_id FROM leases")[0][0]
    key = f"item-{item}"
    assert "appears once the models have answered" in texts(at)
    at.text_area(key=f"{key}:models:prompt").input("Why is the sky blue?")
    at.button(key=f"{key}:models:ask").click().run()
    assert not at.exception
    assert "alpha answers: Why is the sky blue?" in texts(at)
    assert "Timed out: no answer within 1 second." in [shown(w.value) for w in at.warning]
    assert "Response B did not come, so this question is skipped." in texts(at)
    at.radio(key=f"{key}:rate_a").set_value(4)
    at.text_area(key=f"{key}:rewrite").input("Rayleigh scattering favours short wavelengths.")
    at.button(key=f"{key}:models:retry-B").click().run()
    assert not at.exception
    assert "beta answers: Why is the sky blue?" in texts(at) and not at.warning
    # nothing typed or chosen before the retry is lost
    assert at.radio(key=f"{key}:rate_a").value == 4
    assert at.text_area(key=f"{key}:rewrite").value.startswith("Rayleigh")
    at.radio(key=f"{key}:rate_b").set_value(2)
    at.radio(key=f"{key}:better").set_value("A")
    button(at, "Submit").click().run()
    assert not at.exception
    assert "Answer saved" in at.success[0].value
    answer = json.loads(site.rows("SELECT answer FROM responses")[0][0])
    assert (answer["rate_a"], answer["rate_b"], answer["better"]) == (4, 2, "A")
    assert [r["attempts"] for r in answer["_model_responses"]["responses"]] == [1, 2]
    assert site.rows("SELECT slot, attempt, status, error_type FROM model_calls "
                     "ORDER BY slot, attempt") == [("A", 1, "ok", None),
                                                    ("B", 1, "failed", "timeout"),
                                                    ("B", 2, "ok", None)]
    assert {r["authorization"] for r in fake.requests} == {"Bearer sk-test"}


def test_when_every_model_fails_the_expert_retries_or_skips_for_free(site, fake):
    register(site.connection, site.rita, fake.base_url, real_now(), "alpha", "beta")
    campaign = model_campaign(site.connection, site.rita, real_now())
    fake.plan("alpha", Malformed(), HttpError(500))
    fake.plan("beta", Drop(), HttpError(429))
    at = site.app("ada", "views/label.py", campaign=str(campaign.id))
    item = site.rows("SELECT item_id FROM leases")[0][0]
    key = f"item-{item}"
    at.text_area(key=f"{key}:models:prompt").input("Explain tides.")
    at.button(key=f"{key}:models:ask").click().run()
    assert any("None of the models answered" in e.value for e in at.error)
    assert [shown(w.value) for w in at.warning] == [
        "The model's server sent a reply Quorum could not read (HTTP 200 · malformed).",
        "The model's server could not be reached, or it dropped the connection."]
    button(at, "Submit").click().run()  # refused, plainly, under the responses
    assert any("skipping it costs you nothing" in e.value for e in at.error)
    assert at.text_area(key=f"{key}:models:prompt").value == "Explain tides."
    button(at, "Retry all").click().run()
    assert any("None of the models answered" in e.value for e in at.error)
    assert [shown(w.value) for w in at.warning] == [
        "The model's server failed (HTTP 500 · server_error).",
        "The model's server is busy: too many requests (HTTP 429 · rate_limited)."]
    button(at, "Skip this item, no penalty").click().run()
    assert not at.exception
    assert site.rows("SELECT item_id FROM skips") == [(item,)]
    assert site.rows("SELECT count(*) FROM pay_ledger") == [(0,)]
    assert site.rows("SELECT outcome FROM model_generations") == [("skipped",)]
    assert site.rows("SELECT count(*) FROM model_calls") == [(4,)]
    next_item = site.rows("SELECT item_id FROM leases")[0][0]
    assert next_item != item  # straight on to the next item
    assert at.text_area(key=f"item-{next_item}:models:prompt").value == ""


def test_an_item_prompt_is_asked_at_once_alike_responses_are_pointed_out_and_ranked(site,
                                                                                    fake):
    register(site.connection, site.rita, fake.base_url, real_now(), "alpha", "beta", "gamma")
    campaign = model_campaign(site.connection, site.rita, real_now(), spec=RANK)
    same = "Water boils at one hundred degrees Celsius at sea level."
    fake.plan("alpha", Reply(same))
    fake.plan("beta", Reply(same))
    fake.plan("gamma", HttpError(500))
    at = site.app("ada", "views/label.py", campaign=str(campaign.id))
    assert not at.exception
    item = site.rows("SELECT item_id FROM leases")[0][0]
    key = f"item-{item}"
    assert "Question number 0?" in texts(at)  # the item's prompt, asked without a click
    assert "The model's server failed (HTTP 500 · server_error)." in [
        shown(w.value) for w in at.warning]
    assert any("Responses A and B are nearly the same (100% alike)" in i.value for i in at.info)
    assert at.multiselect(key=f"{key}:order").options == ["Response A", "Response B"]
    at.run()  # a rerun reads the responses back instead of asking again
    assert site.rows("SELECT count(*) FROM model_calls") == [(3,)]
    button(at, "Regenerate all").click().run()
    assert not at.exception and not any("nearly the same" in i.value for i in at.info)
    assert "Ask 2 of at most 5" in texts(at)
    assert at.multiselect(key=f"{key}:order").options == ["Response A", "Response B",
                                                           "Response C"]
    at.multiselect(key=f"{key}:order").set_value(["C", "A", "B"])
    at.radio(key=f"{key}:best").set_value("C")
    button(at, "Submit").click().run()
    assert not at.exception and "Answer saved" in at.success[0].value
    answer = json.loads(site.rows("SELECT answer FROM responses")[0][0])
    assert answer["order"] == ["C", "A", "B"] and answer["_model_responses"]["generations"] == 2
    assert site.rows("SELECT attempt, outcome FROM model_generations WHERE item_id = ? "
                     "ORDER BY attempt", [item]) == [(1, "superseded"), (2, "submitted")]
    nxt = site.rows("SELECT item_id FROM leases")[0][0]  # the next item is asked at once too
    assert site.rows("SELECT outcome FROM model_generations WHERE item_id = ?", [nxt]) == [
        ("open",)]


def test_without_configured_models_the_campaign_is_unavailable_and_the_rest_works(site):
    campaign = model_campaign(site.connection, site.rita, real_now())
    plain = model_campaign(site.connection, site.rita, real_now(), title="Plain",
                           spec="blocks: [{type: text, field: text},"
                                " {type: free_text, id: note, prompt: Note}]")
    at = site.app("ada", "views/label.py")
    titles = at.selectbox[0].options
    assert any("Compare the assistants (unavailable for now" in t for t in titles)
    assert "Plain" in titles
    at = site.app("ada", "views/label.py", campaign=str(campaign.id))
    assert not at.exception
    assert any("unavailable for now" in w.value and "not in the model registry" in w.value
               for w in at.warning)
    assert site.rows("SELECT count(*) FROM leases") == [(0,)]
    at = site.app("ada", "views/label.py", campaign=str(plain.id))
    at.text_area[0].input("Fine.")
    button(at, "Submit").click().run()
    assert "Answer saved" in at.success[0].value
    monitor = site.app("rita", "views/monitor.py", campaign=str(campaign.id))
    assert not monitor.exception
    assert "Model calls" in texts(monitor) and "No model has been called yet." in texts(monitor)


def test_the_requester_registers_tests_and_sees_a_model_in_analytics(site, fake):
    at = site.app("rita", "views/models.py")
    assert not at.exception and "No model is registered yet" in texts(at)
    at.text_input[0].input("Alpha Model")
    at.text_input[1].input("localhost")
    button(at, "Register model").click().run()
    errors = "\n".join(shown(e.value) for e in at.error)
    assert "lowercase letters" in errors and "http:// or https://" in errors
    at.text_input[0].input("alpha")
    at.text_input[1].input(fake.base_url)
    at.text_input[2].input("alpha")
    at.text_input[3].input("FAKE_KEY")
    button(at, "Register model").click().run()
    assert not at.exception
    assert at.selectbox(key="model_pick").value == "alpha"
    assert at.dataframe[0].value["key"].tolist() == ["set"]
    button(at, "Test connection").click().run()
    assert at.success and shown(at.success[0].value).startswith(
        "Connected: “alpha” answered in")
    fake.plan("alpha", HttpError(401))
    button(at, "Test connection").click().run()
    assert "refused Quorum's API key (HTTP 401 · auth)" in shown(at.error[0].value)
    # calls made by experts show up in the analytics
    register(site.connection, site.rita, fake.base_url, real_now(), "beta")
    campaign = model_campaign(site.connection, site.rita, real_now())
    fake.plan("beta", HttpError(500))
    label = site.app("ada", "views/label.py", campaign=str(campaign.id))
    item = site.rows("SELECT item_id FROM leases")[0][0]
    label.text_area(key=f"item-{item}:models:prompt").input("Hi")
    label.button(key=f"item-{item}:models:ask").click().run()
    monitor = site.app("rita", "views/monitor.py", campaign=str(campaign.id))
    assert not monitor.exception
    summary = next(d.value for d in monitor.dataframe if "error_rate" in d.value.columns)
    assert summary[["model", "calls", "failed"]].values.tolist() == [["alpha", 1, 0],
                                                                     ["beta", 1, 1]]
    assert "Failures by error type" in texts(monitor)


def test_the_design_preview_shows_the_model_step_and_which_models_are_missing(site, fake):
    register(site.connection, site.rita, fake.base_url, real_now(), "model-a")
    at = site.app("rita", "views/design.py")
    at.selectbox(key="template").set_value("Compare model responses (expert prompts)").run()
    assert not at.exception
    assert "Registered models: model-a (see the Models page)." in texts(at)
    assert any("“model-b” is not in the model registry" in shown(w.value) for w in at.warning)
    assert "From the model “model-a”; experts see only the letter." in texts(at)
    preview = [shown(r.label) for r in at.radio]
    assert {"How good is response A?", "How good is response B?",
            "Which response is better?"} <= set(preview)
    assert not fake.requests  # a preview asks no model


def key_column(at: AppTest) -> dict[str, str]:
    table = at.dataframe[0].value
    return dict(zip(table["name"], table["key"], strict=True))


def test_only_the_allowed_key_variables_are_read_reported_or_sent(site, fake, monkeypatch):
    monkeypatch.setenv("SERVER_SECRET", "s3cret-value")
    monkeypatch.delenv("NOT_THERE", raising=False)
    now = real_now()
    for name, variable in (("leaky", "SERVER_SECRET"), ("absent", "NOT_THERE")):
        legacy_model(site.connection, site.rita, name, fake.base_url, variable, now)
    register(site.connection, site.rita, fake.base_url, now, "keyed", api_key_env="FAKE_KEY")
    at = site.app("rita", "views/models.py")
    assert not at.exception
    keys = key_column(at)
    assert keys["keyed"] == "set"
    assert keys["leaky"] == keys["absent"]  # whether SERVER_SECRET exists is never told
    assert "FAKE_KEY" in texts(at) and "QUORUM_MODEL_KEY_VARS" in texts(at)
    at.selectbox(key="model_pick").set_value("leaky").run()
    button(at, "Test connection").click().run()
    assert "QUORUM_MODEL_KEY_VARS" in at.error[0].value and "s3cret" not in all_text(at)
    # registering with the variable is refused under its field, naming the setting to change
    at.selectbox(key="model_pick").set_value("").run()
    for box, value in zip(at.text_input, ("grab", fake.base_url, "grab", "SERVER_SECRET"),
                          strict=True):
        box.input(value)
    button(at, "Register model").click().run()
    assert not at.exception
    assert any("QUORUM_MODEL_KEY_VARS" in e.value for e in at.error)
    assert "grab" not in key_column(at)
    # an expert's ask does not send it either: the campaign is unavailable
    campaign = model_campaign(site.connection, site.rita, now,
                              spec=item_prompt_form("leaky"))
    label = site.app("ada", "views/label.py", campaign=str(campaign.id))
    assert not label.exception and any("unavailable" in w.value for w in label.warning)
    assert fake.requests == []


SECRET_BODY = '{"error": {"message": "db password is hunter2"}, "internal": "TOPSECRET"}'


def test_a_failing_server_is_shown_as_status_and_kind_never_its_reply(site, fake):
    now = real_now()
    register(site.connection, site.rita, fake.base_url, now, "alpha", "beta")
    at = site.app("rita", "views/models.py")
    at.selectbox(key="model_pick").set_value("alpha").run()
    fake.plan("alpha", HttpError(500, SECRET_BODY))
    button(at, "Test connection").click().run()
    assert "HTTP 500 · server_error" in at.error[0].value
    assert "hunter2" not in all_text(at) and "TOPSECRET" not in all_text(at)
    campaign = model_campaign(site.connection, site.rita, now)
    fake.plan("beta", HttpError(503, SECRET_BODY))
    label = site.app("ada", "views/label.py", campaign=str(campaign.id))
    item = site.rows("SELECT item_id FROM leases")[0][0]
    label.text_area(key=f"item-{item}:models:prompt").input("Hi")
    label.button(key=f"item-{item}:models:ask").click().run()
    assert "The model's server failed (HTTP 503 · server_error)." in [
        w.value for w in label.warning]
    assert "hunter2" not in all_text(label)
    monitor = site.app("rita", "views/monitor.py", campaign=str(campaign.id))
    assert not monitor.exception
    shown = "\n".join(d.value.to_csv() for d in monitor.dataframe)
    assert "server_error" in shown and "hunter2" not in shown and "TOPSECRET" not in shown


def test_without_a_host_allow_list_only_administrators_set_base_urls(site, fake, monkeypatch):
    monkeypatch.delenv("QUORUM_MODEL_HOSTS")
    at = site.app("rita", "views/models.py")
    assert not at.exception
    assert "only an administrator" in texts(at) and "QUORUM_MODEL_HOSTS" in texts(at)
    assert at.text_input[1].disabled  # the base URL
    boss = users.register(site.connection, username="boss", name="Boss",
                          email="boss@example.com", password="correct-horse-9",
                          expertise=[("general", "en-US")], now=real_now(), rounds=4)
    site.connection.execute("INSERT INTO user_roles VALUES (?, 'admin', ?) ON CONFLICT DO "
                            "NOTHING", [boss.id, real_now()])
    admin = site.app("boss", "views/models.py")
    assert not admin.text_input[1].disabled
    for box, value in zip(admin.text_input, ("alpha", fake.base_url, "alpha", ""), strict=True):
        box.input(value)
    button(admin, "Register model").click().run()
    assert not admin.exception and key_column(admin) == {"alpha": "no key needed"}
    at = site.app("rita", "views/models.py")  # requesters use it
    at.selectbox(key="model_pick").set_value("alpha").run()
    button(at, "Test connection").click().run()
    assert at.success and at.success[0].value.startswith("Connected")
