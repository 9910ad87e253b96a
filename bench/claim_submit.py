"""Time claim, submit and the landing page's queries against a generated workspace.

    cp /tmp/bench/quorum.duckdb /tmp/bench/run.duckdb
    python -m bench.claim_submit --database /tmp/bench/run.duckdb
    createdb -T quorum run    # PostgreSQL: a fresh copy of a generated database
    python -m bench.claim_submit --database postgresql://postgres@127.0.0.1:55432/run

Before timing, `--leases` experts are put in the middle of an item (live leases, inserted in
bulk) so that claims skip items reserved by others, as in a busy workspace. The real core
functions are then called and commit: run on a fresh copy of a generated database, or accept that
counts drift from one run to the next.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from core import assign, campaigns, db, profile, responses, users, workflow

T = TypeVar("T")
Timing = tuple[float, float]  # wall-clock ms, CPU ms of this process (all its threads)
TARGETS = {"claim_next": 15, "submit": 20, "for_expert": 50, "profile.totals": 50,
           "responses.counts": 50}


def utcnow() -> datetime:
    """The current time as a naive UTC timestamp, as core stores it."""
    return datetime.now(UTC).replace(tzinfo=None)


def timed(samples: list[Timing], call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `call(*args, **kwargs)`, append its wall and CPU ms to `samples`, return its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = call(*args, **kwargs)
    samples.append(((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000))
    return result


def experts_by_campaign(conn: db.Connection, now: datetime) -> dict[int, list[str]]:
    """Open campaigns that still have work, each with the usernames of experts who fit it."""
    rows = conn.execute(
        """
        SELECT c.id, array_agg(u.username ORDER BY u.id) FROM campaigns c
        JOIN expertise e ON e.skill = c.skill AND e.language = c.language
        JOIN user_roles r ON r.user_id = e.user_id AND r.role = 'expert'
        JOIN users u ON u.id = e.user_id
        WHERE c.status = 'live' AND c.kind = 'standard' AND c.opens_at <= $now
          AND c.expires_at > $now AND EXISTS (SELECT 1 FROM items i WHERE i.campaign_id = c.id
                      AND i.response_count < c.overlap)
        GROUP BY c.id ORDER BY c.id
        """, {"now": now}).fetchall()
    return {campaign_id: list(names) for campaign_id, names in rows}


def hold_leases(conn: db.Connection, n: int, now: datetime, seed: int = 1) -> int:
    """Give `n` fitting experts a live lease on an unfinished item; return the live lease count.

    Items are taken in claim order within each campaign, round-robin over campaigns; at most one
    lease per expert and campaign, never on an item the expert answered or one already full.
    """
    rng = random.Random(seed)

    def work(cur: db.Cursor) -> int:
        candidates = cur.execute(
            """
            SELECT item_id, campaign_id, lease_minutes, rank FROM (
                SELECT i.id AS item_id, i.campaign_id, c.lease_minutes,
                       row_number() OVER (PARTITION BY i.campaign_id
                                          ORDER BY i.response_count DESC, i.id) AS rank
                FROM items i JOIN campaigns c ON c.id = i.campaign_id
                LEFT JOIN (SELECT item_id, count(*) AS n FROM leases
                           WHERE expires_at > $now GROUP BY item_id) l ON l.item_id = i.id
                WHERE i.response_count + coalesce(l.n, 0) < c.overlap AND c.status = 'live'
                  AND c.kind = 'standard' AND c.opens_at <= $now AND c.expires_at > $now
            ) AS ranked WHERE rank <= $n ORDER BY rank, campaign_id
            """, {"n": n, "now": now}).df()
        fitting = cur.execute(
            "SELECT c.id, e.user_id FROM campaigns c JOIN expertise e ON e.skill = c.skill "
            "AND e.language = c.language JOIN user_roles r ON r.user_id = e.user_id "
            "AND r.role = 'expert' ORDER BY c.id, e.user_id").fetchall()
        experts: dict[int, list[int]] = {}
        for campaign_id, user_id in fitting:
            experts.setdefault(campaign_id, []).append(user_id)
        with db.frame_table(cur, "bench_candidates", candidates[["item_id"]]):
            answered = set(cur.execute(
                "SELECT r.item_id, r.user_id FROM responses r "
                "JOIN bench_candidates c ON c.item_id = r.item_id").fetchall())
        held = set(cur.execute("SELECT user_id, campaign_id FROM leases").fetchall())
        rows = []
        for item_id, campaign_id, minutes, _ in candidates.itertuples(index=False):
            free = [u for u in rng.sample(experts.get(campaign_id, []),
                                          min(20, len(experts.get(campaign_id, []))))
                    if (item_id, u) not in answered and (u, campaign_id) not in held]
            if not free:
                continue
            held.add((free[0], campaign_id))
            leased_at = now - timedelta(seconds=rng.randrange(30 * int(minutes)))
            rows.append((int(item_id), free[0], int(campaign_id), leased_at,
                         leased_at + timedelta(minutes=int(minutes))))
            if len(rows) == n:
                break
        frame = pd.DataFrame(rows, columns=["item_id", "user_id", "campaign_id", "leased_at",
                                            "expires_at"])
        with db.frame_table(cur, "bench_leases", frame, like="leases"):
            cur.execute("INSERT INTO leases SELECT item_id, user_id, campaign_id, leased_at, "
                        "expires_at FROM bench_leases")
        return cur.execute("SELECT count(*) FROM leases WHERE expires_at > ?", [now]).fetchone()[0]

    return db.writing(conn, work)


def bench_claim_submit(conn: db.Connection, ops: int, warmup: int,
                       rng: random.Random) -> tuple[dict[str, list[Timing]], Counter]:
    """Claim then submit as random fitting experts until `ops` answers are in; time each call."""
    experts = experts_by_campaign(conn, utcnow())
    options = {cid: workflow.questions(campaigns.spec(conn, cid, 1))[0]["options"]
               for cid in experts}
    people: dict[str, users.User] = {}
    samples: dict[str, list[Timing]] = {"claim_next": [], "submit": []}
    outcomes: Counter = Counter()
    while len(samples["submit"]) < ops + warmup:
        campaign_id = rng.choice(list(experts))
        name = rng.choice(experts[campaign_id])
        user = people.get(name) or people.setdefault(name, users.get_user(conn, name))
        claim = timed(samples["claim_next"], assign.claim_next, conn, user, campaign_id, utcnow(),
                      rng=rng)
        outcomes[claim.reason if claim.assignment is None else "claimed"] += 1
        if claim.assignment is None:
            continue
        answer = {"label": rng.choice(options[campaign_id])}
        item = claim.assignment
        timed(samples["submit"], responses.submit, conn, user, item.item_id, answer,
              item.spec_version, utcnow())
    return {name: times[warmup:] for name, times in samples.items()}, outcomes


def bench_landing(conn: db.Connection, experts: int, warmup: int,
                  rng: random.Random) -> dict[str, list[Timing]]:
    """Time the landing page's queries for random experts (any expert, fitting campaigns or not)."""
    names = [r[0] for r in conn.execute(
        "SELECT u.username FROM users u JOIN user_roles r ON r.user_id = u.id "
        "AND r.role = 'expert' ORDER BY u.id").fetchall()]
    campaign_ids = [r[0] for r in conn.execute("SELECT id FROM campaigns").fetchall()]
    samples: dict[str, list[Timing]] = {"for_expert": [], "profile.totals": [],
                                        "responses.counts": [], "landing (all three)": []}
    for _ in range(experts + warmup):
        user = users.get_user(conn, rng.choice(names))
        now = utcnow()
        mine = timed(samples["for_expert"], campaigns.for_expert, conn, user, now)
        timed(samples["profile.totals"], profile.totals, conn, user)
        campaign_id = int(mine["id"].iloc[0]) if len(mine) else rng.choice(campaign_ids)
        timed(samples["responses.counts"], responses.counts, conn, user.id, campaign_id)
        samples["landing (all three)"].append(tuple(
            sum(samples[name][-1][k] for name in list(samples)[:3]) for k in (0, 1)))
    return {name: times[warmup:] for name, times in samples.items()}


def table(samples: dict[str, list[Timing]]) -> str:
    """A markdown table per operation: wall-clock median, p95 and max, CPU median and p95."""
    lines = ["| operation | n | median ms | p95 ms | max ms | CPU median ms | CPU p95 ms "
             "| target p95 ms |", "|---|--:|--:|--:|--:|--:|--:|--:|"]
    for name, timings in samples.items():
        wall, cpu = np.array(timings).T
        cells = [*np.percentile(wall, [50, 95]), wall.max(), *np.percentile(cpu, [50, 95])]
        lines.append(f"| {name} | {len(timings)} | {' | '.join(f'{v:.1f}' for v in cells)} | "
                     f"{TARGETS.get(name, '—')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command line: run both benchmarks and print one markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", "--db", dest="database", required=True,
                        help="a database made by bench.generate, DuckDB path or PostgreSQL URL "
                             "(mutated)")
    parser.add_argument("--ops", type=int, default=1000, help="timed claims and submits")
    parser.add_argument("--experts", type=int, default=200, help="timed landing pages")
    parser.add_argument("--warmup", type=int, default=20, help="untimed operations first")
    parser.add_argument("--leases", type=int, default=1000, help="live leases held by others")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    conn = db.connect(args.database)
    load = os.getloadavg()[0]
    try:
        held = hold_leases(conn, args.leases, utcnow())
        work, outcomes = bench_claim_submit(conn, args.ops, args.warmup, rng)
        landing = bench_landing(conn, args.experts, args.warmup, rng)
    finally:
        conn.close()
    print(table(work | landing))
    print(f"\nlive leases before timing: {held}; "
          f"claim outcomes (warm-up included): {dict(outcomes)}; "
          f"1-minute load average before/after: {load:.1f}/{os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
