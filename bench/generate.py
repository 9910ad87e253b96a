"""Generate a synthetic Quorum workspace at scale, for benchmarks.

    python -m bench.generate --database /tmp/bench/quorum.duckdb
    python -m bench.generate --database postgresql://postgres@127.0.0.1:55432/bench

Rows are produced by DuckDB SQL over range() with hash-based randomness (deterministic for a
seed and a `now`) in an in-memory DuckDB (`db.scratch()`), then moved into the database as
frames (`db.frame_table`: COPY on PostgreSQL), so both engines get the same rows; campaigns go
through core.campaigns.create so their settings and specs are real.

The workspace: every user is an expert (every 100th also a requester, the first also an admin)
with 1–3 (skill, language) pairs, the first one fitting campaign `user mod campaigns`. Campaigns
are live single-choice classifications, overlap 3 or 5, every fourth capped at 1,000 answers per
expert. Items are split evenly over campaigns; answers fill them as _add_work describes, capped
at what the items can take, each with its pay ledger row. Every account's password is PASSWORD.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from core import campaigns as core_campaigns
from core import catalog, db, rollups, workflow, workspace
from core import users as core_users

PASSWORD = "bench-pass-1"
TEMPLATE = workflow.TEMPLATES["Classification"]
BAND = 50  # items between the first and the last answer slot being filled: concurrent work

_OPENERS = ["The delivery arrived", "I tried the new update", "Customer support answered",
            "The documentation explains", "Our team reviewed the release", "The hotel room was",
            "This recipe turned out", "The lecture on statistics was", "My refund request went",
            "The second season of the show is"]
_MIDDLES = ["two days later than promised", "faster than anyone expected",
            "with a confusing error message", "exactly as described on the page",
            "after three phone calls", "without any explanation", "in a friendly tone",
            "much better than the previous version"]
_CLOSERS = ["and I would do it again.", "but the price is far too high.", "so I am not sure.",
            "which made my whole week.", "and nobody seems to care.", "as far as I can tell."]


def generate(target: str | Path, *, users: int = 25_000, campaigns: int = 50,
             items: int = 1_000_000, responses: int = 3_000_000, seed: int = 1,
             now: datetime | None = None) -> dict[str, float]:
    """Fill a new database (a DuckDB path or a PostgreSQL URL) with a synthetic workspace;
    return seconds per step."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    rng = random.Random(seed)
    times: dict[str, float] = {}
    start = time.perf_counter()
    conn = db.connect(target)
    try:
        workspace.ensure(conn, now, demo=False)
        if conn.execute("SELECT count(*) FROM users").fetchone()[0]:
            raise ValueError(f"{target} already has users; generate into a new database.")
        pairs = _campaign_pairs(rng, campaigns)
        with db.scratch() as files:
            db.writing(conn, lambda cur: _add_users(cur, files, users, pairs, seed, now))
            times["users"] = _lap(start)
            settings = _add_campaigns(conn, rng, pairs, items, now)
            times["campaigns"] = _lap(start, times)
            db.writing(conn, lambda cur: _add_work(cur, files, settings, responses, seed, now))
            times["items, responses, pay"] = _lap(start, times)
        _settle(conn)
        times["checkpoint" if conn.engine == "duckdb" else "vacuum analyze"] = _lap(start, times)
    finally:
        conn.close()
    times["total"] = time.perf_counter() - start
    return times


def _settle(conn: db.Connection) -> None:
    """Make the bulk load durable and known to the planner, as each engine needs."""
    if conn.engine == "duckdb":
        conn.execute("CHECKPOINT")
    else:
        # The planner needs statistics to pick the indexes; the visibility map lets index-only
        # scans skip the table.
        conn.execute("VACUUM ANALYZE")


def _lap(start: float, times: dict[str, float] | None = None) -> float:
    return time.perf_counter() - start - sum((times or {}).values())


def _campaign_pairs(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """Distinct (skill, language) pairs from the catalog, cycling if more campaigns than pairs."""
    pairs = [(s[0], lang[0]) for s in catalog.SKILLS for lang in catalog.LANGUAGES]
    rng.shuffle(pairs)
    return [pairs[i % len(pairs)] for i in range(n)]


def _reserve(cur: db.Cursor, sequence: str, n: int) -> int:
    """Take `n` consecutive values from a sequence; return the first."""
    first, last = cur.execute(f"SELECT min(v), max(v) FROM (SELECT nextval('{sequence}') AS v "
                              "FROM generate_series(1, ?) AS t) AS s", [int(n)]).fetchall()[0]
    assert last - first == n - 1, "the sequence was used concurrently"
    return first


def _load(cur: db.Cursor, files: duckdb.DuckDBPyConnection, table: str, query: str,
          params: dict | None = None) -> None:
    """Insert what `query` returns in the scratch database into `table`, columns by name."""
    frame = files.sql(query, params=params or None).to_arrow_table()
    columns = ", ".join(frame.column_names)
    with db.frame_table(cur, f"bench_{table}", frame, like=table) as name:
        cur.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {name}")


def _add_users(cur: db.Cursor, files: duckdb.DuckDBPyConnection, n: int,
               pairs: list[tuple[str, str]], seed: int, now: datetime) -> None:
    """Experts with 1–3 expertise rows; the first row fits a campaign so each has experts."""
    first = _reserve(cur, "users_id_seq", n)
    password_hash = core_users.hash_password(PASSWORD, rounds=4)
    files.execute(
        """
        CREATE TABLE bench_users AS
        SELECT $first + i AS id, i,
               $now - to_days(30 + (hash($seed, i, 'joined') % 700)::INTEGER) AS created_at
        FROM range($n) t(i)
        """, {"first": first, "n": n, "seed": seed, "now": now})
    _load(cur, files, "users",
          "SELECT id, printf('bench%06d', i) AS username, printf('Bench Expert %d', i) AS name, "
          "printf('bench%06d@bench.example', i) AS email, $hash AS password_hash, created_at, "
          "false AS is_demo FROM bench_users ORDER BY id", {"hash": password_hash})
    files.execute(
        """
        CREATE TABLE bench_roles AS
        SELECT id AS user_id, 'expert' AS role, created_at AS granted_at FROM bench_users
        UNION ALL SELECT id, 'requester', created_at FROM bench_users WHERE i % 100 = 0
        UNION ALL SELECT id, 'admin', created_at FROM bench_users WHERE i = 0
        """)
    _load(cur, files, "user_roles", "SELECT * FROM bench_roles")
    wanted = pd.DataFrame(pairs, columns=["skill", "language"]).reset_index(names="n")
    every = pd.DataFrame([(s[0], lang[0]) for s in catalog.SKILLS for lang in catalog.LANGUAGES],
                         columns=["skill", "language"]).reset_index(names="n")
    files.register("wanted", wanted)
    files.register("every", every)
    files.execute(
        """
        CREATE TABLE bench_expertise AS
        SELECT DISTINCT u.id AS user_id, coalesce(w.skill, e.skill) AS skill,
               coalesce(w.language, e.language) AS language, u.created_at AS added_at
        FROM (SELECT *, unnest(range(1 + (hash($seed, i, 'rows') % 3)::INTEGER)) AS j
              FROM bench_users) u
        LEFT JOIN wanted w ON u.j = 0 AND w.n = u.i % $campaigns
        LEFT JOIN every e ON u.j > 0 AND e.n = hash($seed, u.i, u.j) % $pairs
        """, {"seed": seed, "campaigns": len(pairs), "pairs": len(every)})
    _load(cur, files, "expertise", "SELECT * FROM bench_expertise")


def _add_campaigns(conn, rng: random.Random, pairs: list[tuple[str, str]], items_n: int,
                   now: datetime) -> pd.DataFrame:
    """Live classification campaigns through core; return what the item generator needs."""
    owner = core_users.get_user(conn, "bench000000")
    skills = {code: name for code, name, _ in catalog.SKILLS}
    languages = dict(catalog.LANGUAGES)
    rows = []
    for n, (skill, language) in enumerate(pairs):
        opens_at = now - timedelta(days=rng.randint(2, 40))
        campaign = core_campaigns.create(
            conn, owner, spec_text=TEMPLATE, now=opens_at - timedelta(days=1), status="live",
            title=f"Bench {n + 1}: sentiment of {skills[skill]} texts in {languages[language]}",
            description="Label the sentiment of short texts.", guidelines="Pick one label.",
            skill=skill, language=language, expertise_level="Any", expertise_type="",
            minutes_per_item=rng.choice([0.5, 1.0, 2.0]),
            pay_per_item=rng.choice([0.1, 0.25, 0.5, 1.0]), overlap=rng.choice([3, 5]),
            per_expert_cap=1000 if n % 4 == 3 else None, lease_minutes=30,
            opens_at=opens_at, expires_at=now + timedelta(days=rng.randint(5, 60)))
        size = items_n // len(pairs) + (n < items_n % len(pairs))
        rows.append((campaign.id, campaign.overlap, rng.uniform(0.2, 1.0), size,
                     campaign.opens_at, campaign.created_at, skill, language,
                     float(campaign.pay_per_item)))
    frame = pd.DataFrame(rows, columns=["id", "overlap", "pace", "size", "opens_at", "created_at",
                                        "skill", "language", "pay_per_item"])
    frame["offset"] = frame["size"].cumsum() - frame["size"]
    return frame


def _add_work(cur: db.Cursor, files: duckdb.DuckDBPyConnection, settings: pd.DataFrame,
              responses_n: int, seed: int, now: datetime) -> None:
    """Items, the answers they received (counters kept consistent) and one pay row per answer.

    Each item offers `overlap` answer slots; slot k of the item at position p in its campaign is
    filled in order of (p + k * BAND) / pace, so every campaign has a head of complete items, a
    band of partly answered ones and a tail of fresh ones, and faster campaigns are further on.
    The answer in slot k goes to the eligible expert (start + k) mod n: never the same one twice.
    """
    items_n = int(settings["size"].sum())
    item0 = _reserve(cur, "items_id_seq", items_n)
    files.register("settings", settings)
    files.execute("CREATE TABLE bench_settings AS SELECT * FROM settings")
    files.execute(
        """
        CREATE TABLE bench_items AS
        SELECT $item0 + s.offset + p AS id, s.id AS campaign_id, p, s.overlap, s.pace,
               s.created_at
        FROM (SELECT *, unnest(range(size)) AS p FROM bench_settings) s
        """, {"item0": item0})
    files.execute(
        """
        CREATE TABLE bench_slots AS
        SELECT * FROM (
            SELECT i.id AS item_id, i.campaign_id, i.k,
                   row_number() OVER (ORDER BY (i.p + i.k * $band) / i.pace, i.id, i.k) AS rn
            FROM (SELECT *, unnest(range(overlap)) AS k FROM bench_items) i)
        WHERE rn <= $n
        """, {"band": BAND, "n": responses_n})
    _load(cur, files, "items",
          """
          SELECT i.id, i.campaign_id, 'bench-' || i.id AS external_id,
                 json_object('text', printf('#%d. %s %s, %s', i.id,
                     $openers[1 + (hash($seed, i.id, 'o') % len($openers))::INTEGER],
                     $middles[1 + (hash($seed, i.id, 'm') % len($middles))::INTEGER],
                     $closers[1 + (hash($seed, i.id, 'c') % len($closers))::INTEGER]))::VARCHAR
                     AS payload,
                 coalesce(a.n, 0) AS response_count, 2 * coalesce(a.n, 0) AS version,
                 i.created_at
          FROM bench_items i
          LEFT JOIN (SELECT item_id, count(*) AS n FROM bench_slots GROUP BY item_id) a
                 ON a.item_id = i.id
          ORDER BY i.id
          """, {"seed": seed, "openers": _OPENERS, "middles": _MIDDLES, "closers": _CLOSERS})
    files.execute(
        """
        CREATE TABLE bench_eligible AS
        SELECT c.id AS campaign_id, e.user_id,
               row_number() OVER (PARTITION BY c.id ORDER BY e.user_id) - 1 AS idx,
               count(*) OVER (PARTITION BY c.id) AS n
        FROM bench_settings c JOIN bench_expertise e
          ON e.skill = c.skill AND e.language = c.language
        JOIN bench_roles r ON r.user_id = e.user_id AND r.role = 'expert'
        """)
    short = files.execute("SELECT s.id FROM bench_settings s WHERE s.overlap > coalesce((SELECT "
                          "max(n) FROM bench_eligible e WHERE e.campaign_id = s.id), 0)"
                          ).fetchall()
    if short:
        raise ValueError(f"Campaigns {[r[0] for r in short]} have fewer experts than their "
                         "overlap; generate more users.")
    len_slots = files.execute("SELECT count(*) FROM bench_slots").fetchone()[0]
    response0 = _reserve(cur, "responses_id_seq", len_slots)
    options = workflow.questions(workflow.parse_spec(TEMPLATE))[0]["options"]
    files.execute(
        """
        CREATE TABLE bench_responses AS
        SELECT $r0 + rn - 1 AS id, item_id, campaign_id, user_id, 1 AS spec_version,
               json_object('label', label)::VARCHAR AS answer,
               submitted_at - to_seconds(duration) AS started_at, submitted_at,
               duration AS duration_s, 'submitted' AS status, pay_per_item
        FROM (
            SELECT s.*, e.user_id, c.pay_per_item,
                   (20 + hash($seed, s.item_id, s.k, 'd') % 280)::DOUBLE AS duration,
                   c.opens_at + INTERVAL 10 MINUTE
                       + (rn / $n) * ($now - c.opens_at - INTERVAL 10 MINUTE) AS submitted_at,
                   CASE WHEN hash($seed, s.item_id, s.k, 'agree') % 10 < 8
                        THEN $options[1 + (hash($seed, s.item_id) % len($options))::INTEGER]
                        ELSE $options[1 + (hash($seed, s.item_id, s.k) % len($options))::INTEGER]
                   END AS label
            FROM (SELECT s.*, (hash($seed, s.item_id, 'start') % e.n + s.k) % e.n AS idx
                  FROM bench_slots s JOIN (SELECT campaign_id, max(n) AS n FROM bench_eligible
                                           GROUP BY campaign_id) e USING (campaign_id)) s
            JOIN bench_settings c ON c.id = s.campaign_id
            JOIN bench_eligible e ON e.campaign_id = s.campaign_id AND e.idx = s.idx)
        ORDER BY rn
        """, {"r0": response0, "seed": seed, "n": len_slots, "now": now, "options": options})
    _load(cur, files, "responses",
          "SELECT id, item_id, campaign_id, user_id, spec_version, answer, started_at, "
          "submitted_at, duration_s, status FROM bench_responses ORDER BY id")
    pay0 = _reserve(cur, "pay_ledger_id_seq", len_slots)
    _load(cur, files, "pay_ledger",
          "SELECT $p0 + id - $r0 AS id, user_id, campaign_id, id AS response_id, 'item' AS kind, "
          "pay_per_item::DECIMAL(12, 2) AS amount, 'Answer submitted' AS note, "
          "submitted_at AS created_at FROM bench_responses ORDER BY id",
          {"p0": pay0, "r0": response0})
    rollups.rebuild(cur)  # the daily rollup the leaderboard and the dashboard read


def count_rows(conn: db.Connection) -> dict[str, int]:
    """Rows per generated table."""
    return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("users", "expertise", "campaigns", "items", "responses", "pay_ledger")}


def size_mib(conn: db.Connection, target: str) -> float:
    """The database's size on disk: the DuckDB file, or PostgreSQL's database."""
    if conn.engine == "duckdb":
        return Path(target).stat().st_size / 2**20
    return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0] / 2**20


def main(argv: list[str] | None = None) -> None:
    """Command line: generate a workspace and print the time each step took."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", "--db", dest="database", required=True,
                        help="a new DuckDB file's path, or a PostgreSQL URL of an empty database")
    parser.add_argument("--users", type=int, default=25_000)
    parser.add_argument("--campaigns", type=int, default=50)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--responses", type=int, default=3_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    times = generate(args.database, users=args.users, campaigns=args.campaigns,
                     items=args.items, responses=args.responses, seed=args.seed)
    for step, seconds in times.items():
        print(f"{step:>24}: {seconds:7.1f} s")
    conn = db.connect(args.database)
    for table, rows in count_rows(conn).items():
        print(f"{table:>24}: {rows:,}")
    print(f"{'size':>24}: {size_mib(conn, args.database):,.0f} MiB")
    conn.close()


if __name__ == "__main__":
    main()
