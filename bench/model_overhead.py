"""Measure what Quorum adds around model calls, against the fake OpenAI server on 127.0.0.1.

    python -m bench.model_overhead [--asks 100] [--delay-ms 50] [--db /tmp/bench/models.duckdb]

For K = 1, 2 and 4 models, an expert asks all K at once `--asks` times (each on a fresh item,
through `core.models.generate`, exactly as the labeling page does). Every model answers after
the same `--delay-ms`, so the K replies arrive together: the worst case, where they queue for
the one write path. Per call it reports, from the moment the reply was read on the caller's
clock:

- recorded: until its `model_calls` row is committed;
- shown: until the page's callback receives it (the labeling page then fills one placeholder);

and per ask, `overhead`: the wall time of `generate` minus its slowest call, i.e. everything
Quorum does around the calls (the ask's checks and row, the thread pool, recording, reading
the state back). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd

from core import assign, campaigns, db, models, users, workspace
from tests.fake_openai import FakeOpenAI, Reply

clock = time.perf_counter


def spec(k: int) -> str:
    names = ", ".join(f"m{n}" for n in range(1, k + 1))
    return (f"blocks:\n  - {{type: model_responses, models: [{names}], prompt_from: expert}}\n"
            "  - {type: free_text, id: note, prompt: Note, required: false}\n")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run(path: Path, asks: int, delay_ms: float) -> list[dict]:
    now = datetime.now(UTC).replace(tzinfo=None)
    conn = db.connect(path)
    workspace.ensure(conn, now, demo=False, rounds=4)
    boss = users.register(conn, username="bench", name="Bench", email="bench@example.com",
                          password="overhead-2026", expertise=[("general", "en-US")], now=now,
                          rounds=4)
    rows = []
    with FakeOpenAI() as fake:
        for n in range(1, 5):
            models.save_model(conn, boss, name=f"m{n}", base_url=fake.base_url, model=f"m{n}",
                              api_key_env="", timeout_s=30, max_tokens=256, temperature=0,
                              now=now)
            fake.default(f"m{n}", Reply("A reply of a dozen words or so, as a short answer "
                                        "would be.", delay=delay_ms / 1000))
        client = httpx.Client()
        for k in (1, 2, 4):
            campaign = campaigns.create(
                conn, boss, spec_text=spec(k), now=now, status="live", title=f"K={k}",
                skill="general", language="en-US", minutes_per_item=1, pay_per_item=0,
                overlap=1, opens_at=now - timedelta(days=1), expires_at=now + timedelta(days=1))
            campaigns.add_items(conn, boss, campaign.id, pd.DataFrame(
                {"payload": [{"text": str(i)} for i in range(asks + 5)]}), now)
            recorded, shown, overhead = [], [], []
            for i in range(asks + 5):  # the first 5 warm up and are not counted
                held = assign.claim_next(conn, boss, campaign.id, now).assignment
                seen: list[tuple[models.SlotResult, float]] = []
                started = clock()
                got = models.generate(conn, boss, held.item_id, prompt=f"Question {i}?",
                                      keys={}, now=now, clock=clock, client=client,
                                      on_result=lambda r, seen=seen: seen.append((r, clock())))
                wall = clock() - started
                assert got.available == [s for s in "ABCD"[:k]], got
                assign.skip(conn, boss, held.item_id, now)
                if i < 5:
                    continue
                for result, at in seen:
                    recorded.append((result.recorded_at - result.received_at) * 1000)
                    shown.append((at - result.received_at) * 1000)
                overhead.append(wall * 1000 - max(r.latency_ms for r, _ in seen))
            for what, values in (("recorded (per call)", recorded), ("shown (per call)", shown),
                                 ("overhead (per ask)", overhead)):
                rows.append({"K": k, "measure": what, "n": len(values),
                             "median": statistics.median(values),
                             "p95": percentile(values, 0.95), "max": max(values)})
        client.close()
    conn.close()
    return rows


def main(argv: list[str] | None = None) -> None:
    """Command line: print the table."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--asks", type=int, default=100)
    parser.add_argument("--delay-ms", type=float, default=50)
    parser.add_argument("--db", type=Path, default=None,
                        help="database file to create (default: a temporary one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = args.db or Path(folder) / "models.duckdb"
        if path.exists():
            raise SystemExit(f"{path} exists; give a new file")
        rows = run(path, args.asks, args.delay_ms)
    print(f"{args.asks} asks per K, every model replying after {args.delay_ms:g} ms\n")
    print("| K | measure | n | median ms | p95 ms | max ms |\n|--:|---|--:|--:|--:|--:|")
    for r in rows:
        print(f"| {r['K']} | {r['measure']} | {r['n']} | {r['median']:.2f} | {r['p95']:.2f} "
              f"| {r['max']:.2f} |")


if __name__ == "__main__":
    main()
