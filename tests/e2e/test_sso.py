"""Company sign-in in a real browser, through a real OpenID Connect provider on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from core import db, directory, users, workspace
from server import routes, settings
from tests import oidc_provider
from tests.e2e.conftest import settle

SLOW = 20_000  # a step that crosses the provider and a fresh session, on a busy machine


@pytest.fixture(scope="module")
def provider() -> Iterator[oidc_provider.Provider]:
    with oidc_provider.running() as running:
        yield running


@pytest.fixture(scope="module")
def sso_server(start_server, provider, tmp_path_factory) -> str:
    """The app on the demo workspace, signing in through `provider`; Data Science → requester."""
    work = tmp_path_factory.mktemp("sso")
    database = work / "quorum.duckdb"
    conn = db.connect(database)
    now = settings.now()
    workspace.ensure(conn, now, demo=True, rounds=4)
    directory.add_group_role(conn, users.get_user(conn, "admin"), "Data Science", "requester",
                             now)
    conn.close()
    secrets = oidc_provider.secrets_toml(provider, work / "secrets.toml")
    return start_server(QUORUM_DB=str(database), STREAMLIT_SECRETS_FILES=str(secrets),
                        QUORUM_ALLOWED_EMAIL_DOMAINS=oidc_provider.DOMAIN)


def sign_in_as(page: Page, server: str, sub: str) -> None:
    """Press "Sign in with Acme" and choose the user on the provider's page."""
    page.goto(server)
    settle(page)
    page.get_by_role("button", name=f"Sign in with {oidc_provider.COMPANY}").click()
    page.get_by_role("button", name=sub, exact=True).click()  # the provider's own page
    page.wait_for_url(f"{server}/**")
    settle(page)


def log_out(page: Page, server: str) -> None:
    """Log out of Quorum, then end the session at the provider, back to the login page."""
    page.get_by_test_id("stSidebar").get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="End session").click()  # the provider's end-session page
    page.wait_for_url(f"{server}/**")
    expect(page.get_by_role("button", name=f"Sign in with {oidc_provider.COMPANY}")
           ).to_be_visible(timeout=SLOW)


def test_first_sign_in_confirms_directory_skills_and_a_second_finds_the_account(
        page: Page, sso_server: str, tmp_path: Path):
    sign_in_as(page, sso_server, "grace")
    expect(page.get_by_role("heading", name="Welcome to Quorum, Grace")).to_be_visible(timeout=SLOW)
    expect(page.get_by_text("Associate General Counsel").first).to_be_visible()
    skills = page.get_by_test_id("stMultiSelect").first
    expect(skills).to_contain_text("Law and legal")  # suggested by the mapping
    page.screenshot(path=str(tmp_path / "sso-welcome.png"), full_page=True)
    page.get_by_role("button", name="Confirm and see my campaigns").click()
    expect(page.get_by_role("heading", name="Hello, Grace")).to_be_visible(timeout=SLOW)
    expect(page.get_by_text("Classify commercial contract clauses")).to_be_visible()
    expect(page.get_by_text("Spot the bug in short Python functions")).to_have_count(0)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar).to_contain_text("grace.hopper · Expert")
    for _ in range(50):
        session = [c for c in page.context.cookies() if c["name"] == routes.SESSION_COOKIE]
        if session:
            break
        page.wait_for_timeout(200)
    assert session and session[0]["httpOnly"], "a company sign-in gets a Quorum session cookie"
    identity = [c for c in page.context.cookies() if c["name"].startswith("_streamlit_user")]
    assert identity and all(c["httpOnly"] for c in identity)

    log_out(page, sso_server)
    expect(page.get_by_test_id("stSidebar").get_by_role("button", name="Log out")).to_have_count(0)

    # Copies of both cookies saved before the log out do not sign in again.
    replay = page.context.browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        replay.add_cookies(identity + session)
        stale = replay.new_page()
        stale.goto(sso_server)
        expect(stale.get_by_text("You logged out of Quorum after this company sign-in")
               ).to_be_visible(timeout=SLOW)
        expect(stale.get_by_test_id("stSidebar").get_by_role("button", name="Log out")
               ).to_have_count(0)
    finally:
        replay.close()

    # Signing in again finds the same account: no welcome step, the same username and skills.
    sign_in_as(page, sso_server, "grace")
    expect(page.get_by_role("heading", name="Hello, Grace")).to_be_visible(timeout=SLOW)
    expect(page.get_by_test_id("stSidebar")).to_contain_text("grace.hopper · Expert")
    expect(page.get_by_text("Classify commercial contract clauses")).to_be_visible()
    log_out(page, sso_server)


def test_a_group_claim_gives_the_requester_role(page: Page, sso_server: str):
    sign_in_as(page, sso_server, "rosa")
    expect(page.get_by_role("heading", name="Welcome to Quorum, Rosa")).to_be_visible(timeout=SLOW)
    expect(page.get_by_test_id("stMultiSelect").first).to_contain_text("Science")
    page.get_by_role("button", name="Confirm and see my campaigns").click()
    expect(page.get_by_role("heading", name="Hello, Rosa")).to_be_visible(timeout=SLOW)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar).to_contain_text("Expert, Requester")
    expect(sidebar.get_by_role("link", name="Campaigns", exact=True)).to_be_visible()


def test_an_unverified_email_is_refused_with_the_reason(page: Page, sso_server: str):
    sign_in_as(page, sso_server, "mallory")
    expect(page.get_by_text("is not verified")).to_be_visible(timeout=SLOW)
    expect(page.get_by_role("button", name="Use another company account")).to_be_visible()
    expect(page.get_by_test_id("stSidebar").get_by_role("button", name="Log out")).to_have_count(0)


def test_the_login_page_offers_the_company_sign_in(page: Page, sso_server: str, tmp_path: Path):
    page.goto(sso_server)
    settle(page)
    expect(page.get_by_role("button", name="Sign in with Acme")).to_be_visible()
    page.screenshot(path=str(tmp_path / "sso-login.png"), full_page=True)
    print(f"screenshots in {tmp_path}")
