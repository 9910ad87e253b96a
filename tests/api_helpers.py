"""Helpers for the API tests: a seeded database, a real `streamlit run quorum.py`, receivers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from core import db, tokens, users, workspace
from server import settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "client"))  # the client package, as `pip install ./client` gives

PASSWORD = "api-tests-2026"
# name → (roles, expertise); on top of the demo workspace's rita (requester), ada, admin
PEOPLE = {"eve": (("requester",), ()), "zoe": (("expert",), (("arts", "de-DE"),))}


def seed(path: Path, names: dict[str, str]) -> dict[str, str]:
    """A demo database at `path` with extra people; a token per entry of `names` (token → user).

    Also an expired and a revoked token of rita's, under "expired" and "revoked", and one of a
    disabled account, under "disabled".
    """
    conn = db.connect(path)
    now = settings.now()
    try:
        workspace.ensure(conn, now, demo=True, rounds=4)
        for name, (roles, expertise) in PEOPLE.items():
            users.register(conn, username=name, name=name.title(), email=f"{name}@example.com",
                           password=PASSWORD, expertise=list(expertise) or [("general", "en-US")],
                           now=now, rounds=4)
            conn.execute("DELETE FROM user_roles WHERE user_id = (SELECT id FROM users "
                         "WHERE username = ?)", [name])
            for role in roles:
                conn.execute("INSERT INTO user_roles SELECT id, ?, ? FROM users "
                             "WHERE username = ?", [role, now, name])
            if not expertise:
                conn.execute("DELETE FROM expertise WHERE user_id = (SELECT id FROM users "
                             "WHERE username = ?)", [name])
        made = {key: tokens.create(conn, users.get_user(conn, owner), key, 30, now).secret
                for key, owner in names.items()}
        rita = users.get_user(conn, "rita")
        made["expired"] = tokens.create(conn, rita, "old", 1, now - timedelta(days=2)).secret
        revoked = tokens.create(conn, rita, "gone", 30, now)
        tokens.revoke(conn, rita, revoked.id, now)
        made["revoked"] = revoked.secret
        # A requester's token made before an admin disabled her account, under "disabled".
        dora = users.register(conn, username="dora", name="Dora", email="dora@example.com",
                              password=PASSWORD, expertise=[("general", "en-US")], now=now,
                              rounds=4)
        conn.execute("INSERT INTO user_roles VALUES (?, 'requester', ?)", [dora.id, now])
        made["disabled"] = tokens.create(conn, dora, "before", 30, now).secret
        users.set_disabled(conn, users.get_user(conn, "admin"), "dora", True, now)
    finally:
        conn.close()
    return made


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_app(db_path: Path, **env: str):
    """`streamlit run quorum.py` on a free port over `db_path`; yields its URL."""
    port = free_port()
    log = db_path.parent / "streamlit.log"
    environment = {**os.environ, "QUORUM_DB": str(db_path), "QUORUM_BCRYPT_ROUNDS": "4", **env}
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "quorum.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"streamlit exited:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit not healthy:\n{log.read_text()}") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Receiver:
    """A real webhook receiver on 127.0.0.1: answers the next of `statuses` (then 200), or,
    with `hang`, holds every request that long without answering."""

    def __init__(self, statuses=(), hang: float = 0.0):
        self.statuses, self.hang = list(statuses), hang
        self.received: list[tuple[dict, bytes, float]] = []
        self.arrived = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the standard library's name)
                body = self.rfile.read(int(self.headers["content-length"]))
                outer.received.append(({k.lower(): v for k, v in self.headers.items()}, body,
                                       time.monotonic()))
                outer.arrived.set()
                if outer.hang:
                    time.sleep(outer.hang)
                    return
                status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.send_header("content-length", "21")
                self.end_headers()
                self.wfile.write(b"RECEIVER-PRIVATE-BODY")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.received) >= count, f"{len(self.received)} of {count} arrived"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
