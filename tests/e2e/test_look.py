"""Quorum's look in a real browser: a quick first visit, our own logo, the program's home."""

from __future__ import annotations

import time
from collections.abc import Callable

from playwright.sync_api import Page, expect

from .conftest import log_in

# The demo takes ~13 s to build on an idle 2-core machine (longer when loaded); the server builds
# it before it answers /health, so the first visit costs no more than any later one.
DEMO_BUILD_SECONDS = 8


def visit(page: Page, server: str) -> float:
    """Seconds from opening the site to the login form beside the demo workspace."""
    began = time.monotonic()
    page.goto(server)
    expect(page.get_by_label("Username", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Demo workspace")).to_be_visible()
    return time.monotonic() - began


def test_first_visit_to_a_fresh_server_does_not_wait_for_the_demo(
        start_server: Callable[..., str], page: Page) -> None:
    server = start_server()  # a new database: the demo workspace is built as the server starts
    first = visit(page, server)
    again = visit(page.context.new_page(), server)
    assert first < again + DEMO_BUILD_SECONDS, (first, again)


def test_the_logo_and_home_are_quorums_own(server: str, page: Page) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    log_in(page, server, "ada")
    logo = page.get_by_test_id("stSidebarLogo")
    expect(logo).to_be_visible()
    # Our own file, inlined or served by this server; never an address elsewhere.
    assert logo.get_attribute("src").startswith(("data:image/svg+xml", f"{server}/media/"))
    expect(page.get_by_text("QUORUM · THE EXPERT PROGRAM")).to_be_visible()
    expect(page.get_by_role("heading", name="Hello, Ada")).to_be_visible()
    expect(page.get_by_test_id("stMetric").filter(has_text="Rank this month")).to_be_visible()
    expect(page.get_by_text("English (United States)").first).to_be_visible()
    assert all(url.startswith((server, "data:", "blob:")) for url in requests), [
        url for url in requests if not url.startswith((server, "data:", "blob:"))]
