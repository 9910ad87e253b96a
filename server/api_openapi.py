"""The OpenAPI 3.1 document of /api/v1, served at /api/v1/openapi.json."""

from __future__ import annotations

from functools import cache
from typing import Any

from core.events import EVENTS

_PROBLEM = {"$ref": "#/components/responses/Problem"}
_ID = {"name": "campaign_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_FORMAT = {"name": "format", "in": "query", "required": False,
           "schema": {"type": "string", "enum": ["parquet", "jsonl", "csv"],
                      "default": "parquet"}}


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def _op(summary: str, ok: dict, *, code: str = "200", body: dict | None = None,
        params: tuple = (_ID,), errors: tuple[str, ...] = ("401", "403", "404", "429"),
        op_id: str) -> dict:
    operation: dict[str, Any] = {
        "summary": summary, "operationId": op_id, "parameters": list(params),
        "responses": {code: ok, **{e: _PROBLEM for e in errors}}}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": body}
    return operation


def _ok(description: str, schema: dict | None = None) -> dict:
    out: dict[str, Any] = {"description": description}
    if schema is not None:
        out["content"] = _json(schema)
    return out


def _export(what: str, op_id: str, params: tuple = (_ID,),
            summary: str = "Export the campaign's {what} as a streamed file") -> dict:
    return _op(summary.format(what=what), {
        "description": f"The {what}; the X-Row-Count header says how many rows.",
        "headers": {"X-Row-Count": {"schema": {"type": "integer"}}},
        "content": {"application/vnd.apache.parquet": {"schema": {"type": "string",
                                                                  "format": "binary"}},
                    "application/jsonl": {"schema": {"type": "string"}},
                    "text/csv": {"schema": {"type": "string"}}}},
        params=(*params, _FORMAT), errors=("401", "403", "404", "422", "429"), op_id=op_id)


_ROWS = {"type": "array", "items": {"type": "object"}}
_CAMPAIGN = {"$ref": "#/components/schemas/Campaign"}


@cache
def document() -> dict:
    """The whole document (built once)."""
    c = "/campaigns/{campaign_id}"
    settings_schema = {
        "type": "object",
        "description": "Campaign settings as on the Design page; times in ISO 8601 (UTC).",
        "properties": {
            "spec": {"description": "The form: YAML or JSON text, or an object.",
                     "oneOf": [{"type": "string"}, {"type": "object"}]},
            "title": {"type": "string"}, "description": {"type": "string"},
            "guidelines": {"type": "string"}, "skill": {"type": "string"},
            "language": {"type": "string"},
            "kind": {"type": "string", "enum": ["standard", "revolt"]},
            "expertise_level": {"type": "string"}, "expertise_type": {"type": "string"},
            "minutes_per_item": {"type": "number"}, "pay_per_item": {"type": "number"},
            "overlap": {"type": "integer"}, "per_expert_cap": {"type": ["integer", "null"]},
            "lease_minutes": {"type": "integer"},
            "opens_at": {"type": "string", "format": "date-time"},
            "expires_at": {"type": "string", "format": "date-time"},
            "gold_rate": {"type": "number"},
            "bonus_min_quality": {"type": ["number", "null"]},
            "bonus_per_item": {"type": "number"},
            "challenge_rewards": {"type": "array", "items": {"type": "number"}}},
    }
    file_body = {kind: {"schema": {"type": "string", "format": "binary"}} for kind in (
        "text/csv", "application/jsonl", "application/vnd.apache.parquet",
        "application/octet-stream")}
    import_params = (_ID, {**_FORMAT, "schema": {"type": "string",
                                                  "enum": ["parquet", "jsonl", "csv"]}},
                     {"name": "mapping", "in": "query", "required": False,
                      "description": "field.<form field>=<column>: which column fills each "
                                     "payload field (unmapped fields take the column of "
                                     "their name)",
                      "style": "form", "explode": True,
                      "schema": {"type": "object", "additionalProperties": {"type": "string"}}},
                     {"name": "id", "in": "query", "required": False,
                      "description": "the column with each item's external id",
                      "schema": {"type": "string"}},
                     {"name": "gold", "in": "query", "required": False,
                      "description": "the column with gold answers",
                      "schema": {"type": "string"}})
    paths = {
        "/me": {"get": _op("The token's user: roles, and an expert's counts and earnings",
                           _ok("The user", {"type": "object"}), params=(),
                           errors=("401", "429"), op_id="me")},
        "/campaigns": {
            "get": _op("Campaigns: a requester's own, or all for an admin",
                       _ok("The campaigns with their progress", _ROWS), params=(),
                       errors=("401", "403", "429"), op_id="listCampaigns"),
            "post": _op("Create a draft campaign from its settings and form spec",
                        _ok("The campaign", _CAMPAIGN), code="201",
                        body=_json(settings_schema), params=(),
                        errors=("400", "401", "403", "413", "422", "429"),
                        op_id="createCampaign")},
        c: {"get": _op("One campaign with its current form", _ok("The campaign", _CAMPAIGN),
                       op_id="getCampaign"),
            "patch": _op("Change a campaign's settings or form (a form with answers becomes "
                         "a new version)", _ok("The campaign", _CAMPAIGN),
                         body=_json(settings_schema),
                         errors=("400", "401", "403", "404", "409", "413", "422", "429"),
                         op_id="updateCampaign")},
        f"{c}/status": {"post": _op(
            "Move a campaign: live (publish), paused or closed",
            _ok("The campaign", _CAMPAIGN),
            body=_json({"type": "object", "required": ["to"], "properties": {
                "to": {"type": "string", "enum": ["live", "paused", "closed"]},
                "note": {"type": "string"}}}),
            errors=("400", "401", "403", "404", "409", "422", "429"), op_id="moveCampaign")},
        f"{c}/items": {
            "post": _op("Import items from a CSV, JSON Lines or Parquet body: all or nothing",
                        _ok("How many were imported", {
                            "type": "object", "properties": {
                                "imported": {"type": "integer"}, "items": {"type": "integer"},
                                "columns": {"type": "array", "items": {"type": "string"}}}}),
                        code="201", body=file_body, params=import_params,
                        errors=("401", "403", "404", "409", "413", "422", "429"),
                        op_id="importItems"),
            "get": _export("items", "exportItems")},
        f"{c}/answers": {"get": _export("answers", "exportAnswers")},
        "/answers": {"get": _export("answers", "exportAllAnswers", params=(),
                                    summary="Export every campaign's {what} (admins)")},
        f"{c}/team-results": {"get": _export("team results", "exportTeamResults")},
        f"{c}/progress": {"get": _op("Completion, pace, cost and forecast",
                                     _ok("The progress", {"type": "object"}),
                                     op_id="progress")},
        f"{c}/quality": {"get": _op("Agreement, expert scores and aggregated labels, as last "
                                    "computed", _ok("The quality", {"type": "object"}),
                                    op_id="quality")},
        f"{c}/concepts": {"get": _op("Concepts teams discovered and the labels they map to",
                                     _ok("The labels and concepts", {"type": "object"}),
                                     errors=("401", "403", "404", "409", "429"),
                                     op_id="listConcepts")},
        f"{c}/concepts/{{key}}": {"put": _op(
            "Map a concept to a label, keep it as a new label, or unmap it (label null)",
            _ok("The concept", {"type": "object"}),
            body=_json({"type": "object", "properties": {
                "label": {"type": ["string", "null"]}, "as_new": {"type": "boolean"}}}),
            params=(_ID, {"name": "key", "in": "path", "required": True,
                          "schema": {"type": "string"}}),
            errors=("400", "401", "403", "404", "409", "422", "429"), op_id="mapConcept")},
        f"{c}/final-labels": {"get": _op("Each team item's final label, or why it has none",
                                         _ok("The items", _ROWS),
                                         errors=("401", "403", "404", "409", "429"),
                                         op_id="finalLabels")},
        f"{c}/webhooks": {
            "get": _op("The campaign's webhooks (never their secrets)",
                       _ok("The webhooks", _ROWS), op_id="listWebhooks"),
            "post": _op("Register a receiver; its signing secret is in this reply only",
                        _ok("The webhook and its secret", {"type": "object"}), code="201",
                        body=_json({"type": "object", "required": ["url", "events"],
                                    "properties": {"url": {"type": "string", "format": "uri"},
                                                   "events": {"type": "array", "items": {
                                                       "type": "string",
                                                       "enum": list(EVENTS)}}}}),
                        errors=("400", "401", "403", "404", "422", "429"),
                        op_id="createWebhook")},
        "/webhooks/{webhook_id}/rotate": {"post": _op(
            "Give a webhook a new signing secret (in this reply only)",
            _ok("The webhook and its new secret", {"type": "object"}),
            params=({"name": "webhook_id", "in": "path", "required": True,
                     "schema": {"type": "integer"}},), op_id="rotateWebhook")},
        "/webhooks/{webhook_id}": {"delete": _op(
            "Delete a webhook; what waits for it is not sent", {"description": "Deleted"},
            code="204", params=({"name": "webhook_id", "in": "path", "required": True,
                                 "schema": {"type": "integer"}},), op_id="deleteWebhook")},
        f"{c}/deliveries": {"get": _op("The latest deliveries with their status codes",
                                       _ok("The deliveries", _ROWS), op_id="listDeliveries")},
    }
    for item in paths.values():
        for operation in item.values():
            operation["security"] = [{"token": []}]
    paths["/openapi.json"] = {"get": {"summary": "This document", "operationId": "openapi",
                                      "security": [],
                                      "responses": {"200": _ok("OpenAPI 3.1",
                                                               {"type": "object"})}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Quorum API", "version": "1",
                 "description": "Campaigns, items, answers, quality and concepts of Quorum, "
                                "for pipelines. Authenticate with a personal access token "
                                "made on the Profile page. Errors are RFC 9457 problems. "
                                "A token over its request budget gets 429 with Retry-After."},
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer",
                                          "description": "A personal access token, qpat_…"}},
            "schemas": {
                "Campaign": {"type": "object", "required": ["id", "title", "status"],
                             "properties": {"id": {"type": "integer"},
                                            "title": {"type": "string"},
                                            "status": {"type": "string", "enum": [
                                                "draft", "live", "paused", "closed"]},
                                            "spec": {"type": "object"},
                                            "spec_version": {"type": "integer"},
                                            "allowed_moves": {"type": "array",
                                                              "items": {"type": "string"}}}},
                "Problem": {"type": "object", "required": ["title", "status", "detail"],
                            "properties": {
                                "type": {"type": "string"}, "title": {"type": "string"},
                                "status": {"type": "integer"}, "detail": {"type": "string"},
                                "problems": {"type": "object", "description": "field → what "
                                             "is wrong with it",
                                             "additionalProperties": {"type": "string"}}}}},
            "responses": {"Problem": {
                "description": "A refusal: 400 bad body, 401 no valid token, 403 missing "
                               "role, 404 not found, 409 conflict with the current state, "
                               "413 too large, 422 invalid input (see problems), 429 over "
                               "budget (see Retry-After)",
                "headers": {"Retry-After": {"schema": {"type": "integer"},
                                            "description": "on 429: seconds to wait"}},
                "content": {"application/problem+json": {
                    "schema": {"$ref": "#/components/schemas/Problem"}}}}}},
    }
