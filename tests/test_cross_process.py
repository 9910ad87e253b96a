"""Several app processes on one PostgreSQL database: claims and submissions across processes.

Each process is a real Python process (tests/claim_worker.py) with its own connection pool and
threads, as replicas behind a balancer are.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from core import assign, campaigns, db, users, workspace
from tests.conftest import CLASSIFY, FAST_ROUNDS, new_postgres_database

ROOT = Path(__file__).resolve().parent.parent
PROCESSES, THREADS, EXPERTS_EACH = 4, 4, 4


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def setup(url: str, items: int, overlap: int, cap: int | None) -> tuple[int, list[list[str]]]:
    """A live campaign and PROCESSES groups of experts; returns its id and the groups."""
    conn = db.connect(url)
    start = utcnow() - timedelta(days=1)
    workspace.ensure(conn, start, demo=False)
    owner = users.register(conn, username="rita", name="Rita", email="rita@example.com",
                           password="correct-horse-9", expertise=[("general", "en-US")],
                           now=start, rounds=FAST_ROUNDS)
    names = [f"expert{n:02d}" for n in range(PROCESSES * EXPERTS_EACH)]
    for name in names:
        users.register(conn, username=name, name=name, email=f"{name}@example.com",
                       password="correct-horse-9", expertise=[("general", "en-US")], now=start,
                       rounds=FAST_ROUNDS)
    campaign = campaigns.create(
        conn, owner, spec_text=CLASSIFY, now=start, status="live",
        title="Cross-process", description="Many processes at once.", guidelines="Answer.",
        expertise_level="Any", expertise_type="Anyone", skill="general", language="en-US",
        minutes_per_item=1,
        pay_per_item=1, overlap=overlap, per_expert_cap=cap, lease_minutes=30, opens_at=start,
        expires_at=start + timedelta(days=7))
    campaigns.add_items(conn, owner, campaign.id, pd.DataFrame(
        {"payload": [{"text": f"Item {n}"} for n in range(items)]}), start)
    conn.close()
    return campaign.id, [names[i::PROCESSES] for i in range(PROCESSES)]


def start_workers(url: str, campaign_id: int, groups: list[list[str]]) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-m", "tests.claim_worker", url, str(campaign_id),
                              str(THREADS), *group], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env={**os.environ})
            for group in groups]


def confirmed(lines: list[str]) -> list[tuple[int, str, int]]:
    return [(int(r), name, int(i)) for kind, r, name, i in
            (line.split() for line in lines if line.startswith("answered"))]


def counts(url: str, campaign_id: int) -> dict:
    conn = db.connect(url)
    try:
        per_item = conn.execute(
            "SELECT i.id, i.response_count, count(r.id) FROM items i LEFT JOIN responses r "
            "ON r.item_id = i.id WHERE i.campaign_id = ? GROUP BY i.id, i.response_count",
            [campaign_id]).fetchall()
        per_user = dict(conn.execute("SELECT user_id, count(*) FROM responses GROUP BY user_id"
                                     ).fetchall())
        paid = conn.execute("SELECT count(*) FROM pay_ledger WHERE kind = 'item'").fetchone()[0]
        ids = {r[0] for r in conn.execute("SELECT id FROM responses").fetchall()}
        leases = conn.execute("SELECT item_id, expires_at FROM leases").fetchall()
    finally:
        conn.close()
    return {"per_item": per_item, "per_user": per_user, "paid": paid, "ids": ids,
            "leases": leases}


@pytest.fixture
def url(postgres):
    return new_postgres_database(postgres)


def test_four_processes_of_four_threads_never_exceed_overlap_or_cap(url):
    campaign_id, groups = setup(url, items=40, overlap=2, cap=6)
    workers = start_workers(url, campaign_id, groups)
    outputs = [w.communicate(timeout=300) for w in workers]
    assert all(w.returncode == 0 for w in workers), [err for _, err in outputs]
    answers = confirmed([line for out, _ in outputs for line in out.splitlines()])
    state = counts(url, campaign_id)
    assert max(answered for _, _, answered in state["per_item"]) <= 2
    assert all(stored == answered for _, stored, answered in state["per_item"])
    assert max(state["per_user"].values()) <= 6
    # 16 experts × 6 = 96 places for 40 × 2 = 80 answers: every item gets its two answers.
    assert (len(answers), len(state["ids"]), state["paid"]) == (80, 80, 80), outputs
    assert state["leases"] == []


def test_a_process_killed_mid_load_loses_no_confirmed_answer(url):
    # 16 experts with a cap of 100 on 1,600 items: the others can never take the victim's share,
    # so it is surely mid-work when it is killed, whatever the machine's load.
    campaign_id, groups = setup(url, items=1600, overlap=1, cap=100)
    victim, *others = start_workers(url, campaign_id, groups)
    seen: list[str] = []
    while len(confirmed(seen)) < 10:
        line = victim.stdout.readline()
        assert line, victim.stderr.read()
        seen.append(line)
    os.kill(victim.pid, signal.SIGKILL)
    killed_at = utcnow()
    victim.wait()
    seen += victim.stdout.read().splitlines()  # whatever it printed before it died
    outputs = [w.communicate(timeout=300) for w in others]
    assert all(w.returncode == 0 for w in others), [err for _, err in outputs]
    answers = confirmed(seen + [line for out, _ in outputs for line in out.splitlines()])
    state = counts(url, campaign_id)
    assert {r for r, _, _ in answers} <= state["ids"]  # every confirmed answer is stored
    assert max(answered for _, _, answered in state["per_item"]) <= 1
    # The dead process's reservations block their items only until they expire.
    assert all(expires <= killed_at + timedelta(minutes=30) for _, expires in state["leases"])
    late = utcnow() + timedelta(minutes=31)
    conn = db.connect(url)
    try:
        assert conn.execute("SELECT count(*) FROM leases WHERE expires_at > ?",
                            [late]).fetchone()[0] == 0
        users.register(conn, username="latecomer", name="Late", email="late@example.com",
                       password="correct-horse-9", expertise=[("general", "en-US")], now=late,
                       rounds=FAST_ROUNDS)
        got = assign.claim_next(conn, users.get_user(conn, "latecomer"), campaign_id, late)
        assert got.assignment is not None
    finally:
        conn.close()
