"""Time item import (1,000,000 rows from CSV and Parquet) and answer export (3,000,000 rows).

    python -m bench.import_export --database /tmp/bench/quorum.duckdb --workdir /tmp/bench/io
    createdb -T quorum run; createdb empty
    python -m bench.import_export --database postgresql://postgres@127.0.0.1:55432/run \
        --import-database postgresql://postgres@127.0.0.1:55432/empty --workdir /tmp/bench/io

Import runs on a fresh database (`--import-database`, an empty one; by default a new DuckDB
file in --workdir); export reads the generated workspace at --database (see bench.generate)
and writes every campaign's answers as Parquet, CSV and JSON Lines.
"""

from __future__ import annotations

import argparse
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from core import campaigns, db, io, users, workflow, workspace

SPEC = workflow.TEMPLATES["Classification"]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def make_files(folder: Path, rows: int) -> dict[str, Path]:
    """A CSV and a Parquet file of `rows` items with an id, a text and a gold label."""
    folder.mkdir(parents=True, exist_ok=True)
    query = (f"SELECT 'ext-' || range AS id, 'Review ' || range || ': the product '"
             f" || (['works well', 'broke quickly', 'is fine'])[range % 3 + 1] AS review,"
             f" CASE WHEN range % 50 = 0 THEN 'positive' END AS gold FROM range({rows})")
    files = {"csv": folder / "items.csv", "parquet": folder / "items.parquet"}
    with duckdb.connect() as conn:
        conn.execute(f"COPY ({query}) TO '{files['csv']}' (FORMAT csv, HEADER true)")
        conn.execute(f"COPY ({query}) TO '{files['parquet']}' (FORMAT parquet)")
    return files


def time_imports(folder: Path, rows: int, target: str | None = None) -> dict[str, float]:
    """Seconds to import each file into a new campaign of a fresh database (`target`, or a new
    DuckDB file in `folder`)."""
    files = make_files(folder, rows)
    conn = db.connect(target or folder / "import.duckdb")
    now = _now()
    workspace.ensure(conn, now, demo=False)
    owner = users.register(conn, username="bench", name="Bench", email="bench@example.com",
                           password="import-pass-9", expertise=[("general", "en-US")], now=now,
                           rounds=4)
    mapping = io.Mapping({"text": "review"}, external_id="id", gold="gold")
    times = {}
    for fmt, path in files.items():
        campaign = campaigns.create(conn, owner, spec_text=SPEC, now=now, title=f"Import {fmt}",
                                    skill="general", language="en-US", minutes_per_item=1,
                                    pay_per_item=0.1, overlap=3, opens_at=now,
                                    expires_at=now + timedelta(days=30))
        start = time.perf_counter()
        report = io.import_items(conn, owner, campaign.id, path, mapping, now)
        times[f"import {rows:,} items from {fmt.upper()}"] = time.perf_counter() - start
        assert report.imported == rows
    conn.close()
    return times


def time_exports(target: str, folder: Path,
                 formats: tuple[str, ...] = ("parquet", "csv", "jsonl")) -> dict[str, float]:
    """Seconds to export every answer of the generated workspace, per format."""
    conn = db.connect(target)
    admin_id = conn.execute("SELECT min(id) FROM users").fetchone()[0]
    conn.execute("INSERT INTO user_roles VALUES (?, 'admin', ?) ON CONFLICT DO NOTHING",
                 [admin_id, _now()])
    admin = users.get_user(conn, conn.execute("SELECT username FROM users WHERE id = ?",
                                              [admin_id]).fetchone()[0])
    answers = conn.execute("SELECT count(*) FROM responses").fetchone()[0]
    times = {}
    for fmt in formats:
        out = folder / f"answers.{fmt}"
        start = time.perf_counter()
        rows = io.export(conn, admin, "answers", None, out, fmt)
        times[f"export {answers:,} answers to {fmt}"] = time.perf_counter() - start
        assert rows == answers
    conn.close()
    return times


def main(argv: list[str] | None = None) -> None:
    """Command line: print a markdown table of import and export timings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", "--db", dest="database", required=True,
                        help="a generated workspace: DuckDB path or PostgreSQL URL")
    parser.add_argument("--import-database",
                        help="an empty database to import into (default: a new DuckDB file)")
    parser.add_argument("--workdir", type=Path, required=True, help="scratch folder")
    parser.add_argument("--rows", type=int, default=1_000_000, help="items to import")
    parser.add_argument("--exports-only", action="store_true",
                        help="time the exports only (they leave the workspace as it was)")
    parser.add_argument("--formats", nargs="+", default=["parquet", "csv", "jsonl"],
                        help="export formats to time")
    args = parser.parse_args(argv)
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    times = ({} if args.exports_only
             else time_imports(args.workdir, args.rows, args.import_database))
    times |= time_exports(args.database, args.workdir, tuple(args.formats))
    print("| operation | seconds |\n| --- | ---: |")
    for name, seconds in times.items():
        print(f"| {name} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
