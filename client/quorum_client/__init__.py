"""A small client for Quorum's HTTP API: `Client(url, token)`.

Campaign arguments take a campaign's id or the dict the API returned for it.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

__all__ = ["Client", "QuorumError", "EVENTS"]
__version__ = "0.1.0"

EVENTS = ("answer.submitted", "campaign.completed", "team.finished", "concepts.mapped")
_SUFFIX_FORMATS = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl",
                   ".json": "jsonl", ".parquet": "parquet"}
_MEDIA = {"csv": "text/csv", "jsonl": "application/jsonl",
          "parquet": "application/vnd.apache.parquet"}


class QuorumError(Exception):
    """A refusal from the server: `status`, `title`, `detail` and field-level `problems`."""

    def __init__(self, status: int, title: str, detail: str, problems: dict | None = None,
                 retry_after: float | None = None):
        text = detail + "".join(f"\n  {field}: {message}"
                                for field, message in (problems or {}).items())
        super().__init__(f"{status} {title}: {text}")
        self.status, self.title, self.detail = status, title, detail
        self.problems = problems or {}
        self.retry_after = retry_after


def _id(campaign: int | dict) -> int:
    return int(campaign["id"] if isinstance(campaign, dict) else campaign)


class Client:
    """Quorum's API at `url` (the app's address), acting with `token`'s owner's roles."""

    def __init__(self, url: str, token: str, *, timeout: float = 300.0, retries: int = 3,
                 transport: httpx.BaseTransport | None = None):
        self.retries = retries
        self._http = httpx.Client(base_url=url.rstrip("/") + "/api/v1", timeout=timeout,
                                  headers={"Authorization": f"Bearer {token}",
                                           "User-Agent": f"quorum-client/{__version__}"},
                                  transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --------------------------------------------------------------------- plumbing

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(self.retries + 1):
            reply = self._http.request(method, path, **kwargs)
            if reply.status_code == 429 and attempt < self.retries:
                time.sleep(float(reply.headers.get("retry-after", "1")))
                continue
            break
        if reply.status_code >= 400:
            try:
                body = reply.json()
            except ValueError:
                body = {"title": reply.reason_phrase, "detail": reply.text[:500]}
            retry = reply.headers.get("retry-after")
            raise QuorumError(reply.status_code, body.get("title", ""), body.get("detail", ""),
                              body.get("problems"), float(retry) if retry else None)
        return reply

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        reply = self._request(method, path, **kwargs)
        return None if reply.status_code == 204 else reply.json()

    # --------------------------------------------------------------------- campaigns

    def me(self) -> dict:
        """Who the token acts for: roles, and an expert's counts and earnings."""
        return self._json("GET", "/me")

    def campaigns(self) -> pd.DataFrame:
        """Your campaigns (all of them for an admin) with their progress."""
        return pd.DataFrame(self._json("GET", "/campaigns"))

    def campaign(self, campaign: int | dict) -> dict:
        """One campaign with its current form."""
        return self._json("GET", f"/campaigns/{_id(campaign)}")

    def create_campaign(self, spec: dict | str | Path) -> dict:
        """Create a draft from its settings and form (`spec` key), a dict or a JSON/YAML file.

        Settings are the Design page's: title, skill, language, opens_at, expires_at (ISO
        8601), overlap, pay_per_item, …; `spec` is the form as YAML/JSON text or a dict.
        """
        if isinstance(spec, str | Path):
            text = Path(spec).read_text()
            try:
                spec = json.loads(text)
            except ValueError:
                import yaml  # only for YAML files
                spec = yaml.safe_load(text)
        return self._json("POST", "/campaigns", json=_jsonable(spec))

    def update_campaign(self, campaign: int | dict, **changes: Any) -> dict:
        """Change settings or the form (`spec=`) of a campaign."""
        return self._json("PATCH", f"/campaigns/{_id(campaign)}", json=_jsonable(changes))

    def move(self, campaign: int | dict, to: str, note: str = "") -> dict:
        """Move a campaign to live, paused or closed."""
        return self._json("POST", f"/campaigns/{_id(campaign)}/status",
                          json={"to": to, "note": note})

    def publish(self, campaign: int | dict, note: str = "") -> dict:
        """Make a campaign live."""
        return self.move(campaign, "live", note)

    def pause(self, campaign: int | dict, note: str = "") -> dict:
        return self.move(campaign, "paused", note)

    def close_campaign(self, campaign: int | dict, note: str = "") -> dict:
        return self.move(campaign, "closed", note)

    # --------------------------------------------------------------------- items

    def import_items(self, campaign: int | dict, data: pd.DataFrame | str | Path, *,
                     fields: dict[str, str] | None = None, id: str | None = None,
                     gold: str | None = None, format: str | None = None) -> dict:
        """Add items from a DataFrame (sent as Parquet) or a CSV / JSON Lines / Parquet file.

        All or nothing. `fields` maps a form field to the column that fills it (a field left
        out takes the column of its name); `id` names the external-id column, `gold` the
        gold-answer column.
        """
        if isinstance(data, pd.DataFrame):
            buffer = io.BytesIO()
            data.to_parquet(buffer, index=False)
            body, fmt = buffer.getvalue(), "parquet"
        else:
            path = Path(data)
            fmt = format or _SUFFIX_FORMATS.get(path.suffix.lower())
            if fmt is None:
                raise ValueError(f"Cannot tell the format of {path.name}; pass format=.")
            body = path.read_bytes()
        params = {"format": format or fmt, **{f"field.{k}": v for k, v in (fields or {}).items()}}
        if id:
            params["id"] = id
        if gold:
            params["gold"] = gold
        return self._json("POST", f"/campaigns/{_id(campaign)}/items", params=params,
                          content=body, headers={"Content-Type": _MEDIA[format or fmt]})

    # --------------------------------------------------------------------- exports

    def export(self, campaign: int | dict, what: str, path: str | Path,
               format: str = "parquet") -> int:
        """Stream `answers`, `items` or `team-results` to a file; return the row count."""
        with self._http.stream("GET", f"/campaigns/{_id(campaign)}/{what}",
                               params={"format": format}) as reply:
            if reply.status_code >= 400:
                reply.read()
                self._raise(reply)
            with open(path, "wb") as out:
                for chunk in reply.iter_bytes(1 << 20):
                    out.write(chunk)
            return int(reply.headers.get("x-row-count", "0"))

    def _raise(self, reply: httpx.Response) -> None:
        body = reply.json()
        raise QuorumError(reply.status_code, body.get("title", ""), body.get("detail", ""),
                          body.get("problems"))

    def _frame(self, campaign: int | dict | None, what: str, parse_json: bool) -> pd.DataFrame:
        where = "" if campaign is None else f"/campaigns/{_id(campaign)}"
        reply = self._request("GET", f"{where}/{what}", params={"format": "parquet"})
        frame = pd.read_parquet(io.BytesIO(reply.content))
        if parse_json:
            for column in ("answer", "payload", "gold", "votes", "explanations",
                           "earlier_teams"):
                if column in frame:
                    frame[column] = [json.loads(v) if isinstance(v, str) else None
                                     for v in frame[column]]
        return frame

    def answers(self, campaign: int | dict | None, *, parse_json: bool = False
                ) -> pd.DataFrame:
        """Every answer of the campaign (of all campaigns when None: admins) as a DataFrame,
        fetched as Parquet.

        `answer` and `payload` hold JSON text; `parse_json=True` turns them into dicts.
        """
        return self._frame(campaign, "answers", parse_json)

    def items(self, campaign: int | dict, *, parse_json: bool = False) -> pd.DataFrame:
        """Every item with its answer count and aggregated label."""
        return self._frame(campaign, "items", parse_json)

    def team_results(self, campaign: int | dict, *, parse_json: bool = False) -> pd.DataFrame:
        """A team campaign's items with their final labels."""
        return self._frame(campaign, "team-results", parse_json)

    def progress(self, campaign: int | dict) -> dict:
        return self._json("GET", f"/campaigns/{_id(campaign)}/progress")

    def quality(self, campaign: int | dict) -> dict:
        """Agreement per question, expert scores and aggregated labels, as last computed."""
        out = self._json("GET", f"/campaigns/{_id(campaign)}/quality")
        for key in ("agreement", "experts", "labels"):
            out[key] = pd.DataFrame(out[key])
        return out

    # --------------------------------------------------------------------- concepts

    def concepts(self, campaign: int | dict) -> pd.DataFrame:
        """The concepts teams discovered (label: what each maps to); `.attrs["labels"]`."""
        out = self._json("GET", f"/campaigns/{_id(campaign)}/concepts")
        frame = pd.DataFrame(out["concepts"])
        frame.attrs["labels"] = out["labels"]
        return frame

    def map_concept(self, campaign: int | dict, concept_key: str, label: str | None = None, *,
                    as_new: bool = False) -> dict:
        """Map a concept to a label, keep it as a new label (`as_new`), or unmap it (None)."""
        return self._json("PUT", f"/campaigns/{_id(campaign)}/concepts/{concept_key}",
                          json={"label": label, "as_new": as_new})

    def final_labels(self, campaign: int | dict) -> pd.DataFrame:
        return pd.DataFrame(self._json("GET", f"/campaigns/{_id(campaign)}/final-labels"))

    # --------------------------------------------------------------------- webhooks

    def add_webhook(self, campaign: int | dict, url: str, events: list[str]) -> dict:
        """Register a receiver; the reply's `secret` is shown this once."""
        return self._json("POST", f"/campaigns/{_id(campaign)}/webhooks",
                          json={"url": url, "events": list(events)})

    def webhooks(self, campaign: int | dict) -> pd.DataFrame:
        return pd.DataFrame(self._json("GET", f"/campaigns/{_id(campaign)}/webhooks"))

    def rotate_webhook(self, webhook_id: int) -> dict:
        return self._json("POST", f"/webhooks/{webhook_id}/rotate")

    def delete_webhook(self, webhook_id: int) -> None:
        self._json("DELETE", f"/webhooks/{webhook_id}")

    def deliveries(self, campaign: int | dict) -> pd.DataFrame:
        return pd.DataFrame(self._json("GET", f"/campaigns/{_id(campaign)}/deliveries"))


def _jsonable(value: Any) -> Any:
    """Times and dates as ISO 8601 text; everything else as it is."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
