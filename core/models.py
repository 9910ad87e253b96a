"""Model-in-the-loop: the model registry, asking K models at once, and every call recorded.

A campaign's form may hold one model step (`workflow.model_step`): the expert, or the item,
gives a prompt; the step's models are called concurrently, each with its own timeout, and each
call is written to `model_calls` as soon as it ends, before the page shows it. One ask is a
generation (`model_generations`); regenerating starts another, retrying a failed response adds
a call to the same one. Nothing is deleted: at submission every generation of the item is tied
to the answer, and the answer keeps the responses it was given about.

Core reads no environment: API keys come in as `keys`, a mapping from the environment variable
names the registry holds to their values, built by the UI layer; the operator's
`egress.EgressPolicy` (which key variables may be sent, which hosts called) comes in as
`policy`. Clocks come in as `clock`, a monotonic clock in seconds (`time.perf_counter`).
What a failing server sends back is never kept or shown: only its status and the error kind.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

import httpx
import pandas as pd

from core import campaigns, egress, workflow
from core.db import Connection, Cursor, reading, writing
from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.users import User, require_role

MAX_GENERATIONS = 5     # asks of all the models per item and expert
MAX_RETRIES = 3         # extra calls per response within one ask
SIMILAR_AT = 0.9        # responses at least this alike are pointed out as nearly the same
_SIMILAR_WORDS = 600
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_MAX_REPLY_BYTES = 8_000_000  # far above 100,000 tokens of text; a server may not fill memory
Clock = Callable[[], float]


@dataclass(frozen=True)
class Model:
    """A registered OpenAI-compatible chat model; its API key stays in the environment."""
    id: int
    name: str
    base_url: str
    model: str
    api_key_env: str
    timeout_s: float
    max_tokens: int
    temperature: float
    created_by: int
    created_at: datetime
    updated_at: datetime

    @property
    def endpoint(self) -> str:
        """Where chat completions are posted."""
        return self.base_url.rstrip("/") + "/chat/completions"


_MODEL_COLUMNS = ", ".join(f.name for f in fields(Model))


# ---------------------------------------------------------------------------------- registry

def list_models(conn: Connection) -> list[Model]:
    """Every registered model, by name."""
    with reading(conn) as cur:
        rows = cur.execute(f"SELECT {_MODEL_COLUMNS} FROM models ORDER BY name").fetchall()
    return [Model(*row) for row in rows]


def get_model(conn: Connection, name: str) -> Model:
    """The registered model with this name; NotFound otherwise."""
    with reading(conn) as cur:
        row = cur.execute(f"SELECT {_MODEL_COLUMNS} FROM models WHERE name = ?",
                          [name]).fetchone()
    if row is None:
        raise NotFound(f"There is no model named “{name}” in the registry.")
    return Model(*row)


def registry(conn: Connection, actor: User) -> pd.DataFrame:
    """The registry as a table for requesters and admins, with each model's owner."""
    require_role(actor, "requester", "admin")
    with reading(conn) as cur:
        return cur.execute(
            "SELECT m.name, m.base_url, m.model, m.api_key_env, m.timeout_s, m.max_tokens, "
            "m.temperature, u.username AS created_by, m.updated_at FROM models m "
            "LEFT JOIN users u ON u.id = m.created_by ORDER BY m.name").df()


def save_model(conn: Connection, actor: User, *, name: str, base_url: str,
               model: str, api_key_env: str, timeout_s: float, max_tokens: int,
               temperature: float, now: datetime, existing: str | None = None,
               policy: egress.EgressPolicy = egress.CLOSED) -> Model:
    """Register a model, or change the one named `existing`; Invalid names each bad field.

    The operator's `policy` decides which key variables may be named and who may set a base
    URL where: Forbidden when the actor may not set a new or changed one.
    """
    require_role(actor, "requester", "admin")
    stored_url = None if existing is None else get_model(conn, existing).base_url
    values = _checked_model(name, base_url, model, api_key_env, timeout_s, max_tokens,
                            temperature, policy, actor, stored_url)

    def work(cur: Cursor) -> None:
        taken = cur.execute("SELECT name FROM models WHERE name = ? AND name IS DISTINCT FROM ?",
                            [values["name"], existing]).fetchone()
        if taken:
            raise Invalid("Please fix the highlighted fields.",
                          {"name": f"“{values['name']}” is taken by another model."})
        if existing is None:
            cur.execute(
                "INSERT INTO models (name, base_url, model, api_key_env, timeout_s, max_tokens,"
                " temperature, created_by, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [*values.values(), actor.id, now, now])
            return
        owner = cur.execute("SELECT created_by FROM models WHERE name = ?",
                            [existing]).fetchone()
        if owner is None:
            raise NotFound(f"There is no model named “{existing}” in the registry.")
        _require_model_owner(actor, owner[0])
        cur.execute(
            "UPDATE models SET name = ?, base_url = ?, model = ?, api_key_env = ?, timeout_s = ?,"
            " max_tokens = ?, temperature = ?, updated_at = ? WHERE name = ?",
            [*values.values(), now, existing])

    writing(conn, work)
    return get_model(conn, values["name"])


def delete_model(conn: Connection, actor: User, name: str) -> None:
    """Remove a model from the registry; its recorded calls stay, under its name."""
    require_role(actor, "requester", "admin")

    def work(cur: Cursor) -> None:
        row = cur.execute("SELECT id, created_by FROM models WHERE name = ?", [name]).fetchone()
        if row is None:
            raise NotFound(f"There is no model named “{name}” in the registry.")
        _require_model_owner(actor, row[1])
        cur.execute("UPDATE model_calls SET model_id = NULL WHERE model_id = ?", [row[0]])
        cur.execute("DELETE FROM models WHERE id = ?", [row[0]])

    writing(conn, work)


def _require_model_owner(actor: User, owner_id: int) -> None:
    if owner_id != actor.id and not actor.has("admin"):
        raise Forbidden("Only the requester who registered this model or an administrator can "
                        "change it.")


def _checked_model(name, base_url, model, api_key_env, timeout_s, max_tokens, temperature,
                   policy: egress.EgressPolicy, actor: User,
                   stored_url: str | None) -> dict[str, Any]:
    """The cleaned fields, refused where they break a rule or the operator's policy."""
    problems: dict[str, str] = {}
    name = (name or "").strip()
    if not workflow.MODEL_NAME.match(name):
        problems["name"] = ("Use 1–40 lowercase letters, digits, '.', '_' or '-', starting with a "
                            "letter or digit (forms name models this way).")
    base_url = (base_url or "").strip().rstrip("/")
    if base_url.endswith("/chat/completions"):
        problems["base_url"] = "Give the base URL only: Quorum adds /chat/completions itself."
    else:
        chooser = None if base_url == stored_url else actor  # unchanged: chosen before
        _note_refusal(problems, "base_url", egress.check_url, policy, chooser, base_url)
    model = (model or "").strip()
    if not model or len(model) > 200:
        problems["model"] = "Give the model id the server expects (at most 200 characters)."
    api_key_env = (api_key_env or "").strip()
    if api_key_env and not _ENV_NAME.match(api_key_env):
        problems["api_key_env"] = ("Give the name of the environment variable that holds the "
                                   "key, such as OPENAI_API_KEY, never the key itself; leave it "
                                   "empty for a server without keys.")
    elif api_key_env:
        _note_refusal(problems, "api_key_env", egress.check_secret_name, policy, api_key_env)
    if not isinstance(timeout_s, int | float) or not 1 <= timeout_s <= 600:
        problems["timeout_s"] = "Use a timeout from 1 to 600 seconds."
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or not (
            1 <= max_tokens <= 100_000):
        problems["max_tokens"] = "Use a whole number of tokens from 1 to 100,000."
    if not isinstance(temperature, int | float) or not 0 <= temperature <= 2:
        problems["temperature"] = "Use a temperature from 0 to 2."
    if problems:
        raise Invalid("Please fix the highlighted fields.", problems)
    return {"name": name, "base_url": base_url, "model": model, "api_key_env": api_key_env,
            "timeout_s": float(timeout_s), "max_tokens": max_tokens,
            "temperature": float(temperature)}


def _note_refusal(problems: dict[str, str], field: str, check: Callable, *args: Any) -> None:
    """Run an egress check; its Invalid becomes the field's problem (Forbidden goes up)."""
    try:
        check(*args)
    except Invalid as problem:
        problems[field] = str(problem)


# ------------------------------------------------------------------------------------ calling

@dataclass(frozen=True)
class CallResult:
    """How one call to a model ended; `received_at` is the clock when its outcome was known."""
    ok: bool
    content: str | None
    error_type: str | None
    http_status: int | None
    error_detail: str | None
    latency_ms: float
    prompt_tokens: int | None
    completion_tokens: int | None
    received_at: float


def call(model: Model, messages: list[dict[str, str]], api_key: str | None,
         client: httpx.Client, clock: Clock) -> CallResult:
    """Post one chat completion; every failure comes back as a result, never as an exception.

    The model's timeout bounds the whole exchange: a server sending a byte now and then is cut
    off at the deadline (httpx's timeouts count from each byte). Nothing the server says on
    failure is kept, only its status and the error kind.
    """
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    body = {"model": model.model, "messages": messages, "max_tokens": model.max_tokens,
            "temperature": model.temperature}
    started = clock()

    def failed(kind: str, detail: str, status: int | None = None) -> CallResult:
        ended = clock()
        return CallResult(False, None, kind, status, detail, (ended - started) * 1000, None,
                          None, ended)

    try:  # redirects are not followed (httpx's default), so the host checked is the host called
        with client.stream("POST", model.endpoint, json=body, headers=headers,
                           timeout=model.timeout_s) as reply:
            if reply.status_code >= 400:  # its body is not even read
                kind = _http_error_type(reply.status_code)
                return failed(kind, failure_kind(kind, reply.status_code), reply.status_code)
            raw = _read_by(reply, started + model.timeout_s, clock)
    except _Late:
        return failed("timeout", _late_detail(model))
    except _TooLarge:
        return failed("malformed", f"a reply over {_MAX_REPLY_BYTES:,} bytes", 200)
    except httpx.TimeoutException as error:
        return failed("timeout", type(error).__name__)
    except httpx.HTTPError as error:  # refused, reset, dropped, not HTTP: its text may quote it
        return failed("connection", type(error).__name__)
    try:
        data = json.loads(raw)
        content = _content(data)
    except (ValueError, KeyError, IndexError, TypeError):
        return failed("malformed", "not a chat completion", reply.status_code)
    if not content.strip():
        return failed("empty", "the completion's content is empty", reply.status_code)
    received = clock()
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    return CallResult(True, content, None, reply.status_code, None,
                      (received - started) * 1000, _int_or_none(usage.get("prompt_tokens")),
                      _int_or_none(usage.get("completion_tokens")), received)


class _Late(Exception):
    """The reply was still coming at the call's deadline."""


class _TooLarge(Exception):
    """The reply is larger than any completion Quorum asks for."""


def _read_by(reply: httpx.Response, deadline: float, clock: Clock) -> bytes:
    """The reply's body, if all of it comes before `deadline` and it is not too large."""
    chunks, size = [], 0
    for chunk in reply.iter_bytes():
        size += len(chunk)
        if size > _MAX_REPLY_BYTES:
            raise _TooLarge
        if clock() >= deadline:
            raise _Late
        chunks.append(chunk)
    return b"".join(chunks)


def _late_detail(model: Model) -> str:
    return f"no complete reply within {model.timeout_s:g} s"


def _content(data: Any) -> str:
    content = data["choices"][0]["message"]["content"]
    if isinstance(content, list):  # content parts, as some servers send them
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    if not isinstance(content, str):
        raise TypeError("content is not text")
    return content


def _http_error_type(status: int) -> str:
    if status == 429:
        return "rate_limited"
    if status in (401, 403):
        return "auth"
    return "server_error" if status >= 500 else "client_error"


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# What the expert is told per error kind: Quorum's words, never the server's.
_FAILURES = {
    "connection": "The model's server could not be reached, or it dropped the connection",
    "rate_limited": "The model's server is busy: too many requests",
    "auth": "The model's server refused Quorum's API key",
    "client_error": "The model's server refused the request",
    "server_error": "The model's server failed",
    "malformed": "The model's server sent a reply Quorum could not read",
    "empty": "The model returned an empty response",
    None: "This response was interrupted before it came",
}


def failure_kind(error_type: str | None, http_status: int | None) -> str:
    """A failure as its HTTP status and error kind, such as “HTTP 500 · server_error”."""
    return " · ".join(part for part in (http_status and f"HTTP {http_status}", error_type)
                      if part)


def failure_message(error_type: str | None, http_status: int | None,
                    latency_ms: float | None) -> str:
    """What happened to a call, in words for the expert, never in the server's own words."""
    if error_type == "timeout":
        seconds = max(1, round((latency_ms or 0) / 1000))
        return f"Timed out: no answer within {seconds} second{'s' if seconds > 1 else ''}."
    words = _FAILURES.get(error_type)
    if words is None or http_status:  # an unknown kind is named; a status is always given
        words = (words or "The call failed") + f" ({failure_kind(error_type, http_status)})"
    return words + ("; the requester needs to fix it." if error_type == "auth" else ".")



@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    message: str
    latency_ms: float | None


def check_connection(model: Model, keys: Mapping[str, str], clock: Clock,
                     client: httpx.Client | None = None,
                     policy: egress.EgressPolicy = egress.CLOSED) -> ConnectionCheck:
    """Ask the model for one word, within its timeout, and say plainly whether it answered.

    Nothing is sent when the operator's `policy` refuses the model's host or key variable.
    """
    refusal = _refusal(model, keys, policy)
    if refusal:
        return ConnectionCheck(False, refusal, None)
    messages = [{"role": "user", "content": "Reply with the single word OK."}]
    own = client is None
    client = client or httpx.Client()
    try:
        [(_, result)] = list(_outcomes([("", model)], messages, keys, policy, client, clock))
    finally:
        if own:
            client.close()
    if result.ok:
        reply = " ".join(result.content.split())[:80]
        return ConnectionCheck(True, f"Connected: “{model.model}” answered in "
                                     f"{result.latency_ms:,.0f} ms with “{reply}”.",
                               result.latency_ms)
    return ConnectionCheck(False, failure_message(result.error_type, result.http_status,
                                                  result.latency_ms), result.latency_ms)


def _refusal(model: Model, keys: Mapping[str, str], policy: egress.EgressPolicy) -> str | None:
    """Why the model may not be called now under the policy, or None."""
    try:
        egress.check_url(policy, None, model.base_url)
        if model.api_key_env:
            egress.check_secret_name(policy, model.api_key_env)
    except Invalid as refusal:
        return str(refusal)
    if model.api_key_env and not keys.get(model.api_key_env):
        return (f"The environment variable {model.api_key_env} is not set on the Quorum "
                "server, so there is no API key to send. Set it and restart Quorum.")
    return None


def _key(model: Model, keys: Mapping[str, str], policy: egress.EgressPolicy) -> str | None:
    """The model's API key, only if the policy lets its variable be sent."""
    allowed = model.api_key_env and egress.allows_secret(policy, model.api_key_env)
    return keys.get(model.api_key_env) if allowed else None


def _outcomes(jobs: list[tuple[str, Model]], messages: list[dict[str, str]],
              keys: Mapping[str, str], policy: egress.EgressPolicy, client: httpx.Client,
              clock: Clock) -> Iterator[tuple[tuple[str, Model], CallResult]]:
    """Call the models at once; yield each (job, outcome) as it ends, by its deadline at most.

    A call past its model's timeout is given up as timed out at once; its thread ends by
    itself (`call` stops reading at the same deadline).
    """
    pool = ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="model-call")
    try:
        started = clock()
        futures: dict[Future, tuple[str, Model]] = {
            pool.submit(call, model, messages, _key(model, keys, policy), client, clock):
                (slot, model) for slot, model in jobs}
        deadline = {f: started + model.timeout_s for f, (_, model) in futures.items()}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=max(0.0, min(deadline[f] for f in pending)
                                                      - clock()),
                                 return_when=FIRST_COMPLETED)
            for f in done:
                yield futures[f], f.result()
            at = clock()
            for f in [f for f in pending if at >= deadline[f]]:
                pending.discard(f)
                yield futures[f], CallResult(False, None, "timeout", None,
                                             _late_detail(futures[f][1]),
                                             (at - started) * 1000, None, None, at)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


# ------------------------------------------------------------------------------- availability

def availability_problems(conn: Connection, spec: dict,
                          keys: Mapping[str, str]) -> list[str]:
    """Why the form's models cannot be called now (empty when they can, or it calls none)."""
    step = workflow.model_step(spec)
    if step is None:
        return []
    known = {m.name: m for m in list_models(conn)}
    problems = []
    for name in step["models"]:
        model = known.get(name)
        if model is None:
            problems.append(f"the model “{name}” is not in the model registry")
        elif model.api_key_env and not keys.get(model.api_key_env):
            problems.append(f"the API key of “{name}” ({model.api_key_env}) is not set on the "
                            "server")
    return problems


def unavailable_reason(conn: Connection, campaign_id: int,
                       keys: Mapping[str, str]) -> str | None:
    """Why experts cannot work on a model-in-the-loop campaign now, or None."""
    campaign = campaigns.get(conn, campaign_id)
    return campaign_unavailable(conn, campaign,
                                campaigns.spec(conn, campaign_id, campaign.spec_version), keys)


def campaign_unavailable(conn: Connection, campaign: campaigns.Campaign, spec: dict,
                         keys: Mapping[str, str]) -> str | None:
    """`unavailable_reason` for a campaign and its current spec already read."""
    problems = availability_problems(conn, spec, keys)
    if not problems:
        return None
    return (f"“{campaign.title}” is unavailable for now: it asks language models for responses, "
            f"and {'; '.join(problems)}. Its requester can set this up on the Models page; "
            "meanwhile, work on another campaign.")


def unavailable_campaigns(conn: Connection, campaign_ids: list[int],
                          keys: Mapping[str, str]) -> dict[int, str]:
    """Of these campaigns, the ones whose models cannot be called, with the reason."""
    reasons = {}
    for campaign_id in campaign_ids:
        reason = unavailable_reason(conn, int(campaign_id), keys)
        if reason:
            reasons[int(campaign_id)] = reason
    return reasons


def release_held(conn: Connection, user: User, campaign_id: int) -> int:
    """Give back the expert's reservations in a campaign that cannot run; no skip recorded."""
    def work(cur: Cursor) -> int:
        return cur.execute("DELETE FROM leases WHERE user_id = ? AND campaign_id = ? "
                           "RETURNING item_id", [user.id, campaign_id]).fetchall()

    return len(writing(conn, work))


# ------------------------------------------------------------------------------ generations

@dataclass(frozen=True)
class SlotResult:
    """The latest outcome of one response of an ask, as the expert sees it."""
    slot: str
    model_name: str
    ok: bool
    content: str | None
    message: str | None          # what went wrong, for the expert
    error_type: str | None
    latency_ms: float | None
    attempt: int                 # calls made for this response in this ask (0: none recorded)
    call_id: int | None
    # On the caller's clock, for a result just made: when the reply came and when it was stored.
    received_at: float | None = None
    recorded_at: float | None = None


@dataclass(frozen=True)
class StepState:
    """The expert's latest ask of the models for an item."""
    generation_id: int
    generation: int              # 1 for the first ask, 2 after a regeneration, …
    prompt: str
    results: list[SlotResult]
    similar: list[tuple[str, str, float]]

    @property
    def available(self) -> list[str]:
        """Slots with a response."""
        return [r.slot for r in self.results if r.ok]

    @property
    def all_failed(self) -> bool:
        return not self.available

    @property
    def can_regenerate(self) -> bool:
        return self.generation < MAX_GENERATIONS

    def can_retry(self, slot: str) -> bool:
        """Whether a failed response may be asked for again."""
        result = next(r for r in self.results if r.slot == slot)
        return not result.ok and result.attempt <= MAX_RETRIES


@dataclass(frozen=True)
class _Context:
    campaign_id: int
    item_id: int
    user_id: int
    step: dict
    payload: dict


OnResult = Callable[[SlotResult], None]


def state(conn: Connection, user: User, item_id: int) -> StepState | None:
    """The expert's latest ask for the item, read back from the database, or None."""
    with reading(conn) as cur:
        return _state(cur, user.id, item_id)


def _state(cur: Cursor, user_id: int, item_id: int) -> StepState | None:
    row = cur.execute("SELECT id, attempt, prompt, models FROM model_generations "
                      "WHERE user_id = ? AND item_id = ? ORDER BY attempt DESC LIMIT 1",
                      [user_id, item_id]).fetchone()
    if row is None:
        return None
    generation_id, number, prompt, names = row
    latest = {r[0]: r[1:] for r in cur.execute(
        "SELECT slot, id, attempt, status, content, error_type, http_status, latency_ms FROM "
        "(SELECT *, row_number() OVER (PARTITION BY slot ORDER BY attempt DESC) AS newest "
        " FROM model_calls WHERE generation_id = ?) AS calls WHERE newest = 1",
        [generation_id]).fetchall()}
    results = []
    for slot, name in zip(workflow.SLOTS, names, strict=False):
        if slot not in latest:
            results.append(SlotResult(slot, name, False, None, failure_message(None, None, None),
                                      None, None, 0, None))
            continue
        call_id, attempt, status, content, error_type, http_status, latency = latest[slot]
        ok = status == "ok"
        results.append(SlotResult(slot, name, ok, content if ok else None,
                                  None if ok else failure_message(error_type, http_status,
                                                                  latency),
                                  error_type, latency, attempt, call_id))
    similar = similar_pairs({r.slot: r.content for r in results if r.ok})
    return StepState(generation_id, number, prompt, results, similar)


def similar_pairs(contents: Mapping[str, str], threshold: float = SIMILAR_AT
                  ) -> list[tuple[str, str, float]]:
    """Pairs of responses that are nearly the same, with how alike they are (0–1)."""
    # Drawn on every page run: compare the first words only, and let quick_ratio (an upper
    # bound, linear) rule out most pairs before the quadratic ratio.
    words = {slot: text.lower().split()[:_SIMILAR_WORDS] for slot, text in contents.items()}
    slots = sorted(words)
    pairs = []
    for i, a in enumerate(slots):
        for b in slots[i + 1:]:
            matcher = difflib.SequenceMatcher(None, words[a], words[b], autojunk=False)
            if matcher.quick_ratio() >= threshold:
                ratio = matcher.ratio()
                if ratio >= threshold:
                    pairs.append((a, b, ratio))
    return pairs


def generate(conn: Connection, user: User, item_id: int, *, prompt: str | None,
             keys: Mapping[str, str], now: datetime, clock: Clock,
             client: httpx.Client | None = None, on_result: OnResult | None = None,
             policy: egress.EgressPolicy = egress.CLOSED) -> StepState:
    """Ask every model of the item's form at once; `on_result` sees each response as it is stored.

    `prompt` is the expert's when the form asks for one (ignored when the item supplies it).
    Earlier asks stay recorded; this one becomes the one the answer is about. Models the
    operator's `policy` no longer lets the server call are refused before anything is sent.
    """
    with reading(conn) as cur:
        context = _context(cur, user, item_id, now)
        prompt = _prompt(context, prompt)
        models = _resolve(cur, context.step["models"], keys, policy)
        asked = cur.execute("SELECT count(*) FROM model_generations WHERE user_id = ? "
                            "AND item_id = ?", [user.id, item_id]).fetchone()[0]
    if asked >= MAX_GENERATIONS:
        raise Conflict(f"You have asked the models {asked} times for this item, the most "
                       "allowed. Submit your answer about the latest responses, or skip the item.")

    def start(cur: Cursor) -> tuple[int, int]:
        number = cur.execute("SELECT coalesce(max(attempt), 0) + 1 FROM model_generations "
                             "WHERE user_id = ? AND item_id = ?", [user.id, item_id]).fetchone()[0]
        cur.execute("UPDATE model_generations SET outcome = 'superseded' WHERE user_id = ? "
                    "AND item_id = ? AND outcome = 'open'", [user.id, item_id])
        generation_id = cur.execute(
            "INSERT INTO model_generations (item_id, campaign_id, user_id, attempt, prompt, "
            "models, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [item_id, context.campaign_id, user.id, number, prompt,
             [m.name for m in models], now]).fetchone()[0]
        return generation_id, number

    generation_id, _ = writing(conn, start)
    jobs = [(slot, model) for slot, model in zip(workflow.SLOTS, models, strict=False)]
    _run(conn, context, generation_id, jobs, _messages(context.step, prompt), keys, policy, now,
         clock, client, on_result)
    return state(conn, user, item_id)


def retry(conn: Connection, user: User, item_id: int, slots: list[str], *,
          keys: Mapping[str, str], now: datetime, clock: Clock,
          client: httpx.Client | None = None, on_result: OnResult | None = None,
          policy: egress.EgressPolicy = egress.CLOSED) -> StepState:
    """Call the models behind failed responses of the latest ask again, at once."""
    with reading(conn) as cur:
        context = _context(cur, user, item_id, now)
        current = _state(cur, user.id, item_id)
        if current is None:
            raise Conflict("Ask the models first; there is nothing to retry yet.")
        by_slot = {r.slot: r for r in current.results}
        for slot in slots:
            result = by_slot.get(slot)
            if result is None:
                raise NotFound(f"There is no response {slot} here.")
            if result.ok:
                raise Conflict(f"Response {slot} came already; regenerate to ask for new "
                               "responses.")
            if not current.can_retry(slot):
                raise Conflict(f"Response {slot} was retried {MAX_RETRIES} times. Submit your "
                               "answer about the other responses, regenerate, or skip the item.")
        if not slots:
            raise Invalid("Choose a response to retry.")
        models = _resolve(cur, [by_slot[s].model_name for s in slots], keys, policy)
    _run(conn, context, current.generation_id, list(zip(slots, models, strict=True)),
         _messages(context.step, current.prompt), keys, policy, now, clock, client, on_result)
    return state(conn, user, item_id)


def _context(cur: Cursor, user: User, item_id: int,
             now: datetime) -> _Context:
    """The item's campaign and model step, once the expert is found to be working on it."""
    row = cur.execute("SELECT campaign_id, payload FROM items WHERE id = ?", [item_id]).fetchone()
    if row is None:
        raise NotFound(f"There is no item number {item_id}.")
    campaign = campaigns.fetch(cur, row[0])
    closed = campaign.closed_reason(now)
    if closed:
        raise Conflict(closed)
    if not cur.execute("SELECT 1 FROM leases WHERE item_id = ? AND user_id = ?",
                       [item_id, user.id]).fetchone():
        raise Conflict("This item is no longer reserved for you, so its models cannot be asked. "
                       "Open the campaign again for your next item.")
    if cur.execute("SELECT 1 FROM responses WHERE user_id = ? HAVING count(*) FILTER "
                   "(WHERE item_id = ?) > 0", [user.id, item_id]).fetchone():
        raise Conflict("You already answered this item.")
    step = workflow.model_step(campaigns.spec_of(cur, campaign.id, campaign.spec_version))
    if step is None:
        raise Invalid("This campaign's form asks no model for responses.")
    return _Context(campaign.id, item_id, user.id, step, json.loads(row[1]))


def _prompt(context: _Context, typed: str | None) -> str:
    step = context.step
    if "prompt_field" in step:
        value = context.payload.get(step["prompt_field"])
        if not isinstance(value, str) or not value.strip():
            raise Invalid(f"This item has no prompt in its “{step['prompt_field']}” field, so "
                          "there is nothing to ask the models. Skip it; its requester can fix it.")
        return value
    typed = (typed or "").strip()
    limit = step.get("max_prompt_length", workflow.MAX_PROMPT_LENGTH)
    if not typed:
        raise Invalid("Write your prompt first.", {workflow.MODEL_STEP: "Write your prompt first."})
    if len(typed) > limit:
        message = f"Keep the prompt to {limit:,} characters (it has {len(typed):,})."
        raise Invalid(message, {workflow.MODEL_STEP: message})
    return typed


def _resolve(cur: Cursor, names: list[str], keys: Mapping[str, str],
             policy: egress.EgressPolicy) -> list[Model]:
    found = {r[1]: Model(*r) for r in cur.execute(
        f"SELECT {_MODEL_COLUMNS} FROM models WHERE name = ANY(?)", [names]).fetchall()}
    missing = [n for n in names if n not in found]
    if missing:
        raise Conflict(f"The model(s) {', '.join(missing)} of this campaign are not configured "
                       "any more, so they cannot be asked. Skip the item; it costs you nothing.")
    outside = [n for n in names if not egress.allows_url(policy, found[n].base_url)]
    if outside:
        raise Conflict(f"The model(s) {', '.join(outside)} are on a host this server may not "
                       "call any more, so they cannot be asked. Skip the item; it costs you "
                       "nothing.")
    keyless = [n for n in names if found[n].api_key_env and not _key(found[n], keys, policy)]
    if keyless:
        raise Conflict(f"The API key of {', '.join(keyless)} is not set on the server, so they "
                       "cannot be asked. Skip the item; it costs you nothing.")
    return [found[n] for n in names]


def _messages(step: dict, prompt: str) -> list[dict[str, str]]:
    system = [{"role": "system", "content": step["system"]}] if step.get("system") else []
    return [*system, {"role": "user", "content": prompt}]


def _run(conn: Connection, context: _Context, generation_id: int,
         jobs: list[tuple[str, Model]], messages: list[dict[str, str]],
         keys: Mapping[str, str], policy: egress.EgressPolicy, now: datetime, clock: Clock,
         client: httpx.Client | None, on_result: OnResult | None) -> None:
    """Call the models concurrently; store each outcome as it ends, then hand it to on_result.

    A failing `on_result` (the page went away) stops the showing, not the recording: its
    exception is raised again once every call is stored.
    """
    own_client = client is None
    client = client or httpx.Client()
    shown_error: BaseException | None = None
    try:
        for (slot, model), result in _outcomes(jobs, messages, keys, policy, client, clock):
            shown = _record(conn, context, generation_id, slot, model, result, now, clock)
            if on_result is not None and shown_error is None:
                try:
                    on_result(shown)
                except BaseException as error:  # raised again below, once all is stored
                    shown_error = error
    finally:
        if own_client:
            client.close()
    if shown_error is not None:
        raise shown_error


def _record(conn: Connection, context: _Context, generation_id: int, slot: str,
            model: Model, result: CallResult, now: datetime, clock: Clock) -> SlotResult:
    def work(cur: Cursor) -> tuple[int, int]:
        return cur.execute(
            "INSERT INTO model_calls (generation_id, campaign_id, item_id, user_id, slot, "
            "model_id, model_name, attempt, started_at, latency_ms, status, error_type, "
            "http_status, error_detail, content, prompt_tokens, completion_tokens) "
            "SELECT ?, ?, ?, ?, ?, ?, ?, coalesce(max(attempt), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ?, ? "
            "FROM model_calls WHERE generation_id = ? AND slot = ? RETURNING id, attempt",
            [generation_id, context.campaign_id, context.item_id, context.user_id, slot,
             model.id, model.name, now, result.latency_ms, "ok" if result.ok else "failed",
             result.error_type, result.http_status, result.error_detail, result.content,
             result.prompt_tokens, result.completion_tokens, generation_id, slot]).fetchone()

    call_id, attempt = writing(conn, work)
    message = None if result.ok else failure_message(result.error_type, result.http_status,
                                                     result.latency_ms)
    return SlotResult(slot, model.name, result.ok, result.content, message, result.error_type,
                      result.latency_ms, attempt, call_id, result.received_at, clock())


def skip_failed_item(conn: Connection, user: User, item_id: int,
                     now: datetime) -> None:
    """Give back an item none of whose models answered: no pay, no quality effect, recorded."""
    def work(cur: Cursor) -> None:
        lease = cur.execute("SELECT campaign_id FROM leases WHERE item_id = ? AND user_id = ?",
                            [item_id, user.id]).fetchone()
        if lease is None:
            return  # already given back (a second click): nothing to do
        current = _state(cur, user.id, item_id)
        if current is None or not current.all_failed:
            raise Conflict("At least one model answered, so this item can be submitted. To give "
                           "it back anyway, use Skip.")
        cur.execute("UPDATE model_generations SET outcome = 'skipped' WHERE id = ?",
                    [current.generation_id])
        cur.execute("DELETE FROM leases WHERE item_id = ? AND user_id = ?", [item_id, user.id])
        cur.execute("INSERT INTO skips VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    [item_id, user.id, lease[0], now])

    writing(conn, work)


# ------------------------------------------------------------------------------- submission

def for_submission(cur: Cursor, user_id: int, item_id: int,
                   spec: dict) -> tuple[list[str] | None, dict | None]:
    """Inside the submitting transaction: the responses the answer is about, and their record.

    Returns (None, None) for a form without a model step. Refuses an answer given before any
    model answered.
    """
    step = workflow.model_step(spec)
    if step is None:
        return None, None
    current = _state(cur, user_id, item_id)
    if current is None:
        message = "Ask the models first: the questions are about their responses."
        raise Invalid(message, {workflow.MODEL_STEP: message})
    if current.all_failed:
        message = ("None of the models answered, so there is nothing to judge. Retry them, or "
                   "skip this item: skipping it costs you nothing.")
        raise Invalid(message, {workflow.MODEL_STEP: message})
    asks = cur.execute("SELECT count(*) FROM model_generations WHERE user_id = ? "
                       "AND item_id = ?", [user_id, item_id]).fetchone()[0]
    record = {
        "prompt": current.prompt, "generation": current.generation, "generations": asks,
        "responses": [{"slot": r.slot, "model": r.model_name,
                       "status": "ok" if r.ok else "failed", "text": r.content,
                       "error_type": r.error_type, "attempts": r.attempt, "call_id": r.call_id}
                      for r in current.results]}
    return current.available, record


def attach(cur: Cursor, user_id: int, item_id: int, response_id: int) -> None:
    """Inside the submitting transaction: tie every ask of the item to the answer."""
    cur.execute("UPDATE model_generations SET response_id = $r, outcome = CASE WHEN attempt = "
                "(SELECT max(attempt) FROM model_generations WHERE user_id = $u AND item_id = $i)"
                " THEN 'submitted' ELSE outcome END WHERE user_id = $u AND item_id = $i",
                {"r": response_id, "u": user_id, "i": item_id})


# -------------------------------------------------------------------------------- analytics

def _scope(cur: Cursor, actor: User, campaign_id: int | None,
           column: str = "campaign_id") -> tuple[str, list[Any]]:
    """The calls an actor may see: one campaign they own, theirs, or (admins) all."""
    if campaign_id is not None:
        campaigns.require_owner(actor, campaigns.fetch(cur, campaign_id))
        return f"{column} = ?", [campaign_id]
    require_role(actor, "requester", "admin")
    if actor.has("admin"):
        return "true", []
    return f"{column} IN (SELECT id FROM campaigns WHERE created_by = ?)", [actor.id]


def call_summary(conn: Connection, actor: User,
                 campaign_id: int | None = None) -> pd.DataFrame:
    """Per model: calls, failures, error rate, latency of answered calls, tokens."""
    with reading(conn) as cur:
        where, params = _scope(cur, actor, campaign_id)
        return cur.execute(
            "SELECT model_name AS model, count(*) AS calls, "
            "count(*) FILTER (WHERE status = 'failed') AS failed, "
            "(count(*) FILTER (WHERE status = 'failed'))::DOUBLE / count(*) AS error_rate, "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) "
            " FILTER (WHERE status = 'ok') AS median_ms, "
            "percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) "
            " FILTER (WHERE status = 'ok') AS p95_ms, "
            "sum(prompt_tokens)::BIGINT AS prompt_tokens, "
            "sum(completion_tokens)::BIGINT AS completion_tokens "
            f"FROM model_calls WHERE {where} GROUP BY model_name ORDER BY model_name",
            params).df()


def errors_by_type(conn: Connection, actor: User,
                   campaign_id: int | None = None) -> pd.DataFrame:
    """Failed calls per model and error type."""
    with reading(conn) as cur:
        where, params = _scope(cur, actor, campaign_id)
        return cur.execute(
            "SELECT model_name AS model, error_type, count(*) AS failures, "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS median_ms "
            f"FROM model_calls WHERE {where} AND status = 'failed' "
            "GROUP BY model_name, error_type ORDER BY model, failures DESC",
            params).df()


def calls_over_time(conn: Connection, actor: User,
                    campaign_id: int | None = None) -> pd.DataFrame:
    """Per model and hour (or day, past two days of calls): calls, error rate, latency, errors."""
    with reading(conn) as cur:
        where, params = _scope(cur, actor, campaign_id)
        first, last = cur.execute(f"SELECT min(started_at), max(started_at) FROM model_calls "
                                  f"WHERE {where}", params).fetchone()
        unit = "day" if first is not None and last - first > timedelta(days=2) else "hour"
        frame = cur.execute(
            "SELECT date_trunc(?, started_at) AS period, model_name AS model, "
            "count(*) AS calls, count(*) FILTER (WHERE status = 'failed') AS failed, "
            "(count(*) FILTER (WHERE status = 'failed'))::DOUBLE / count(*) AS error_rate, "
            "count(*) FILTER (WHERE error_type = 'timeout') AS timeouts, "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) "
            " FILTER (WHERE status = 'ok') AS median_ms "
            f"FROM model_calls WHERE {where} GROUP BY 1, 2 ORDER BY period, model",
            [unit, *params]).df()
    frame.attrs["unit"] = unit
    return frame


def call_log(conn: Connection, actor: User, campaign_id: int | None = None,
             limit: int = 200) -> pd.DataFrame:
    """The latest calls, newest first, for reading one by one."""
    with reading(conn) as cur:
        where, params = _scope(cur, actor, campaign_id, "c.campaign_id")
        return cur.execute(
            "SELECT c.started_at, c.model_name AS model, c.item_id, u.username AS expert, "
            "g.attempt AS generation, c.slot, c.attempt, c.status, c.error_type, c.http_status, "
            "c.latency_ms, c.prompt_tokens, c.completion_tokens "
            "FROM model_calls c JOIN model_generations g ON g.id = c.generation_id "
            "JOIN users u ON u.id = c.user_id "
            f"WHERE {where} "
            "ORDER BY c.id DESC LIMIT ?", [*params, limit]).df()
