"""Six months of past activity for the demo workspace (data/demo/history.yaml).

Made with a seeded generator and written in bulk, so every demo starts with the same history:
background experts signing up month by month, one closed feedback campaign a month with its
answers and pay, satisfaction surveys, and challenge rewards.
"""

from __future__ import annotations

import random
import zlib
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import yaml

from core import campaigns, pay, rollups, users, workflow
from core.db import Connection, Cursor, frame_table, writing

HISTORY_FILE = Path(__file__).resolve().parent.parent / "data" / "demo" / "history.yaml"
LABELS = ["positive", "negative", "neutral"]


def load(conn: Connection, owner: users.User, now: datetime,
         rounds: int = users.BCRYPT_ROUNDS, path: Path = HISTORY_FILE) -> None:
    """Write the demo's past: experts, closed campaigns with answers and pay, surveys."""
    spec = yaml.safe_load(path.read_text())
    rng = random.Random(2026)
    experts = _experts(conn, spec, rng, now, rounds)
    for months_ago in range(spec["months"], 0, -1):
        opens = (now - timedelta(days=30 * months_ago)).replace(hour=9, minute=0, second=0,
                                                                microsecond=0)
        _past_campaign(conn, owner, spec, rng, experts, opens, now)
    _surveys(conn, spec, rng, now)


def _experts(conn, spec: dict, rng: random.Random, now: datetime, rounds: int) -> pd.DataFrame:
    """Background experts (who cannot log in), more of them joining each month."""
    unusable = users.hash_password(f"no-login-{rng.random()}", rounds)
    names, seen = [], set()
    while len(names) < spec["experts"]:
        first, last = rng.choice(spec["first_names"]), rng.choice(spec["last_names"])
        if (first, last) not in seen:
            seen.add((first, last))
            names.append((first, last))
    days = spec["months"] * 30 + 10
    # A founding dozen before the first campaign, then more joining every month.
    joined = sorted(now - timedelta(days=days if n < 12 else days * (1 - rng.random() ** 0.7),
                                    hours=rng.random() * 9) for n in range(len(names)))
    frame = pd.DataFrame({
        "username": [f"{first}.{last}".lower() for first, last in names],
        "name": [f"{first} {last}" for first, last in names],
        "email": [f"{first}.{last}@quorum.example".lower() for first, last in names],
        "password_hash": unusable, "created_at": joined,
        "skill": [rng.choice(["general", "general", "arts", "law"]) for _ in names]})

    def work(cur: Cursor) -> None:
        with frame_table(cur, "people", frame):
            cur.execute("INSERT INTO users (username, name, email, password_hash, created_at) "
                        "SELECT username, name, email, password_hash, created_at FROM people")
            cur.execute("INSERT INTO user_roles SELECT u.id, 'expert', p.created_at FROM people p "
                        "JOIN users u USING (username)")
            # Everyone answers feedback in English; some know another field too.
            cur.execute("INSERT INTO expertise SELECT u.id, 'general', 'en-US', p.created_at "
                        "FROM people p JOIN users u USING (username)")
            cur.execute("INSERT INTO expertise SELECT u.id, p.skill, 'en-US', p.created_at "
                        "FROM people p JOIN users u USING (username) WHERE p.skill <> 'general'")

    writing(conn, work)
    experts = conn.execute("SELECT u.id, u.created_at, u.username FROM users u "
                           "WHERE u.is_demo = false AND u.id IN "
                           "(SELECT user_id FROM user_roles WHERE role = 'expert')").df()
    # A steady accuracy per person between 0.6 and 0.98, the same on every load.
    experts["accuracy"] = [0.6 + 0.38 * (zlib.crc32(name.encode()) % 1000) / 1000
                           for name in experts.pop("username")]
    return experts


def _past_campaign(conn, owner: users.User, spec: dict, rng: random.Random,
                   experts: pd.DataFrame, opens: datetime, now: datetime) -> None:
    c = spec["campaign"]
    closes = opens + timedelta(days=24)
    campaign = campaigns.create(
        conn, owner, spec_text=workflow.TEMPLATES["Classification"], now=opens,
        status="live", title=c["title"].format(month=f"{opens:%B %Y}"),
        description=c["description"], guidelines=c["guidelines"], skill="general",
        language="en-US", expertise_level="Any", expertise_type="Careful readers",
        minutes_per_item=c["minutes_per_item"], pay_per_item=c["pay_per_item"],
        overlap=c["overlap"], opens_at=opens, expires_at=closes,
        challenge_rewards=c["challenge_rewards"])
    parts = spec["feedback"]
    texts = [f"{rng.choice(parts['openers'])} {rng.choice(parts['middles'])} "
             f"{rng.choice(parts['closers'])}" for _ in range(c["items_per_campaign"])]
    campaigns.add_items(conn, owner, campaign.id, pd.DataFrame({"payload": [
        {"text": t} for t in texts]}), opens)
    items = conn.execute("SELECT id FROM items WHERE campaign_id = ? ORDER BY id",
                         [campaign.id]).fetchall()
    joined = experts[experts["created_at"] < closes - timedelta(days=3)]
    rows = []
    for (item_id,) in items:
        truth = rng.choice(LABELS)
        for _, expert in joined.sample(c["overlap"], random_state=rng.randrange(10**6)).iterrows():
            start = max(opens, expert["created_at"]) + timedelta(
                seconds=rng.random() * (closes - max(opens, expert["created_at"])).total_seconds()
                * 0.9)
            took = 25 + rng.random() * 110
            label = truth if rng.random() < expert["accuracy"] else rng.choice(LABELS)
            rows.append((item_id, int(expert["id"]), f'{{"label": "{label}"}}', start,
                         start + timedelta(seconds=took), took))
    answers = pd.DataFrame(rows, columns=["item_id", "user_id", "answer", "started_at",
                                          "submitted_at", "duration_s"])
    answers = answers.drop_duplicates(["item_id", "user_id"])

    def work(cur: Cursor) -> None:
        with frame_table(cur, "answers", answers):
            cur.execute(
                "INSERT INTO responses (item_id, campaign_id, user_id, spec_version, answer, "
                "started_at, submitted_at, duration_s) SELECT item_id, ?, user_id, 1, "
                "answer::JSON, started_at, submitted_at, duration_s FROM answers", [campaign.id])
            cur.execute("UPDATE items SET response_count = n FROM (SELECT item_id, count(*) AS n "
                        "FROM answers GROUP BY item_id) a WHERE items.id = a.item_id")
            cur.execute("INSERT INTO pay_ledger (user_id, campaign_id, response_id, kind, amount, "
                        "note, created_at) SELECT user_id, campaign_id, id, 'item', ?, "
                        "'Answer submitted', submitted_at FROM responses WHERE campaign_id = ?",
                        [c["pay_per_item"], campaign.id])
            rollups.rebuild(cur, campaign.id)

    writing(conn, work)
    if closes < now:
        from core import lifecycle  # imported here: lifecycle depends on quality and pay
        lifecycle.move(conn, owner, campaign.id, "closed", closes, "Batch complete")
    assert pay  # payouts happen through lifecycle.move


def _surveys(conn, spec: dict, rng: random.Random, now: datetime) -> None:
    """A third of each month's active experts answer the survey, a little happier over time."""
    active = conn.execute(
        "SELECT user_id, date_trunc('month', submitted_at) AS month, max(submitted_at) AS last "
        "FROM responses GROUP BY 1, 2 ORDER BY month, user_id").fetchall()
    months = sorted({m for _, m, _ in active})
    rows = []
    for user_id, month, last in active:
        if rng.random() < 0.35:
            lift = months.index(month) / max(len(months) - 1, 1)
            score = min(5, max(1, round(rng.gauss(3.3 + 1.0 * lift, 0.8))))
            rows.append((user_id, score, rng.choice(spec["survey_comments"]),
                         last + timedelta(minutes=5)))
    frame = pd.DataFrame(rows, columns=["user_id", "score", "comment", "answered_at"])

    def work(cur: Cursor) -> None:
        with frame_table(cur, "answers", frame):
            cur.execute("INSERT INTO surveys (user_id, score, comment, answered_at) "
                        "SELECT * FROM answers")

    writing(conn, work)
