"""What each engine provides: a process-wide Connection and the Cursor it hands out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from core.errors import Conflict, DomainError

Params = Sequence[Any] | dict[str, Any] | None
Rewrite = Callable[[list[tuple[str, str]], str], str]
Parts = dict[str, tuple[str, str]]  # table: (columns, condition); see core.db.copy_to_file


class DatabaseUnavailable(DomainError):
    """The database server cannot be reached; the message says what to check."""


class DatabaseBusy(Conflict):
    """Another process holds the database file (DuckDB allows one process per file)."""


class Cursor:
    """One statement at a time; `execute` returns the cursor so results can be chained."""

    engine: str

    def for_update(self, table: str, skip_locked: bool = False) -> str:
        """The clause that ends a SELECT of rows this transaction will change: it locks
        `table`'s rows (and, with `skip_locked`, passes over rows another writer holds).

        Empty on DuckDB, which has no row locks: there, writers in a process take turns and a
        conflicting update makes the transaction retry.
        """
        return ""

    def execute(self, sql: str, params: Params = None) -> Cursor:
        raise NotImplementedError

    def execute_script(self, sql: str) -> None:
        """Run several statements separated by semicolons, without parameters."""
        raise NotImplementedError

    def fetchone(self) -> tuple | None:
        raise NotImplementedError

    def fetchall(self) -> list[tuple]:
        raise NotImplementedError

    def df(self) -> pd.DataFrame:
        """The rest of the result as a DataFrame (numbers as numbers, JSON as text)."""
        raise NotImplementedError

    def arrow(self) -> pa.Table:
        """The rest of the result as an Arrow table."""
        raise NotImplementedError

    @property
    def rowcount(self) -> int:
        raise NotImplementedError

    @property
    def columns(self) -> list[str]:
        """The names of the result's columns (empty for a statement without a result)."""
        raise NotImplementedError

    def attach_frame(self, name: str, frame: pd.DataFrame | pa.Table,
                     like: str | None = None) -> None:
        raise NotImplementedError

    def detach_frame(self, name: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class Connection:
    """The process's handle on the database: cursors for reads, transactions for writes."""

    engine: str
    retryable_errors: tuple[type[BaseException], ...] = ()

    def cursor(self) -> Cursor:
        raise NotImplementedError

    def transaction(self, one_at_a_time: tuple[str, int] | None = None,
                    locks_rows: bool = False) -> AbstractContextManager[Cursor]:
        """A cursor inside one transaction: committed when the block ends, else rolled back.

        With `one_at_a_time`, transactions naming the same key run one after the other, each on
        a snapshot taken after the previous one committed; `locks_rows`: see `core.db.writing`.
        """
        raise NotImplementedError

    def gave_up(self, error: BaseException) -> BaseException:
        """What `writing` raises when every attempt failed with `error`: the error itself, or a
        sentence for a user when the database stopped answering."""
        return error

    def schema_lock(self) -> AbstractContextManager[None]:
        """Held while migrating, so that processes starting together migrate one at a time."""
        return nullcontext()

    def execute(self, sql: str, params: Params = None) -> Result:
        """Run one statement on its own (committed at once) and keep its result: for scripts."""
        raise NotImplementedError

    def copy_to_file(self, query: str, params: dict, path: Path, options: str,
                     rewrite: Rewrite | None, parts: Parts | None = None) -> int:
        """See `core.db.copy_to_file`."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def copy_with_duckdb(raw: duckdb.DuckDBPyConnection, query: str, params: dict, path: Path,
                     options: str, rewrite: Rewrite | None) -> int:
    """COPY a DuckDB query (over the database, or over Arrow fetched from another) to a file."""
    if rewrite is not None:
        described = raw.execute(f"SELECT * FROM ({query}) AS q LIMIT 0", params).description
        query = rewrite([(d[0], str(d[1])) for d in described], query)
    return raw.execute(f"COPY ({query}) TO $path ({options})",
                       {**params, "path": str(path)}).fetchone()[0]


class Result:
    """The rows of a statement run by `Connection.execute`, read before its cursor closed."""

    def __init__(self, rows: list[tuple], columns: list[str]):
        self._rows = rows
        self.columns = columns

    @classmethod
    def of(cls, cur: Cursor) -> Result:
        """Everything `cur`'s last statement returned."""
        columns = cur.columns
        return cls(cur.fetchall() if columns else [], columns)

    def fetchone(self) -> tuple | None:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[tuple]:
        rows, self._rows = self._rows, []
        return rows

    def df(self) -> pd.DataFrame:
        return pd.DataFrame.from_records(self.fetchall(), columns=self.columns)
