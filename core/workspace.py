"""First start: the catalog, and the demo workspace unless an empty one was asked for."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import yaml

from core import campaigns, catalog, demo_history, users
from core.db import Connection, Cursor, reading, writing

DEMO_FILE = Path(__file__).resolve().parent.parent / "data" / "demo" / "workspace.yaml"


def ensure(conn: Connection, now: datetime, *, demo: bool,
           rounds: int = users.BCRYPT_ROUNDS) -> None:
    """Install the catalog, and on a database never set up before, load the demo if asked."""
    def initialize(cur: Cursor) -> bool:
        catalog.install(cur)
        first = cur.execute("SELECT 1 FROM settings WHERE key = 'initialized_at'").fetchone()
        if first is None:
            cur.execute("INSERT INTO settings VALUES ('initialized_at', ?)", [now.isoformat()])
        return first is None

    # Replicas starting together take turns: one of them sets up the workspace.
    if writing(conn, initialize, one_at_a_time=("workspace", 0)) and demo:
        load_demo(conn, now, rounds=rounds)


def demo_loaded(conn: Connection) -> bool:
    """Whether the demo workspace was loaded into this database."""
    with reading(conn) as cur:
        return cur.execute("SELECT 1 FROM settings WHERE key = 'demo'").fetchone() is not None


def demo_logins(conn: Connection) -> pd.DataFrame:
    """Demo accounts whose published password still works, with that password and roles."""
    if not demo_loaded(conn):
        return pd.DataFrame(columns=["username", "password", "roles"])
    spec = yaml.safe_load(DEMO_FILE.read_text())
    passwords = {u["username"]: u["password"] for u in spec["users"]}
    with reading(conn) as cur:
        rows = cur.execute(
            "SELECT u.username, array_agg(r.role ORDER BY r.role) FROM users u "
            "JOIN user_roles r ON r.user_id = u.id WHERE u.is_demo GROUP BY u.username, u.id "
            "ORDER BY u.id").fetchall()
    return pd.DataFrame([(name, passwords[name], ", ".join(roles)) for name, roles in rows
                         if name in passwords], columns=["username", "password", "roles"])


def load_demo(conn: Connection, now: datetime, *,
              rounds: int = users.BCRYPT_ROUNDS, path: Path = DEMO_FILE) -> None:
    """Create the demo users and campaigns described in data/demo/workspace.yaml."""
    spec = yaml.safe_load(path.read_text())
    people: dict[str, users.User] = {}
    for person in spec["users"]:
        people[person["username"]] = _demo_user(conn, person, now, rounds)
    for item in spec["campaigns"]:
        _demo_campaign(conn, people[item["owner"]], item, now)
    demo_history.load(conn, people["rita"], now, rounds)
    writing(conn, lambda cur: cur.execute("INSERT INTO settings VALUES ('demo', 'loaded')"))


def _demo_user(conn, person: dict, now: datetime, rounds: int) -> users.User:
    password_hash = users.hash_password(person["password"], rounds)

    def work(cur: Cursor) -> None:
        user_id = cur.execute(
            "INSERT INTO users (username, name, email, password_hash, created_at, is_demo) "
            "VALUES (?, ?, ?, ?, ?, true) RETURNING id",
            [person["username"], person["name"], person["email"], password_hash,
             now - timedelta(days=60)]).fetchone()[0]
        for role in person["roles"]:
            cur.execute("INSERT INTO user_roles VALUES (?, ?, ?)", [user_id, role, now])
        for skill, language in person["expertise"]:
            cur.execute("INSERT INTO expertise VALUES (?, ?, ?, ?)",
                        [user_id, skill, language, now])

    writing(conn, work)
    return users.get_user(conn, person["username"])


def _demo_campaign(conn, owner: users.User, item: dict, now: datetime) -> None:
    settings = {key: item[key] for key in (
        "title", "description", "guidelines", "skill", "language", "expertise_level",
        "expertise_type", "minutes_per_item", "pay_per_item", "overlap")}
    settings.update(kind=item.get("kind", "standard"), per_expert_cap=item.get("per_expert_cap"),
                    opens_at=now - timedelta(days=item["opens_days_ago"]),
                    expires_at=now + timedelta(days=item["expires_in_days"]))
    created_at = settings["opens_at"] - timedelta(days=1)
    campaign = campaigns.create(conn, owner, spec_text=item["spec"], now=created_at,
                                status="live", **settings)
    frame = pd.DataFrame({"payload": item["items"],
                          "external_id": [f"demo-{campaign.id}-{n + 1}"
                                          for n in range(len(item["items"]))]})
    campaigns.add_items(conn, owner, campaign.id, frame, created_at)
