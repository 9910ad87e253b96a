"""Quorum's server: the pages (app.py) and the HTTP routes beside them, in one process.

Run with `streamlit run quorum.py`. The database is opened, migrated and (on a fresh one) given
its demo workspace when the server starts, so the first visitor does not wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

import anyio
import streamlit as st

from core.errors import DomainError
from server import events, routes, runtime

log = logging.getLogger("quorum")
_tasks: set[asyncio.Task] = set()  # held, so the loop does not drop them


@contextlib.asynccontextmanager
async def _lifespan(_app: object) -> AsyncIterator[None]:
    _tasks.add(asyncio.get_running_loop().create_task(_end_streams_when_stopping()))
    try:
        await anyio.to_thread.run_sync(runtime.connection)
    except DomainError as error:
        log.error("%s", error)
    except Exception:
        # The server still starts: the first page opens the database again and shows the
        # visitor a plain message, the operator reads the cause here.
        log.exception("could not open the database")
    yield


async def _end_streams_when_stopping() -> None:
    # On a stop, uvicorn waits for every open response before it shuts down, and the team
    # pages' event streams never end by themselves: so the stop handler (uvicorn's, then
    # Streamlit's, installed after this lifespan began) is chained with one that ends them
    # first (server/events.py); without it a restart would hang until they were killed.
    loop = asyncio.get_running_loop()
    while True:
        for number in (signal.SIGTERM, signal.SIGINT):
            current = signal.getsignal(number)
            if callable(current) and not getattr(current, "ends_event_streams", False):
                signal.signal(number, _chained(current, loop))
        await asyncio.sleep(1)


def _chained(stop, loop: asyncio.AbstractEventLoop):
    def handler(number: int, frame: object) -> None:
        loop.call_soon_threadsafe(events.close_all)
        stop(number, frame)
    handler.ends_event_streams = True
    return handler


app = st.App("app.py", routes=routes.routes(), lifespan=_lifespan)
