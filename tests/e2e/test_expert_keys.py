"""Labeling at speed in a real browser: keys pick and submit, an edit reaches the export, a flag
holds an item back."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from core import campaigns, db, users, workspace
from server import settings

from .conftest import WATCH_JS, log_in, option_button, settle

PASSWORD = "correct-horse-9"
expect.set_options(timeout=15_000)  # a shared 2-core machine: sign-ins can take seconds
CHOICE = {"blocks": [{"type": "text", "field": "text"},
                     {"type": "single_choice", "id": "label", "prompt": "Which label fits?",
                      "options": ["positive", "neutral", "negative"]}]}
TEXT = {"blocks": [{"type": "text", "field": "text"},
                   {"type": "single_choice", "id": "label", "prompt": "Which label fits?",
                    "options": ["positive", "negative"]},
                   {"type": "free_text", "id": "why", "prompt": "Why?", "required": False}]}


@pytest.fixture(scope="module")
def site(start_server: Callable[..., str], tmp_path_factory) -> tuple[str, dict[str, int]]:
    """A server over a workspace of our own: rita's choice and text campaigns, ada and bob."""
    path = tmp_path_factory.mktemp("keys") / "quorum.duckdb"
    now = settings.now()
    conn = db.connect(path)
    workspace.ensure(conn, now, demo=False)
    for username in ("rita", "ada", "bob"):
        users.register(conn, username=username, name=username.title(),
                       email=f"{username}@example.com", password=PASSWORD,
                       expertise=[("general", "en-US")], now=now, rounds=4)
    rita = users.get_user(conn, "rita")
    ids = {}
    for name, spec, overlap in (("Sentiment", CHOICE, 2), ("Explained", TEXT, 2),
                                ("Flagged", CHOICE, 1)):
        campaign = campaigns.create(
            conn, rita, spec_text=json.dumps(spec), now=now - timedelta(days=2), status="live",
            title=name, skill="general", language="en-US", minutes_per_item=2, pay_per_item=1,
            overlap=overlap, lease_minutes=30, opens_at=now - timedelta(days=1),
            expires_at=now + timedelta(days=30), flag_limit=1)
        campaigns.add_items(conn, rita, campaign.id, pd.DataFrame({"payload": [
            {"text": f"{name} item {n}"} for n in range(3)]}), now - timedelta(days=2))
        ids[name] = campaign.id
    conn.close()
    return start_server(QUORUM_DB=str(path), QUORUM_EMPTY="1"), ids


def fresh_context(browser: Browser) -> BrowserContext:
    """Another person's browser: no cookies, the same watcher the page fixture installs."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(15_000)
    context.add_init_script(WATCH_JS)
    return context


def open_label(page: Page, server: str, campaign_id: int) -> None:
    page.goto(f"{server}/label?campaign={campaign_id}")
    expect(page.get_by_test_id("stForm").first).to_be_visible()
    settle(page)  # the shortcuts' frame has loaded


def test_number_keys_answer_and_typing_stays_typing(site, page: Page, tmp_path: Path) -> None:
    server, ids = site
    log_in(page, server, "ada", PASSWORD)
    open_label(page, server, ids["Sentiment"])
    expect(page.get_by_text("Keyboard: 1–3 answer and move on, S skips, F flags.")).to_be_visible()
    expect(page.get_by_role("button", name="neutral")).to_contain_text("2")  # the key's badge
    page.screenshot(path=tmp_path / "label-keys.png", full_page=True)
    page.keyboard.press("2")
    expect(page.get_by_text("answered 1 item in this campaign")).to_be_visible()
    expect(page.get_by_text("Sentiment item 1")).to_be_visible()
    settle(page)
    page.keyboard.press("s")
    expect(page.get_by_text("Sentiment item 2")).to_be_visible()
    settle(page)
    page.keyboard.press("3")
    expect(page.get_by_text("answered 2 items in this campaign")).to_be_visible()
    page.get_by_text("you can change each for").click()
    expect(page.get_by_text("Which label fits? negative")).to_be_visible()
    expect(page.get_by_text("Which label fits? neutral")).to_be_visible()

    # Beside a text box a number key only picks; keys typed in the box stay text; Ctrl+Enter
    # there, or Enter elsewhere, submits the pick with what was typed.
    open_label(page, server, ids["Explained"])
    expect(page.get_by_text("Keyboard: 1–2 pick an answer, Enter submits")).to_be_visible()
    page.keyboard.press("2")
    chosen = option_button(page.get_by_test_id("stForm"), "negative")
    expect(chosen).to_have_attribute("data-testid", "stBaseButton-primaryFormSubmit")
    expect(page.get_by_text("Explained item 0")).to_be_visible()  # picked, not yet sent
    box = page.get_by_label("Why? (optional)", exact=True)
    box.click()
    page.keyboard.type("1 sure, 2 s f")
    expect(box).to_have_value("1 sure, 2 s f")
    expect(chosen).to_have_attribute("data-testid", "stBaseButton-primaryFormSubmit")
    page.screenshot(path=tmp_path / "label-pick.png", full_page=True)
    page.keyboard.press("Control+Enter")
    expect(page.get_by_text("answered 1 item in this campaign")).to_be_visible()
    expect(page.get_by_text("Explained item 1")).to_be_visible()
    settle(page)
    page.keyboard.press("1")
    expect(option_button(page.get_by_test_id("stForm"), "positive")).to_have_attribute(
        "data-testid", "stBaseButton-primaryFormSubmit")
    settle(page)
    page.keyboard.press("Enter")
    expect(page.get_by_text("answered 2 items in this campaign")).to_be_visible()
    page.get_by_text("you can change each for").click()
    expect(page.get_by_text("Why? 1 sure, 2 s f")).to_be_visible()
    expect(page.get_by_text("Which label fits? negative")).to_be_visible()
    expect(page.get_by_text("Which label fits? positive")).to_be_visible()


def test_an_edit_changes_the_export(site, page: Page, browser: Browser, tmp_path: Path) -> None:
    server, ids = site
    log_in(page, server, "bob", PASSWORD)
    open_label(page, server, ids["Sentiment"])
    page.keyboard.press("1")
    expect(page.get_by_text("answered 1 item in this campaign")).to_be_visible()
    page.get_by_text("you can change each for").click()
    expect(page.get_by_text("Which label fits? positive")).to_be_visible()
    page.get_by_role("button", name="Edit", exact=True).click()
    expect(page.get_by_text("Editing your answer to item")).to_be_visible()
    form = page.get_by_test_id("stForm")
    form.get_by_text("negative", exact=True).click()
    form.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Which label fits? negative")).to_be_attached()
    page.screenshot(path=tmp_path / "after-edit.png", full_page=True)

    requester = fresh_context(browser)
    other = requester.new_page()
    try:
        log_in(other, server, "rita", PASSWORD)
        other.goto(f"{server}/monitor?campaign={ids['Sentiment']}")
        settle(other)
        other.get_by_text("JSON Lines", exact=True).click()
        other.get_by_role("button", name="Prepare download").click()
        with other.expect_download() as download:
            other.get_by_test_id("stDownloadButton").get_by_role("button").click()
        lines = Path(download.value.path()).read_text().splitlines()
        mine = [json.loads(line) for line in lines if json.loads(line)["expert"] == "bob"]
        assert [row["answer"] for row in mine] == [{"label": "negative"}]
        assert mine[0]["edited_at"]
    finally:
        requester.close()


def test_a_flag_holds_the_item_back(site, page: Page, browser: Browser, tmp_path: Path) -> None:
    server, ids = site
    log_in(page, server, "ada", PASSWORD)
    open_label(page, server, ids["Flagged"])
    expect(page.get_by_text("Flagged item 0")).to_be_visible()
    page.get_by_role("button", name="Flag a problem").click()
    page.get_by_text("Content is missing, broken or unreadable").click()
    page.get_by_role("button", name="Flag and move on").click()
    expect(page.get_by_text("Flagged item 1")).to_be_visible()
    expect(page.get_by_text("held back until the requester looks at it")).to_be_visible()

    context, requester = fresh_context(browser), fresh_context(browser)
    try:
        bob = context.new_page()
        log_in(bob, server, "bob", PASSWORD)
        card = bob.get_by_test_id("stVerticalBlock").filter(
            has=bob.get_by_role("heading", name="Flagged")).filter(has_text="left for you").last
        expect(card).to_contain_text("2 items left for you")  # of 3: one is held back
        open_label(bob, server, ids["Flagged"])
        expect(bob.get_by_text("Flagged item 1")).to_have_count(0)  # ada holds it
        expect(bob.get_by_text("Flagged item 2")).to_be_visible()   # item 0 is held back

        rita = requester.new_page()
        log_in(rita, server, "rita", PASSWORD)
        rita.goto(f"{server}/review?campaign={ids['Flagged']}")
        expect(rita.get_by_text("Flagged items: 1 item, 1 held back")).to_be_visible()
        expect(rita.get_by_text("Content is missing, broken or unreadable")).to_be_visible()
        rita.screenshot(path=tmp_path / "review-flags.png", full_page=True)
        rita.get_by_role("button", name="Put back").click()
        expect(rita.get_by_text("is handed out again")).to_be_visible()
    finally:
        context.close()
        requester.close()
