"""Sessions in a real browser: the HttpOnly cookie, and sessions the server ends for good.

A cookie saved while signed in is replayed in a fresh browser context after each way a session
ends (log out, a password change, an admin disabling the account): it must no longer sign in.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.signin import demo_password

from .conftest import DATA_DIRS, WATCH_JS, change_page, log_in, settle

COOKIE = "quorum_session"


def new_page(browser: Browser, cookies: list | None = None) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(15_000)
    context.add_init_script(WATCH_JS)
    if cookies:
        context.add_cookies(cookies)
    return context, context.new_page()


def session_cookie(context: BrowserContext) -> dict:
    """The session cookie, once the page's background request has stored it."""
    for _ in range(50):
        found = [c for c in context.cookies() if c["name"] == COOKIE]
        if found:
            return found[0]
        context.pages[0].wait_for_timeout(100)
    raise AssertionError(f"no {COOKIE} cookie was set")


def log_out_button(page: Page):
    return page.get_by_test_id("stSidebar").get_by_role("button", name="Log out")


def expect_signed_in(page: Page) -> None:
    expect(log_out_button(page)).to_be_visible()


def expect_login_form(page: Page) -> None:
    expect(page.get_by_role("button", name="Log in", exact=True)).to_be_visible()
    expect(log_out_button(page)).to_have_count(0)


def replays(browser: Browser, server: str, cookie: dict) -> bool:
    """Whether a fresh browser holding only `cookie` is signed in."""
    context, page = new_page(browser, [cookie])
    try:
        page.goto(server)
        settle(page)
        return log_out_button(page).count() > 0
    finally:
        context.close()


def test_the_cookie_is_httponly_and_dies_at_log_out(browser, page, server):
    log_in(page, server, "ada")
    cookie = session_cookie(page.context)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]
    assert page.evaluate("document.cookie").find(COOKIE) == -1, "scripts cannot read it"
    assert replays(browser, server, cookie), "the cookie signs a fresh browser in"

    other_context, other = new_page(browser, [cookie])  # a second browser, signed in
    other.goto(server)
    expect_signed_in(other)

    log_out_button(page).click()
    expect_login_form(page)
    for _ in range(50):
        if not [c for c in page.context.cookies() if c["name"] == COOKIE]:
            break
        page.wait_for_timeout(100)
    else:
        raise AssertionError("the cookie was not deleted at log out")
    assert not replays(browser, server, cookie), "a cookie saved before Log out still works"
    # The other browser's next interaction goes to the login page.
    other.get_by_test_id("stSidebar").get_by_role("link", name="Leaderboard").click()
    expect_login_form(other)
    other_context.close()


def test_a_password_change_ends_every_other_session(browser, page, server):
    log_in(page, server, "luis")
    cookie = session_cookie(page.context)
    change_page(page, page.get_by_role("link", name="Profile"),
                page.get_by_role("heading", name="Change password"))
    page.get_by_label("Current password", exact=True).fill(
        demo_password(DATA_DIRS[server], "luis"))
    page.get_by_label("New password", exact=True).fill("lantern-pepper-orbit")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Password changed.")).to_be_visible()
    expect_signed_in(page)  # the browser that changed it stays signed in, on a new session
    assert not replays(browser, server, cookie), "a cookie saved before the change still works"
    fresh = session_cookie_after_reload(page, cookie)
    assert replays(browser, server, fresh)
    context, again = new_page(browser)
    log_in(again, server, "luis", "lantern-pepper-orbit")
    context.close()


def session_cookie_after_reload(page: Page, old: dict) -> dict:
    for _ in range(50):
        cookie = session_cookie(page.context)
        if cookie["value"] != old["value"]:
            return cookie
        page.wait_for_timeout(100)
    raise AssertionError("the browser kept its old session cookie")


def test_disabling_an_account_signs_it_out_everywhere(browser, page, server):
    log_in(page, server, "mei")
    cookie = session_cookie(page.context)
    admin_context, admin = new_page(browser)
    log_in(admin, server, "admin")
    change_page(admin, admin.get_by_role("link", name="Users and roles"),
                admin.get_by_role("heading", name="Change roles"))
    admin.get_by_test_id("stSelectbox").filter(has_text="Account").click()
    admin.keyboard.type("mei")  # the list is long: narrow it as a user would
    admin.get_by_role("option", name="mei", exact=True).click()
    admin.get_by_role("button", name="Disable account").click()
    expect(admin.get_by_text("Disabled mei and ended their sessions.")).to_be_visible()

    page.get_by_test_id("stSidebar").get_by_role("link", name="Leaderboard").click()
    expect_login_form(page)
    assert not replays(browser, server, cookie)
    page.get_by_label("Username", exact=True).fill("mei")
    page.get_by_label("Password", exact=True).fill(demo_password(DATA_DIRS[server], "mei"))
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_text("This account is disabled.")).to_be_visible()

    admin.get_by_role("button", name="Enable account").click()
    expect(admin.get_by_text("Enabled mei")).to_be_visible()
    admin_context.close()


def test_a_deep_link_lands_on_its_page_after_sign_in(page, server):
    page.goto(f"{server}/review")
    settle(page)
    expect_login_form(page)
    expect(page.get_by_text("Page not found")).to_have_count(0)
    page.get_by_label("Username", exact=True).fill("rita")
    page.get_by_label("Password", exact=True).fill(demo_password(DATA_DIRS[server], "rita"))
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", name="Review answers")).to_be_visible()
    assert urlsplit(page.url).path == "/review"


def test_a_page_beyond_the_role_says_so_instead_of_page_not_found(page, server):
    log_in(page, server, "ada")
    page.goto(f"{server}/users")
    expect(page.get_by_role("heading", name="You don't have access to Users and roles"))\
        .to_be_visible()
    expect(page.get_by_text("Page not found")).to_have_count(0)
    page.get_by_role("link", name="Go to My campaigns").click()
    expect(page.get_by_text("Hello, Ada")).to_be_visible()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _get(url: str) -> tuple[int, dict]:
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=10) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def test_the_cookie_route_sets_nothing_for_a_bad_code_and_never_leaves_the_site(server):
    status, headers = _get(f"{server}/auth/session?code=made-up")
    assert status == 403 and "set-cookie" not in {k.lower() for k in headers}
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"):
        status, headers = _get(f"{server}/auth/session?code=made-up&next={target}")
        assert status == 303 and headers["location"] == "/", target
    status, headers = _get(f"{server}/auth/session?code=made-up&next=/review?campaign=3")
    assert status == 303 and headers["location"] == "/review?campaign=3"
