"""The app's HTTP routes alone (no pages), for `uvicorn --factory tests.events_server:create`:
a real server for the event-stream tests."""

from starlette.applications import Starlette

from server import routes


def create() -> Starlette:
    return Starlette(routes=routes.routes())
