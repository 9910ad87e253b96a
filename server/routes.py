"""The HTTP routes served beside the pages by quorum.py's `st.App`: each feature adds its own."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from core import sessions
from server import api, events, runtime, settings

SESSION_COOKIE = "quorum_session"


def routes() -> list[BaseRoute]:
    """Every route the app serves besides Streamlit's own."""
    return [Route("/auth/session", take_session_code, methods=["GET"]),
            Route("/auth/signout", forget_session_cookie, methods=["GET", "POST"]),
            Route("/events/team/{team_id}", events.team_events, methods=["GET"]),
            Route("/events/lobby/{campaign_id}", events.lobby_events, methods=["GET"]),
            Mount("/api/v1", app=api.create_app())]


def take_session_code(request: Request) -> Response:
    """Exchange a one-time code from the login form for the session cookie (HttpOnly).

    With `next` (a path on this site) the browser is sent there; without, it gets 204, which
    is how the page's own background request uses it. A bad or used code sets nothing.
    """
    config = settings.load()
    token = sessions.exchange_code(runtime.connection(config), request.query_params.get("code", ""),
                                   settings.now(), config.session_hours)
    response = _after(request)
    if token is not None:
        response.set_cookie(SESSION_COOKIE, token, max_age=int(config.session_hours * 3600),
                            path="/", httponly=True, samesite="lax", secure=_is_https(request))
    elif response.status_code == 204:
        response.status_code = 403  # the page notes nothing; a script or person sees why
    response.headers["Cache-Control"] = "no-store"
    return response


def forget_session_cookie(request: Request) -> Response:
    """Delete the session cookie (the page ends the sessions themselves before it calls this)."""
    response = _after(request)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=_is_https(request))
    response.headers["Cache-Control"] = "no-store"
    return response


def _after(request: Request) -> Response:
    target = request.query_params.get("next")
    if target is None:
        return Response(status_code=204)
    return RedirectResponse(safe_next(target), status_code=303)


def safe_next(target: str) -> str:
    """`target` if it is a path on this site, else "/": never a redirect to another site."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(ord(c) < 0x21 or ord(c) == 0x7f for c in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def _is_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"
