"""Shared fixtures: a real database on each engine, a fixed clock, users and campaigns.

`conn` is a fresh database for every test, once on a DuckDB file in a temp dir and once on a real
PostgreSQL server on 127.0.0.1 (started once per test session, see `postgres`); a test that only
makes sense on PostgreSQL asks for `postgres` and `new_postgres_database`.
"""

from __future__ import annotations

import itertools
import os
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from core import campaigns, db, users, workflow, workspace
from deploy import local_postgres
from server import runtime
from tests.revolt_helpers import CAT_SPEC, Clock

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 24, 12, 0, 0)
FAST_ROUNDS = 4  # bcrypt cost for tests; the app uses 12

CLASSIFY = workflow.TEMPLATES["Classification"]


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture(autouse=True, scope="module")
def _pages_connections_closed():
    """Pages under AppTest open the process's connection (server.runtime) and start its
    workers; the module's databases go away after it, and so do they, instead of polling
    vanished databases for the rest of the run."""
    yield
    runtime.close_all()


_TEMPLATE = "quorum_template"
_databases = itertools.count(1)


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the whole test run, with a migrated template database.

    Without PostgreSQL installed the PostgreSQL half of the tests is skipped, except on CI.
    """
    if local_postgres.binaries() is None:
        message = "PostgreSQL is not installed (apt-get install postgresql)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {message}")
        pytest.skip(message)
    server = local_postgres.start()  # in a folder of its own under /tmp, removed at stop
    admin = db.connect(server.url("postgres"), pool_size=1)
    admin.execute(f"CREATE DATABASE {_TEMPLATE}")
    template = db.connect(server.url(_TEMPLATE), pool_size=1)
    workspace.ensure(template, NOW, demo=False)
    template.close()
    yield server, admin
    admin.close()
    server.stop()


def new_postgres_database(postgres, empty: bool = False) -> str:
    """The URL of a new database: a clone of the migrated template with the catalog, or
    `empty` (not even migrated, as a first start finds it)."""
    server, admin = postgres
    name = f"test_{next(_databases)}"
    admin.execute(f"CREATE DATABASE {name}" + ("" if empty else f" TEMPLATE {_TEMPLATE}"))
    return server.url(name)


@pytest.fixture(params=["duckdb", "postgres"])
def database(request, tmp_path) -> str:
    """Where a fresh database lives: a DuckDB path, or a PostgreSQL URL."""
    if request.param == "duckdb":
        return str(tmp_path / "quorum.duckdb")
    return new_postgres_database(request.getfixturevalue("postgres"))


def _open(target: str):
    connection = db.connect(target)
    workspace.ensure(connection, NOW, demo=False)
    return connection


@pytest.fixture
def conn(database):
    connection = _open(database)
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
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema IN ('main', 'public') AND table_type = 'BASE TABLE'").fetchall()]
    return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in sorted(names)}


def snapshot(conn) -> dict[str, list]:
    """Every row of the tables a submission touches, to compare before and after."""
    return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
            for t in ("items", "leases", "responses", "pay_ledger", "skips")}


# Team sessions (tests of core/revolt*): a clock to move, a team campaign, three experts.
@pytest.fixture
def clock(now):
    return Clock(now)


@pytest.fixture
def cats(make_campaign):
    """A live team campaign of 12 pictures; the default pay is $2.00 to vote, $1.00 after."""
    return make_campaign(n_items=12, spec=CAT_SPEC, kind="revolt", overlap=3,
                         title="Is it a cat?", pay_per_item=0.5)


@pytest.fixture
def trio(make_user):
    return [make_user(name) for name in ("ann", "bob", "cyd")]
