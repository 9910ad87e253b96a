"""Screenshots of Quorum at 1400 px against `streamlit run quorum.py` on a fresh demo database.

    python docs/screenshots.py                 # docs/screenshot.png, the README's picture
    python docs/screenshots.py --all /tmp/shots  # every page for every demo role, for review

It starts its own server on a free port with a new database in a temporary folder (so the demo
workspace is freshly built), drives Debian's chromium with Playwright, and stops the server at the
end. Signing in goes through tests/e2e/conftest.py's log_in, like the browser tests.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, DATA_DIRS, WATCH_JS, log_in, settle  # noqa: E402

WIDTH = 1400
# Each demo role (signed in with the password the demo made) and the pages it opens: sidebar
# titles, or paths with a query (a page opened on a campaign that has answers, so charts and
# tables are not empty).
ROLES = {
    "ada": ["My campaigns", "Label", "Team session", "Leaderboard", "Profile",
            "label?campaign=1"],
    "rita": ["Campaigns", "Design", "Monitor", "Review", "Concept review", "Models", "Profile",
             "monitor?campaign=15", "review?campaign=15", "design?campaign=1"],
    "admin": ["Impact", "Users and roles", "Directory mapping"],
    "mei": ["My campaigns", "Team session"],  # the team campaign fits her
}


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(folder: Path) -> tuple[subprocess.Popen, str]:
    """`streamlit run quorum.py` on a new database in `folder`; returns it once healthy."""
    port = free_port()
    env = {**os.environ, "QUORUM_DB": str(folder / "quorum.duckdb"), "QUORUM_BCRYPT_ROUNDS": "4"}
    log = (folder / "streamlit.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "quorum.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    DATA_DIRS[url] = folder  # where log_in finds the demo's generated passwords
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"streamlit exited:\n{(folder / 'streamlit.log').read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return process, url
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("streamlit did not become healthy in 120 s")


def shoot(page: Page, path: Path) -> None:
    """Wait until the page is quiet, then save what the window shows."""
    page.mouse.move(WIDTH - 5, 5)  # no hover effects (heading anchors, tooltips) in the picture
    settle(page)
    time.sleep(0.5)  # let charts and data grids draw their last frame
    page.screenshot(path=path)
    print(path)


def open_page(page: Page, url: str, target: str) -> None:
    """A sidebar page by its title, or a path such as "monitor?campaign=15" by its address."""
    if "?" in target:
        page.goto(f"{url}/{target}")
    else:
        page.get_by_test_id("stSidebarNav").get_by_role("link", name=target, exact=True).click()
    time.sleep(0.5)


def readme_picture(browser, url: str, out: Path) -> None:
    """The expert's home, as the README shows it."""
    context = browser.new_context(viewport={"width": WIDTH, "height": 900})
    context.add_init_script(WATCH_JS)
    page = context.new_page()
    log_in(page, url, "ada")
    shoot(page, out)
    context.close()


def every_page(browser, url: str, folder: Path, height: int) -> None:
    """The login page, then every page of every demo role."""
    folder.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": WIDTH, "height": height})
    context.add_init_script(WATCH_JS)
    page = context.new_page()
    page.goto(url)
    shoot(page, folder / "login.png")
    context.close()
    for user, targets in ROLES.items():
        context = browser.new_context(viewport={"width": WIDTH, "height": height})
        context.add_init_script(WATCH_JS)
        page = context.new_page()
        log_in(page, url, user)
        for target in targets:
            open_page(page, url, target)
            name = target.replace(" ", "_").replace("?", "-").replace("=", "")
            shoot(page, folder / f"{user}-{name}.png")
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", metavar="FOLDER", type=Path,
                        help="shoot every page for every role into FOLDER instead")
    parser.add_argument("--height", type=int, default=2000,
                        help="window height for --all (default 2000: most pages fit)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        process, url = start_server(Path(work))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                     headless=True, args=CHROMIUM_ARGS)
                if args.all:
                    every_page(browser, url, args.all, args.height)
                else:
                    readme_picture(browser, url, ROOT / "docs" / "screenshot.png")
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=20)


if __name__ == "__main__":
    main()
