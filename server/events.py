"""Server-sent events for team pages: `/events/team/{id}` and `/events/lobby/{campaign_id}`.

A waiting member's page opens one event stream (ui/live.py) and reruns only when an event
arrives. Behind the streams, one change feed per process: one asyncio task that, once per
tick, reads the versions of every team and lobby someone here watches in one query
(core/revolt_live.py) and wakes only the streams whose version moved. Every
`Settings.beat_seconds` it also writes the presence of every open stream in one batched write
and does the work the clock makes due (dropping a member silent for the dropout time, forming
teams, ending abandoned ones). A closed tab closes its stream, so its presence stops and the
dropout still fires. The feed reads only the database, so streams on other replicas see the
same moves; after a restart the browser's EventSource reconnects by itself.

A stream starts from the version the page was drawn with (`?since=`): if the team moved in
between, the first event comes at once, so no move falls between a render and its stream. Its
first event (`boot`) names this server process: a page drawn by another one reloads (after a
restart the browser's Streamlit session is new and knows none of the page's fragments).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass, field

import anyio
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from core import revolt, revolt_live, sessions
from core.errors import DomainError, Forbidden, NotFound
from core.revolt_live import LOBBY, TEAM, Version
from server import runtime, settings

log = logging.getLogger("quorum.events")
KEEPALIVE_SECONDS = 15  # a comment line now and then, so proxies keep the stream open
RETRY_MS = 2000         # how soon the browser reconnects after the server went away
# Named in each stream's first event: a page that sees another one was drawn by a server
# process that is gone, whose Streamlit session (and fragments) the browser no longer has.
BOOT = secrets.token_hex(8)
Topic = tuple[str, int]


def rules() -> revolt.Settings:
    """Team size, batch size and timeouts from QUORUM_REVOLT_* variables, or the defaults."""
    env, default = os.environ, revolt.Settings()
    return revolt.Settings(
        team_size=int(env.get("QUORUM_REVOLT_TEAM_SIZE", default.team_size)),
        batch_size=int(env.get("QUORUM_REVOLT_BATCH_SIZE", default.batch_size)),
        ready_seconds=float(env.get("QUORUM_REVOLT_READY_SECONDS", default.ready_seconds)),
        dropout_seconds=float(env.get("QUORUM_REVOLT_DROPOUT_SECONDS", default.dropout_seconds)),
    )


def tick_seconds() -> float:
    """How often the feed reads the versions (QUORUM_EVENTS_TICK_SECONDS, default 0.25)."""
    return float(os.environ.get("QUORUM_EVENTS_TICK_SECONDS", "0.25"))


def encode(version: Version) -> str:
    """A version as it travels in an event and in `?since=`."""
    return ".".join(str(v) for v in version) or "-"


def decode(text: str | None) -> Version | None:
    """The version of `?since=`, or None when absent or not one."""
    if text is None:
        return None
    if text == "-":
        return ()
    try:
        return tuple(int(v) for v in text.split("."))
    except ValueError:
        return None


@dataclass(eq=False)
class Watcher:
    """One open stream: whose, on what, and the last version its page has."""
    topic: Topic
    user_id: int
    seen: Version | None
    latest: Version | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    gone: bool = False


class Feed:
    """The process's change feed: the open streams and the versions last read for them."""

    def __init__(self, rules: revolt.Settings, tick: float):
        self.rules, self.tick = rules, tick
        self.watchers: dict[Topic, set[Watcher]] = {}
        self._task: asyncio.Task | None = None
        self._next_beat = 0.0

    def watch(self, topic: Topic, user_id: int, since: Version | None,
              current: Version) -> Watcher:
        """Add a stream that starts from `since` (what its page shows); `current` is now."""
        watcher = Watcher(topic, user_id, since, current)
        self.watchers.setdefault(topic, set()).add(watcher)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="quorum-feed")
        return watcher

    def forget(self, watcher: Watcher) -> None:
        watchers = self.watchers.get(watcher.topic, set())
        watchers.discard(watcher)
        if not watchers:
            self.watchers.pop(watcher.topic, None)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.tick)
            if not self.watchers:
                return  # the next stream starts the task again
            try:
                found = await anyio.to_thread.run_sync(self.step, self._snapshot())
            except Exception:  # the feed must outlive one failed pass: the next tick retries
                log.exception("change feed pass failed")
                continue
            self.publish(found)

    def _snapshot(self) -> dict[Topic, list[int]]:
        return {topic: [w.user_id for w in ws] for topic, ws in self.watchers.items()}

    def step(self, watched: dict[Topic, list[int]]) -> dict[Topic, Version]:
        """One pass, off the event loop: presence and tending when a beat is due, then the
        versions of everything watched, in one query."""
        conn, now = runtime.connection(), settings.now()
        teams = [key for kind, key in watched if kind == TEAM]
        lobbies = [key for kind, key in watched if kind == LOBBY]
        if time.monotonic() >= self._next_beat:
            self._next_beat = time.monotonic() + self.rules.beat_seconds
            revolt_live.record_presence(
                conn, [(key, u) for (kind, key), us in watched.items() if kind == TEAM for u in us],
                [(key, u) for (kind, key), us in watched.items() if kind == LOBBY for u in us],
                now)
            revolt_live.tend(conn, teams, lobbies, now, self.rules)
        return revolt_live.versions(conn, teams, lobbies, now, self.rules)

    def publish(self, found: dict[Topic, Version]) -> None:
        """Wake the streams whose version moved past what their page has."""
        for topic, version in found.items():
            for watcher in self.watchers.get(topic, ()):
                watcher.latest = version
                if version != watcher.seen:
                    watcher.wake.set()


_feed: Feed | None = None
_making = threading.Lock()


def feed() -> Feed:
    """This process's feed (made on first use; its task runs on the server's event loop)."""
    global _feed
    with _making:
        if _feed is None:
            _feed = Feed(rules(), tick_seconds())
    return _feed


def close_all() -> None:
    """End every open stream now (the server is stopping: uvicorn waits for open responses,
    and a stream never ends by itself); browsers reconnect to the next server."""
    global _closing
    _closing = True
    if _feed is not None:
        for watchers in list(_feed.watchers.values()):
            for watcher in list(watchers):
                watcher.gone = True
                watcher.wake.set()


_closing = False


async def team_events(request: Request) -> Response:
    """A team member's stream: an event whenever what their team page shows moved."""
    return await _open(request, TEAM, _int(request.path_params["team_id"]))


async def lobby_events(request: Request) -> Response:
    """A lobby visitor's stream: an event whenever who is present or ready changed."""
    return await _open(request, LOBBY, _int(request.path_params["campaign_id"]))


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 12 else None


async def _open(request: Request, kind: str, key: int | None) -> Response:
    if key is None:
        return PlainTextResponse("Not found.", status_code=404)
    if _closing:
        return PlainTextResponse("The server is restarting.", status_code=503,
                                 headers={"Retry-After": "2"})
    token = request.cookies.get(_cookie_name())
    try:
        current = await anyio.to_thread.run_sync(_authorize, token, kind, key)
    except _SignedOut:
        return PlainTextResponse("Sign in first.", status_code=401, headers=_NO_STORE)
    except Forbidden as refusal:
        return PlainTextResponse(str(refusal), status_code=403, headers=_NO_STORE)
    except NotFound as missing:
        return PlainTextResponse(str(missing), status_code=404, headers=_NO_STORE)
    except DomainError as refusal:
        return PlainTextResponse(str(refusal), status_code=403, headers=_NO_STORE)
    user_id, version = current
    watcher = feed().watch((kind, key), user_id, decode(request.query_params.get("since")),
                           version)
    return StreamingResponse(_stream(request, watcher), media_type="text/event-stream",
                             headers={**_NO_STORE, "X-Accel-Buffering": "no"})


_NO_STORE = {"Cache-Control": "no-store"}


class _SignedOut(Exception):
    pass


def _cookie_name() -> str:
    from server.routes import SESSION_COOKIE  # routes imports this module
    return SESSION_COOKIE


def _authorize(token: str | None, kind: str, key: int) -> tuple[int, Version]:
    """The signed-in user allowed to watch, and the topic's version now (raises otherwise)."""
    conn, now = runtime.connection(), settings.now()
    user = sessions.lookup(conn, token, now)
    if user is None:
        raise _SignedOut
    if kind == TEAM:
        revolt_live.check_may_watch_team(conn, user, key)
        return user.id, revolt_live.team_version(conn, key, now, feed().rules)
    revolt_live.check_may_watch_lobby(conn, user, key, now)
    return user.id, revolt_live.lobby_version(conn, key, now, feed().rules)


async def _stream(request: Request, watcher: Watcher):
    listener = asyncio.get_running_loop().create_task(_until_closed(request, watcher))
    try:
        yield f"retry: {RETRY_MS}\nevent: boot\ndata: {BOOT}\n\n"
        while not watcher.gone:
            # Cleared before the look, never after: a move published while an event is being
            # sent (the yield) would otherwise be cleared unseen and wait for the keep-alive.
            watcher.wake.clear()
            if watcher.latest is not None and watcher.latest != watcher.seen:
                watcher.seen = watcher.latest
                yield f"data: {encode(watcher.seen)}\n\n"
                continue
            try:
                await asyncio.wait_for(watcher.wake.wait(), KEEPALIVE_SECONDS)
            except TimeoutError:
                yield ": still here\n\n"
    finally:
        listener.cancel()
        feed().forget(watcher)


async def _until_closed(request: Request, watcher: Watcher) -> None:
    # The response only writes; a closed tab is noticed here at once, so its presence stops
    # being written now rather than at the next keep-alive.
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            watcher.gone = True
            watcher.wake.set()
            return
