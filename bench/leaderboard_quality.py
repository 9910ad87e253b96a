"""Time the leaderboard's queries and the quality computation on a generated workspace.

    python -m bench.leaderboard_quality --database /tmp/bench/quorum.duckdb [--quality-only]
    python -m bench.leaderboard_quality --database postgresql://postgres@127.0.0.1:55432/run

Quality is recomputed for every campaign first (so the leaderboard weighs points by stored
scores), then each board is read for random experts: the top 20 and the viewer's own rank.
The quality line gives wall time and the process's CPU time (all threads): on a shared
machine the CPU time says what the work costs, the wall time what waiting for the cores adds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime

from core import db, leaderboard, quality, users


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the sorted values fall."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main(argv: list[str] | None = None) -> None:
    """Command line: print markdown tables of the timings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", "--db", dest="database", required=True,
                        help="a generated workspace: DuckDB path or PostgreSQL URL (mutated)")
    parser.add_argument("--viewers", type=int, default=100)
    parser.add_argument("--quality-only", action="store_true",
                        help="time the quality refresh and skip the leaderboard")
    parser.add_argument("--leaderboard-only", action="store_true",
                        help="skip the quality refresh (the boards use the scores stored)")
    args = parser.parse_args(argv)
    conn = db.connect(args.database)
    now = datetime.now(UTC).replace(tzinfo=None)
    answers = conn.execute("SELECT count(*) FROM responses").fetchone()[0]
    campaign_ids = [r[0] for r in conn.execute("SELECT id FROM campaigns").fetchall()]

    if not args.leaderboard_only:
        per_campaign = []
        start, cpu_start = time.perf_counter(), time.process_time()
        for campaign_id in campaign_ids:
            began = time.perf_counter()
            quality.refresh(conn, campaign_id, now)
            per_campaign.append(time.perf_counter() - began)
        total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        print(f"Quality (labels, agreement, expert scores) over {answers:,} answers in "
              f"{len(campaign_ids)} campaigns: {total:.1f} s in all (CPU {cpu:.1f} s); per "
              f"campaign median {statistics.median(per_campaign) * 1000:.0f} ms, "
              f"max {max(per_campaign) * 1000:.0f} ms\n")
    if args.quality_only:
        conn.close()
        return

    rng = random.Random(5)
    answering = [r[0] for r in conn.execute(
        "SELECT username FROM users WHERE id IN (SELECT DISTINCT user_id FROM responses) "
        "ORDER BY id").fetchall()]
    experts = rng.sample(answering, min(2000, len(answering)))
    skills = [r[0] for r in conn.execute("SELECT DISTINCT skill FROM campaigns").fetchall()]
    print("| board | period | median ms | p95 ms |\n| --- | --- | ---: | ---: |")
    for scope in leaderboard.SCOPES:
        for period in leaderboard.PERIODS:
            times = []
            for _ in range(args.viewers):
                viewer = users.get_user(conn, rng.choice(experts))
                key = {"overall": None, "skill": rng.choice(skills),
                       "campaign": rng.choice(campaign_ids)}[scope]
                began = time.perf_counter()
                leaderboard.board(conn, viewer, scope=scope, key=key, period=period, now=now)
                times.append((time.perf_counter() - began) * 1000)
            print(f"| {scope} | {period} | {statistics.median(times):.1f} | "
                  f"{percentile(times, 0.95):.1f} |")
    conn.close()


if __name__ == "__main__":
    main()
