"""Fixtures for the browser tests: a real Streamlit server and a headless Debian chromium."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.signin import demo_password

CHROMIUM = Path("/usr/lib/chromium/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60
QUIET_MS = 1000
DATA_DIRS: dict[str, Path] = {}  # a started server's URL → the folder of its database

# Notes when the app last did something: a script run starting or ending, or a component posting
# a value (which reruns the script). The login cookie's components post one after they mount.
WATCH_JS = """(() => {
  const w = window.__quorum = {busyAt: performance.now()};
  addEventListener("message", (e) => {
    if (e.data?.type === "streamlit:setComponentValue") w.busyAt = performance.now();
  });
  new MutationObserver(() => { w.busyAt = performance.now(); })
    .observe(document, {subtree: true, attributeFilter: ["data-test-script-state"]});
})();"""
QUIET_JS = """(quiet) => {
  const state = document.querySelector("[data-testid=stApp]")?.dataset.testScriptState;
  return state === "notRunning" && performance.now() - window.__quorum.busyAt > quiet;
}"""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is an e2e test; without chromium they skip, except on CI."""
    here = Path(__file__).parent
    missing = not CHROMIUM.exists()
    for item in items:
        if here not in Path(item.path).parents:
            continue
        item.add_marker(pytest.mark.e2e)
        if missing and os.environ.get("CI") != "true":
            item.add_marker(pytest.mark.skip(
                reason=f"no chromium at {CHROMIUM} (apt-get install chromium); on CI this fails"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the item, so the page fixture knows the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"streamlit not healthy after {START_TIMEOUT}s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., str]]:
    """A factory: start_server(QUORUM_EMPTY="1") runs the app on a fresh database, returns its URL.

    Every server started through it is stopped when the module's tests are done.
    """
    processes: list[subprocess.Popen] = []

    def start(**extra_env: str) -> str:
        work = tmp_path_factory.mktemp("server")
        port = _free_port()
        env = {**os.environ, "QUORUM_DB": str(work / "quorum.duckdb"),
               "QUORUM_BCRYPT_ROUNDS": "4", **extra_env}
        log = work / "streamlit.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "quorum.py", "--server.port", str(port),
                 "--server.address", "127.0.0.1", "--server.headless", "true"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, process, log)
        DATA_DIRS[url] = Path(env["QUORUM_DB"]).parent
        return url

    yield start
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def server(start_server: Callable[..., str]) -> str:
    """The base URL of a server on a fresh database with the demo workspace."""
    return start_server()


@pytest.fixture(scope="session", autouse=True)
def _require_chromium() -> None:
    """Only reached when the tests were not skipped: on CI a missing chromium is an error."""
    if not CHROMIUM.exists():
        pytest.fail(f"CI=true but there is no chromium at {CHROMIUM} (apt-get install chromium)")


@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the session (Debian's package; never `playwright install`)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request: pytest.FixtureRequest, tmp_path: Path):
    """A page in a fresh context (no cookies); on failure its screenshot goes to tmp_path."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(15_000)
    context.add_init_script(WATCH_JS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        shot = tmp_path / "failure.png"
        page.screenshot(path=shot, full_page=True)
        print(f"screenshot of the failure: {shot}")
    context.close()


def settle(page: Page) -> None:
    """Wait until no script has run and no component has posted a value for QUIET_MS."""
    page.wait_for_function(QUIET_JS, arg=QUIET_MS)


def change_page(page: Page, target: Locator, landmark: Locator, attempts: int = 3) -> None:
    """Click `target`, which leads to another page, until `landmark` shows there for good.

    A rerun that lands while the page changes (a fragment's tick, a component posting a value)
    can carry the previous page and undo the change, so the click is repeated, as a user would.
    """
    for _ in range(attempts):
        target.click()
        try:
            landmark.first.wait_for(timeout=10_000)
        except PlaywrightTimeoutError:
            continue  # undone before the new page was drawn
        settle(page)
        if landmark.count():
            return
    expect(landmark.first).to_be_visible()


def log_in(page: Page, server: str, username: str, password: str | None = None) -> None:
    """Sign in through the login form and wait until the signed-in frame is drawn.

    Without a password, a demo account's generated one is read from the server's data folder.
    """
    if password is None:
        password = demo_password(DATA_DIRS[server], username)
    page.goto(server)
    settle(page)
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_test_id("stSidebar").get_by_role("button", name="Log out")).to_be_visible()
    settle(page)


def option_button(form: Locator, option: str) -> Locator:
    """The button of a choice's option (drawn with its number key beside a text box)."""
    return form.get_by_role("button", name=re.compile(rf"^{re.escape(option)} Shortcut"))


def pick_option(form: Locator, option: str) -> None:
    """Press an option's button, as a click or its number key does, and wait until it shows
    as chosen."""
    button = option_button(form, option)
    button.click()
    expect(button).to_have_attribute("data-testid", "stBaseButton-primaryFormSubmit")
