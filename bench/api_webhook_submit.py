"""Submit latency with no webhook, then with a dead receiver registered: no change expected.

    cp /tmp/bq/quorum.duckdb /tmp/bq/api.duckdb
    python -m bench.api_webhook_submit --db /tmp/bq/api.duckdb -n 300

On one campaign of the workspace, an expert who fits it claims and submits `n` items (timing
`core.responses.submit` only), first with no webhook, then with one registered for
answer.submitted at a receiver on 127.0.0.1 that accepts connections and never answers, while
the delivery worker runs (`webhooks.deliver_due` in a thread, 10 s timeout), as in the app.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import threading
import time

import httpx

from bench.api_common import summary
from core import assign, db, egress, responses, users, webhooks
from server import settings


def dead_receiver() -> tuple[socket.socket, str]:
    """A listening socket that never reads or answers: every delivery to it times out."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}/events"


def submits(conn, expert, campaign_id: int, answer: dict, n: int) -> list[float]:
    """Seconds each of `n` submits took (claims are not timed)."""
    took = []
    for _ in range(n):
        got = assign.claim_next(conn, expert, campaign_id, settings.now()).assignment
        if got is None:
            break
        started = time.perf_counter()
        responses.submit(conn, expert, got.item_id, answer, got.spec_version, settings.now())
        took.append(time.perf_counter() - started)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("-n", type=int, default=300)
    args = parser.parse_args()
    conn = db.connect(args.db)
    campaign_id, owner, spec = conn.execute(
        "SELECT c.id, u.username, s.spec FROM campaigns c JOIN users u ON u.id = c.created_by "
        "JOIN campaign_specs s ON s.campaign_id = c.id AND s.version = c.spec_version "
        "WHERE c.per_expert_cap IS NULL AND c.status = 'live' ORDER BY c.id LIMIT 1").fetchone()
    label = next(b for b in json.loads(spec)["blocks"] if "options" in b)
    answer = {label["id"]: label["options"][0]}
    experts = [users.get_user(conn, name) for (name,) in conn.execute(
        "SELECT DISTINCT u.username FROM users u JOIN expertise e ON e.user_id = u.id "
        "JOIN campaigns c ON c.skill = e.skill AND c.language = e.language "
        "WHERE c.id = ? ORDER BY u.username LIMIT 3", [campaign_id]).fetchall()]
    print(f"campaign {campaign_id}, question {label['id']}; load {os.getloadavg()[0]:.1f}")
    sock, url = dead_receiver()
    policy = egress.parse_policy("127.0.0.1", None, hosts_setting="QUORUM_WEBHOOK_HOSTS")
    owner_user = users.get_user(conn, owner)
    stop = threading.Event()

    def deliver() -> None:
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                if not webhooks.deliver_due(conn, client, "bench", policy, settings.now):
                    stop.wait(1)

    worker = threading.Thread(target=deliver, daemon=True)
    worker.start()
    # Blocks of each condition in turn, so both see the same load on a shared machine.
    samples: dict[str, list[float]] = {"no webhook": [], "dead receiver registered": []}
    block = max(args.n // 6, 1)
    for round_ in range(6):
        hook = None
        if round_ % 2:
            hook = webhooks.register(conn, owner_user, campaign_id, url, ["answer.submitted"],
                                     policy, settings.now())
        name = "dead receiver registered" if hook else "no webhook"
        samples[name] += submits(conn, experts[round_ // 2], campaign_id, answer, block)
        if hook:
            webhooks.delete(conn, owner_user, hook.id, settings.now())
    stop.set()
    queued = conn.execute("SELECT count(*), count(*) FILTER (WHERE last_error = 'timed out') "
                          "FROM webhook_outbox").fetchone()
    print("| submit | n | median ms | p95 ms |\n|---|--:|--:|--:|")
    for name, taken in samples.items():
        median, p95 = summary(taken)
        print(f"| {name} | {len(taken)} | {median:.1f} | {p95:.1f} |")
    print(f"outbox: {queued[0]} rows queued, {queued[1]} timed out while measuring; load "
          f"{os.getloadavg()[0]:.1f}")
    worker.join(timeout=60)
    sock.close()
    conn.close()


if __name__ == "__main__":
    main()
