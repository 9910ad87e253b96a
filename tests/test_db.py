"""Storage: migrations and the one write path, on both engines."""

import threading

import pytest

from core import db
from core.errors import Invalid


def test_migrations_are_recorded_and_applied_once(database):
    conn = db.connect(database)
    versions = [r[0] for r in conn.execute(
        "SELECT version FROM schema_migrations ORDER BY version").fetchall()]
    assert versions == [v for v, _, _ in db.migrations(conn.engine)]
    conn.close()
    again = db.connect(database)
    assert db.migrate(again) == []
    tables = {r[0] for r in again.execute(
        "SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"users", "user_roles", "expertise", "skills", "languages", "campaigns", "items",
            "leases", "responses", "pay_ledger"} <= tables
    again.close()


def test_processes_starting_together_migrate_once(postgres):
    from tests.conftest import new_postgres_database
    url = new_postgres_database(postgres, empty=True)
    results, errors = [], []

    def start():
        try:
            conn = db.connect(url, pool_size=1)
            results.append(conn)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rows = results[0].execute("SELECT count(*), count(DISTINCT version) FROM schema_migrations"
                              ).fetchone()
    assert rows[0] == rows[1] == len(db.migrations("postgres"))
    for conn in results:
        conn.close()


def test_database_path_directories_are_created(tmp_path):
    conn = db.connect(tmp_path / "deep" / "er" / "q.duckdb")
    assert (tmp_path / "deep" / "er" / "q.duckdb").exists()
    conn.close()


def test_writing_rolls_back_when_work_raises(conn):
    def work(cur):
        cur.execute("INSERT INTO settings VALUES ('x', 'y')")
        raise Invalid("nope")

    with pytest.raises(Invalid):
        db.writing(conn, work)
    assert conn.execute("SELECT count(*) FROM settings WHERE key = 'x'").fetchone()[0] == 0


def test_writing_retries_after_a_conflict(conn):
    conn.execute("INSERT INTO settings VALUES ('counter', '0')")
    attempts = []
    rival_done = threading.Event()

    def work(cur):
        attempts.append(1)
        cur.execute("SELECT value FROM settings WHERE key = 'counter'").fetchone()
        if len(attempts) == 1:
            # A writer outside the write path commits a change to the same row meanwhile.
            def rival():
                other = conn.cursor()
                other.execute("UPDATE settings SET value = 'rival' WHERE key = 'counter'")
                other.close()
                rival_done.set()
            threading.Thread(target=rival).start()
            rival_done.wait(5)
        cur.execute("UPDATE settings SET value = value || '+1' WHERE key = 'counter'")
        return len(attempts)

    assert db.writing(conn, work) == 2
    assert conn.execute("SELECT value FROM settings WHERE key = 'counter'").fetchone()[0] \
        == "rival+1"


def test_writing_gives_up_after_repeated_conflicts(conn, monkeypatch):
    calls = []
    conflict = conn.retryable_errors[0]

    def always_conflicts(cur):
        calls.append(1)
        raise conflict("Transaction conflict")

    with pytest.raises(conflict):
        db.writing(conn, always_conflicts)
    assert len(calls) == db._MAX_ATTEMPTS


def test_a_dataframe_is_a_table_inside_a_transaction(conn):
    import pandas as pd
    frame = pd.DataFrame({"key": ["a", "b"], "value": ["1", "2"]})

    def work(cur):
        with db.frame_table(cur, "incoming", frame):
            cur.execute("INSERT INTO settings SELECT key, value FROM incoming")
        return cur.execute("SELECT count(*) FROM settings WHERE key IN ('a', 'b')").fetchone()[0]

    assert db.writing(conn, work) == 2


@pytest.fixture
def quick_waits(monkeypatch):
    """Give up on an unreachable server after a second rather than the app's 5 to 10 s."""
    from core.db import postgres_engine
    monkeypatch.setattr(postgres_engine, "_WAIT_FOR_CONNECTION_S", 1)
    monkeypatch.setattr(postgres_engine, "_WAIT_TO_OPEN_S", 1)


def test_an_unreachable_server_is_named_without_its_password(quick_waits):
    from deploy.local_postgres import free_port
    url = f"postgresql://quorum:s3cret@127.0.0.1:{free_port()}/quorum?connect_timeout=1"
    with pytest.raises(db.DatabaseUnavailable) as refused:
        db.connect(url)
    assert "127.0.0.1" in str(refused.value) and "s3cret" not in str(refused.value)


def holding_the_file(path):
    """A second process that opens the database and keeps it, as the running app does."""
    import subprocess
    import sys
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('open', flush=True); time.sleep(120)", str(path)],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "open"
    return holder


def test_a_database_held_by_another_process_is_refused_in_one_sentence(tmp_path):
    path = tmp_path / "q.duckdb"
    db.connect(path).close()
    holder = holding_the_file(path)
    try:
        with pytest.raises(db.DatabaseBusy) as error:
            db.connect(path)
    finally:
        holder.kill()
        holder.wait()
    message = str(error.value)
    assert f"PID {holder.pid}" in message and "stop the app first" in message
    assert "\n" not in message and "Could not set lock" not in message


def test_the_database_and_its_wal_are_owner_only(tmp_path):
    path = tmp_path / "fresh" / "q.duckdb"
    conn = db.connect(path)
    conn.execute("CHECKPOINT")
    conn.execute("INSERT INTO settings VALUES ('after', 'checkpoint')")  # re-creates the .wal
    wal = path.with_name(path.name + ".wal")
    assert wal.exists()
    assert {f.name: oct(f.stat().st_mode & 0o777) for f in (path, wal, path.parent)} == {
        "q.duckdb": "0o600", "q.duckdb.wal": "0o600", "fresh": "0o700"}
    conn.close()


def test_an_existing_world_readable_database_is_made_owner_only(tmp_path):
    path = tmp_path / "old.duckdb"
    import duckdb as raw
    raw.connect(str(path)).close()
    path.chmod(0o644)
    db.connect(path).close()
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_server_that_stops_answering_is_told_in_a_sentence(quick_waits):
    from deploy import local_postgres
    if local_postgres.binaries() is None:
        pytest.skip("PostgreSQL is not installed")
    server = local_postgres.start()
    try:
        conn = db.connect(server.url(), pool_size=2)
        server.stop()
        with pytest.raises(db.DatabaseUnavailable, match="is not answering. Try again"):
            db.writing(conn, lambda cur: cur.execute("INSERT INTO settings VALUES ('a', 'b')"))
        with pytest.raises(db.DatabaseUnavailable, match="is not answering"):
            with db.reading(conn) as cur:
                cur.execute("SELECT 1")
        conn.close()
    finally:
        server.stop()
