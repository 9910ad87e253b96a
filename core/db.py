"""Connection, migrations and the one write path."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import duckdb

from core.errors import Conflict

MIGRATIONS = Path(__file__).parent / "migrations"
# The connection type, named here so callers outside core need not import duckdb.
Connection = duckdb.DuckDBPyConnection
T = TypeVar("T")

# DuckDB has no SELECT … FOR UPDATE; serializing this process's writers avoids wasted retries,
# and the retry below still covers writers that conflict from elsewhere.
_write_lock = threading.RLock()
_MAX_ATTEMPTS = 8


class DatabaseBusy(Conflict):
    """Another process holds the database file (DuckDB allows one process per file)."""


def connect(path: str | Path) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the database at `path` and bring its schema up to date."""
    path = Path(path)
    if str(path) != ":memory:":
        _keep_files_private(path)
    try:
        conn = duckdb.connect(str(path))
    except duckdb.IOException as error:
        if "Could not set lock on file" not in str(error):
            raise
        raise DatabaseBusy(_busy_message(path, str(error))) from None
    if str(path) != ":memory:":
        for file in (path, path.with_name(path.name + ".wal")):
            if file.exists():
                file.chmod(0o600)  # a file made before this rule, or by another tool
    migrate(conn)
    return conn


def _keep_files_private(path: Path) -> None:
    # DuckDB creates the file, and re-creates its .wal on the first write after every
    # checkpoint, with the process umask: only a umask keeps them owner-only from their first
    # byte, so this process drops group and other permissions for good.
    os.umask(os.umask(0o077) | 0o077)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)


def _busy_message(path: Path, error: str) -> str:
    pid = re.search(r"PID (\d+)", error)
    holder = f"another process (PID {pid[1]})" if pid else "another process"
    return (f"The database {path} is in use by {holder}, most likely the running app: stop the "
            "app first, or do this from its pages (Design imports items, Monitor exports).")


def migrations() -> list[tuple[int, str, str]]:
    """The migration files as (version, name, sql), in order."""
    found = []
    for file in sorted(MIGRATIONS.glob("*.sql")):
        match = re.match(r"(\d+)_(.+)\.sql$", file.name)
        if match:
            found.append((int(match[1]), match[2], file.read_text()))
    return found


def migrate(conn: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply pending migrations, each with its record in one transaction; return those applied."""
    cur = conn.cursor()
    cur.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    done = {row[0] for row in cur.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for version, name, sql in migrations():
        if version in done:
            continue
        with _write_lock:
            cur.execute("BEGIN")
            try:
                cur.execute(sql)
                cur.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                    [version, name, datetime.now()],
                )
                cur.execute("COMMIT")
            except Exception:
                cur.execute("ROLLBACK")
                raise
        applied.append(version)
    return applied


@contextmanager
def reading(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh cursor for reads; each thread and each call gets its own."""
    cur = conn.cursor()
    try:
        yield cur
    finally:
        cur.close()


def writing(conn: duckdb.DuckDBPyConnection, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """Run `work(cursor)` in one transaction and return its result, retrying on conflict.

    `work` must be safe to run again: on a `TransactionException` everything is rolled back
    and `work` starts over on a fresh snapshot.
    """
    for attempt in range(_MAX_ATTEMPTS):
        cur = conn.cursor()
        try:
            with _write_lock:
                cur.execute("BEGIN TRANSACTION")
                try:
                    result = work(cur)
                    cur.execute("COMMIT")
                    return result
                except BaseException:
                    _rollback(cur)
                    raise
        except duckdb.TransactionException:
            if attempt == _MAX_ATTEMPTS - 1:
                raise
            time.sleep(0.002 * (attempt + 1))
        finally:
            cur.close()
    raise AssertionError("unreachable")


def _rollback(cur: duckdb.DuckDBPyConnection) -> None:
    try:
        cur.execute("ROLLBACK")
    except duckdb.Error:
        pass  # the transaction was already aborted by the failure being raised
