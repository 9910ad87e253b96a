"""Pushed team pages in real browsers (server/events.py, ui/live.py).

A waiting member's page sends nothing while nothing moves (no polling), changes when the team
moves, and keeps working across a server restart: its event stream reconnects by itself and
its presence goes on being written, so it is not dropped although it never reloaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from core import db, revolt, revolt_lobby, users, workspace
from server import settings as server_settings

from .conftest import ROOT, WATCH_JS, _free_port, _wait_healthy, log_in

DROPOUT_SECONDS = 12
RULES = revolt.Settings(team_size=3, batch_size=2, dropout_seconds=DROPOUT_SECONDS)
PASSWORD = "pictures-2026"


def prepare(folder: Path) -> tuple[Path, int, str]:
    """The demo workspace with a team of mei, ivy and jon in which mei and ivy voted."""
    path = folder / "quorum.duckdb"
    conn = db.connect(path)
    now = server_settings.now()
    made = workspace.ensure(conn, now, demo=True, rounds=4)
    crew = [users.get_user(conn, "mei")]
    for name in ("ivy", "jon"):
        users.register(conn, username=name, name=name.title(), email=f"{name}@example.com",
                       password=PASSWORD, expertise=[("arts", "en-US")], now=now, rounds=4)
        crew.append(users.get_user(conn, name))
    campaign_id = conn.execute("SELECT id FROM campaigns WHERE kind = 'revolt' "
                               "ORDER BY id LIMIT 1").fetchone()[0]
    for member in crew:
        revolt_lobby.enter(conn, member, campaign_id, now, RULES)
    for member in crew:
        team_id = revolt_lobby.set_ready(conn, member, campaign_id, now, RULES).team_id
    for member in crew[:2]:
        for task in revolt.session(conn, member, team_id, RULES).todo:
            revolt.vote(conn, member, team_id, task.item_id, "Yes", now, RULES)
    # Present for a little while ahead: the three pages take longer than the dropout time to
    # start and sign in.
    conn.execute("UPDATE revolt_members SET last_seen = ?", [now + timedelta(seconds=25)])
    conn.close()
    return path, campaign_id, made["mei"]


class Server:
    """`streamlit run quorum.py` on one port, which can be stopped and started again."""

    def __init__(self, database: Path):
        self.database, self.port = database, _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "QUORUM_DB": str(self.database), "QUORUM_BCRYPT_ROUNDS": "4",
               "QUORUM_REVOLT_BATCH_SIZE": "2",
               "QUORUM_REVOLT_DROPOUT_SECONDS": str(DROPOUT_SECONDS)}
        log = self.database.parent / "streamlit.log"
        with log.open("a") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "quorum.py", "--server.port",
                 str(self.port), "--server.address", "127.0.0.1", "--server.headless", "true"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        _wait_healthy(self.url, self.process, log)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None


@pytest.fixture
def team_server(tmp_path: Path):
    database, campaign_id, mei_password = prepare(tmp_path)
    server = Server(database)
    server.start()
    yield server, campaign_id, mei_password
    server.stop()


def test_a_waiting_page_is_pushed_and_survives_a_restart(browser: Browser, team_server,
                                                        tmp_path: Path) -> None:
    server, campaign_id, mei_password = team_server
    contexts = []
    for _ in range(3):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(20_000)
        context.add_init_script(WATCH_JS)
        contexts.append(context)
    mei, ivy, jon = (c.new_page() for c in contexts)
    sent: list[float] = []
    mei.on("websocket", lambda ws: ws.on("framesent", lambda _: sent.append(time.monotonic())))
    try:
        for page, name, password in ((mei, "mei", mei_password), (ivy, "ivy", PASSWORD),
                                     (jon, "jon", PASSWORD)):
            log_in(page, server.url, name, password)
            page.goto(f"{server.url}/lobby?campaign={campaign_id}")
        for page in (mei, ivy):
            expect(page.get_by_text("Waiting for your teammates: 1 still voting")).to_be_visible()
        expect(jon.get_by_role("heading", name="Item 1 of 2")).to_be_visible()
        time.sleep(2)
        quiet_from = time.monotonic()
        time.sleep(6)
        # A polling page sent a rerun every second; a pushed one sends nothing while idle.
        assert len([t for t in sent if t >= quiet_from]) <= 2

        server.stop()
        server.start()
        # Longer than the dropout: no page reloads, so only their reconnected event streams
        # can have kept them present.
        time.sleep(DROPOUT_SECONDS + 4)
        for item in (1, 2):
            expect(jon.get_by_role("heading", name=f"Item {item} of 2")).to_be_visible()
            form = jon.get_by_test_id("stForm")
            group = form.get_by_role("radiogroup", name="Is this a cat?")
            group.get_by_text("Yes", exact=True).click()
            expect(group.get_by_role("radio", name="Yes", exact=True)).to_be_checked()
            form.get_by_role("button", name="Submit vote").click()
        for page in (mei, ivy):
            expect(page.get_by_text("Finished after Vote")).to_be_visible(timeout=10_000)
        for page in (mei, ivy, jon):
            expect(page.get_by_text("Your team went on without you")).to_have_count(0)
        mei.screenshot(path=tmp_path / "after-restart.png", full_page=True)
    finally:
        for context in contexts:
            context.close()
