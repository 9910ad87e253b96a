"""Shared fixtures: a real DuckDB in a temp dir, a fixed clock, users and campaigns."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from core import campaigns, db, users, workflow, workspace

NOW = datetime(2026, 11, 24, 12, 0, 0)
FAST_ROUNDS = 4  # bcrypt cost for tests; the app uses 12

CLASSIFY = workflow.TEMPLATES["Classification"]


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def conn(tmp_path):
    connection = db.connect(tmp_path / "quorum.duckdb")
    workspace.ensure(connection, NOW, demo=False)
    yield connection
    connection.close()


@pytest.fixture
def make_user(conn):
    """Create a user with roles and expertise; returns the User."""
    counter = iter(range(1, 10_000))

    def make(username: str | None = None, roles=("expert",),
             expertise=(("general", "en-US"),)) -> users.User:
        name = username or f"user{next(counter)}"
        user = users.register(conn, username=name, name=name.title(),
                              email=f"{name}@example.com", password="correct-horse-9",
                              expertise=list(expertise) or [("general", "en-US")], now=NOW,
                              rounds=FAST_ROUNDS)
        # register() makes the first account admin: set exactly the roles asked for.
        conn.execute("DELETE FROM user_roles WHERE user_id = ?", [user.id])
        for role in roles:
            conn.execute("INSERT INTO user_roles VALUES (?, ?, ?)", [user.id, role, NOW])
        if not expertise:
            conn.execute("DELETE FROM expertise WHERE user_id = ?", [user.id])
        return users.get_user(conn, name)

    return make


@pytest.fixture
def requester(make_user):
    return make_user("rita", roles=("requester",), expertise=())


@pytest.fixture
def make_campaign(conn, requester):
    """Create a live campaign with `n_items` items; returns the Campaign."""

    def make(n_items: int = 5, spec: str = CLASSIFY, **settings) -> campaigns.Campaign:
        values = dict(title="Sentiment of product reviews", skill="general", language="en-US",
                      minutes_per_item=2, pay_per_item=1.25, overlap=2, lease_minutes=30,
                      opens_at=NOW - timedelta(days=1), expires_at=NOW + timedelta(days=7))
        values.update(settings)
        status = values.pop("status", "live")
        campaign = campaigns.create(conn, requester, spec_text=spec, now=NOW - timedelta(days=2),
                                    status=status, **values)
        items = pd.DataFrame({"payload": [{"text": f"Review number {n}"}
                                          for n in range(n_items)]})
        campaigns.add_items(conn, requester, campaign.id, items, NOW - timedelta(days=2))
        return campaign

    return make


def table_counts(conn) -> dict[str, int]:
    """Row counts of every table, to prove a refused action changed nothing."""
    names = [r[0] for r in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()]
    return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in sorted(names)}


def snapshot(conn) -> dict[str, list]:
    """Every row of the tables a submission touches, to compare before and after."""
    return {t: conn.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("items", "leases", "responses", "pay_ledger", "skips")}
