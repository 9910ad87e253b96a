"""Quorum's server: the pages (app.py) and the HTTP routes beside them, in one process.

Run with `streamlit run quorum.py`. The database is opened, migrated and (on a fresh one) given
its demo workspace when the server starts, so the first visitor does not wait for it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import anyio
import streamlit as st

from core.errors import DomainError
from server import routes, runtime

log = logging.getLogger("quorum")


@contextlib.asynccontextmanager
async def _lifespan(_app: object) -> AsyncIterator[None]:
    try:
        await anyio.to_thread.run_sync(runtime.connection)
    except DomainError as error:
        log.error("%s", error)
    except Exception:
        # The server still starts: the first page opens the database again and shows the
        # visitor a plain message, the operator reads the cause here.
        log.exception("could not open the database")
    yield


app = st.App("app.py", routes=routes.routes(), lifespan=_lifespan)
