"""Simulate Revolt team sessions through core: 10 teams of 3, 20% random dropouts.

    python -m bench.revolt_sim                      # 30 members, 10 teams, a temp database
    python -m bench.revolt_sim --teams 10 --dropout-rate 0.2 --seed 7 --poll 1.0

Every simulated member is a thread that does what a member's page does, in real time, on one
shared connection (a cursor per call, as in the app): it joins the lobby and polls it every
`--poll` seconds, says ready once enough are there, and in its team polls `core.revolt.poll`
every `--poll` seconds (with a random phase) while it votes, explains and categorizes, one item
per `--think` seconds on average. A `--dropout-rate` share of the members, drawn at random, drop
out at a random point of a random stage: half stop polling (the page is closed), half press
Leave. Members who finish take the exit survey.

Checks: every team ends (after the one sweep any later lobby or monitor visit makes); every
member is paid exactly for the stages the simulation saw them finish, once each; transitions
form one unbroken chain per team. Reports the stage propagation delay: from the moment a
transition is committed (its `happened_at`) to the first moment each other member's page has
the new stage in hand (the end of the poll that returned it).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd

from core import campaigns, db, revolt, revolt_lobby, users, workspace
from core.db import reading
from core.errors import Conflict

SPEC = """\
blocks:
  - type: text
    field: text
  - type: single_choice
    id: is_cat
    prompt: Is this a cat?
    options: ["Yes", "No"]
"""
CONCEPTS = [["Cartoon cat", "cartoon cats", "Cartoon  Cat"], ["Big cat", "big cats"],
            ["Statue", "statues"], ["Toy", "toys", "TOY"]]


def now() -> datetime:
    """The caller's clock, as the app passes it to core: naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class Member:
    user: users.User
    rng: random.Random
    drop_stage: str | None = None     # where this member drops out, if at all
    drop_after: int = 0               # after this many items of that stage
    leaves: bool = False              # presses Leave (else stops polling)
    team_id: int | None = None
    finished: list[str] = field(default_factory=list)   # stages core said they finished
    seen: dict[int, datetime] = field(default_factory=dict)  # version → first seen
    triggered: set[int] = field(default_factory=set)  # versions their own call made
    gone: bool = False
    polls: list[float] = field(default_factory=list)  # seconds per poll call
    error: BaseException | None = None


def ambiguity(item_id: int, batch: int) -> float:
    """The chance a member says Yes. Every third batch is plain (all agree); in the others one
    item in three is a coin toss and the rest are clear to 97%."""
    if (item_id - 1) // batch % 3 == 0:
        return float(item_id % 2)
    return (0.97, 0.03, 0.5)[item_id % 3]


def run_member(conn, m: Member, campaign_id: int, settings: revolt.Settings, poll: float,
               think: float, deadline: float) -> None:
    try:
        _lobby(conn, m, campaign_id, settings, poll, deadline)
        if m.team_id is not None:
            _session(conn, m, settings, poll, think, deadline)
    except BaseException as error:  # noqa: BLE001 - reported by the run's checks
        m.error = error


def _lobby(conn, m: Member, campaign_id: int, settings: revolt.Settings, poll: float,
           deadline: float) -> None:
    time.sleep(m.rng.uniform(0, poll))
    revolt_lobby.enter(conn, m.user, campaign_id, now(), settings)
    while time.monotonic() < deadline:
        lobby = revolt_lobby.poll(conn, m.user, campaign_id, now(), settings)
        if lobby.team_id is None and lobby.can_ready and lobby.ready_until is None:
            try:
                lobby = revolt_lobby.set_ready(conn, m.user, campaign_id, now(), settings)
            except Conflict:
                pass  # others were teamed up meanwhile: too few left here; as the page shows
        if lobby.team_id is not None:
            m.team_id = lobby.team_id
            return
        time.sleep(poll)


def _session(conn, m: Member, settings: revolt.Settings, poll: float, think: float,
             deadline: float) -> None:
    team_id = m.team_id
    next_poll = time.monotonic() + m.rng.uniform(0, poll)
    next_step = time.monotonic() + m.rng.uniform(0.5, 1.5) * think
    done_here = defaultdict(int)
    s = _observe(conn, m, lambda: revolt.poll(conn, m.user, team_id, now(), settings))
    while time.monotonic() < deadline:
        if s.status != "active":
            return
        if s.finished:
            revolt.answer_survey(conn, m.user, team_id, m.rng.randint(3, 5),
                                 m.rng.randint(2, 5), "", now())
            return
        if m.drop_stage == s.stage and done_here[s.stage] >= m.drop_after:
            m.gone = True
            if m.leaves:
                revolt.leave(conn, m.user, team_id, now(), settings)
            return  # the page is closed: no more polls
        clock = time.monotonic()
        if s.todo and clock >= next_step:
            done_here[s.stage] += 1
            s = _observe(conn, m, lambda shown=s: _act(conn, m, shown, settings))
            next_step = time.monotonic() + m.rng.uniform(0.5, 1.5) * think
            continue
        if clock >= next_poll:
            s = _observe(conn, m, lambda: revolt.poll(conn, m.user, team_id, now(), settings))
            next_poll += poll
            continue
        time.sleep(max(0.0, min(next_poll, next_step if s.todo else next_poll) - clock))


def _act(conn, m: Member, s: revolt.Session, settings: revolt.Settings) -> revolt.Session:
    """One submission, as a click does it; the page then redraws from the database."""
    task = s.todo[0]
    try:
        if s.stage == "vote":
            label = "Yes" if m.rng.random() < ambiguity(task.item_id, s.batch_size) else "No"
            step = revolt.vote(conn, m.user, s.team_id, task.item_id, label, now(), settings)
        elif s.stage == "explain":
            step = revolt.explain(conn, m.user, s.team_id, task.item_id,
                                  f"I chose {task.my_label} because of what I saw.", now(),
                                  settings)
        else:
            known = [name for name, _ in s.concepts]
            pick = (m.rng.choice(known) if known and m.rng.random() < 0.6 else
                    m.rng.choice(m.rng.choice(CONCEPTS)))
            step = revolt.categorize(conn, m.user, s.team_id, task.item_id, pick, now(),
                                     settings)
    except Conflict:
        step = None  # the team moved on meanwhile (it went on without this member)
    if step is not None and step.finished_stage:
        m.finished.append(step.finished_stage)
    return revolt.session(conn, m.user, s.team_id, settings)


def _observe(conn, m: Member, call) -> revolt.Session:
    started = now()
    began = time.perf_counter()
    s = call()
    m.polls.append(time.perf_counter() - began)
    ended = now()
    if s.version not in m.seen:
        m.seen[s.version] = ended
        with reading(conn) as cur:
            happened = cur.execute(
                "SELECT happened_at FROM revolt_events WHERE team_id = ? AND version = ?",
                [s.team_id, s.version]).fetchone()[0]
        if started <= happened <= ended:
            m.triggered.add(s.version)  # this member's own call made the change
    return s


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    """Command line: run the simulation, check it, print a report; exit 1 if a check fails."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teams", type=int, default=10)
    parser.add_argument("--team-size", type=int, default=3)
    parser.add_argument("--batch", type=int, default=6, help="items per team")
    parser.add_argument("--dropout-rate", type=float, default=0.2)
    parser.add_argument("--dropout-seconds", type=float, default=3.0,
                        help="silence after which a member is dropped (60 in the app)")
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between polls")
    parser.add_argument("--think", type=float, default=0.6, help="mean seconds per item")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=240.0)
    parser.add_argument("--db", type=Path, help="database file (default: a temp file)")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    settings = revolt.Settings(team_size=args.team_size, batch_size=args.batch,
                               ready_seconds=180, dropout_seconds=args.dropout_seconds)
    path = args.db or Path(tempfile.mkdtemp(prefix="revolt-sim-")) / "sim.duckdb"
    conn = db.connect(path)
    start = now()
    workspace.ensure(conn, start, demo=False, rounds=4)
    people = [users.register(conn, username=f"member{n:02d}", name=f"Member {n}",
                             email=f"member{n:02d}@example.com", password="simulated-9",
                             expertise=[("arts", "en-US")], now=start, rounds=4)
              for n in range(args.teams * args.team_size + 1)]
    owner = people.pop(0)  # the first account is admin: it owns the campaign
    campaign = campaigns.create(
        conn, owner, spec_text=SPEC, now=start, status="live", title="Simulated cats",
        kind="revolt", skill="arts", language="en-US", minutes_per_item=1, pay_per_item=0.5,
        overlap=args.team_size, opens_at=start - timedelta(days=1),
        expires_at=start + timedelta(days=1))
    campaigns.add_items(conn, owner, campaign.id, pd.DataFrame(
        {"payload": [{"text": f"Picture {n}"} for n in range(args.teams * args.batch)]}), start)
    pay = revolt.config(conn, campaign.id, settings)

    members = [Member(user, random.Random(rng.random())) for user in people]
    for m in rng.sample(members, round(args.dropout_rate * len(members))):
        m.drop_stage = m.rng.choice(revolt.WORK_STAGES)
        m.drop_after = m.rng.randint(0, args.batch // 2 if m.drop_stage == "vote" else 1)
        m.leaves = m.rng.random() < 0.5
    load_before = os.getloadavg()[0]
    deadline = time.monotonic() + args.timeout
    began = time.perf_counter()
    threads = [threading.Thread(target=run_member, args=(conn, m, campaign.id, settings,
                                                         args.poll, args.think, deadline))
               for m in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    # Teams whose members all went away end at the next lobby poll or Monitor visit.
    time.sleep(args.dropout_seconds)
    swept = revolt.sweep(conn, campaign.id, now(), settings)

    problems = [f"{m.user.username}: {m.error!r}" for m in members if m.error]
    teams = conn.execute("SELECT id, stage FROM revolt_teams WHERE campaign_id = ? ORDER BY id",
                         [campaign.id]).fetchall()
    stuck = [t for t, stage in teams if stage != "done"]
    if len(teams) != args.teams:
        problems.append(f"{len(teams)} teams formed, not {args.teams}")
    if stuck:
        problems.append(f"teams not done: {stuck}")
    events = conn.execute("SELECT team_id, version, from_stage, to_stage, happened_at "
                          "FROM revolt_events ORDER BY team_id, version").fetchall()
    chains = defaultdict(list)
    for team_id, version, source, target, _ in events:
        chains[team_id].append((version, source, target))
    for team_id, chain in chains.items():
        versions = [v for v, _, _ in chain]
        linked = all(a[2] == b[1] for a, b in zip(chain, chain[1:], strict=False))
        if versions != list(range(1, len(chain) + 1)) or not linked or chain[0][1] != "lobby":
            problems.append(f"team {team_id}: broken transition chain {chain}")
    ledger = dict(conn.execute("SELECT user_id, sum(amount) FROM pay_ledger WHERE kind = 'stage' "
                               "GROUP BY user_id").fetchall())
    rows = dict(conn.execute("SELECT user_id, count(*) FROM revolt_stage_done GROUP BY user_id"
                             ).fetchall())
    for m in members:
        expected = sum((pay.pay_for(s) for s in m.finished), Decimal("0.00"))
        got = ledger.get(m.user.id, Decimal("0.00"))
        if got != expected or rows.get(m.user.id, 0) != len(m.finished) \
                or len(set(m.finished)) != len(m.finished):
            problems.append(f"{m.user.username}: paid {got} for {rows.get(m.user.id, 0)} "
                            f"stages, finished {m.finished} (expected {expected})")

    happened = {(t, v): at for t, v, _, _, at in events}
    others, everyone = [], []
    for m in members:
        for version, seen in m.seen.items():
            if version == 1 or (m.team_id, version) not in happened:
                continue  # formation is seen through the lobby, not the session
            delay = (seen - happened[(m.team_id, version)]).total_seconds()
            everyone.append(delay)
            if version not in m.triggered:
                others.append(delay)
    dropped = conn.execute(
        "SELECT dropped_stage, count(*) FILTER (WHERE status = 'dropped'), "
        "count(*) FILTER (WHERE status = 'left') FROM revolt_members WHERE status <> 'active' "
        "GROUP BY dropped_stage "
        "ORDER BY list_position(['vote', 'explain', 'categorize'], dropped_stage)"
    ).fetchall()
    paths = conn.execute("SELECT list(to_stage ORDER BY version)::VARCHAR, count(*) FROM "
                         "revolt_events GROUP BY team_id").fetchall()
    polls = [p for m in members for p in m.polls]

    print(f"{len(members)} members, {len(teams)} teams of {args.team_size}, {args.batch} items "
          f"each; dropout rate {args.dropout_rate:.0%}, dropped after {args.dropout_seconds:g} s "
          f"of silence; polls every {args.poll:g} s; seed {args.seed}")
    print(f"1-minute load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, "
          f"on {os.cpu_count()} CPUs")
    print(f"wall time {wall:.1f} s; {len(events)} transitions; {len(swept)} made by the final "
          f"sweep; teams not done: {len(stuck)}")
    print("paths: " + "; ".join(f"{p} × {n}" for p, n in
                                sorted(pd.Series([p for p, _ in paths]).value_counts().items())))
    picked = sum(1 for m in members if m.drop_stage)
    print(f"picked to drop out: {picked}; gone: {sum(d + lft for _, d, lft in dropped)} (a "
          "member picked for a stage their team skipped, or who finished it first, stays); by "
          "stage (timed out / left): " + ", ".join(
              f"{stage}: {d} / {lft}" for stage, d, lft in dropped))
    print(f"members paid for exactly the stages they finished: "
          f"{sum(1 for m in members if m.finished)} paid, total "
          f"${sum(ledger.values(), Decimal('0')):.2f}")
    print("\n| measure | n | p50 s | p95 s | max s |\n|---|--:|--:|--:|--:|")
    for name, values in (("stage propagation, other members", others),
                         ("stage propagation, all members", everyone),
                         ("poll / submit call", polls)):
        if values:
            print(f"| {name} | {len(values)} | {statistics.median(values):.3f} | "
                  f"{percentile(values, 0.95):.3f} | {max(values):.3f} |")
    if problems:
        print("\nPROBLEMS:\n" + "\n".join(problems))
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
