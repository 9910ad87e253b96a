"""An expert asks two live models, one times out; they retry, rate and submit; the requester
sees the calls in the campaign's analytics. The models are a real OpenAI-compatible server on
127.0.0.1, run by this test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from core import db, users, workspace
from server import runtime
from tests.fake_openai import Delay, FakeOpenAI
from tests.mitl import model_campaign, register

from .conftest import WATCH_JS, change_page, log_in, settle

TITLE = "Compare the assistants"
PROMPT = "Why is the sky blue?"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="module")
def site(start_server, fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """The demo workspace plus two registered models and a campaign that asks them."""
    path = tmp_path_factory.mktemp("models") / "quorum.duckdb"
    now = datetime.now(UTC).replace(tzinfo=None)
    conn = db.connect(path)
    try:
        runtime.announce_demo_passwords(workspace.ensure(conn, now, demo=True, rounds=4),
                                        path.parent)
        rita = users.get_user(conn, "rita")
        register(conn, rita, fake.base_url, now, "alpha", timeout_s=10, api_key_env="FAKE_KEY")
        register(conn, rita, fake.base_url, now, "beta", timeout_s=1, api_key_env="FAKE_KEY")
        campaign = model_campaign(conn, rita, now, title=TITLE)
    finally:
        conn.close()  # one process per database file: the app opens it next
    return start_server(QUORUM_DB=str(path), FAKE_KEY="sk-e2e", QUORUM_MODEL_KEY_VARS="FAKE_KEY",
                        QUORUM_MODEL_HOSTS="127.0.0.1"), campaign.id



def pick(form: Locator, question: str, option: str) -> None:
    """Choose a radio option by clicking its label, as a user does."""
    group = form.get_by_role("radiogroup", name=question)
    group.get_by_text(option, exact=True).click()
    expect(group.get_by_role("radio", name=option, exact=True)).to_be_checked()


def test_expert_retries_a_timed_out_model_and_the_requester_sees_the_calls(
        site: tuple, fake: FakeOpenAI, page: Page, browser: Browser, tmp_path: Path) -> None:
    server, campaign_id = site
    fake.plan("beta", Delay(8))  # longer than beta's 1 s timeout; the retry answers at once

    log_in(page, server, "ada")
    card = page.get_by_test_id("stVerticalBlock").filter(
        has=page.get_by_role("heading", name=TITLE, exact=True)).filter(
        has=page.get_by_role("button", name="Start")).last
    change_page(page, card.get_by_role("button", name="Start"),
                page.get_by_role("heading", name=TITLE, exact=True))
    form = page.get_by_test_id("stForm")
    form.get_by_label("Your prompt", exact=True).fill(PROMPT)
    form.get_by_role("button", name="Ask the models").click()

    expect(form.get_by_text(f"alpha answers: {PROMPT}").first).to_be_visible()
    expect(form.get_by_text("Timed out: no answer within 1 second.")).to_be_visible()
    expect(form.get_by_text("Response B did not come, so this question is skipped.")
           ).to_be_visible()
    page.screenshot(path=tmp_path / "timed-out.png", full_page=True)
    settle(page)
    form.get_by_role("button", name="Retry B").click()
    expect(form.get_by_text(f"beta answers: {PROMPT}").first).to_be_visible()
    expect(form.get_by_text("Timed out")).to_have_count(0)
    expect(form.get_by_role("button", name="Regenerate all")).to_be_visible()
    settle(page)

    pick(form, "How good is response A?", "4")
    pick(form, "How good is response B?", "3")
    pick(form, "Which response is better?", "Response A is better")
    form.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Answer saved")).to_be_visible()
    page.screenshot(path=tmp_path / "submitted.png", full_page=True)

    requester = browser.new_context(viewport={"width": 1400, "height": 1000})
    requester.set_default_timeout(15_000)
    requester.add_init_script(WATCH_JS)
    try:
        monitor = requester.new_page()
        log_in(monitor, server, "rita")
        monitor.goto(f"{server}/monitor?campaign={campaign_id}")
        expect(monitor.get_by_role("heading", name="Model calls")).to_be_visible()
        calls = monitor.get_by_test_id("stMetric").filter(has_text="Model calls")
        expect(calls.get_by_test_id("stMetricValue")).to_have_text("3")
        failed = monitor.get_by_test_id("stMetric").filter(has_text="Failed")
        expect(failed.get_by_test_id("stMetricValue")).to_have_text("1")
        expect(monitor.get_by_text("Failures by error type")).to_be_visible()
        monitor.get_by_role("heading", name="Model calls").scroll_into_view_if_needed()
        settle(monitor)
        monitor.screenshot(path=tmp_path / "analytics.png", full_page=True)
    finally:
        requester.close()
    print(f"screenshots in {tmp_path}")
