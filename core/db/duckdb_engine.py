"""The embedded engine: one DuckDB file, one process.

DuckDB has no SELECT … FOR UPDATE; serializing this process's writers avoids wasted retries, and
`TransactionException` (a write-write conflict) still makes `writing` start over.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from core.db.base import Connection, Cursor, Params, Result

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

    def attach_frame(self, name: str, frame: pd.DataFrame | pa.Table) -> None:
        self._raw.register(name, frame)

    def detach_frame(self, name: str) -> None:
        self._raw.unregister(name)

    def close(self) -> None:
        self._raw.close()


class DuckDBConnection(Connection):
    engine = "duckdb"
    retryable_errors = (duckdb.TransactionException,)

    def __init__(self, path: Path):
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._raw = duckdb.connect(str(path))

    def cursor(self) -> DuckDBCursor:
        return DuckDBCursor(self._raw.cursor())

    @contextmanager
    def transaction(self, one_at_a_time: tuple[str, int] | None = None
                    ) -> Iterator[DuckDBCursor]:
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

    def close(self) -> None:
        self._raw.close()


def _rollback(cur: DuckDBCursor) -> None:
    try:
        cur.execute("ROLLBACK")
    except duckdb.Error:
        pass  # the transaction was already aborted by the failure being raised
