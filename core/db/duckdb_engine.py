"""The embedded engine: one DuckDB file, one process.

DuckDB has no SELECT … FOR UPDATE; serializing this process's writers avoids wasted retries, and
`TransactionException` (a write-write conflict) still makes `writing` start over.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from core.db.base import (
    Connection,
    Cursor,
    DatabaseBusy,
    Params,
    Parts,
    Result,
    Rewrite,
    copy_with_duckdb,
)

# One lock per process, shared by every DuckDB connection in it (tests open several).
_write_lock = threading.RLock()


class DuckDBCursor(Cursor):
    engine = "duckdb"

    def __init__(self, raw: duckdb.DuckDBPyConnection):
        self._raw = raw

    def execute(self, sql: str, params: Params = None) -> DuckDBCursor:
        self._raw.execute(sql, params)
        return self

    def execute_script(self, sql: str) -> None:
        self._raw.execute(sql)

    def fetchone(self) -> tuple | None:
        return self._raw.fetchone()

    def fetchall(self) -> list[tuple]:
        return self._raw.fetchall()

    def df(self) -> pd.DataFrame:
        return self._raw.df()

    def arrow(self) -> pa.Table:
        return self._raw.to_arrow_table()

    @property
    def rowcount(self) -> int:
        return self._raw.rowcount

    @property
    def columns(self) -> list[str]:
        return [d[0] for d in self._raw.description or []]

    def attach_frame(self, name: str, frame: pd.DataFrame | pa.Table,
                     like: str | None = None) -> None:
        self._raw.register(name, frame)  # DuckDB casts untyped columns as it inserts

    def detach_frame(self, name: str) -> None:
        self._raw.unregister(name)

    def close(self) -> None:
        self._raw.close()


class DuckDBConnection(Connection):
    engine = "duckdb"
    retryable_errors = (duckdb.TransactionException,)

    def __init__(self, path: Path):
        self.path = path
        if str(path) != ":memory:":
            _keep_files_private(path)
        try:
            self._raw = duckdb.connect(str(path))
        except duckdb.IOException as error:
            if "Could not set lock on file" not in str(error):
                raise
            raise DatabaseBusy(_busy_message(path, str(error))) from None
        if str(path) != ":memory:":
            for file in (path, path.with_name(path.name + ".wal")):
                if file.exists():
                    file.chmod(0o600)  # a file made before this rule, or by another tool

    def cursor(self) -> DuckDBCursor:
        return DuckDBCursor(self._raw.cursor())

    @contextmanager
    def transaction(self, one_at_a_time: tuple[str, int] | None = None,
                    locks_rows: bool = False) -> Iterator[DuckDBCursor]:
        # Every writer of the process already takes turns (`_write_lock`): no key is needed.
        cur = self.cursor()
        try:
            with _write_lock:
                cur.execute("BEGIN TRANSACTION")
                try:
                    yield cur
                    cur.execute("COMMIT")
                except BaseException:
                    _rollback(cur)
                    raise
        finally:
            cur.close()

    def execute(self, sql: str, params: Params = None) -> Result:
        cur = self.cursor()
        try:
            cur.execute(sql, params)
            return Result.of(cur)
        finally:
            cur.close()

    def copy_to_file(self, query: str, params: dict, path: Path, options: str,
                     rewrite: Rewrite | None, parts: Parts | None = None) -> int:
        # The query reads the tables themselves: `parts` are for server engines.
        raw = self._raw.cursor()
        try:
            return copy_with_duckdb(raw, query, params, path, options, rewrite)
        finally:
            raw.close()

    def close(self) -> None:
        self._raw.close()


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
            "app first, or do this from its pages (Design imports items, Monitor exports), or "
            "run Quorum on PostgreSQL (QUORUM_DATABASE_URL), where both can work at once.")


def _rollback(cur: DuckDBCursor) -> None:
    try:
        cur.execute("ROLLBACK")
    except duckdb.Error:
        pass  # the transaction was already aborted by the failure being raised
