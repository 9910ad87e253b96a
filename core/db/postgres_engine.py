"""The shared engine: a PostgreSQL server that any number of app processes use at once.

Writes run at REPEATABLE READ: like DuckDB, a transaction works on a snapshot and the second of
two transactions changing one row fails with a serialization error, which `writing` retries. So
the compare-and-swap logic core relies on holds across processes. Claims and submissions lock
the item row first (`Cursor.for_update`) and re-check under the lock; they run at READ
COMMITTED (`writing(..., locks_rows=True)`), so that claimers pass each other's items by
(SKIP LOCKED) instead of failing on snapshots when many experts work one campaign.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import adbc_driver_postgresql.dbapi as adbc
import duckdb
import pandas as pd
import psycopg
import pyarrow as pa
from psycopg import IsolationLevel
from psycopg.adapt import Loader
from psycopg_pool import ConnectionPool, PoolTimeout

from core.db import sql as dialect
from core.db.base import (
    Connection,
    Cursor,
    DatabaseUnavailable,
    Params,
    Parts,
    Result,
    Rewrite,
    copy_with_duckdb,
)

_SCHEMA_LOCK = 7_270_001  # the advisory lock a process holds while it migrates
# How long a page waits for a pooled connection before saying the database is not answering,
# and how long opening waits for the first connection before saying it cannot be reached.
_WAIT_FOR_CONNECTION_S = 5
_WAIT_TO_OPEN_S = 10
_CONFLICTS = (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)
_BULK_READ_SETTINGS = ("SET jit = off", "SET work_mem = '256MB'")
_PARALLEL_PARTS = 4  # ranges of an export's tables fetched at once, each on its own connection
_BYTES_PER_CHUNK = 32 * 2**20  # a part expected to send less comes in one range


class _JsonAsText(Loader):
    """JSON comes back as its text, as DuckDB returns it; core parses what it needs."""

    def load(self, data: bytes | bytearray | memoryview) -> str:
        return bytes(data).decode()


def _configure(raw: psycopg.Connection) -> None:
    raw.adapters.register_loader("json", _JsonAsText)
    raw.adapters.register_loader("jsonb", _JsonAsText)
    raw.isolation_level = IsolationLevel.REPEATABLE_READ


class PostgresCursor(Cursor):
    engine = "postgres"

    def for_update(self, table: str, skip_locked: bool = False) -> str:
        return f" FOR UPDATE OF {table}" + (" SKIP LOCKED" if skip_locked else "")

    def __init__(self, raw: psycopg.Connection, release=None):
        self._conn = raw
        self._raw = raw.cursor()
        self._release = release

    def execute(self, sql: str, params: Params = None) -> PostgresCursor:
        self._raw.execute(dialect.to_postgres(sql), params if params is not None else ())
        return self

    def execute_script(self, sql: str) -> None:
        self._raw.execute(dialect.to_postgres(sql, placeholders=False))

    def fetchone(self) -> tuple | None:
        return self._raw.fetchone()

    def fetchall(self) -> list[tuple]:
        return self._raw.fetchall()

    def df(self) -> pd.DataFrame:
        frame = pd.DataFrame.from_records(self._raw.fetchall(), columns=self.columns)
        # DuckDB hands DECIMAL columns to pandas as floats; so does this engine.
        for column in [c for c in frame.columns if frame[c].dtype == object]:
            if frame[column].map(lambda v: isinstance(v, Decimal)).any():
                frame[column] = frame[column].astype("float64")
        return frame

    def arrow(self) -> pa.Table:
        columns = self.columns
        rows = self._raw.fetchall()
        return pa.table({name: [row[i] for row in rows] for i, name in enumerate(columns)})

    @property
    def rowcount(self) -> int:
        return self._raw.rowcount

    @property
    def columns(self) -> list[str]:
        return [d.name for d in self._raw.description or []]

    def attach_frame(self, name: str, frame: pd.DataFrame | pa.Table,
                     like: str | None = None) -> None:
        table = frame if isinstance(frame, pa.Table) else _arrow_of(frame)
        known = self._column_types(like) if like else {}
        columns = ", ".join(f'"{f.name}" {known.get(f.name) or _pg_type(f.type)}'
                            for f in table.schema)
        self._raw.execute(f"CREATE TEMP TABLE {name} ({columns})")
        quoted = ", ".join(f'"{f.name}"' for f in table.schema)
        with self._raw.copy(f"COPY {name} ({quoted}) FROM STDIN") as copy:
            for batch in table.to_batches(max_chunksize=50_000):
                for row in zip(*(c.to_pylist() for c in batch.columns), strict=True):
                    copy.write_row(row)

    def _column_types(self, table: str) -> dict[str, str]:
        return dict(self._raw.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            [table]).fetchall())

    def detach_frame(self, name: str) -> None:
        self._raw.execute(f"DROP TABLE IF EXISTS {name}")

    def close(self) -> None:
        self._raw.close()
        if self._release is not None:
            self._release(self._conn)
            self._release = None


class PostgresConnection(Connection):
    engine = "postgres"
    retryable_errors = (*_CONFLICTS, psycopg.OperationalError)

    def __init__(self, url: str, *, pool_size: int = 10):
        self.url = url
        self._pool = ConnectionPool(url, min_size=1, max_size=pool_size, open=False,
                                    kwargs={"autocommit": True}, configure=_configure,
                                    check=ConnectionPool.check_connection)
        try:
            self._pool.open(wait=True, timeout=_WAIT_TO_OPEN_S)
        except (PoolTimeout, psycopg.OperationalError) as error:
            self._pool.close()
            raise DatabaseUnavailable(
                f"Cannot reach the PostgreSQL server at {_where(url)}: check "
                "QUORUM_DATABASE_URL (host, port, database, user and password) and that the "
                "server is running.") from error

    def gave_up(self, error: BaseException) -> BaseException:
        # Serialization failures and deadlocks are OperationalErrors too, but the server answered.
        lost = (isinstance(error, psycopg.OperationalError)
                and not isinstance(error, _CONFLICTS))
        return self._unreachable() if lost else error

    def _unreachable(self) -> DatabaseUnavailable:
        return DatabaseUnavailable(
            f"The database server at {_where(self.url)} is not answering. Try again in a "
            "moment: a change is stored whole or not at all, and one that got through is not "
            "stored twice.")

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        try:
            raw = self._pool.getconn(timeout=_WAIT_FOR_CONNECTION_S)
        except PoolTimeout:
            raise self._unreachable() from None
        try:
            yield raw
        finally:
            self._pool.putconn(raw)

    def cursor(self) -> PostgresCursor:
        try:
            raw = self._pool.getconn(timeout=_WAIT_FOR_CONNECTION_S)
        except PoolTimeout:
            raise self._unreachable() from None
        return PostgresCursor(raw, release=self._pool.putconn)

    @contextmanager
    def transaction(self, one_at_a_time: tuple[str, int] | None = None,
                    locks_rows: bool = False) -> Iterator[PostgresCursor]:
        with self._connection() as raw:
            raw.isolation_level = (IsolationLevel.READ_COMMITTED if locks_rows
                                   else IsolationLevel.REPEATABLE_READ)
            # Taken before BEGIN, so the transaction's snapshot sees the previous holder's work.
            turn = _Turn(raw, one_at_a_time)
            with turn, raw.transaction():
                cur = PostgresCursor(raw)
                try:
                    yield cur
                finally:
                    cur.close()

    @contextmanager
    def schema_lock(self) -> Iterator[None]:
        # A connection of its own: the pool's serve the migrations meanwhile.
        with psycopg.connect(self.url, autocommit=True) as raw:
            raw.execute("SELECT pg_advisory_lock(%s)", [_SCHEMA_LOCK])
            yield  # the lock ends with the connection

    def execute(self, sql: str, params: Params = None) -> Result:
        with self._connection() as raw:
            cur = PostgresCursor(raw)
            try:
                cur.execute(sql, params)
                return Result.of(cur)
            finally:
                cur.close()

    def copy_to_file(self, query: str, params: dict, path: Path, options: str,
                     rewrite: Rewrite | None, parts: Parts | None = None) -> int:
        # The rows travel as Arrow (ADBC reads PostgreSQL's binary COPY into columns, far faster
        # than a row at a time); DuckDB, in memory, writes the file.
        if not parts:
            fetched = self.fetch_arrow(query, params)
            with duckdb.connect() as files:
                files.register("fetched", fetched)
                return copy_with_duckdb(files, "SELECT * FROM fetched", {}, path, options,
                                        rewrite)
        # Each table's rows come narrow, on connections of their own sharing one snapshot, and
        # stream into DuckDB tables (spilled to disk past DuckDB's memory limit); DuckDB then
        # runs the query: the joins, the sort and the file are its work, not the server's. A
        # large table comes in block ranges at once (TID range scans), so that the server's
        # cores share the work of sending its rows.
        with duckdb.connect() as files, self._snapshot() as snapshot:
            chunks = self._chunks(parts, params)

            def fetch(name: str, n: int, lo: int, hi: int | None) -> None:
                columns, where = parts[name]
                blocks = f" AND ctid >= '({lo},0)'::tid" if lo else ""
                blocks += f" AND ctid < '({hi},0)'::tid" if hi is not None else ""
                numbered, values = dialect.numbered(
                    f'SELECT {columns} FROM "{name}" WHERE ({where}){blocks}', params)
                with adbc.connect(self.url, autocommit=True) as raw, raw.cursor() as cur:
                    for setting in (*_BULK_READ_SETTINGS,
                                    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                                    f"SET TRANSACTION SNAPSHOT '{snapshot}'"):
                        cur.execute(setting)
                    cur.execute(numbered, parameters=values)
                    local = files.cursor()
                    try:
                        local.register("part_rows", cur.fetch_record_batch())
                        local.execute(f'CREATE TABLE "{name}__{n}" AS SELECT * FROM part_rows')
                    finally:
                        local.close()
                    cur.execute("COMMIT")

            with ThreadPoolExecutor(max_workers=_PARALLEL_PARTS) as pool:
                for done in [pool.submit(fetch, name, n, lo, hi)
                             for name, ranges in chunks.items()
                             for n, (lo, hi) in enumerate(ranges)]:
                    done.result()
            for name, ranges in chunks.items():
                files.execute(f'CREATE VIEW "{name}" AS ' + " UNION ALL ".join(
                    f'SELECT * FROM "{name}__{n}"' for n in range(len(ranges))))
            return copy_with_duckdb(files, query, params, path, options, rewrite)

    def _chunks(self, parts: Parts, params: dict) -> dict[str, list[tuple[int, int | None]]]:
        """Each table's block ranges [lo, hi): one range for a part the planner expects to be
        small (it then reads it as it likes, by index for one campaign), up to
        `_PARALLEL_PARTS` for a large one (the last range open-ended)."""
        chunks = {}
        with self._connection() as raw:
            for name, (columns, where) in parts.items():
                plan = raw.execute("EXPLAIN (FORMAT JSON) " + dialect.to_postgres(
                    f'SELECT {columns} FROM "{name}" WHERE ({where})'), params).fetchone()[0]
                plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
                pages = raw.execute("SELECT relpages FROM pg_class WHERE oid = %s::regclass",
                                    [name]).fetchone()[0]
                n = max(1, min(_PARALLEL_PARTS,
                               plan["Plan Rows"] * plan["Plan Width"] // _BYTES_PER_CHUNK))
                step = -(-pages // n)
                chunks[name] = [(k * step, (k + 1) * step if k < n - 1 else None)
                                for k in range(n)]
        return chunks

    @contextmanager
    def _snapshot(self) -> Iterator[str]:
        """A snapshot other connections can share (`SET TRANSACTION SNAPSHOT`) while held."""
        with self._connection() as raw:
            raw.isolation_level = IsolationLevel.REPEATABLE_READ
            with raw.transaction():
                raw.execute("SET TRANSACTION READ ONLY")
                yield raw.execute("SELECT pg_export_snapshot()").fetchone()[0]

    def fetch_arrow(self, query: str, params: dict) -> pa.Table:
        """A query's whole result as an Arrow table, read in columns."""
        numbered, values = dialect.numbered(query, params)
        with adbc.connect(self.url) as raw, raw.cursor() as cur:
            # A bulk read (an export of millions of answers): JIT compiling its plan took 3 s
            # of 15, and its sort spilled 700 MB to disk at the default 4 MB of work memory.
            for setting in _BULK_READ_SETTINGS:
                cur.execute(setting)
            cur.execute(numbered, parameters=values)
            return cur.fetch_arrow_table()

    def close(self) -> None:
        self._pool.close()


class _Turn:
    """A session-level advisory lock on a (name, number) key, held around one transaction."""

    def __init__(self, raw: psycopg.Connection, key: tuple[str, int] | None):
        self._raw, self._key = raw, key

    def __enter__(self) -> None:
        if self._key is not None:
            self._raw.execute("SELECT pg_advisory_lock(hashtext(%s), %s)", list(self._key))

    def __exit__(self, *exc) -> None:
        if self._key is not None and not self._raw.closed:
            self._raw.execute("SELECT pg_advisory_unlock(hashtext(%s), %s)", list(self._key))


def _where(url: str) -> str:
    """Host, port and database of a URL, never its password."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or ''}"


def _arrow_of(frame: pd.DataFrame) -> pa.Table:
    """A DataFrame as Arrow; dicts and lists in object columns become their JSON text."""
    import json

    fixed = frame.copy()
    for column in [c for c in fixed.columns if fixed[c].dtype == object]:
        values = fixed[column]
        if values.map(lambda v: isinstance(v, dict)).any():
            fixed[column] = values.map(
                lambda v: None if v is None else json.dumps(v, ensure_ascii=False, default=str))
    return pa.Table.from_pandas(fixed, preserve_index=False)


def _pg_type(kind: pa.DataType) -> str:
    """The PostgreSQL column type for an Arrow type."""
    if pa.types.is_boolean(kind):
        return "BOOLEAN"
    if pa.types.is_integer(kind):
        return "BIGINT"
    if pa.types.is_floating(kind):
        return "DOUBLE PRECISION"
    if pa.types.is_decimal(kind):
        return "NUMERIC"
    if pa.types.is_timestamp(kind):
        return "TIMESTAMP"
    if pa.types.is_date(kind):
        return "DATE"
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _pg_type(kind.value_type) + "[]"
    return "TEXT"
