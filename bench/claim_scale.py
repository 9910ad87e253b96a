"""Claim cost against campaign size: one campaign of 20,000 items, then one of 500,000
(issue 15: claim_next p95 ≤ 15 ms at both sizes, on DuckDB and on PostgreSQL).

    python -m bench.claim_scale --engine duckdb --workdir /tmp/claim-scale
    python -m bench.claim_scale --engine postgres   # starts a server (deploy/local_postgres)

For each size, a fresh database holds one live campaign made by bench.generate's bulk paths
(Arrow into DuckDB, COPY into PostgreSQL): a head of complete items, a band of partly answered
ones and a tail of fresh ones, with `--answers-per-item` answers per item in all. `--leases`
experts then hold a live lease, and `--runs` times `--ops` claims, each followed by its submit,
are timed as bench.claim_submit times them (random fitting experts, 20 warm-up operations).
Runs follow each other on the same database, so later runs start further into the campaign.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
from pathlib import Path

import numpy as np

from bench import claim_submit, generate, machine
from core import db


def database_for(engine: str, size: int, workdir: Path, server) -> str:
    """A new, empty database for one size."""
    if engine == "duckdb":
        path = workdir / f"claim-{size}.duckdb"
        path.unlink(missing_ok=True)
        return str(path)
    admin = db.connect(server.url("postgres"), pool_size=1)
    try:
        admin.execute(f"DROP DATABASE IF EXISTS claim_{size}")
        admin.execute(f"CREATE DATABASE claim_{size}")
    finally:
        admin.close()
    return server.url(f"claim_{size}")


def percentiles(samples: list[tuple[float, float]]) -> tuple[float, float]:
    wall = np.array([s[0] for s in samples])
    return float(np.percentile(wall, 50)), float(np.percentile(wall, 95))


def one_size(target: str, size: int, args) -> list[dict[str, tuple[float, float]]]:
    """Generate the campaign, then time the runs; per run, (median, p95) per operation."""
    seconds = generate.generate(target, users=args.users, campaigns=1, items=size,
                                responses=int(size * args.answers_per_item))
    print(f"  generated {size:,} items in {seconds['total']:.1f} s", flush=True)
    conn = db.connect(target)
    rng = random.Random(args.seed)
    runs = []
    try:
        held = claim_submit.hold_leases(conn, args.leases, claim_submit.utcnow())
        print(f"  live leases held by others: {held}", flush=True)
        for run in range(args.runs):
            watch = machine.Watch()
            work, outcomes = claim_submit.bench_claim_submit(conn, args.ops, 20, rng)
            figures = {name: percentiles(times) for name, times in work.items()}
            runs.append(figures)
            print(f"  run {run + 1}: {watch.summary()}; " + "; ".join(
                f"{name} median {m:.1f} ms p95 {p:.1f} ms" for name, (m, p) in figures.items())
                + f"; outcomes {dict(outcomes)}", flush=True)
    finally:
        conn.close()
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["duckdb", "postgres"], default="duckdb")
    parser.add_argument("--workdir", type=Path, default=None, help="DuckDB files go here")
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 500_000])
    parser.add_argument("--users", type=int, default=3_000)
    parser.add_argument("--answers-per-item", type=float, default=1.0)
    parser.add_argument("--leases", type=int, default=200)
    parser.add_argument("--ops", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    server = None
    if args.engine == "postgres":
        from deploy import local_postgres
        server = local_postgres.start()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="quorum-claim-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        for size in args.sizes:
            print(f"{args.engine}, {size:,} items in one campaign", flush=True)
            runs = one_size(database_for(args.engine, size, workdir, server), size, args)
            for name in ("claim_next", "submit"):
                p95s = [run[name][1] for run in runs]
                medians = [run[name][0] for run in runs]
                rows.append((size, name, medians, p95s))
    finally:
        if server is not None:
            server.stop()
    print("\n| engine | items in the campaign | operation | run medians ms | run p95s ms "
          "| median p95 ms |\n|---|--:|---|--:|--:|--:|")
    for size, name, medians, p95s in rows:
        runs_m = " / ".join(f"{m:.1f}" for m in medians)
        runs_p = " / ".join(f"{p:.1f}" for p in p95s)
        print(f"| {args.engine} | {size:,} | {name} | {runs_m} | {runs_p} "
              f"| {statistics.median(p95s):.1f} |")


if __name__ == "__main__":
    main()
