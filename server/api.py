"""The HTTP API under /api/v1: the same core calls as the pages, for scientists' pipelines.

Every route authenticates a personal access token (`Authorization: Bearer qpat_…`, made on the
Profile page), spends one unit of that token's request budget, runs one core call in a worker
thread and answers JSON, or a file for exports. Core checks the roles, as it does for pages, and
its refusals become `application/problem+json` (RFC 9457) with core's field-level `problems`.
The app is a plain Starlette application: quorum.py mounts it in the Streamlit process, and
`uvicorn --factory server.api:create_app` serves it alone (on PostgreSQL, beside the replicas).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, is_dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pandas as pd
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route

from core import (
    campaigns,
    io,
    lifecycle,
    monitor,
    profile,
    quality,
    quality_jobs,
    revolt_review,
    tokens,
    webhooks,
)
from core.db import DatabaseUnavailable
from core.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from core.users import User
from server import api_openapi, runtime, settings

MAX_JSON_BYTES = 1024 * 1024
EXPORT_MEDIA = {"parquet": "application/vnd.apache.parquet", "jsonl": "application/jsonl",
                "csv": "text/csv; charset=utf-8"}
_STATUS = ((NotFound, 404), (Forbidden, 403), (Conflict, 409), (Invalid, 422),
           (DatabaseUnavailable, 503))


class Problem(Exception):
    """A refusal of the HTTP layer itself (size, budget, body), answered as problem+json."""

    def __init__(self, status: int, title: str, detail: str, headers: dict | None = None,
                 problems: dict | None = None):
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.headers, self.problems = headers or {}, problems or {}


# ----------------------------------------------------------------------------- rate limits

@dataclass
class _Bucket:
    tokens: float
    at: float


class Budget:
    """Each token's request budget: a token bucket refilled at `per_minute`, holding `burst`.

    Kept in the process (each replica counts its own requests), so with N replicas behind a
    balancer a token may make up to N times the budget; the budget protects each process.
    """

    def __init__(self, per_minute: float, burst: int, clock=time.monotonic):
        self.rate, self.burst, self.clock = per_minute / 60.0, max(burst, 1), clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def spend(self, key: str) -> float:
        """Spend one request; 0 if allowed, else the seconds until one is."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            bucket = self._buckets.setdefault(key, _Bucket(float(self.burst), now))
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / self.rate


_budgets: dict[tuple[float, int], Budget] = {}


def _budget(s: settings.Settings) -> Budget:
    key = (s.api_requests_per_minute, s.api_burst)
    if key not in _budgets:
        _budgets[key] = Budget(*key)
    return _budgets[key]


# ----------------------------------------------------------------------------- plumbing

def to_json(value: Any) -> Any:
    """Core's values (dataclasses, decimals, times, frames, arrays) as plain JSON values."""
    if is_dataclass(value) and not isinstance(value, type):
        return to_json(asdict(value))
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [to_json(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return [to_json(row) for row in value.to_dict("records")]
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime().isoformat()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, np.generic):
        return to_json(value.item())
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT or value is pd.NA:
        return None
    return value


def problem_response(status: int, title: str, detail: str, problems: dict | None = None,
                     headers: dict | None = None) -> Response:
    """An RFC 9457 problem document; `problems` maps a field to what is wrong with it."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if problems:
        body["problems"] = problems
    return Response(json.dumps(body, ensure_ascii=False), status, headers=headers,
                    media_type="application/problem+json")


def _domain_problem(error: DomainError) -> Response:
    status = next((code for kind, code in _STATUS if isinstance(error, kind)), 400)
    titles = {404: "Not found", 403: "Forbidden", 409: "Conflict", 422: "Invalid input",
              503: "Database unavailable", 400: "Refused"}
    return problem_response(status, titles[status], str(error),
                            getattr(error, "problems", None))


def _token_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


Handler = Callable[[Request, User], Awaitable[Response]]


def authed(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """The route: the token's user, its budget, then `handler`; refusals as problems."""
    async def endpoint(request: Request) -> Response:
        s = settings.load()
        secret = _token_of(request)
        try:
            user = await anyio.to_thread.run_sync(  # one hop to a thread for both
                lambda: tokens.authenticate(runtime.connection(s), secret, settings.now()))
            wait = _budget(s).spend(tokens.digest(secret))
            if wait:
                raise Problem(429, "Too many requests",
                              f"This token is over its budget of {s.api_requests_per_minute:g} "
                              f"requests a minute; retry in {math.ceil(wait)} s.",
                              {"Retry-After": str(math.ceil(wait))})
            return await handler(request, user)
        except tokens.Unauthenticated as error:
            return problem_response(401, "Unauthorized", str(error),
                                    headers={"WWW-Authenticate": 'Bearer realm="quorum"'})
        except Problem as error:
            return problem_response(error.status, error.title, error.detail, error.problems,
                                    error.headers)
        except DomainError as error:
            return _domain_problem(error)
    return endpoint


async def call(work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a core call in a worker thread (core is blocking; the event loop stays free)."""
    return await anyio.to_thread.run_sync(lambda: work(*args, **kwargs))


async def json_body(request: Request) -> dict:
    """The request's JSON object; 413 past MAX_JSON_BYTES, 400 if it is not a JSON object."""
    raw = await _read_limited(request, MAX_JSON_BYTES)
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise Problem(400, "Bad request", "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise Problem(400, "Bad request", "Send a JSON object.")
    return body


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def _receive(request: Request, limit: int, out) -> None:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        await anyio.to_thread.run_sync(out.write, chunk)


def _too_large(limit: int) -> Problem:
    return Problem(413, "Content too large",
                   f"The body is larger than this server accepts ({limit / 1e6:g} MB); split it "
                   "into smaller files, or ask the operator to raise QUORUM_IMPORT_MAX_MB.")


def _campaign_id(request: Request) -> int:
    return int(request.path_params["campaign_id"])


def _owned(conn, user: User, campaign_id: int) -> campaigns.Campaign:
    campaign = campaigns.get(conn, campaign_id)
    campaigns.require_owner(user, campaign)
    return campaign


# ----------------------------------------------------------------------------- campaigns

_TIMES = ("opens_at", "expires_at")


def _settings_from(body: dict) -> tuple[str | None, dict, dict]:
    """The spec text, the campaign settings (times parsed) and the times that did not parse."""
    values = dict(body)
    spec = values.pop("spec", None)
    if spec is not None and not isinstance(spec, str):
        spec = json.dumps(spec)
    problems = {}
    for key in _TIMES:
        if isinstance(values.get(key), str):
            try:
                moment = datetime.fromisoformat(values[key].replace("Z", "+00:00"))
            except ValueError:
                problems[key] = "Use an ISO 8601 time such as 2026-12-01T09:00:00Z."
                values[key] = None  # core then reports the other fields' problems too
                continue
            if moment.tzinfo is not None:
                moment = moment.astimezone(UTC).replace(tzinfo=None)
            values[key] = moment
    return spec, values, problems


async def _saving(work: Callable[[], campaigns.Campaign], times: dict) -> campaigns.Campaign:
    """Run a create or update, with the times that did not parse among core's problems."""
    try:
        saved = await call(work)
    except Invalid as error:
        raise Invalid(str(error), {**error.problems, **times}) from None
    if times:
        raise Invalid("Please fix the highlighted settings.", times)
    return saved


def _campaign_json(conn, campaign: campaigns.Campaign) -> dict:
    out = to_json(campaign)
    out["spec"] = campaigns.spec(conn, campaign.id, campaign.spec_version)
    out["allowed_moves"] = lifecycle.allowed_moves(campaign.status)
    return out


@authed
async def list_campaigns(request: Request, user: User) -> Response:
    conn = runtime.connection()
    return JSONResponse(to_json(await call(campaigns.overview, conn, user)))


@authed
async def create_campaign(request: Request, user: User) -> Response:
    spec, values, times = _settings_from(await json_body(request))
    if spec is None:
        raise Invalid("A campaign needs its form.", {"spec": "Give the form spec (YAML, JSON "
                                                     "text, or an object)."})
    conn = runtime.connection()
    status = values.pop("status", "draft")
    if status != "draft":
        raise Invalid("A campaign starts as a draft.", {"status": "Create it, import items, "
                                                       "then publish it with POST …/status."})
    made = await _saving(lambda: campaigns.create(conn, user, spec_text=spec,
                                                  now=settings.now(), **values), times)
    return JSONResponse(await call(_campaign_json, conn, made), 201,
                        headers={"Location": f"/api/v1/campaigns/{made.id}"})


@authed
async def get_campaign(request: Request, user: User) -> Response:
    conn = runtime.connection()
    campaign = await call(_owned, conn, user, _campaign_id(request))
    return JSONResponse(await call(_campaign_json, conn, campaign))


@authed
async def update_campaign(request: Request, user: User) -> Response:
    spec, values, times = _settings_from(await json_body(request))
    conn = runtime.connection()
    campaign_id = _campaign_id(request)
    if spec is None:
        await call(_owned, conn, user, campaign_id)
        spec = await call(campaigns.spec_text, conn, campaign_id)
    saved = await _saving(lambda: campaigns.update(conn, user, campaign_id, spec_text=spec,
                                                   now=settings.now(), **values), times)
    return JSONResponse(await call(_campaign_json, conn, saved))


@authed
async def move_campaign(request: Request, user: User) -> Response:
    body = await json_body(request)
    to = body.get("to")
    if to not in lifecycle.MOVES:
        raise Invalid("Say where the campaign goes.",
                      {"to": f"Use one of {', '.join(lifecycle.MOVES)}."})
    conn = runtime.connection()
    moved = await call(lifecycle.move, conn, user, _campaign_id(request), to, settings.now(),
                       str(body.get("note") or ""))
    return JSONResponse(await call(_campaign_json, conn, moved))


@authed
async def progress(request: Request, user: User) -> Response:
    conn = runtime.connection()
    summary = await call(monitor.summary, conn, user, _campaign_id(request), settings.now())
    return JSONResponse(to_json(summary) | {"completion": summary.completion})


@authed
async def campaign_quality(request: Request, user: User) -> Response:
    conn = runtime.connection()
    campaign_id = _campaign_id(request)

    def read() -> dict:
        _owned(conn, user, campaign_id)
        fresh = quality_jobs.freshness(conn, campaign_id)
        return {"computed_at": fresh.computed_at, "stale": fresh.stale,
                "agreement": quality.agreement_table(conn, campaign_id),
                "experts": quality.campaign_scores(conn, campaign_id),
                "labels": quality.labels_table(conn, campaign_id, limit=100_000)}

    return JSONResponse(to_json(await call(read)))


# ----------------------------------------------------------------------------- items

def _mapping(request: Request, spec: dict, columns: list[str]) -> io.Mapping:
    """The page's mapping options from the query: field.<name>=<column>, id=, gold=.

    A form field left unmapped takes the column of the same name, as the page first proposes.
    """
    from core import workflow
    query = request.query_params
    fields = {key[len("field."):]: value for key, value in query.items()
              if key.startswith("field.") and value}
    for name in workflow.payload_fields(spec) or ["text"]:
        if name not in fields and name in columns:
            fields[name] = name
    unknown = {f"field.{k}": f"The file has no column “{v}”." for k, v in fields.items()
               if v not in columns}
    for key in ("id", "gold"):
        if query.get(key) and query[key] not in columns:
            unknown[key] = f"The file has no column “{query[key]}”."
    if unknown:
        raise Invalid("Nothing was imported: the mapping names columns the file lacks.",
                      unknown)
    return io.Mapping(fields, query.get("id") or None, query.get("gold") or None)


@authed
async def import_items(request: Request, user: User) -> Response:
    s = settings.load()
    conn = runtime.connection()
    campaign_id = _campaign_id(request)
    campaign = await call(_owned, conn, user, campaign_id)  # before reading a stranger's file
    fmt = request.query_params.get("format") or {
        "text/csv": "csv", "application/jsonl": "jsonl", "application/x-ndjson": "jsonl",
        "application/vnd.apache.parquet": "parquet"}.get(
        request.headers.get("content-type", "").split(";")[0].strip())
    if fmt not in io.EXPORT_FORMATS:
        raise Invalid("Say the file's format.", {"format": "Add ?format=csv, jsonl or parquet "
                                                 "(or a matching Content-Type)."})
    limit = int(s.import_limits.max_megabytes * 1_000_000)
    fd, name = tempfile.mkstemp(suffix=f".{fmt}", prefix="quorum-api-")  # owner-only
    try:
        with os.fdopen(fd, "wb") as out:  # streamed to disk: memory stays flat at any size
            await _receive(request, limit, out)
        path = Path(name)

        def work() -> io.ImportReport:
            spec = campaigns.spec(conn, campaign_id, campaign.spec_version)
            columns = io.columns(conn, path, fmt, s.import_limits)
            mapping = _mapping(request, spec, columns)
            return io.import_items(conn, user, campaign_id, path, mapping, settings.now(), fmt,
                                   s.import_limits)

        report = await call(work)
    finally:
        os.unlink(name)
    return JSONResponse({"imported": report.imported, "columns": report.columns,
                         "items": await call(campaigns.item_count, conn, campaign_id)}, 201)


# ----------------------------------------------------------------------------- exports

def _exporter(what: str) -> Callable[[Request], Awaitable[Response]]:
    @authed
    async def export(request: Request, user: User) -> Response:
        fmt = request.query_params.get("format", "parquet")
        if fmt not in EXPORT_MEDIA:
            raise Invalid("Unknown format.", {"format": "Use parquet, jsonl or csv."})
        conn = runtime.connection()
        # Without a campaign in the path: every campaign's, for admins (core checks it).
        campaign_id = _campaign_id(request) if "campaign_id" in request.path_params else None
        folder = tempfile.mkdtemp(prefix="quorum-export-")
        path = Path(folder) / f"campaign-{campaign_id or 'all'}-{what}.{fmt}"

        def clean() -> None:
            path.unlink(missing_ok=True)
            os.rmdir(folder)

        try:
            rows = await call(io.export, conn, user, what, campaign_id, path, fmt)
        except BaseException:
            clean()
            raise
        # Streamed from the file in chunks, then removed: memory stays flat at any size.
        return FileResponse(path, media_type=EXPORT_MEDIA[fmt], filename=path.name,
                            headers={"X-Row-Count": str(rows)}, background=BackgroundTask(clean))
    return export


# ----------------------------------------------------------------------------- concepts

@authed
async def list_concepts(request: Request, user: User) -> Response:
    conn = runtime.connection()
    campaign_id = _campaign_id(request)

    def read() -> dict:
        found = revolt_review.concepts(conn, user, campaign_id)
        return {"labels": revolt_review.label_options(conn, campaign_id), "concepts": found}

    return JSONResponse(to_json(await call(read)))


@authed
async def map_concept(request: Request, user: User) -> Response:
    body = await json_body(request)
    as_new = bool(body.get("as_new", False))
    label = body.get("label")
    if label is not None and not isinstance(label, str):
        raise Invalid("The label must be text.", {"label": "Give one of the campaign's labels."})
    conn = runtime.connection()
    key = request.path_params["key"]
    campaign_id = _campaign_id(request)

    def work() -> dict:
        revolt_review.map_concept(conn, user, campaign_id, key, label, settings.now(),
                                  as_new=as_new)
        found = revolt_review.concepts(conn, user, campaign_id)
        return to_json(found[found["concept_key"] == key])[0]

    return JSONResponse(await call(work))


@authed
async def final_labels(request: Request, user: User) -> Response:
    conn = runtime.connection()
    return JSONResponse(to_json(await call(revolt_review.final_labels, conn, user,
                                           _campaign_id(request))))


# ----------------------------------------------------------------------------- me

@authed
async def me(request: Request, user: User) -> Response:
    conn = runtime.connection()
    out = {"username": user.username, "name": user.name, "email": user.email,
           "roles": list(user.roles), "expert": None}
    if user.has("expert"):
        totals = await call(profile.totals, conn, user)
        worked = await call(profile.campaigns_worked, conn, user, settings.now())
        out["expert"] = {"answers": totals.answers, "earnings": float(totals.earnings),
                         "campaigns": totals.campaigns, "by_campaign": to_json(worked)}
    return JSONResponse(out)


# ----------------------------------------------------------------------------- webhooks

@authed
async def list_webhooks(request: Request, user: User) -> Response:
    conn = runtime.connection()
    return JSONResponse(to_json(await call(webhooks.list_for, conn, user,
                                           _campaign_id(request))))


@authed
async def create_webhook(request: Request, user: User) -> Response:
    body = await json_body(request)
    events = body.get("events") or []
    if not isinstance(events, list):
        events = [events]
    conn = runtime.connection()
    made = await call(webhooks.register, conn, user, _campaign_id(request),
                      str(body.get("url") or ""), [str(e) for e in events],
                      settings.load().webhook_hosts, settings.now())
    return JSONResponse(to_json(made), 201)


@authed
async def rotate_webhook(request: Request, user: User) -> Response:
    conn = runtime.connection()
    made = await call(webhooks.rotate, conn, user, int(request.path_params["webhook_id"]),
                      settings.now())
    return JSONResponse(to_json(made))


@authed
async def delete_webhook(request: Request, user: User) -> Response:
    conn = runtime.connection()
    await call(webhooks.delete, conn, user, int(request.path_params["webhook_id"]),
               settings.now())
    return Response(status_code=204)


@authed
async def list_deliveries(request: Request, user: User) -> Response:
    conn = runtime.connection()
    return JSONResponse(to_json(await call(webhooks.deliveries, conn, user,
                                           _campaign_id(request))))


async def openapi(request: Request) -> Response:
    return JSONResponse(api_openapi.document())


def routes() -> list[Route]:
    """The API's routes, relative to its mount point (/api/v1)."""
    c = "/campaigns/{campaign_id:int}"
    return [
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/me", me, methods=["GET"]),
        Route("/campaigns", list_campaigns, methods=["GET"]),
        Route("/campaigns", create_campaign, methods=["POST"]),
        Route(c, get_campaign, methods=["GET"]),
        Route(c, update_campaign, methods=["PATCH"]),
        Route(f"{c}/status", move_campaign, methods=["POST"]),
        Route(f"{c}/items", import_items, methods=["POST"]),
        Route(f"{c}/items", _exporter("items"), methods=["GET"]),
        Route(f"{c}/answers", _exporter("answers"), methods=["GET"]),
        Route("/answers", _exporter("answers"), methods=["GET"]),
        Route(f"{c}/team-results", _exporter("revolt"), methods=["GET"]),
        Route(f"{c}/progress", progress, methods=["GET"]),
        Route(f"{c}/quality", campaign_quality, methods=["GET"]),
        Route(f"{c}/concepts", list_concepts, methods=["GET"]),
        Route(f"{c}/concepts/{{key}}", map_concept, methods=["PUT"]),
        Route(f"{c}/final-labels", final_labels, methods=["GET"]),
        Route(f"{c}/webhooks", list_webhooks, methods=["GET"]),
        Route(f"{c}/webhooks", create_webhook, methods=["POST"]),
        Route("/webhooks/{webhook_id:int}/rotate", rotate_webhook, methods=["POST"]),
        Route("/webhooks/{webhook_id:int}", delete_webhook, methods=["DELETE"]),
        Route(f"{c}/deliveries", list_deliveries, methods=["GET"]),
    ]


async def _not_found(request: Request, exc: Exception) -> Response:
    return problem_response(404, "Not found", f"There is no API route {request.url.path}.")


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return problem_response(405, "Method not allowed",
                            f"{request.method} is not allowed on {request.url.path}.")


def create_app() -> Starlette:
    """The API as an ASGI application of its own, to mount at /api/v1 (quorum.py does)."""
    return Starlette(routes=routes(), exception_handlers={404: _not_found, 405: _not_allowed})


def standalone() -> Starlette:
    """The API alone at /api/v1: `uvicorn --factory server.api:standalone` (PostgreSQL)."""
    return Starlette(routes=[Mount("/api/v1", app=create_app())])
