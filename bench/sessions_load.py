"""Many signed-in Streamlit sessions on one app process, without browsers.

    python -m bench.sessions_load --sessions 50,100,200,300 --seconds 30 --teams 12
    python -m bench.sessions_load --page lobby --sessions 50,100 --seconds 30

Each session is a websocket client speaking Streamlit's protocol (`/_stcore/stream`) that
behaves as the browser does with the team pages (views/lobby.py): it asks for the page (a
`rerun_script` BackMsg) and reads ForwardMsgs until `script_finished`; when the page mounts its
live-events component (ui/live.py) it opens that component's event stream (`/events/…`, with
the session cookie) and, on each event, reruns the component's fragment with the component's
trigger set, as its script does; when the component's address changes it opens the new one
and closes the old. It also reruns any fragment the server asks to auto-rerun (`auto_rerun`),
which the pages no longer do.

`--page team` (the default): N team pages are connected: `--teams` active teams (two
members have voted everything and wait, the third is to vote) and, for the rest, idle teams of
three waiting for their third member (two voted the whole batch, the third has not started).
The server's CPU is measured for `--seconds` with nothing happening. Then, with all of them
still open, the active teams are played one after the other: the third member votes the batch
through the page (radio + submit button widget states). Vote → render is submit sent → the
next run finished; stage propagation is the last vote sent → each waiting member's team page
(the harness sends the page's script hash, as a browser does) drawn with the stage after Vote.
`--page lobby`: N experts wait in a lobby (as before push, for comparison), and one more reruns
its page every two seconds.

Reported per N: the server's CPU (share of one core, idle and while teams play) and memory,
the active member's vote → render, the stage propagation, and how long a woken page took
(event → its fragment's run finished). Everything runs on 127.0.0.1 against a server this
script starts on a fresh DuckDB database, and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd
import websockets
from streamlit.components.v2.bidi_component.main import _make_trigger_id
from streamlit.proto import BackMsg_pb2, ForwardMsg_pb2

from bench.revolt_sim import SPEC  # the same team task as the Revolt simulation
from bench.session_cookies import cookie_for
from core import campaigns, db, revolt, revolt_lobby, users, workspace

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BATCH = 3
TEAM = 3
DONE = ForwardMsg_pb2.ForwardMsg.ScriptFinishedStatus.Value("FINISHED_SUCCESSFULLY")
FRAGMENT_DONE = ForwardMsg_pb2.ForwardMsg.ScriptFinishedStatus.Value(
    "FINISHED_FRAGMENT_RUN_SUCCESSFULLY")


@dataclass
class Timings:
    polls: list[float] = field(default_factory=list)     # s, auto-rerun round trips
    clicks: list[float] = field(default_factory=list)    # s, active user's reruns or votes
    wakes: list[float] = field(default_factory=list)     # s, event → fragment run finished
    stages: list[float] = field(default_factory=list)    # s, last vote → next stage shown
    events: int = 0
    errors: list[str] = field(default_factory=list)


# --- the database ------------------------------------------------------------------------------

def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _campaign(conn, owner, items: int, title: str):
    now = _now()
    campaign = campaigns.create(
        conn, owner, spec_text=SPEC, now=now - timedelta(days=1), status="live",
        title=title, description="Many experts at once.", guidelines="Vote.",
        expertise_level="Any", expertise_type="Anyone", skill="arts", language="en-US",
        kind="revolt", minutes_per_item=1, pay_per_item=1, overlap=1,
        opens_at=now - timedelta(days=1), expires_at=now + timedelta(days=7))
    campaigns.add_items(conn, owner, campaign.id, pd.DataFrame(
        {"payload": [{"text": f"Item {n}"} for n in range(items)]}), now - timedelta(days=1))
    return campaign


def _people(conn, count: int, prefix: str) -> list[str]:
    now = _now()
    names = [f"{prefix}{n:03d}" for n in range(count)]
    for name in names:
        users.register(conn, username=name, name=name.title(), email=f"{name}@example.com",
                       password="bench-waiting-2026", expertise=[("arts", "en-US")], now=now,
                       rounds=4)
    return names


def _owner(conn):
    users.register(conn, username="owner", name="Owner", email="owner@example.com",
                   password="bench-lobby-2026", expertise=[("arts", "en-US")], now=_now(),
                   rounds=4)
    return users.get_user(conn, "owner")


def _team(conn, names: list[str], campaign_id: int, voters: int, rules) -> int:
    """A team of `names` whose first `voters` members voted the whole batch ("Yes")."""
    members = [users.get_user(conn, n) for n in names]
    for member in members:
        revolt_lobby.enter(conn, member, campaign_id, _now(), rules)
    for member in members:
        team_id = revolt_lobby.set_ready(conn, member, campaign_id, _now(), rules).team_id
    items = [i for (i,) in conn.execute("SELECT item_id FROM revolt_batch WHERE team_id = ? "
                                        "ORDER BY position", [team_id]).fetchall()]
    for member in members[:voters]:
        for item in items:
            revolt.vote(conn, member, team_id, item, "Yes", _now(), rules)
    return team_id


@dataclass
class World:
    path: Path
    campaign_id: int
    idle: list[str]                   # cookies of idle sessions
    active: list[list[str]]           # per active team: the voter's cookie, then the waiting


def prepare_teams(folder: Path, idle: int, active: int) -> World:
    """Idle teams of three (two voted, one has not started) and `active` teams whose third
    member is to vote during the run."""
    path = folder / "quorum.duckdb"
    conn = db.connect(path)
    workspace.ensure(conn, _now(), demo=False)
    owner = _owner(conn)
    idle_teams = math.ceil(idle / TEAM)
    campaign = _campaign(conn, owner, (idle_teams + active) * BATCH, "Team load")
    rules = revolt.Settings(team_size=TEAM, batch_size=BATCH)
    names = _people(conn, (idle_teams + active) * TEAM, "member")
    idle_cookies, active_cookies = [], []
    for t in range(idle_teams):
        trio = names[t * TEAM:(t + 1) * TEAM]
        _team(conn, trio, campaign.id, voters=2, rules=rules)
        idle_cookies += [cookie_for(conn, n) for n in trio]
    for t in range(idle_teams, idle_teams + active):
        trio = names[t * TEAM:(t + 1) * TEAM]
        _team(conn, trio, campaign.id, voters=2, rules=rules)
        # the third (who has not voted) is the one who votes during the run
        active_cookies.append([cookie_for(conn, n) for n in (trio[2], trio[0], trio[1])])
    conn.close()
    return World(path, campaign.id, idle_cookies, active_cookies)


def prepare_lobby(folder: Path, experts: int) -> World:
    """A team campaign with `experts` experts who fit it, waiting in its lobby."""
    path = folder / "quorum.duckdb"
    conn = db.connect(path)
    workspace.ensure(conn, _now(), demo=False)
    campaign = _campaign(conn, _owner(conn), 12, "Lobby load")
    names = _people(conn, experts, "member")
    for name in names:  # everyone already waits in the lobby, as after pressing Join
        revolt_lobby.enter(conn, users.get_user(conn, name), campaign.id, _now(),
                           revolt.Settings(team_size=experts + 1))
    cookies = [cookie_for(conn, name) for name in names]
    conn.close()
    return World(path, campaign.id, cookies[1:], [[cookies[0]]])


def freshen(path: Path) -> None:
    """Everyone's presence as of now, just before the server starts: preparing a large world
    takes longer than the dropout time."""
    conn = db.connect(path)
    now = _now()
    conn.execute("UPDATE revolt_members SET last_seen = ?", [now])
    conn.execute("UPDATE revolt_lobby SET last_seen = ?", [now])
    conn.close()


def start_server(database: Path, port: int, team_size: int) -> subprocess.Popen:
    env = {**os.environ, "QUORUM_DB": str(database), "QUORUM_EMPTY": "1",
           "QUORUM_REVOLT_TEAM_SIZE": str(team_size), "QUORUM_REVOLT_BATCH_SIZE": str(BATCH)}
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


# --- a browser tab -----------------------------------------------------------------------------

def rerun(page: str, query: str, fragment: str = "", widgets=None, auto: bool = False,
          page_hash: str = "") -> bytes:
    """A rerun as the browser sends it: after the first run, with the page's script hash (the
    browser's current page), so a fragment's st.rerun draws that page again, not the default."""
    message = BackMsg_pb2.BackMsg()
    state = message.rerun_script
    state.query_string = query
    state.page_name = page
    state.page_script_hash = page_hash
    if fragment:
        state.fragment_id = fragment
        state.is_auto_rerun = auto
    if widgets is not None:
        state.widget_states.CopyFrom(widgets)
    return message.SerializeToString()


class Tab:
    """One signed-in browser tab on a team page, as the server sees it."""

    def __init__(self, base: str, cookie: str, query: str, timings: Timings,
                 http: httpx.AsyncClient, page: str = "lobby"):
        self.base, self.cookie, self.query, self.page = base, cookie, query, page
        self.timings, self.http = timings, http
        self.fragments: dict[str, float] = {}   # auto-rerun fragment id → interval (s)
        self.runs = 0                           # full or fragment runs finished
        self.full_run = asyncio.Event()         # set when a whole-page run finished
        self.finished = asyncio.Condition()
        self.component: tuple[str, str, str] | None = None  # id, address, fragment
        self.radio: tuple[str, list[str]] | None = None
        self.submit: str | None = None
        self.progress = ""
        self.progress_changed = asyncio.Event()
        self.stream: asyncio.Task | None = None
        self.streaming = asyncio.Event()
        self.woken_at: float | None = None
        self.tasks: list[asyncio.Task] = []
        self.events_here = 0                    # events this page's stream delivered
        self.marked = (0, 0)                    # events and runs when the last vote went
        self.stream_opened = 0.0
        self.opens = 0                          # streams opened (one per address)
        self.page_hash = ""                     # the page drawn, from navigation

    async def open(self) -> None:
        url = self.base.replace("http", "ws", 1) + "/_stcore/stream"
        self.ws = await websockets.connect(url, subprotocols=["streamlit"],
                                           additional_headers={"Cookie": self.cookie},
                                           max_size=None, open_timeout=60)
        self.tasks.append(asyncio.create_task(self._read()))
        await self.run_and_wait(self.rerun())
        for fragment, interval in self.fragments.items():
            self.tasks.append(asyncio.create_task(self._tick(fragment, interval)))

    async def close(self) -> None:
        for task in [*self.tasks, *([self.stream] if self.stream else [])]:
            task.cancel()
        await self.ws.close()

    def mark(self) -> None:
        """The last vote is about to be sent: remember what this page had."""
        self.full_run.clear()
        self.marked = (self.events_here, self.runs)

    def what_it_saw(self) -> str:
        """Since the mark, in words: for a page that missed a stage change."""
        events, runs = self.marked
        stream = "open" if self.streaming.is_set() else "not open"
        address = self.component[1] if self.component else None
        opened = (f"opened {time.perf_counter() - self.stream_opened:.1f} s ago"
                  if self.stream_opened else "never opened")
        return (f"{self.events_here - events} events and {self.runs - runs} runs since the "
                f"vote; it shows {self.progress!r}; its stream is {stream} on {address}, "
                f"{opened} ({self.opens} opened in all)")

    def rerun(self, fragment: str = "", widgets=None, auto: bool = False) -> bytes:
        return rerun(self.page, self.query, fragment, widgets, auto, self.page_hash)

    async def run_and_wait(self, message: bytes, timeout: float = 60) -> float:
        """Send a rerun; wait for a run that finished drawing (not one cut short)."""
        async with self.finished:
            before = self.runs
            started = time.perf_counter()
            await self.ws.send(message)
            await asyncio.wait_for(self.finished.wait_for(lambda: self.runs > before), timeout)
        return time.perf_counter() - started

    async def vote(self, label: str) -> float:
        """Choose `label` and press Submit vote, as the browser sends it."""
        from streamlit.proto import WidgetStates_pb2
        assert self.radio and self.submit, "no vote form on the page"
        widgets = WidgetStates_pb2.WidgetStates()
        widgets.widgets.add(id=self.radio[0], string_value=label)
        widgets.widgets.add(id=self.submit, trigger_value=True)
        self.radio = self.submit = None
        return await self.run_and_wait(self.rerun(widgets=widgets))

    async def _tick(self, fragment: str, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                took = await self.run_and_wait(self.rerun(fragment, auto=True), 30)
            except TimeoutError:
                self.timings.errors.append("poll timed out")
                continue
            self.timings.polls.append(took)

    async def _read(self) -> None:
        async for raw in self.ws:
            message = ForwardMsg_pb2.ForwardMsg()
            message.ParseFromString(raw)
            kind = message.WhichOneof("type")
            if kind == "navigation":  # the page this run drew, as the browser keeps it
                self.page_hash = message.navigation.page_script_hash
            elif kind == "auto_rerun":
                self.fragments[message.auto_rerun.fragment_id] = message.auto_rerun.interval
            elif kind == "delta":
                self._element(message.delta)
            elif kind == "script_finished" and message.script_finished in (DONE, FRAGMENT_DONE):
                if message.script_finished == DONE:
                    self.full_run.set()
                async with self.finished:
                    self.runs += 1
                    self.finished.notify_all()
                if self.woken_at is not None:
                    self.timings.wakes.append(time.perf_counter() - self.woken_at)
                    self.woken_at = None

    def _element(self, delta) -> None:
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        if kind == "bidi_component":
            address = json.loads(element.bidi_component.json)["url"]
            if self.component is None or self.component[1] != address:
                if self.stream is not None:
                    self.stream.cancel()
                self.streaming.clear()
                self.opens += 1
                self.stream = asyncio.create_task(self._listen(address))
            self.component = (element.bidi_component.id, address, delta.fragment_id)
        elif kind == "radio":
            self.radio = (element.radio.id, list(element.radio.options))
        elif kind == "button" and element.button.is_form_submitter:
            self.submit = element.button.id
        elif kind == "progress" and element.progress.text != self.progress:
            self.progress = element.progress.text
            self.progress_changed.set()

    async def _listen(self, address: str) -> None:
        """The component's EventSource: on each event, rerun its fragment with the trigger."""
        from streamlit.proto import WidgetStates_pb2
        try:
            async with self.http.stream("GET", self.base + address,
                                        headers={"Cookie": self.cookie}) as response:
                if response.status_code != 200:
                    self.timings.errors.append(f"stream refused: {response.status_code}")
                    return
                self.streaming.set()
                self.stream_opened = time.perf_counter()
                kind = "message"
                async for line in response.aiter_lines():
                    if line.startswith("event: "):
                        kind = line[7:]  # "boot" names the server process; not a move
                    if not line:
                        kind = "message"
                    if not line.startswith("data: ") or kind != "message" or not self.component:
                        continue
                    self.timings.events += 1
                    self.events_here += 1
                    widgets = WidgetStates_pb2.WidgetStates()
                    widgets.widgets.add(
                        id=_make_trigger_id(self.component[0], "events"),
                        json_trigger_value=json.dumps([{"event": "moved",
                                                        "value": line[6:]}]))
                    self.woken_at = time.perf_counter()
                    await self.ws.send(self.rerun(self.component[2], widgets))
        except (httpx.HTTPError, websockets.ConnectionClosed) as error:
            self.timings.errors.append(f"stream: {error!r}")


# --- measuring ---------------------------------------------------------------------------------

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


async def connect_all(base: str, cookies: list[str], query: str, timings: Timings,
                      http: httpx.AsyncClient, page: str) -> list[Tab]:
    tabs = [Tab(base, c, query, timings, http, page) for c in cookies]
    for start in range(0, len(tabs), 20):  # a few at a time, as people arrive
        await asyncio.gather(*(t.open() for t in tabs[start:start + 20]))
    return tabs


async def play_team(team: list[Tab], timings: Timings) -> None:
    """The voter votes the batch; the two waiting members' pages must show the next stage.

    The team's pages were opened with everyone else's, at the start: a member whose page was
    not open for the dropout time (60 s; connecting 300 sessions takes longer) would be
    dropped, as a real one would."""
    voter, *waiting = team
    for tab in team:
        try:
            await asyncio.wait_for(tab.streaming.wait(), 10)
        except TimeoutError:
            timings.errors.append(f"no event stream (component {tab.component})")
    await asyncio.sleep(0.5)
    for n in range(BATCH):
        last = n == BATCH - 1
        if last:
            for tab in waiting:
                tab.mark()
        sent = time.perf_counter()
        timings.clicks.append(await voter.vote("Yes"))
        if last:
            for tab in waiting:
                try:
                    # The event reruns the waiting room's fragment, which sees the stage moved
                    # and reruns the whole page: that run finishing is the next stage shown.
                    await asyncio.wait_for(tab.full_run.wait(), 15)
                    timings.stages.append(time.perf_counter() - sent)
                except TimeoutError:
                    timings.errors.append("the next stage did not show within 15 s: "
                                          + tab.what_it_saw())
        else:
            await asyncio.sleep(1)
    for tab in team:
        await tab.close()


async def measure(base: str, world: World, seconds: float, pid: int, page: str) -> dict:
    query = f"campaign={world.campaign_id}"
    idle_timings, active = Timings(), Timings()
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=httpx.Timeout(None, connect=30), limits=limits) as http:
        teams = [await connect_all(base, cookies, query, active, http, "lobby")
                 for cookies in (world.active if page == "team" else [])]
        tabs = await connect_all(base, world.idle, query, idle_timings, http, "lobby")
        await asyncio.sleep(8)  # their first presence written, the events it caused settled
        idle_timings.wakes.clear()
        active.wakes.clear()
        events0 = idle_timings.events
        cpu0, wall0 = cpu_seconds(pid), time.monotonic()
        if page == "lobby":  # as before push: one more expert reruns its page every 2 s
            clicker = (await connect_all(base, world.active[0], query, active, http, "lobby"))[0]
            until = time.monotonic() + seconds
            while time.monotonic() < until:
                await asyncio.sleep(2)
                active.clicks.append(await clicker.run_and_wait(clicker.rerun()))
            tabs.append(clicker)
        else:
            await asyncio.sleep(seconds)
        cpu1, wall1 = cpu_seconds(pid), time.monotonic()
        idle_events = idle_timings.events - events0
        for team in teams:
            await play_team(team, active)
        cpu2, wall2 = cpu_seconds(pid), time.monotonic()
        rss = rss_mib(pid)
        for tab in tabs:
            await tab.close()
    out = {"sessions": len(world.idle) + sum(map(len, teams)),
           "cpu_idle": (cpu1 - cpu0) / (wall1 - wall0),
           "idle_events": idle_events, "rss_mib": rss,
           "click_p50_ms": 1000 * percentile(active.clicks, 0.5),
           "click_p95_ms": 1000 * percentile(active.clicks, 0.95),
           "clicks": len(active.clicks)}
    if page == "team":
        out.update({"cpu_playing": (cpu2 - cpu1) / (wall2 - wall1),
                    "stage_p50_ms": 1000 * percentile(active.stages, 0.5),
                    "stage_p95_ms": 1000 * percentile(active.stages, 0.95),
                    "stage_max_ms": 1000 * max(active.stages, default=float("nan")),
                    "stages": len(active.stages),
                    "wake_p95_ms": 1000 * percentile(active.wakes, 0.95)})
    if idle_timings.polls:
        out["poll_p95_ms"] = 1000 * percentile(idle_timings.polls, 0.95)
    out["errors"] = len(idle_timings.errors) + len(active.errors)
    for error in sorted(set(idle_timings.errors + active.errors)):
        print("  error:", error, file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="50,100,200,300")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--teams", type=int, default=12, help="active teams played (team page)")
    parser.add_argument("--page", choices=("team", "lobby"), default="team")
    args = parser.parse_args()
    from deploy.local_postgres import free_port
    for count in (int(n) for n in args.sessions.split(",")):
        with tempfile.TemporaryDirectory(prefix="quorum-load-") as folder:
            if args.page == "team":
                # N counts every open page: the active teams' and the idle ones'
                idle = max(0, count - args.teams * TEAM)
                world, team_size = prepare_teams(Path(folder), idle, args.teams), TEAM
            else:
                world, team_size = prepare_lobby(Path(folder), count + 1), count + 2
            freshen(world.path)
            port = free_port()
            server = start_server(world.path, port, team_size)
            try:
                result = asyncio.run(measure(f"http://127.0.0.1:{port}", world, args.seconds,
                                             server.pid, args.page))
            finally:
                server.terminate()
                server.wait(timeout=20)
        print(" ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in result.items()), flush=True)
        print(f"  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)


if __name__ == "__main__":
    main()
