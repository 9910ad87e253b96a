"""Shared by the API benchmarks: an admin token on a database, and the app on a free port."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from core import db, tokens, users
from server import settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "client"))


def admin_token(target: str) -> tuple[str, str]:
    """A fresh token of the workspace's first admin: (username, secret)."""
    conn = db.connect(target)
    try:
        name = conn.execute("SELECT u.username FROM users u JOIN user_roles r ON r.user_id = u.id "
                            "WHERE r.role = 'admin' ORDER BY u.id LIMIT 1").fetchone()[0]
        secret = tokens.create(conn, users.get_user(conn, name), "bench", 1,
                               settings.now()).secret
    finally:
        conn.close()
    return name, secret


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_app(env: dict[str, str], log: Path):
    """`streamlit run quorum.py` on a free port with `env`; yields its URL."""
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "quorum.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def summary(samples: list[float]) -> tuple[float, float]:
    """Median and p95 in milliseconds."""
    ordered = sorted(samples)
    return (statistics.median(ordered) * 1000,
            ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000)
