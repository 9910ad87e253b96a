"""First start: the catalog, and the demo workspace unless an empty one was asked for."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import yaml

from core import campaigns, catalog, demo_history, users
from core.db import Connection, Cursor, reading, writing

DEMO_FILE = Path(__file__).resolve().parent.parent / "data" / "demo" / "workspace.yaml"


def ensure(conn: Connection, now: datetime, *, demo: bool,
           rounds: int = users.BCRYPT_ROUNDS,
           new_password: Callable[[], str] | None = None) -> dict[str, str]:
    """Install the catalog, and on a database never set up before, load the demo if asked.

    Returns the demo accounts' passwords (made by `new_password`) when it loaded the demo, or
    replaced the published ones of a demo loaded by an older version: the caller shows them to
    the operator; they are stored nowhere but as bcrypt hashes.
    """
    def initialize(cur: Cursor) -> bool:
        catalog.install(cur)
        first = cur.execute("SELECT 1 FROM settings WHERE key = 'initialized_at'").fetchone()
        if first is None:
            cur.execute("INSERT INTO settings VALUES ('initialized_at', ?)", [now.isoformat()])
        return first is None

    # Replicas starting together take turns: one of them sets up the workspace.
    if writing(conn, initialize, one_at_a_time=("workspace", 0)) and demo:
        return load_demo(conn, now, rounds=rounds, new_password=new_password)
    return replace_published_passwords(conn, rounds=rounds, new_password=new_password)


def replace_published_passwords(conn: Connection, *, rounds: int = users.BCRYPT_ROUNDS,
                                new_password: Callable[[], str] | None = None) -> dict[str, str]:
    """Once, give the demo accounts whose password was never changed a new random one.

    Versions before issue 12 gave them fixed passwords published in the README and on the
    login page; returns the new ones (none when there is nothing to replace).
    """
    with reading(conn) as cur:
        if not _needs_new_passwords(cur):
            return {}
        names = [r[0] for r in cur.execute(
            "SELECT username FROM users WHERE is_demo ORDER BY id").fetchall()]
    made = {name: (new_password or new_demo_password)() for name in names}
    hashes = {name: users.hash_password(password, rounds) for name, password in made.items()}

    def work(cur: Cursor) -> bool:
        if not _needs_new_passwords(cur):
            return False  # another process did it first
        for name, password_hash in hashes.items():
            cur.execute("UPDATE users SET password_hash = ? WHERE username = ? AND is_demo",
                        [password_hash, name])
        cur.execute("INSERT INTO settings VALUES ('demo_passwords', 'generated')")
        return True

    return made if writing(conn, work, one_at_a_time=("workspace", 0)) else {}


def _needs_new_passwords(cur: Cursor) -> bool:
    keys = {r[0] for r in cur.execute(
        "SELECT key FROM settings WHERE key IN ('demo', 'demo_passwords')").fetchall()}
    return keys == {"demo"}


def demo_loaded(conn: Connection) -> bool:
    """Whether the demo workspace was loaded into this database."""
    with reading(conn) as cur:
        return cur.execute("SELECT 1 FROM settings WHERE key = 'demo'").fetchone() is not None


def new_demo_password() -> str:
    """A password for a demo account: four random words' worth of entropy (~100 bits)."""
    return secrets.token_urlsafe(12)


def load_demo(conn: Connection, now: datetime, *, rounds: int = users.BCRYPT_ROUNDS,
              path: Path = DEMO_FILE,
              new_password: Callable[[], str] | None = None) -> dict[str, str]:
    """Create the demo users and campaigns of data/demo/workspace.yaml; their passwords."""
    spec = yaml.safe_load(path.read_text())
    people: dict[str, users.User] = {}
    made = {person["username"]: (new_password or new_demo_password)()
            for person in spec["users"]}
    for person in spec["users"]:
        people[person["username"]] = _demo_user(conn, person, made[person["username"]], now,
                                                rounds)
    for item in spec["campaigns"]:
        _demo_campaign(conn, people[item["owner"]], item, now)
    demo_history.load(conn, people["rita"], now, rounds)
    writing(conn, lambda cur: cur.execute(
        "INSERT INTO settings VALUES ('demo', 'loaded'), ('demo_passwords', 'generated')"))
    return made


def _demo_user(conn, person: dict, password: str, now: datetime, rounds: int) -> users.User:
    password_hash = users.hash_password(password, rounds)

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
