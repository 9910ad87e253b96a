"""Time the impact dashboard's queries on a generated workspace.

    python -m bench.impact --database /tmp/bench/impact.duckdb   # a copy of a generated workspace
    python -m bench.impact --database postgresql://postgres@127.0.0.1:55432/impact

Adds one survey answer per 10 answering experts per month first (the generator makes none),
then times each dashboard query for the last six months and for all time.
"""

from __future__ import annotations

import argparse
import statistics
import time
import zlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd

from core import db, impact, users
from core.db import writing


def add_surveys(conn) -> int:
    """Survey answers from a tenth of each month's active experts; returns how many."""
    active = conn.execute(
        "SELECT user_id, date_trunc('month', submitted_at) AS month, max(submitted_at) AS at "
        "FROM responses GROUP BY user_id, date_trunc('month', submitted_at) "
        "ORDER BY user_id, month").fetchall()
    picked = [(user_id, 1 + draw % 5, "", at) for user_id, month, at in active
              if (draw := zlib.crc32(f"{user_id} {month:%Y-%m}".encode())) % 10 == 0]
    frame = pd.DataFrame(picked, columns=["user_id", "score", "comment", "answered_at"])

    def work(cur: db.Cursor) -> None:
        with db.frame_table(cur, "bench_surveys", frame, like="surveys"):
            cur.execute("INSERT INTO surveys (user_id, score, comment, answered_at) "
                        "SELECT user_id, score, comment, answered_at FROM bench_surveys")

    writing(conn, work)
    return conn.execute("SELECT count(*) FROM surveys").fetchone()[0]


def main(argv: list[str] | None = None) -> None:
    """Command line: print a markdown table of median and max times per query."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", "--db", dest="database", required=True,
                        help="a generated workspace: DuckDB path or PostgreSQL URL (mutated)")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    conn = db.connect(args.database)
    surveys = add_surveys(conn)
    admin_id = conn.execute("SELECT min(user_id) FROM user_roles WHERE role = 'admin'"
                            ).fetchone()[0]
    admin = users.get_user(conn, conn.execute("SELECT username FROM users WHERE id = ?",
                                              [admin_id]).fetchone()[0])
    today = datetime.now(UTC).date()
    ranges = {"last 6 months": (today - timedelta(days=182), today + timedelta(days=1)),
              "all time": (date(2000, 1, 1), today + timedelta(days=1))}
    queries = {
        "totals": lambda s, e: impact.totals(conn, admin, s, e, Decimal("4")),
        "signups": lambda s, e: impact.signups(conn, admin, s, e),
        "monthly": lambda s, e: impact.monthly(conn, admin, s, e),
        "items_by_skill": lambda s, e: impact.items_by_skill(conn, admin, s, e),
        "top_campaigns": lambda s, e: impact.top_campaigns(conn, admin, s, e),
    }
    counts = conn.execute("SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM responses)"
                          ).fetchone()
    print(f"{counts[0]:,} users, {counts[1]:,} answers, {surveys:,} survey answers\n")
    print("| query | range | median ms | max ms |\n| --- | --- | ---: | ---: |")
    for label, (start, end) in ranges.items():
        whole = []
        for _ in range(args.repeat):
            began = time.perf_counter()
            for run in queries.values():
                run(start, end)
            whole.append((time.perf_counter() - began) * 1000)
        for name, run in queries.items():
            times = []
            for _ in range(args.repeat):
                began = time.perf_counter()
                run(start, end)
                times.append((time.perf_counter() - began) * 1000)
            print(f"| {name} | {label} | {statistics.median(times):.1f} | {max(times):.1f} |")
        print(f"| **whole dashboard** | {label} | {statistics.median(whole):.1f} | "
              f"{max(whole):.1f} |")
    conn.close()


if __name__ == "__main__":
    main()
