"""Storage: one API over two engines, an embedded DuckDB file or a PostgreSQL server.

Core talks to a `Connection` (one per process) through `reading(conn)` (a cursor for reads) and
`writing(conn, work)` (one transaction, retried on conflict), and uses a DataFrame as a table with
`frame_table`. Only this package knows the engine: `core/db/duckdb_engine.py` and
`core/db/postgres_engine.py` implement the same small interface, and SQL written for DuckDB is
respelled for PostgreSQL by `core/db/sql.py`.

Both engines give a write transaction a snapshot and refuse the second of two transactions that
change the same row (DuckDB's optimistic concurrency; PostgreSQL's REPEATABLE READ), so the same
compare-and-swap logic holds on both, within a process and across processes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import duckdb
import pandas as pd
import pyarrow as pa

from core.db.base import Connection, Cursor, DatabaseBusy, DatabaseUnavailable

__all__ = ["Connection", "Cursor", "DatabaseBusy", "DatabaseUnavailable", "connect",
           "copy_to_file", "frame_table", "is_postgres_url", "migrate", "migrations", "reading",
           "scratch", "writing"]

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
T = TypeVar("T")
_MAX_ATTEMPTS = 8


def is_postgres_url(target: str | Path) -> bool:
    """Whether `target` names a PostgreSQL server rather than a DuckDB file."""
    return str(target).startswith(("postgresql://", "postgres://"))


def connect(target: str | Path, *, pool_size: int = 10) -> Connection:
    """Open the database (a DuckDB path, created if needed, or a PostgreSQL URL) and migrate it."""
    if is_postgres_url(target):
        from core.db.postgres_engine import PostgresConnection
        conn: Connection = PostgresConnection(str(target), pool_size=pool_size)
    else:
        from core.db.duckdb_engine import DuckDBConnection
        conn = DuckDBConnection(Path(target))
    try:
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def migrations(engine: str = "duckdb") -> list[tuple[int, str, str]]:
    """The migration files as (version, name, sql), in order, for `engine`.

    `NNNN_name.sql` applies to both engines; `NNNN_name.postgres.sql` or `NNNN_name.duckdb.sql`
    to one only (indexes that only one of them needs).
    """
    found = []
    for file in sorted(MIGRATIONS.glob("*.sql")):
        match = re.match(r"(\d+)_([a-z0-9_]+)(?:\.(duckdb|postgres))?\.sql$", file.name)
        if match and match[3] in (None, engine):
            found.append((int(match[1]), match[2], file.read_text()))
    return found


def migrate(conn: Connection) -> list[int]:
    """Apply pending migrations, each with its record in one transaction; return those applied.

    Processes starting at the same time take turns (`schema_lock`), so each migration runs once.
    """
    applied = []
    with conn.schema_lock():
        with reading(conn) as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
                        " applied_at TIMESTAMP NOT NULL)")
            done = {row[0] for row in cur.execute(
                "SELECT version FROM schema_migrations").fetchall()}
        for version, name, sql in migrations(conn.engine):
            if version in done:
                continue

            def apply(cur: Cursor, version: int = version, name: str = name,
                      sql: str = sql) -> None:
                cur.execute_script(sql)
                cur.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)",
                            [version, name, datetime.now()])

            writing(conn, apply)
            applied.append(version)
    return applied


@contextmanager
def reading(conn: Connection) -> Iterator[Cursor]:
    """A fresh cursor for reads; each thread and each call gets its own."""
    cur = conn.cursor()
    try:
        yield cur
    finally:
        cur.close()


def writing(conn: Connection, work: Callable[[Cursor], T], *,
            one_at_a_time: tuple[str, int] | None = None, locks_rows: bool = False) -> T:
    """Run `work(cursor)` in one transaction and return its result, retrying on conflict.

    `work` must be safe to run again: on a conflict (or a dropped connection) everything is rolled
    back and `work` starts over on a fresh snapshot. Writers that would all change the same rows
    (forming teams from one lobby) name a key, `one_at_a_time=("lobby", campaign_id)`: they then
    take turns across processes instead of colliding and retrying.

    `locks_rows=True` says that `work` locks the rows it will change (`Cursor.for_update`)
    before it reads what it decides on, and re-checks under those locks: on PostgreSQL it then
    runs at READ COMMITTED, each statement seeing what others committed, so busy writers wait
    for a row or pass it by instead of failing on an old snapshot.
    """
    for attempt in range(_MAX_ATTEMPTS):
        try:
            with conn.transaction(one_at_a_time, locks_rows) as cur:
                return work(cur)
        except conn.retryable_errors as error:
            if attempt == _MAX_ATTEMPTS - 1:
                raise conn.gave_up(error) from error
            time.sleep(0.002 * (attempt + 1) * (1 + attempt % 3))
    raise AssertionError("unreachable")


@contextmanager
def scratch() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB for reading and writing files, whichever engine holds the data.

    Imports parse their file here and hand the database Arrow; exports write Parquet, CSV and
    JSON Lines from here.
    """
    files = duckdb.connect()
    try:
        yield files
    finally:
        files.close()


def copy_to_file(conn: Connection, query: str, params: dict, path: Path, options: str,
                 rewrite: Callable[[list[tuple[str, str]], str], str] | None = None,
                 parts: dict[str, tuple[str, str]] | None = None) -> int:
    """Write what `query` returns to `path` with DuckDB's COPY (`options` such as
    `FORMAT parquet`) and return the number of rows.

    `rewrite(columns, query)` may wrap the query before it is written, given the result's
    columns as (name, DuckDB type name).

    `parts` ({table: (columns, condition)}) says what `query` reads of each table: the columns
    (SQL expressions, JSON as text) and a condition on its rows, with the same `params`. A
    DuckDB database runs `query` itself and ignores them; a server engine fetches the parts in
    columns, several at once, into a scratch DuckDB under the tables' names, and DuckDB joins,
    sorts and writes there.
    """
    return conn.copy_to_file(query, params, path, options, rewrite, parts)


@contextmanager
def frame_table(cur: Cursor, name: str, frame: pd.DataFrame | pa.Table,
                like: str | None = None) -> Iterator[str]:
    """`frame` as a table called `name` for the statements run inside the block.

    `like` names a table whose column types the frame's columns of the same names take (for
    columns pandas cannot type, such as one holding only missing values).
    """
    cur.attach_frame(name, frame, like)
    try:
        yield name
    finally:
        cur.detach_frame(name)
