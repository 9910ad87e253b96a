"""Many signed-in Streamlit sessions on one app process, without browsers.

    python -m bench.sessions_load --sessions 50,100,200,300 --seconds 45

Each session is a websocket client speaking Streamlit's protocol (`/_stcore/stream`): it asks
for a page as a browser does (a `rerun_script` BackMsg), reads ForwardMsgs until
`script_finished`, and, like the browser, reruns every fragment the server asks to auto-rerun
(`auto_rerun`, with its interval). The sessions are experts waiting in a team campaign's lobby,
whose page polls once a second; one more expert, the "active" one, reruns its whole page every
two seconds, as a click does, and that click → rendered time is measured. Reported per N: the
server's CPU (share of one core) and memory, the poll round trip (fragment rerun sent →
`script_finished`) and the active click → render time.

Everything runs on 127.0.0.1 against a server this script starts on a fresh database, and stops
by itself after `--seconds` per step.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import websockets
from streamlit.proto import BackMsg_pb2, ForwardMsg_pb2

from bench.session_cookies import cookie_for
from core import campaigns, db, revolt, revolt_lobby, users, workflow, workspace

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Timings:
    polls: list[float] = field(default_factory=list)     # seconds, fragment rerun round trips
    clicks: list[float] = field(default_factory=list)    # seconds, active user's full reruns
    errors: list[str] = field(default_factory=list)


def prepare(folder: Path, experts: int) -> tuple[Path, int, list[str]]:
    """A database with a team campaign and `experts` experts who fit it, waiting in its lobby;
    returns its path, the campaign and a sign-in cookie for each expert."""
    path = folder / "quorum.duckdb"
    now = datetime.now(UTC).replace(tzinfo=None)
    conn = db.connect(path)
    workspace.ensure(conn, now, demo=False)
    owner = users.register(conn, username="owner", name="Owner", email="owner@example.com",
                           password="bench-lobby-2026", expertise=[("arts", "en-US")], now=now,
                           rounds=4)
    names = [f"member{n:03d}" for n in range(experts)]
    for name in names:
        users.register(conn, username=name, name=name.title(), email=f"{name}@example.com",
                       password="bench-waiting-2026", expertise=[("arts", "en-US")], now=now,
                       rounds=4)
    spec = workflow.TEMPLATES["Classification"]
    campaign = campaigns.create(
        conn, owner, spec_text=spec, now=now - timedelta(days=1), status="live",
        title="Lobby load", description="Many experts waiting for a team.", guidelines="Vote.",
        expertise_level="Any", expertise_type="Anyone", skill="arts", language="en-US",
        kind="revolt", minutes_per_item=1, pay_per_item=1, overlap=1,
        opens_at=now - timedelta(days=1), expires_at=now + timedelta(days=7))
    import pandas as pd
    campaigns.add_items(conn, owner, campaign.id, pd.DataFrame(
        {"payload": [{"text": f"Item {n}"} for n in range(12)]}), now - timedelta(days=1))
    for name in names:  # everyone already waits in the lobby, as after pressing Join
        revolt_lobby.enter(conn, users.get_user(conn, name), campaign.id, now,
                           revolt.Settings(team_size=experts + 1))
    cookies = [cookie_for(conn, name) for name in names]
    conn.close()
    return path, campaign.id, cookies


def start_server(database: Path, port: int, team_size: int) -> subprocess.Popen:
    env = {**os.environ, "QUORUM_DB": str(database), "QUORUM_EMPTY": "1",
           # Teams never form while N experts wait: the lobby is the idle page measured.
           "QUORUM_REVOLT_TEAM_SIZE": str(team_size)}
    log = (database.parent / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "quorum.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start within 60 s")


def rerun(page: str, query: str, fragment: str = "", widgets=None) -> bytes:
    message = BackMsg_pb2.BackMsg()
    state = message.rerun_script
    state.query_string = query
    state.page_name = page
    if fragment:
        state.fragment_id = fragment
        state.is_auto_rerun = True
    if widgets is not None:
        state.widget_states.CopyFrom(widgets)
    return message.SerializeToString()


class Session:
    """One signed-in browser tab, as the server sees it."""

    def __init__(self, url: str, cookie: str, page: str, query: str, timings: Timings):
        self.url, self.cookie, self.page, self.query = url, cookie, page, query
        self.timings = timings
        self.fragments: dict[str, float] = {}  # fragment id → interval (s)
        self.finished = asyncio.Event()

    async def run(self, until: float, active: bool = False) -> None:
        headers = {"Cookie": self.cookie}
        async with websockets.connect(self.url, subprotocols=["streamlit"],
                                      additional_headers=headers, max_size=None,
                                      open_timeout=60) as ws:
            self.ws = ws
            reader = asyncio.create_task(self._read())
            await self._full_rerun()
            tickers = [asyncio.create_task(self._tick(f, i, until))
                       for f, i in self.fragments.items()]
            if active:
                await self._click_loop(until)
            else:
                await asyncio.sleep(max(0.0, until - time.monotonic()))
            for task in tickers:
                task.cancel()
            reader.cancel()

    async def _full_rerun(self) -> float:
        self.finished.clear()
        started = time.perf_counter()
        await self.ws.send(rerun(self.page, self.query))
        await asyncio.wait_for(self.finished.wait(), 60)
        return time.perf_counter() - started

    async def _tick(self, fragment: str, interval: float, until: float) -> None:
        while time.monotonic() < until:
            await asyncio.sleep(interval)
            self.finished.clear()
            started = time.perf_counter()
            await self.ws.send(rerun(self.page, self.query, fragment))
            try:
                await asyncio.wait_for(self.finished.wait(), 30)
            except TimeoutError:
                self.timings.errors.append("poll timed out")
                continue
            self.timings.polls.append(time.perf_counter() - started)

    async def _click_loop(self, until: float) -> None:
        while time.monotonic() < until:
            await asyncio.sleep(2)
            self.timings.clicks.append(await self._full_rerun())

    async def _read(self) -> None:
        async for raw in self.ws:
            message = ForwardMsg_pb2.ForwardMsg()
            message.ParseFromString(raw)
            kind = message.WhichOneof("type")
            if kind == "auto_rerun":
                self.fragments[message.auto_rerun.fragment_id] = message.auto_rerun.interval
            elif kind == "script_finished":
                self.finished.set()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def measure(url: str, cookies: list[str], campaign_id: int, seconds: float,
                  pid: int) -> dict:
    timings = Timings()
    query = f"campaign={campaign_id}"
    idle = [Session(url, c, "lobby", query, timings) for c in cookies[1:]]
    active_timings = Timings()
    active = Session(url, cookies[0], "lobby", query, active_timings)
    warm = time.monotonic() + 10 + len(cookies) * 0.05  # connect everyone, then measure
    until = warm + seconds
    tasks = [asyncio.create_task(s.run(until)) for s in idle]
    await asyncio.sleep(max(0.0, warm - time.monotonic()))
    cpu0, wall0 = cpu_seconds(pid), time.monotonic()
    polls_before = len(timings.polls)
    await active.run(until, active=True)
    cpu1, wall1 = cpu_seconds(pid), time.monotonic()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    failures = [repr(r) for r in results if isinstance(r, BaseException)]
    polls = timings.polls[polls_before:]
    return {"sessions": len(cookies), "cpu_share": (cpu1 - cpu0) / (wall1 - wall0),
            "rss_mib": rss_mib(pid), "polls": len(polls),
            "poll_p50_ms": 1000 * percentile(polls, 0.5),
            "poll_p95_ms": 1000 * percentile(polls, 0.95),
            "poll_max_ms": 1000 * max(polls, default=float("nan")),
            "click_p50_ms": 1000 * percentile(active_timings.clicks, 0.5),
            "click_p95_ms": 1000 * percentile(active_timings.clicks, 0.95),
            "errors": len(timings.errors) + len(failures)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="50,100,200,300")
    parser.add_argument("--seconds", type=float, default=45)
    args = parser.parse_args()
    steps = [int(n) for n in args.sessions.split(",")]
    from deploy.local_postgres import free_port
    for count in steps:
        with tempfile.TemporaryDirectory(prefix="quorum-load-") as folder:
            path, campaign_id, cookies = prepare(Path(folder), count)
            port = free_port()
            server = start_server(path, port, team_size=count + 1)
            try:
                url = f"ws://127.0.0.1:{port}/_stcore/stream"
                result = asyncio.run(measure(url, cookies, campaign_id, args.seconds,
                                             server.pid))
            finally:
                server.terminate()
                server.wait(timeout=20)
        print(" ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in result.items()), flush=True)
        print(f"  load average: {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
