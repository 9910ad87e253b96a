"""Click to next in a real browser: an expert's answer → the next item, a reviewer's Accept → the
next answer (issue 14: p95 ≤ 400 ms over ≥ 50 actions on this machine).

    python -m bench.browser_clicks [--actions 60] [--items 200] [--engine postgres]

It builds a fresh demo database (DuckDB, or PostgreSQL on a server it starts with
deploy/local_postgres) with one more live campaign of `--items` one-question
classification items (the expert `ada` can answer all of them), starts `streamlit run quorum.py`
on it, and drives Debian's chromium with Playwright: `ada` answers with the number key, then
`rita` accepts those answers one after the other with Review's Accept button. Each action is
timed in the page's own clock, from the key press or click until the first frame that
shows the next item's text, as a person sees it.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pandas as pd

from bench import machine
from core import campaigns, db, users, workflow, workspace
from server import settings

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/lib/chromium/chromium"
# The item texts on the page: its text, and what read-only text boxes hold (textContent, not
# innerText, which would force a layout each time it is read).
TEXTS = ("(() => { const main = document.querySelector('[data-testid=stMain]');"
         " if (!main) return ''; const boxes = Array.from(main.querySelectorAll('textarea,"
         " input'), e => e.value).join(' '); return (main.textContent + ' ' + boxes)"
         ".match(/Review number \\d+/g)?.join('|') ?? ''; })()")


def build(target: str, n_items: int) -> tuple[dict[str, str], int]:
    """The demo workspace plus a campaign for the benchmark; the demo passwords, its id."""
    conn = db.connect(target)
    now = settings.now()
    passwords = workspace.ensure(conn, now, demo=True, rounds=4)
    rita = users.get_user(conn, "rita")
    campaign = campaigns.create(
        conn, rita, spec_text=workflow.TEMPLATES["Classification"], now=now, status="live",
        title="Benchmark: sentiment of reviews", skill="general", language="en-US",
        minutes_per_item=0.1, pay_per_item=0.1, overlap=1, lease_minutes=30,
        opens_at=now - timedelta(days=1), expires_at=now + timedelta(days=7))
    items = pd.DataFrame({"payload": [{"text": f"Review number {n}"} for n in range(n_items)]})
    campaigns.add_items(conn, rita, campaign.id, items, now)
    conn.close()
    return passwords, campaign.id


def start(folder: Path, target: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    where = {"QUORUM_DATABASE_URL" if db.is_postgres_url(target) else "QUORUM_DB": target}
    env = {**os.environ, **where, "QUORUM_BCRYPT_ROUNDS": "4"}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "quorum.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=(folder / "server.log").open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            return process, url
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start; see " + str(folder / "server.log"))


def log_in(page, url: str, username: str, password: str) -> None:
    page.goto(url)
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.get_by_role("button", name="Log out").wait_for()
    for _ in range(100):  # the HttpOnly session cookie arrives on the run after the sign-in
        if any(c["name"] == "quorum_session" for c in page.context.cookies()):
            return
        time.sleep(0.1)
    raise RuntimeError("no session cookie after signing in")


# Times one action in the page's own clock: from the key press or pointer press (the event's
# time stamp) to the animation frame after the page's text changed to another item's, so
# neither the driver's round trips nor a polling interval are counted. The text is read when
# the page changes (a MutationObserver), not on every frame.
ARM = ("() => { const rec = window.__click = {start: null, end: null};"
       " const mark = e => { if (rec.start === null) rec.start = e.timeStamp; };"
       " for (const kind of ['keydown', 'pointerdown'])"
       "   document.addEventListener(kind, mark, {capture: true, once: true});"
       f" const text = () => {TEXTS}; const before = text();"
       " const seen = new MutationObserver(() => { const now = text();"
       "   if (!now || now === before) return; seen.disconnect();"
       "   requestAnimationFrame(() => { rec.end = performance.now(); }); });"
       " seen.observe(document.body, {subtree: true, childList: true, characterData: true,"
       " attributes: true}); }")


def timed(page, act) -> float:
    """Seconds from `act()`'s key or pointer press until the page shows another item text."""
    page.evaluate(ARM)
    act()
    page.wait_for_function("window.__click.end !== null", timeout=30_000)
    start, end = page.evaluate("[window.__click.start, window.__click.end]")
    if start is None:
        raise RuntimeError("the action pressed no key and no pointer")
    return (end - start) / 1000


def shown(page) -> None:
    """Wait until an item's text is on the page and the app is idle."""
    page.wait_for_function(TEXTS, timeout=60_000)
    settle(page)


def settle(page) -> None:
    page.wait_for_function("!document.querySelector('[data-testid=stStatusWidget]')",
                           timeout=30_000)


def expert_run(browser, url, password, campaign_id, actions) -> list[float]:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    log_in(page, url, "ada", password)
    page.goto(f"{url}/label?campaign={campaign_id}")
    shown(page)
    times = []
    for _ in range(actions + 4):  # the first two warm up; two more leave the reviewer a next one
        times.append(timed(page, lambda: page.keyboard.press("1")))
        settle(page)
    page.close()
    return times[2:]


def reviewer_run(browser, url, password, campaign_id, actions) -> list[float]:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    log_in(page, url, "rita", password)
    page.goto(f"{url}/review?campaign={campaign_id}")
    shown(page)
    times = []
    for _ in range(actions + 2):
        times.append(timed(page, page.locator(".st-key-review_accept button").click))
        settle(page)
    page.close()
    return times[2:]


def report(name: str, times: list[float]) -> None:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[max(0, round(0.95 * len(ms)) - 1)]
    print(f"{name}: n={len(ms)} median {statistics.median(ms):.0f} ms, p95 {p95:.0f} ms, "
          f"max {ms[-1]:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=60)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--engine", choices=["duckdb", "postgres"], default="duckdb")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    watch = machine.Watch()
    n_items = max(args.items, args.actions * 2 + 10)
    with tempfile.TemporaryDirectory(prefix="quorum-clicks-") as tmp, ExitStack() as stopped:
        folder = Path(tmp)
        target = str(folder / "quorum.duckdb")
        if args.engine == "postgres":
            from deploy import local_postgres
            server = local_postgres.start()
            stopped.callback(server.stop)
            target = server.url()
        passwords, campaign_id = build(target, n_items)
        process, url = start(folder, target)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM)
                expert = expert_run(browser, url, passwords["ada"], campaign_id, args.actions)
                reviewer = reviewer_run(browser, url, passwords["rita"], campaign_id,
                                        args.actions)
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=20)
    print(f"{args.engine}, {n_items:,} items; before: {watch.summary()} "
          "(stolen: over the whole run)")
    report("answer → next item", expert)
    report("accept → next answer", reviewer)


if __name__ == "__main__":
    main()
