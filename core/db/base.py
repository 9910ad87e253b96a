"""What each engine provides: a process-wide Connection and the Cursor it hands out."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import pandas as pd
import pyarrow as pa

from core.errors import DomainError

Params = Sequence[Any] | dict[str, Any] | None


class DatabaseUnavailable(DomainError):
    """The database cannot be opened or reached; the message says what to do."""


class Cursor:
    """One statement at a time; `execute` returns the cursor so results can be chained."""

    engine: str
    # Appended to a SELECT that picks rows to change, so concurrent writers skip each other's
    # rows instead of waiting on them (empty where the engine has no row locks).
    skip_locked: str = ""

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

    def attach_frame(self, name: str, frame: pd.DataFrame) -> None:
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

    def transaction(self, one_at_a_time: tuple[str, int] | None = None
                    ) -> AbstractContextManager[Cursor]:
        """A cursor inside one transaction: committed when the block ends, else rolled back.

        With `one_at_a_time`, transactions naming the same key run one after the other, each on
        a snapshot taken after the previous one committed.
        """
        raise NotImplementedError

    def schema_lock(self) -> AbstractContextManager[None]:
        """Held while migrating, so that processes starting together migrate one at a time."""
        return nullcontext()

    def execute(self, sql: str, params: Params = None) -> Result:
        """Run one statement on its own (committed at once) and keep its result: for scripts."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


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
