"""A throwaway PostgreSQL server on 127.0.0.1 for tests, benchmarks and the local deployment.

It uses the server binaries of Debian's `postgresql` package (`apt-get install postgresql`).
`initdb` refuses to run as root, so as root the server runs as the `postgres` user, in a folder
that user owns. Durability settings are relaxed (`fsync=off`): nothing here is kept.

    python -m deploy.local_postgres [FOLDER [PORT]]   # starts it, prints the URL, waits for Ctrl-C
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_SEARCH = ("/usr/lib/postgresql/*/bin",)


def binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, newest version first; None if not installed."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    for pattern in _SEARCH:
        candidates = sorted(Path("/").glob(pattern.lstrip("/")), reverse=True)
        for folder in candidates:
            if (folder / "pg_ctl").exists():
                return folder
    return None


def free_port() -> int:
    """A TCP port nobody listens on at the moment."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalPostgres:
    """A running server; `url(database)` names a database on it."""
    folder: Path
    port: int
    bindir: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        """Stop the server at once and delete its folder: nothing here is kept."""
        _run_as_owner([str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"), "-m",
                       "immediate", "-w", "stop"], check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def start(folder: str | Path | None = None, port: int | None = None,
          max_connections: int = 200) -> LocalPostgres:
    """Create a cluster in `folder` (a new temp folder if None) and start it on 127.0.0.1.

    The folder's parents must be open to the `postgres` user when run as root (/tmp is).
    """
    bindir = binaries()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql")
    folder = Path(folder or tempfile.mkdtemp(prefix="quorum-postgres-"))
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    data = folder / "data"
    _run_as_owner([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                   "--no-sync", "-E", "UTF8", "--locale", "C"])
    options = (f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
               f"-c synchronous_commit=off -c full_page_writes=off "
               f"-c max_connections={max_connections} -c shared_buffers=256MB")
    _run_as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                   str(folder / "server.log"), "-w", "-t", "30", "start"])
    server = LocalPostgres(folder, port, bindir)
    _wait_ready(port)
    return server


def _run_as_owner(command: list[str], check: bool = True) -> None:
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    result = subprocess.run(command, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")


def _wait_ready(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"PostgreSQL did not listen on port {port} within {timeout:.0f} s")


if __name__ == "__main__":
    if any(arg.startswith("-") for arg in sys.argv[1:]):
        sys.exit("usage: python -m deploy.local_postgres [FOLDER] [PORT]  (a new PostgreSQL "
                 "server in FOLDER on 127.0.0.1:PORT, until Ctrl+C)")
    server = start(sys.argv[1] if len(sys.argv) > 1 else None,
                   int(sys.argv[2]) if len(sys.argv) > 2 else None)
    print(server.url("postgres"), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
