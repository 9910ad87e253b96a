"""The event routes (server/events.py) on a real server over PostgreSQL: who may open a stream,
that an event comes when the team moves, and that an open stream keeps its member present
while a closed one lets the dropout happen."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest

from core import db, revolt, revolt_live, sessions, users
from server import events
from server import settings as server_settings
from tests.api_helpers import free_port
from tests.conftest import FAST_ROUNDS, ROOT, new_postgres_database
from tests.revolt_helpers import CAT_SPEC, Clock, batch, form_team

RULES = revolt.Settings(team_size=3, batch_size=2, ready_seconds=180, dropout_seconds=6)


@pytest.fixture(scope="module")
def world(postgres, tmp_path_factory):
    """A team of three on a real server's database, an outsider, and the server's URL."""
    import pandas as pd

    from core import campaigns, workspace
    target = new_postgres_database(postgres)
    conn = db.connect(target, pool_size=2)
    workspace.ensure(conn, server_settings.now(), demo=False)
    now = server_settings.now()
    people = {}
    for name in ("rita", "ann", "bob", "cyd", "ozzy"):
        users.register(conn, username=name, name=name.title(), email=f"{name}@example.com",
                       password="events-route-2026", expertise=[("general", "en-US")], now=now,
                       rounds=FAST_ROUNDS)
        people[name] = users.get_user(conn, name)
    conn.execute("INSERT INTO user_roles VALUES (?, 'requester', ?) ON CONFLICT DO NOTHING",
                 [people["rita"].id, now])
    cats = campaigns.create(conn, users.get_user(conn, "rita"), spec_text=CAT_SPEC,
                            now=now - timedelta(days=1), status="live", title="Cats",
                            skill="general", language="en-US", kind="revolt", overlap=3,
                            minutes_per_item=1, pay_per_item=1,
                            opens_at=now - timedelta(days=1), expires_at=now + timedelta(days=7))
    campaigns.add_items(conn, users.get_user(conn, "rita"), cats.id, pd.DataFrame(
        {"payload": [{"text": f"Picture {n}"} for n in range(6)]}), now - timedelta(days=1))
    trio = [people[n] for n in ("ann", "bob", "cyd")]
    team_id = form_team(conn, trio, cats.id, Clock(now), RULES)
    cookies = {n: sessions.create(conn, u, now, 1) for n, u in people.items()}
    port = free_port()
    log_path = tmp_path_factory.mktemp("events") / "uvicorn.log"
    env = {**os.environ, "QUORUM_DATABASE_URL": target, "QUORUM_EMPTY": "1",
           "QUORUM_QUALITY_EVERY_SECONDS": "0", "QUORUM_WEBHOOK_EVERY_SECONDS": "0",
           "QUORUM_REVOLT_TEAM_SIZE": "3", "QUORUM_REVOLT_BATCH_SIZE": "2",
           "QUORUM_REVOLT_DROPOUT_SECONDS": str(RULES.dropout_seconds),
           "QUORUM_EVENTS_TICK_SECONDS": "0.1"}
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "tests.events_server:create",
             "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT, env=env, stdout=log,
            stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{url}/events/team/1", timeout=1)
            break
        except httpx.HTTPError:
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
    yield dict(conn=conn, url=url, team=team_id, campaign=cats.id, people=people,
               cookies=cookies, trio=trio)
    server.terminate()
    server.wait(timeout=10)
    conn.close()


def cookie(world, name: str) -> dict[str, str]:
    return {"quorum_session": world["cookies"][name]}


def test_a_stream_needs_a_signed_in_member(world):
    for path in (f"/events/team/{world['team']}", f"/events/lobby/{world['campaign']}"):
        refused = httpx.get(world["url"] + path, timeout=5)
        assert refused.status_code == 401
        assert httpx.get(world["url"] + path, cookies={"quorum_session": "forged"},
                         timeout=5).status_code == 401
    outsider = httpx.get(f"{world['url']}/events/team/{world['team']}",
                         cookies=cookie(world, "ozzy"), timeout=5)
    assert outsider.status_code == 403
    assert "not a member" in outsider.text
    assert httpx.get(f"{world['url']}/events/team/{world['team'] + 50}",
                     cookies=cookie(world, "ann"), timeout=5).status_code == 404


def next_event(lines, deadline: float) -> str:
    """The data of the next plain event (not the `boot` one naming the server process)."""
    kind = "message"
    for line in lines:
        if line.startswith("event: "):
            kind = line[len("event: "):]
        elif line.startswith("data: ") and kind == "message":
            return line[len("data: "):]
        elif not line:
            kind = "message"
        assert time.monotonic() < deadline, "no event came"
    raise AssertionError("the stream ended")


def test_a_member_gets_an_event_when_a_teammate_votes_and_stays_present(world):
    conn, team_id = world["conn"], world["team"]
    ann, bob, _ = world["trio"]
    now = server_settings.now()
    drawn = revolt_live.team_version(conn, team_id, now, RULES)
    url = f"{world['url']}/events/team/{team_id}?since={events.encode(drawn)}"
    with httpx.stream("GET", url, cookies=cookie(world, "ann"), timeout=20) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(lines) == f"retry: {events.RETRY_MS}"
        assert next(lines) == "event: boot"
        assert re.fullmatch(r"data: [0-9a-f]{16}", next(lines))  # the server process's name
        started = time.monotonic()
        revolt.vote(conn, bob, team_id, batch(conn, team_id)[0], "Yes",
                    server_settings.now(), RULES)
        moved = next_event(lines, started + 5)
        assert events.decode(moved) == revolt_live.team_version(conn, team_id,
                                                                server_settings.now(), RULES)
        assert time.monotonic() - started < 2
        time.sleep(RULES.beat_seconds * 3)
        last = conn.execute("SELECT last_seen FROM revolt_members WHERE team_id = ? "
                            "AND user_id = ?", [team_id, ann.id]).fetchone()[0]
        assert server_settings.now() - last < timedelta(seconds=RULES.beat_seconds * 2.5)


def test_a_stream_drawn_before_a_move_gets_it_at_once(world):
    conn, team_id = world["conn"], world["team"]
    old = (1, 0, 3, 0)  # as a page drawn at formation saw it
    url = f"{world['url']}/events/team/{team_id}?since={events.encode(old)}"
    with httpx.stream("GET", url, cookies=cookie(world, "cyd"), timeout=20) as stream:
        lines = stream.iter_lines()
        assert events.decode(next_event(lines, time.monotonic() + 5)) == \
            revolt_live.team_version(conn, team_id, server_settings.now(), RULES)


def test_a_closed_stream_stops_presence_so_the_member_drops_out(world):
    conn, team_id = world["conn"], world["team"]
    ann, bob, cyd = world["trio"]
    with contextlib.ExitStack() as open_tabs:
        for name in ("ann", "bob"):  # cyd's tab is closed: only these two are open
            client = open_tabs.enter_context(httpx.Client(cookies=cookie(world, name),
                                                          timeout=30))
            open_tabs.enter_context(client.stream("GET",
                                                  f"{world['url']}/events/team/{team_id}"))
        deadline = time.monotonic() + RULES.dropout_seconds * 3
        while time.monotonic() < deadline:
            status = conn.execute("SELECT status FROM revolt_members WHERE team_id = ? "
                                  "AND user_id = ?", [team_id, cyd.id]).fetchone()[0]
            if status == "dropped":
                break
            time.sleep(0.3)
        assert status == "dropped"
        statuses = [r[0] for r in conn.execute(
            "SELECT status FROM revolt_members WHERE team_id = ? AND user_id = ANY(?) ",
            [team_id, [ann.id, bob.id]]).fetchall()]
        assert statuses == ["active", "active"]
    time.sleep(RULES.beat_seconds)  # a beat already under way may still land
    closed_at = server_settings.now()
    time.sleep(RULES.beat_seconds * 3)
    last = conn.execute("SELECT max(last_seen) FROM revolt_members WHERE team_id = ?",
                        [team_id]).fetchone()[0]
    assert last <= closed_at  # nothing is written for a closed stream


def test_a_move_published_while_an_event_is_sent_is_not_lost():
    """Two moves in quick succession: the second, published while the first is being written
    to the stream, comes at once, not at the next keep-alive (15 s later)."""
    import asyncio

    class OpenRequest:  # a browser that keeps the stream open
        async def receive(self):
            await asyncio.Event().wait()

    async def scenario() -> str:
        watcher = events.Watcher(("team", 1), user_id=1, seen=(1,), latest=(2,))
        stream = events._stream(OpenRequest(), watcher)
        try:
            assert "event: boot" in await anext(stream)
            assert await anext(stream) == "data: 2\n\n"
            watcher.latest = (3,)  # as Feed.publish does, while that chunk is on its way
            watcher.wake.set()
            return await asyncio.wait_for(anext(stream), 2)
        finally:
            await stream.aclose()

    # A thread of its own: after the browser tests, Playwright's loop runs in this one.
    with ThreadPoolExecutor(1) as thread:
        assert thread.submit(asyncio.run, scenario()).result() == "data: 3\n\n"
