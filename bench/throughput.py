"""Claim+submit throughput of 1, 2 and 4 app processes sharing one PostgreSQL database.

    createdb -T quorum tp     # a copy of a generated workspace (bench.generate)
    python -m bench.throughput --database postgresql://postgres@127.0.0.1:55432/tp \\
        --processes 1 2 4 --threads 4 --seconds 20

For each process count, that many worker processes (each one `db.connect`, as an app replica
holds, and `--threads` threads) claim and answer as experts who fit the campaign, for
`--seconds` after a common start signal: each thread works for its own share of the experts (as
the balancer keeps a browser on one replica), picking a random campaign among the first
`--campaigns` live ones and one of its experts each time. Reported: answers per second over all
processes, claim, submit and claim+submit p95, the CPU the workers and the database server
spent per answer, and the over-assignment checks (answers per item against the overlap and the
stored counter, one answer per expert and item, per-expert caps), run on the whole database at
the end of each round. A first round of `--warmup` seconds with the most processes is not
reported: without it the first measured round alone pays for the fresh copy's cold cache (one
process measured 2–3× slower first than after). The server must run on this machine (its CPU
is read from /proc).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from core import assign, campaigns, db, responses, rollups, users, workflow
from core.errors import Conflict

CHECKS = {
    "items over the overlap": """
        SELECT count(*) FROM items i JOIN campaigns c ON c.id = i.campaign_id
        WHERE i.gold IS NULL AND i.response_count > c.overlap""",
    "items whose counter differs from their answers": """
        SELECT count(*) FROM items i LEFT JOIN (SELECT item_id, count(*) AS n FROM responses
                                                GROUP BY item_id) r ON r.item_id = i.id
        WHERE i.response_count <> coalesce(r.n, 0)""",
    "items with more kept answers than the overlap": """
        SELECT count(*) FROM (SELECT r.item_id FROM responses r
                              JOIN campaigns c ON c.id = r.campaign_id
                              WHERE r.status <> 'rejected' GROUP BY r.item_id, c.overlap
                              HAVING count(*) > c.overlap) AS over""",
    "experts answering an item twice": """
        SELECT count(*) FROM (SELECT item_id, user_id FROM responses GROUP BY item_id, user_id
                              HAVING count(*) > 1) AS twice""",
    "experts over a campaign's cap": """
        SELECT count(*) FROM (SELECT r.user_id FROM responses r
                              JOIN campaigns c ON c.id = r.campaign_id
                              WHERE c.per_expert_cap IS NOT NULL AND r.status <> 'rejected'
                              GROUP BY r.user_id, r.campaign_id, c.per_expert_cap
                              HAVING count(*) > c.per_expert_cap) AS over""",
    "daily rollup rows that differ from the answers and the ledger": f"""
        WITH kept AS (SELECT day, campaign_id, user_id, answers, kept, counted, accepted, pay
                      FROM work_rollup WHERE answers <> 0 OR kept <> 0 OR pay <> 0),
        computed AS (SELECT day, campaign_id, user_id, answers, kept, counted, accepted, pay
                     FROM ({rollups.COMPUTED_SQL.format(responses="true", ledger="true")}) AS c)
        SELECT (SELECT count(*) FROM (SELECT * FROM kept EXCEPT SELECT * FROM computed) AS a)
             + (SELECT count(*) FROM (SELECT * FROM computed EXCEPT SELECT * FROM kept) AS b)""",
}


def utcnow() -> datetime:
    """The current time as a naive UTC timestamp, as core stores it."""
    return datetime.now(UTC).replace(tzinfo=None)


def work_share(conn: db.Connection, campaigns_n: int, share: int, shares: int
               ) -> dict[int, list[str]]:
    """The first `campaigns_n` campaigns with work, each with this share of its experts."""
    from bench.claim_submit import experts_by_campaign

    picked = list(experts_by_campaign(conn, utcnow()).items())[:campaigns_n]
    return {cid: names[share::shares] for cid, names in picked if names[share::shares]}


def answer_for(seconds: float, conn: db.Connection, experts: dict[int, list[str]],
               options: dict[int, list[str]], rng: random.Random) -> dict:
    """Claim and answer as random experts of this share until `seconds` have passed."""
    people: dict[str, users.User] = {}
    claims, submits, pairs = [], [], []
    outcomes = {"answered": 0, "none": 0, "refused": 0}
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        campaign_id = rng.choice(list(experts))
        name = rng.choice(experts[campaign_id])
        user = people.get(name) or people.setdefault(name, users.get_user(conn, name))
        began = time.perf_counter()
        claim = assign.claim_next(conn, user, campaign_id, utcnow(), rng=rng)
        claimed = time.perf_counter()
        claims.append((claimed - began) * 1000)
        if claim.assignment is None:
            outcomes["none"] += 1
            continue
        try:
            responses.submit(conn, user, claim.assignment.item_id,
                             {"label": rng.choice(options[campaign_id])},
                             claim.assignment.spec_version, utcnow())
        except Conflict:
            outcomes["refused"] += 1  # the place went to someone else meanwhile
            continue
        submits.append((time.perf_counter() - claimed) * 1000)
        pairs.append(claims[-1] + submits[-1])
        outcomes["answered"] += 1
    return {"claims": claims, "submits": submits, "pairs": pairs, **outcomes}


def worker(url: str, seconds: float, threads: int, index: int, processes: int,
           campaigns_n: int, seed: int) -> None:
    """One app process: connect, say ready, wait for the start line, run the threads, report."""
    conn = db.connect(url, pool_size=threads + 1)
    shares = [work_share(conn, campaigns_n, index * threads + t, processes * threads)
              for t in range(threads)]
    options = {cid: workflow.questions(campaigns.spec(conn, cid, 1))[0]["options"]
               for share in shares for cid in share}
    print("ready", flush=True)
    sys.stdin.readline()
    results: list[dict] = [{}] * threads
    cpu = time.process_time()

    def run(t: int) -> None:
        results[t] = answer_for(seconds, conn, shares[t], options,
                                random.Random(seed * 1000 + index * threads + t))

    pool = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    cpu = time.process_time() - cpu
    conn.close()
    merged = {key: sum((r[key] for r in results), [] if isinstance(value, list) else 0)
              for key, value in results[0].items()}
    print(json.dumps({**merged, "cpu_s": cpu}), flush=True)


def server_cpu_seconds(conn: db.Connection) -> float | None:
    """CPU seconds the database server has used so far (postmaster, its children, and the
    children it reaped), read from /proc; None when that is not possible."""
    try:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        tick = os.sysconf("SC_CLK_TCK")
        postmaster = _stat(backend)[1]
        total = sum(_stat(postmaster)[2:6])
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = _stat(int(entry.name))
                except OSError:
                    continue
                if fields[1] == postmaster:
                    total += fields[2] + fields[3]
        return total / tick
    except (OSError, ValueError):
        return None


def _stat(pid: int) -> list[int]:
    """(pid, ppid, utime, stime, cutime, cstime) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return [pid, int(fields[1]), *(int(fields[i]) for i in (11, 12, 13, 14))]


def run_round(url: str, processes: int, args: argparse.Namespace) -> dict:
    """Start `processes` workers, let them go at once, and gather what they report."""
    command = [sys.executable, "-m", "bench.throughput", "--worker", url, str(args.seconds),
               str(args.threads), "", str(processes), str(args.campaigns), str(args.seed)]
    workers = []
    for index in range(processes):
        command[7] = str(index)
        workers.append(subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, cwd=Path(__file__).resolve().parent.parent))
    for proc in workers:
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("a worker failed to start")
    with _probe(url) as probe:
        before = server_cpu_seconds(probe)
        began = time.perf_counter()
        for proc in workers:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        reports = [json.loads(proc.communicate(timeout=args.seconds + 120)[0].splitlines()[-1])
                   for proc in workers]
        wall = time.perf_counter() - began
        time.sleep(0.5)  # the workers' server processes end and are counted in their parent
        after = server_cpu_seconds(probe)
        checks = {name: probe.execute(sql).fetchone()[0] for name, sql in CHECKS.items()}
    if any(proc.returncode for proc in workers):
        raise RuntimeError("a worker failed")
    claims = np.array(sum((r["claims"] for r in reports), []))
    submits = np.array(sum((r["submits"] for r in reports), []))
    answered = sum(r["answered"] for r in reports)
    return {
        "processes": processes, "answers": answered, "answers_per_s": answered / wall,
        "claim_p50": np.percentile(claims, 50), "claim_p95": np.percentile(claims, 95),
        "submit_p50": np.percentile(submits, 50), "submit_p95": np.percentile(submits, 95),
        "pair_p95": np.percentile(sum((r["pairs"] for r in reports), []), 95),
        "workers_cpu_ms": 1000 * sum(r["cpu_s"] for r in reports) / max(answered, 1),
        "server_cpu_ms": (None if before is None or after is None
                          else 1000 * (after - before) / max(answered, 1)),
        "none": sum(r["none"] for r in reports), "refused": sum(r["refused"] for r in reports),
        "checks": checks, "load": os.getloadavg()[0],
    }


class _probe:
    """A small connection for the server's CPU and the checks, closed at the end."""

    def __init__(self, url: str):
        self.conn = db.connect(url, pool_size=1)

    def __enter__(self) -> db.Connection:
        return self.conn

    def __exit__(self, *exc) -> None:
        self.conn.close()


def table(rounds: list[dict]) -> str:
    """A markdown table, one row per process count."""
    lines = ["| processes | answers | answers/s | claim p50 / p95 ms | submit p50 / p95 ms "
             "| claim+submit p95 ms | workers' CPU ms per answer | server CPU ms per answer "
             "| over-assigned | load |", "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for r in rounds:
        server = "n/a" if r["server_cpu_ms"] is None else f"{r['server_cpu_ms']:.1f}"
        over = sum(r["checks"].values())
        lines.append(
            f"| {r['processes']} | {r['answers']:,} | {r['answers_per_s']:.0f} | "
            f"{r['claim_p50']:.1f} / {r['claim_p95']:.1f} | "
            f"{r['submit_p50']:.1f} / {r['submit_p95']:.1f} | {r['pair_p95']:.1f} | "
            f"{r['workers_cpu_ms']:.1f} | {server} | {over} | {r['load']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command line: run a round per process count and print one markdown table."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        url, seconds, threads, index, processes, campaigns_n, seed = argv[1:8]
        worker(url, float(seconds), int(threads), int(index), int(processes), int(campaigns_n),
               int(seed))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True,
                        help="PostgreSQL URL of a generated workspace on 127.0.0.1 (mutated)")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--threads", type=int, default=4, help="threads per process")
    parser.add_argument("--seconds", type=float, default=20, help="length of each round")
    parser.add_argument("--campaigns", type=int, default=50, help="campaigns worked on")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--warmup", type=float, default=10,
                        help="seconds of an unreported first round (0: none), so that the first "
                             "measured round does not pay for a cold database cache alone")
    args = parser.parse_args(argv)
    if not db.is_postgres_url(args.database) or "127.0.0.1" not in args.database:
        parser.error("--database must be a postgresql:// URL on 127.0.0.1")
    if not 0 < args.seconds <= 300 or not all(0 < n <= 8 for n in args.processes):
        parser.error("rounds are bounded: 0 < --seconds ≤ 300, 1–8 processes")
    if args.warmup:
        run_round(args.database, max(args.processes), argparse.Namespace(
            **{**vars(args), "seconds": args.warmup}))
    rounds = [run_round(args.database, n, args) for n in args.processes]
    print(table(rounds))
    for r in rounds:
        print(f"\n{r['processes']} processes: claims that found nothing {r['none']}, "
              f"submits refused {r['refused']}; checks {r['checks']}")


if __name__ == "__main__":
    main()
