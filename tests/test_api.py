"""The HTTP API against a real `streamlit run quorum.py`: the client, plain HTTP, every refusal."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import pandas as pd
import pytest
from openapi_spec_validator import validate
from standardwebhooks.webhooks import Webhook

from server import api
from tests.api_helpers import ROOT, Receiver, running_app, seed

from quorum_client import Client, QuorumError  # isort: skip (path set by api_helpers)

TOKENS = {"rita": "rita", "hooks": "rita", "uploads": "rita", "budget": "rita", "ada": "ada",
          "admin": "admin", "eve": "eve"}
FORM = {"blocks": [{"type": "text", "field": "text"},
                   {"type": "single_choice", "id": "label", "prompt": "Which sentiment?",
                    "options": ["positive", "negative"]}]}
BURST = 40


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    work = tmp_path_factory.mktemp("api")
    made = seed(work / "quorum.duckdb", TOKENS)
    with running_app(work / "quorum.duckdb", QUORUM_WEBHOOK_HOSTS="127.0.0.1",
                     QUORUM_WEBHOOK_EVERY_SECONDS="0.1",
                     QUORUM_WEBHOOK_RETRY_SECONDS="0.2,0.2,0.2,0.2",
                     QUORUM_WEBHOOK_TIMEOUT_SECONDS="2", QUORUM_IMPORT_MAX_MB="1",
                     QUORUM_API_REQUESTS_PER_MINUTE="120", QUORUM_API_BURST=str(BURST)) as url:
        yield url, made


@pytest.fixture(scope="module")
def url(app):
    return app[0]


@pytest.fixture(scope="module")
def token(app):
    return app[1]


def client(url: str, token: str) -> Client:
    return Client(url, token, retries=0)


def settings_for(title: str, **extra) -> dict:
    now = datetime.now(UTC)
    return {"title": title, "skill": "general", "language": "en-US", "minutes_per_item": 1,
            "pay_per_item": 0.5, "overlap": 2, "opens_at": (now - timedelta(hours=1)).isoformat(),
            "expires_at": (now + timedelta(days=7)).isoformat(), "spec": FORM, **extra}


def plain(url: str, token: str | None, method: str, path: str, **kwargs) -> httpx.Response:
    headers = kwargs.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.request(method, f"{url}/api/v1{path}", headers=headers, timeout=30, **kwargs)


def item_count(url: str, token: str, campaign_id: int) -> int:
    return int(plain(url, token, "GET", f"/campaigns/{campaign_id}/items",
                     params={"format": "csv"}).headers["x-row-count"])


def test_the_openapi_document_validates_and_names_every_route(url):
    reply = httpx.get(f"{url}/api/v1/openapi.json")
    assert reply.status_code == 200
    document = reply.json()
    validate(document)
    documented = {(path, method.upper()) for path, item in document["paths"].items()
                  for method in item}
    for route in api.routes():
        path = route.path.replace(":int}", "}")
        for method in route.methods - {"HEAD"}:
            assert (path, method) in documented, (path, method)


def test_the_requester_journey_through_the_client(url, token):
    q = client(url, token["rita"])
    made = q.create_campaign(settings_for("Sentiment via the API"))
    assert made["status"] == "draft" and made["spec"] == FORM
    frame = pd.DataFrame({"row": ["r1", "r2", "r3"],
                          "text": ["Great phone", "Broke in a day", "Fine"]})
    assert q.import_items(made, frame, id="row")["imported"] == 3
    assert q.publish(made)["status"] == "live"
    listed = q.campaigns()
    assert made["id"] in set(listed["id"])
    items = q.items(made, parse_json=True)
    assert list(items["external_id"]) == ["r1", "r2", "r3"]
    assert [p["text"] for p in items["payload"]] == list(frame["text"])
    assert q.answers(made).empty
    assert q.progress(made)["items_total"] == 3
    assert q.quality(made)["agreement"].empty
    changed = q.update_campaign(made, title="Sentiment, renamed")
    assert changed["title"] == "Sentiment, renamed" and changed["spec"] == FORM
    assert q.me()["roles"] == ["requester"]


def test_a_file_upload_with_a_mapping_like_the_pages(url, token, tmp_path):
    q = client(url, token["rita"])
    made = q.create_campaign(settings_for("Mapped columns"))
    path = tmp_path / "items.jsonl"
    path.write_text('{"key": 1, "review": "Loud"}\n{"key": 2, "review": "Quiet"}\n')
    assert q.import_items(made, path, fields={"text": "review"}, id="key")["imported"] == 2
    assert list(q.items(made, parse_json=True)["payload"]) == [{"text": "Loud"},
                                                              {"text": "Quiet"}]


def test_exports_stream_the_same_rows_in_every_format(url, token, tmp_path):
    q = client(url, token["rita"])
    made = q.create_campaign(settings_for("Formats"))
    q.import_items(made, pd.DataFrame({"text": [f"t{n}" for n in range(50)]}))
    for fmt in ("parquet", "jsonl", "csv"):
        assert q.export(made, "items", tmp_path / f"items.{fmt}", fmt) == 50
    parquet = pd.read_parquet(tmp_path / "items.parquet")
    lines = pd.read_json(tmp_path / "items.jsonl", lines=True)
    csv = pd.read_csv(tmp_path / "items.csv")
    assert list(parquet["item_id"]) == list(lines["item_id"]) == list(csv["item_id"])


@pytest.mark.parametrize("which", [None, "garbage", "expired", "revoked", "disabled"])
def test_requests_without_a_valid_token_get_401(url, token, which):
    secret = {None: None, "garbage": "qpat_nope"}.get(which, token.get(which))
    for method, path in (("GET", "/me"), ("GET", "/campaigns"), ("POST", "/campaigns"),
                         ("GET", "/campaigns/1/answers"), ("POST", "/campaigns/1/items"),
                         ("PUT", "/campaigns/1/concepts/x")):
        reply = plain(url, secret, method, path)
        assert reply.status_code == 401, (method, path)
        assert reply.headers["content-type"] == "application/problem+json"
        assert reply.headers["www-authenticate"].startswith("Bearer")
        assert reply.json()["status"] == 401 and reply.json()["detail"]
    with pytest.raises(QuorumError) as refused:
        client(url, secret or "qpat_x").campaigns()
    assert refused.value.status == 401


def test_every_role_boundary_is_403(url, token):
    rita = client(url, token["rita"])
    mine = rita.create_campaign(settings_for("Rita's"))
    team = int(rita.campaigns().query("kind == 'revolt'")["id"].iloc[0])
    csv = b"text\nhello\n"
    for who in ("ada", "eve"):  # an expert; another requester who does not own it
        secret = token[who]
        checks = [("GET", f"/campaigns/{mine['id']}", {}),
                  ("PATCH", f"/campaigns/{mine['id']}", {"json": {"title": "x"}}),
                  ("POST", f"/campaigns/{mine['id']}/status", {"json": {"to": "live"}}),
                  ("POST", f"/campaigns/{mine['id']}/items",
                   {"params": {"format": "csv"}, "content": csv}),
                  ("GET", f"/campaigns/{mine['id']}/answers", {}),
                  ("GET", f"/campaigns/{mine['id']}/items", {}),
                  ("GET", f"/campaigns/{mine['id']}/progress", {}),
                  ("GET", f"/campaigns/{mine['id']}/quality", {}),
                  ("GET", f"/campaigns/{team}/team-results", {}),
                  ("GET", f"/campaigns/{team}/concepts", {}),
                  ("PUT", f"/campaigns/{team}/concepts/tiger", {"json": {"label": "Yes"}}),
                  ("GET", f"/campaigns/{mine['id']}/webhooks", {}),
                  ("POST", f"/campaigns/{mine['id']}/webhooks",
                   {"json": {"url": "http://127.0.0.1:9/", "events": ["answer.submitted"]}}),
                  ("GET", f"/campaigns/{mine['id']}/deliveries", {})]
        if who == "ada":
            checks += [("GET", "/campaigns", {}),
                       ("POST", "/campaigns", {"json": settings_for("Ada's")})]
        for method, path, kwargs in checks:
            reply = plain(url, secret, method, path, **kwargs)
            assert reply.status_code == 403, (who, method, path, reply.text)
            assert reply.headers["content-type"] == "application/problem+json"
    assert item_count(url, token["rita"], mine["id"]) == 0  # nothing got through
    assert rita.campaign(mine)["title"] == "Rita's"
    # the admin may act on anyone's campaign, as on the pages, and export every answer
    assert client(url, token["admin"]).campaign(mine)["id"] == mine["id"]
    assert len(client(url, token["admin"]).answers(None)) > 0  # the demo's answers
    for who in ("rita", "ada"):
        assert plain(url, token[who], "GET", "/answers").status_code == 403
    assert plain(url, token["ada"], "GET", "/me").json()["expert"]["answers"] >= 0


def test_team_concepts_and_results_through_the_client(url, token):
    q = client(url, token["rita"])
    team = int(q.campaigns().query("kind == 'revolt'")["id"].iloc[0])
    concepts = q.concepts(team)
    assert concepts.attrs["labels"] == ["Yes", "No"]
    with pytest.raises(QuorumError) as refused:
        q.map_concept(team, "no-such-concept", "Yes")
    assert refused.value.status == 404 and "No team gave that concept" in refused.value.detail
    assert isinstance(q.final_labels(team), pd.DataFrame)
    assert isinstance(q.team_results(team), pd.DataFrame)
    standard = int(q.campaigns().query("kind == 'standard'")["id"].iloc[0])
    with pytest.raises(QuorumError) as refused:
        q.concepts(standard)
    assert refused.value.status == 409 and "not a team campaign" in refused.value.detail


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


MALFORMED = [
    ("a row with too few fields", "csv", b"id,text\n1,fine\n2\n", {"id": "id"}, 422),
    ("a duplicated id", "csv", b"id,text\n1,a\n1,b\n", {"id": "id"}, 422),
    ("a header and no rows", "csv", b"id,text\n", {}, 422),
    ("an empty body", "csv", b"", {}, 422),
    ("not UTF-8", "csv", "text\ncaf\xe9\n".encode("latin-1"), {}, 422),
    ("a JSON line that is not an object", "jsonl", b'{"text": "a"}\n[1, 2]\n', {}, 422),
    ("a broken JSON line", "jsonl", b'{"text": "a"}\n{"text": \n', {}, 422),
    ("a Parquet body that is not Parquet", "parquet", b"PAR1 nothing here", {}, 422),
    ("a mapped column the file lacks", "csv", b"text\na\n", {"field.text": "review"}, 422),
    ("an id column the file lacks", "csv", b"text\na\n", {"id": "key"}, 422),
    ("no column for the form's field", "csv", b"other\na\n", {}, 422),
    ("an unknown format", "xlsx", b"text\na\n", {}, 422),
    ("a body over the size limit", "csv", b"text\n" + b"x" * (1024 * 1024 + 10) + b"\n", {},
     413),
]


def test_every_malformed_upload_is_refused_and_changes_nothing(url, token):
    q = client(url, token["uploads"])
    made = q.create_campaign(settings_for("Uploads"))
    q.import_items(made, pd.DataFrame({"text": ["kept"]}))
    MALFORMED.append(("a Parquet file missing the field", "parquet",
                      _parquet(pd.DataFrame({"other": ["x"]})), {}, 422))
    for what, fmt, body, params, status in MALFORMED:
        reply = plain(url, token["uploads"], "POST", f"/campaigns/{made['id']}/items",
                      params={"format": fmt, **params}, content=body)
        assert reply.status_code == status, (what, reply.text)
        assert reply.headers["content-type"] == "application/problem+json", what
        problem = reply.json()
        assert problem["status"] == status and problem["detail"], what
        assert item_count(url, token["uploads"], made["id"]) == 1, what
    reply = plain(url, token["uploads"], "POST", f"/campaigns/{made['id']}/items",
                  params={"format": "csv"}, content=b"text\nok\n")
    assert reply.status_code == 201, reply.text  # the same endpoint takes a good file


def test_core_field_problems_come_back_with_the_refusal(url, token):
    q = client(url, token["rita"])
    with pytest.raises(QuorumError) as refused:
        q.create_campaign(settings_for("", overlap=0, opens_at="next tuesday"))
    assert refused.value.status == 422
    assert {"title", "overlap", "opens_at"} <= set(refused.value.problems)
    with pytest.raises(QuorumError) as refused:
        q.create_campaign({**settings_for("Bad form"), "spec": {"blocks": [{"type": "nope"}]}})
    assert refused.value.status == 422 and refused.value.problems
    made = q.create_campaign(settings_for("Empty"))
    with pytest.raises(QuorumError) as refused:
        q.publish(made)
    assert refused.value.status == 409 and "no items" in refused.value.detail
    reply = plain(url, token["rita"], "POST", "/campaigns", content=b"{not json")
    assert reply.status_code == 400
    reply = plain(url, token["rita"], "POST", "/campaigns", content=b"x" * (api.MAX_JSON_BYTES + 1))
    assert reply.status_code == 413
    assert plain(url, token["rita"], "GET", "/campaigns/999999").status_code == 404
    assert plain(url, token["rita"], "GET", "/nowhere").status_code == 404


def test_a_token_over_its_budget_gets_429_with_retry_after(url, token):
    replies = [plain(url, token["budget"], "GET", "/me") for _ in range(BURST + 40)]
    codes = [r.status_code for r in replies]
    assert codes[:BURST - 5].count(200) == BURST - 5 and 429 in codes
    refused = next(r for r in replies if r.status_code == 429)
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["content-type"] == "application/problem+json"
    assert plain(url, token["rita"], "GET", "/me").status_code == 200  # others are not held
    time.sleep(int(refused.headers["retry-after"]))
    assert plain(url, token["budget"], "GET", "/me").status_code == 200


def test_a_receiver_gets_signed_events_and_one_that_fails_three_times_gets_it_once(
        url, token):
    q = client(url, token["hooks"])
    good, flaky = Receiver(), Receiver([500, 502, 503])
    try:
        made = q.create_campaign(settings_for("Hooks"))
        q.import_items(made, pd.DataFrame({"text": ["a"]}))
        secrets = {}
        for receiver in (good, flaky):
            registered = q.add_webhook(made, receiver.url, ["campaign.completed"])
            assert registered["secret"].startswith("whsec_")
            secrets[receiver] = registered["secret"]
        assert "secret" not in q.webhooks(made).columns
        with pytest.raises(QuorumError) as refused:
            q.add_webhook(made, "http://192.0.2.1/x", ["answer.submitted"])
        assert refused.value.status == 422 and "url" in refused.value.problems
        q.publish(made)
        q.close_campaign(made)
        good.wait_for(1)
        flaky.wait_for(4)
        time.sleep(1)  # a duplicate would arrive by now
        assert len(good.received) == 1 and len(flaky.received) == 4
        for receiver in (good, flaky):
            for headers, body, _ in receiver.received:
                event = Webhook(secrets[receiver]).verify(body, headers)
                assert event["type"] == "campaign.completed"
                assert event["data"] == {"campaign_id": made["id"], "reason": "closed"}
                with pytest.raises(Exception):  # noqa: B017 (any verification error)
                    Webhook(secrets[good if receiver is flaky else flaky]).verify(body, headers)
        assert len({h["webhook-id"] for h, _, _ in flaky.received}) == 1
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            shown = q.deliveries(made)
            if set(shown["status"]) == {"delivered"}:
                break
            time.sleep(0.2)
        shown = shown.set_index("url")
        assert shown.loc[flaky.url, "attempts"] == 4 and shown.loc[flaky.url, "last_status"] == 200
        assert shown.loc[good.url, "attempts"] == 1
        assert "RECEIVER-PRIVATE-BODY" not in json.dumps(plain(
            url, token["hooks"], "GET", f"/campaigns/{made['id']}/deliveries").json())
        hook_id = int(q.webhooks(made).set_index("url").loc[good.url, "id"])
        assert q.rotate_webhook(hook_id)["secret"] != secrets[good]
        q.delete_webhook(hook_id)
        assert good.url not in set(q.webhooks(made)["url"])
    finally:
        good.close()
        flaky.close()


def test_the_api_runs_alone_on_postgresql_beside_other_writers(postgres, tmp_path):
    from core import assign, db, responses, tokens, users
    from server import settings as server_settings
    from tests.api_helpers import free_port
    from tests.conftest import new_postgres_database

    target = new_postgres_database(postgres)
    conn = db.connect(target, pool_size=2)
    now = server_settings.now()
    people = {}
    for name, roles, skills in (("rita", ("requester",), [("general", "en-US")]),
                                ("ada", ("expert",), [("general", "en-US")])):
        users.register(conn, username=name, name=name.title(), email=f"{name}@example.com",
                       password="pg-api-tests-1", expertise=skills, now=now, rounds=4)
        user = users.get_user(conn, name)
        conn.execute("DELETE FROM user_roles WHERE user_id = ?", [user.id])
        for role in roles:
            conn.execute("INSERT INTO user_roles VALUES (?, ?, ?)", [user.id, role, now])
        people[name] = users.get_user(conn, name)
    secret = {n: tokens.create(conn, u, "pg", 1, now).secret for n, u in people.items()}
    port = free_port()
    log = (tmp_path / "uvicorn.log").open("w")
    env = {**os.environ, "QUORUM_DATABASE_URL": target, "QUORUM_WEBHOOK_HOSTS": "127.0.0.1",
           "QUORUM_WEBHOOK_EVERY_SECONDS": "0.1", "QUORUM_QUALITY_EVERY_SECONDS": "0"}
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory",
                               "server.api:standalone", "--host", "127.0.0.1", "--port",
                               str(port)], cwd=ROOT, env=env, stdout=log, stderr=log)
    receiver = Receiver()
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/api/v1/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, (tmp_path / "uvicorn.log").read_text()
                time.sleep(0.2)
        q = client(url, secret["rita"])
        made = q.create_campaign(settings_for("On PostgreSQL", overlap=1))
        hook = q.add_webhook(made, receiver.url, ["answer.submitted"])
        q.import_items(made, pd.DataFrame({"text": ["one", "two"]}))
        q.publish(made)
        ada = people["ada"]
        for value in ("positive", "negative"):  # an expert answering in another process
            got = assign.claim_next(conn, ada, made["id"], server_settings.now()).assignment
            responses.submit(conn, ada, got.item_id, {"label": value}, got.spec_version,
                             server_settings.now())
        answers = q.answers(made, parse_json=True)
        stored = conn.execute("SELECT id, answer FROM responses ORDER BY id").fetchall()
        assert list(answers["response_id"]) == [r[0] for r in stored]
        assert list(answers["answer"]) == [json.loads(r[1]) for r in stored]
        with pytest.raises(QuorumError) as refused:
            client(url, secret["ada"]).campaigns()
        assert refused.value.status == 403
        receiver.wait_for(2)
        for headers, body, _ in receiver.received:
            assert Webhook(hook["secret"]).verify(body, headers)["type"] == "answer.submitted"
    finally:
        receiver.close()
        server.terminate()
        server.wait(timeout=10)
        log.close()
        conn.close()
