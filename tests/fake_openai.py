"""A real OpenAI-compatible chat-completions server on 127.0.0.1, for tests and benchmarks.

    with FakeOpenAI() as fake:
        fake.plan("beta", Delay(5), Reply("second try"))  # beta's first call hangs 5 s
        base_url = fake.base_url                          # http://127.0.0.1:PORT/v1

Each model id answers from its own queue of behaviours, one per request, then from its default
(a reply naming the model and echoing the prompt). Behaviours: Reply (after an optional
delay), Delay (a slow reply), HttpError, Malformed (a 200 whose body is not a completion), Raw
(bytes sent as they are), Drop (the connection is closed without a response) and Trickle (a
reply sent a byte at a time). Every request received, on any path, is kept in `requests`; when
a client hangs up on a trickle, the time is kept in `hangups`. Only the standard library is used.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """A normal completion, after `delay` seconds; `usage` False leaves token counts out."""
    text: str | None = None
    delay: float = 0.0
    usage: bool = True


@dataclass(frozen=True)
class Delay:
    """A completion that takes `seconds` to come (a timeout when longer than the model's)."""
    seconds: float
    text: str | None = None


@dataclass(frozen=True)
class HttpError:
    status: int = 500
    body: str = '{"error": {"message": "internal error", "type": "server_error"}}'


@dataclass(frozen=True)
class Malformed:
    """A 200 response whose body is not a chat completion (`body` is sent as is)."""
    body: str = "<html>surprise</html>"


@dataclass(frozen=True)
class Raw:
    """Send `data` as it is, then close: e.g. a status line that is not HTTP."""
    data: bytes


@dataclass(frozen=True)
class Trickle:
    """A 200 whose headers come at once and whose body comes one byte every `interval` s."""
    interval: float = 0.5
    size: int = 60


@dataclass(frozen=True)
class Drop:
    """Close the connection after reading the request, without answering."""


@dataclass
class _State:
    plans: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    defaults: dict[str, Any] = field(default_factory=dict)
    requests: list[dict] = field(default_factory=list)
    hangups: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: _State  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        model = str(body.get("model", ""))
        with self.state.lock:
            self.state.requests.append({"path": self.path, "model": model, "body": body,
                                        "authorization": self.headers.get("Authorization"),
                                        "at": time.monotonic()})
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(404, json.dumps({"error": {"message": f"no route {self.path}"}}))
            return
        with self.state.lock:
            queue = self.state.plans[model]
            behaviour = queue.popleft() if queue else self.state.defaults.get(model, Reply())
        self._act(behaviour, model, body)

    def _act(self, behaviour: Any, model: str, body: dict) -> None:
        if isinstance(behaviour, Drop):
            self.close_connection = True
            self.connection.shutdown(2)  # SHUT_RDWR: the client sees the connection drop
            return
        if isinstance(behaviour, HttpError):
            self._send(behaviour.status, behaviour.body)
            return
        if isinstance(behaviour, Malformed):
            self._send(200, behaviour.body)
            return
        if isinstance(behaviour, Raw):
            self.close_connection = True
            self.wfile.write(behaviour.data)
            return
        if isinstance(behaviour, Trickle):
            self._trickle(behaviour)
            return
        delay = behaviour.seconds if isinstance(behaviour, Delay) else behaviour.delay
        if delay and self.state.stopping.wait(delay):
            return  # the server is stopping: give up quietly
        text = behaviour.text if behaviour.text is not None else _default_text(model, body)
        usage = not isinstance(behaviour, Reply) or behaviour.usage
        self._send(200, json.dumps(_completion(model, text, body, usage)))

    def _trickle(self, behaviour: Trickle) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(behaviour.size))
            self.end_headers()
            for _ in range(behaviour.size):
                if self.state.stopping.wait(behaviour.interval):
                    return
                self.wfile.write(b" ")
        except OSError:  # the client hung up
            with self.state.lock:
                self.state.hangups.append(time.monotonic())

    def _send(self, status: int, text: str) -> None:
        data = text.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (it timed out): nothing to answer to


def _last_user_message(body: dict) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return str(message.get("content", ""))
    return ""


def _default_text(model: str, body: dict) -> str:
    return f"{model} answers: {_last_user_message(body)}"


def _completion(model: str, text: str, body: dict, usage: bool) -> dict:
    prompt_tokens = sum(len(str(m.get("content", "")).split())
                        for m in body.get("messages") or [] if isinstance(m, dict))
    completion = {"id": "chatcmpl-fake", "object": "chat.completion", "created": 0,
                  "model": model, "choices": [{"index": 0, "finish_reason": "stop",
                                               "message": {"role": "assistant", "content": text}}]}
    if usage:
        completion["usage"] = {"prompt_tokens": prompt_tokens,
                               "completion_tokens": len(text.split()),
                               "total_tokens": prompt_tokens + len(text.split())}
    return completion


class FakeOpenAI:
    """The server, started on a free port of 127.0.0.1 in a daemon thread."""

    def __init__(self, port: int = 0) -> None:
        self._state = _State()
        handler = type("Handler", (_Handler,), {"state": self._state})
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, ending in /v1."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._state.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def plan(self, model: str, *behaviours: Any) -> None:
        """Queue behaviours for the next requests naming `model`, one per request."""
        with self._state.lock:
            self._state.plans[model].extend(behaviours)

    def default(self, model: str, behaviour: Any) -> None:
        """What `model` does once its queue is empty (a Reply echoing the prompt otherwise)."""
        with self._state.lock:
            self._state.defaults[model] = behaviour

    @property
    def requests(self) -> list[dict]:
        """Every request received, oldest first."""
        with self._state.lock:
            return list(self._state.requests)

    @property
    def hangups(self) -> list[float]:
        """When clients hung up on a trickling reply (time.monotonic), oldest first."""
        with self._state.lock:
            return list(self._state.hangups)


def main() -> None:
    """Serve in the foreground for trying Quorum by hand: `python -m tests.fake_openai [PORT]`."""
    import sys

    fake = FakeOpenAI(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(f"fake OpenAI server at {fake.base_url}", flush=True)
    try:
        fake._server.serve_forever()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
