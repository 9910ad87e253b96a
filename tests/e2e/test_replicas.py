"""Quorum deployed for a company: three replicas over one PostgreSQL behind HAProxy.

deploy/local.py starts the real thing on 127.0.0.1. Each browser is pinned to a replica by the
balancer's own cookie (`quorum_replica`), set before its first request, so the test knows which
process serves whom.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from core import db
from deploy import local, local_postgres
from tests.signin import demo_password

from .conftest import WATCH_JS, change_page, log_in, settle
from .test_expert_journey import answer_item, choose, metric
from .test_revolt import (
    CAMPAIGN,
    DROPOUT_SECONDS,
    WAIT,
    categorize,
    explain,
    join,
    open_preview,
    ready_all,
    sign_up,
    survey,
    vote,
)

CLAUSES = "Classify commercial contract clauses"

if (shutil.which("haproxy") is None or local_postgres.binaries() is None) \
        and os.environ.get("CI") != "true":
    pytest.skip("needs Debian's haproxy and postgresql (apt-get install haproxy postgresql)",
                allow_module_level=True)


@pytest.fixture(scope="module")
def deployment() -> Iterator[local.Deployment]:
    started = local.start(replicas=3, extra_env={
        "QUORUM_BCRYPT_ROUNDS": "4", "QUORUM_REVOLT_BATCH_SIZE": "2",
        "QUORUM_REVOLT_DROPOUT_SECONDS": str(DROPOUT_SECONDS)})
    yield started
    started.stop()


@pytest.fixture
def browsers(browser: Browser, deployment: local.Deployment) -> Iterator:
    """open(n): a page in a fresh browser context that the balancer sends to replica n."""
    contexts = []

    def open_on(replica: int) -> Page:
        context = browser.new_context(viewport={"width": 1300, "height": 1000},
                                      permissions=["notifications"])
        context.set_default_timeout(20_000)
        context.add_init_script(WATCH_JS)
        context.add_cookies([{"name": "quorum_replica", "value": f"replica{replica}",
                              "url": deployment.url}])
        contexts.append(context)
        return context.new_page()

    yield open_on
    for context in contexts:
        context.close()


def replica_of(page: Page) -> str:
    return {c["name"]: c["value"] for c in page.context.cookies()}["quorum_replica"]


def rows(deployment: local.Deployment, sql: str, params=None) -> list[tuple]:
    conn = db.connect(deployment.database_url, pool_size=1)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_two_experts_on_two_replicas_and_the_requester_on_a_third(deployment, browsers):
    luis, grace, rita = browsers(1), browsers(2), browsers(3)
    log_in(luis, deployment.url, "luis", demo_password(deployment.folder, "luis"))
    sign_up_lawyer(grace, deployment.url)
    for page in (luis, grace):
        card = page.get_by_test_id("stVerticalBlock").filter(
            has=page.get_by_role("heading", name=CLAUSES, exact=True)).filter(
            has=page.get_by_role("button", name="Start")).last
        card.get_by_role("button", name="Start").click()
        expect(metric(page, "Your answers here")).to_have_text("0")
        answer_item(page, "Limitation of liability", "3")
        expect(page.get_by_text("Answer saved")).to_be_visible()
    assert (replica_of(luis), replica_of(grace)) == ("replica1", "replica2")

    (campaign_id,), = rows(deployment, "SELECT id FROM campaigns WHERE title = ?", [CLAUSES])
    stored = rows(deployment, "SELECT u.username FROM responses r JOIN users u "
                  "ON u.id = r.user_id WHERE r.campaign_id = ? ORDER BY r.id", [campaign_id])
    assert stored == [("luis",), ("grace",)]
    log_in(rita, deployment.url, "rita", demo_password(deployment.folder, "rita"))
    rita.goto(f"{deployment.url}/monitor?campaign={campaign_id}")
    expect(rita.get_by_role("heading", name="Monitor")).to_be_visible()
    expect(rita.get_by_test_id("stMetric").filter(has_text="Answers")
           .get_by_test_id("stMetricValue").first).to_have_text("2")
    assert replica_of(rita) == "replica3"


def sign_up_lawyer(page: Page, url: str) -> None:
    page.goto(url)
    settle(page)
    change_page(page, page.get_by_role("link", name="New here? Create an account"),
                page.get_by_label("Full name", exact=True))
    page.get_by_label("Full name", exact=True).fill("Grace Hopper")
    page.get_by_label("Username", exact=True).fill("grace")
    page.get_by_label("Work e-mail", exact=True).fill("grace@example.com")
    page.get_by_label("Password", exact=True).fill("contracts-2026")
    page.get_by_label("Repeat password", exact=True).fill("contracts-2026")
    choose(page, "Your skills", "Law and legal")
    choose(page, "Languages you work in", "English (United States) (en-US)")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Hello, Grace")).to_be_visible()
    settle(page)


def test_a_team_spread_over_three_replicas_finishes_when_one_replica_dies(deployment,
                                                                          browsers):
    mei, ivy, jon = browsers(1), browsers(2), browsers(3)
    log_in(mei, deployment.url, "mei", demo_password(deployment.folder, "mei"))
    sign_up(ivy, deployment.url, "Ivy Kerr", "ivy")
    sign_up(jon, deployment.url, "Jon Sato", "jon")
    for page in (mei, ivy, jon):
        open_preview(page)
        join(page)
    ready_all([mei, ivy, jon])
    assert [replica_of(p) for p in (mei, ivy, jon)] == ["replica1", "replica2", "replica3"]
    for page, second in ((mei, "Yes"), (ivy, "No"), (jon, "No")):
        vote(page, "Yes", 1)
        vote(page, second, 2)
    for page in (mei, ivy, jon):
        expect(page.get_by_text("Stage 2 of 3 · Explain")).to_be_visible(timeout=WAIT)

    # Jon's replica dies mid-stage and Jon is gone with it; the others go on without him.
    deployment.kill_replica(2)
    jon.close()
    explain(mei, "Yes", "The ears are drawn, not photographed.")
    explain(ivy, "No", "It is a cartoon, so not a cat.")
    for page in (mei, ivy):
        expect(page.get_by_text("Stage 3 of 3 · Categorize")).to_be_visible(
            timeout=WAIT + DROPOUT_SECONDS * 1000)
    categorize(mei, "Drawn cat", new=True)
    categorize(ivy, "Drawn cat", new=False)
    for page in (mei, ivy):
        survey(page, "$3.20")
    (team,), = rows(deployment, "SELECT t.id FROM revolt_teams t JOIN campaigns c "
                    "ON c.id = t.campaign_id WHERE c.title = ?", [CAMPAIGN])
    members = dict(rows(deployment, "SELECT u.username, m.status FROM revolt_members m "
                        "JOIN users u ON u.id = m.user_id WHERE m.team_id = ?", [team]))
    assert members == {"mei": "active", "ivy": "active", "jon": "dropped"}
    assert re.match(r"replica[12]", replica_of(mei))
