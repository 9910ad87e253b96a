"""The command line."""

import cli
from core import db


def test_reset_deletes_the_database(tmp_path, capsys):
    path = tmp_path / "q.duckdb"
    db.connect(path).close()
    assert cli.main(["reset", "--db", str(path), "--yes"]) == 0
    assert not path.exists()
    assert "Deleted" in capsys.readouterr().out
    assert cli.main(["reset", "--db", str(path), "--yes"]) == 0
    assert "nothing to delete" in capsys.readouterr().out


def campaign_on_disk(tmp_path, target=None):
    """A database (a file, or `target`) holding one draft campaign owned by rita; returns
    (where, campaign id)."""
    from datetime import timedelta

    from core import campaigns, users, workflow, workspace
    from tests.conftest import FAST_ROUNDS, NOW

    path = target or tmp_path / "q.duckdb"
    conn = db.connect(path)
    workspace.ensure(conn, NOW, demo=False)
    owner = users.register(conn, username="rita", name="Rita", email="rita@example.com",
                           password="science-rules-1", expertise=[("general", "en-US")],
                           now=NOW, rounds=FAST_ROUNDS)
    campaign = campaigns.create(conn, owner, spec_text=workflow.TEMPLATES["Classification"],
                                now=NOW, title="T", skill="general", language="en-US",
                                minutes_per_item=1, pay_per_item=1, overlap=1,
                                opens_at=NOW, expires_at=NOW + timedelta(days=3))
    conn.close()
    return path, campaign.id


def test_import_then_export_from_the_command_line(tmp_path, capsys):
    import pandas as pd

    path, campaign_id = campaign_on_disk(tmp_path)
    source = tmp_path / "items.csv"
    pd.DataFrame({"key": ["a", "b"], "body": ["one", "two"]}).to_csv(source, index=False)
    base = ["--db", str(path), "--user", "rita"]
    assert cli.main(["import", "--campaign", str(campaign_id), "--file", str(source),
                     "--map", "text=body", "--id", "key", *base]) == 0
    assert "Imported 2 items" in capsys.readouterr().out
    assert cli.main(["import", "--campaign", str(campaign_id), "--file", str(source),
                     "--map", "text=body", "--id", "key", *base]) == 2
    assert "already in this campaign" in capsys.readouterr().err
    out = tmp_path / "items.jsonl"
    assert cli.main(["export", "--campaign", str(campaign_id), "--what", "items",
                     "--out", str(out), *base]) == 0
    assert [line.count('"external_id"') for line in out.read_text().splitlines()] == [1, 1]


def test_quality_command_recomputes_every_campaign(tmp_path, capsys):
    from core import workspace
    from tests.conftest import NOW

    path = tmp_path / "q.duckdb"
    conn = db.connect(path)
    workspace.ensure(conn, NOW, demo=True, rounds=4)
    conn.close()
    assert cli.main(["quality", "--db", str(path)]) == 0
    assert "Recomputed quality for 15 campaign(s)" in capsys.readouterr().out


def test_a_command_while_the_app_holds_the_database_says_what_to_do_in_one_line(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from tests.test_db import holding_the_file

    path = tmp_path / "q.duckdb"
    db.connect(path).close()
    holder = holding_the_file(path)
    root = Path(cli.__file__).parent
    try:
        runs = [subprocess.run([sys.executable, "cli.py", *argv, "--db", str(path)],
                               cwd=root, capture_output=True, text=True, timeout=60)
                for argv in (["import", "--campaign", "1", "--file", "x.csv", "--map", "text=t",
                              "--user", "rita"], ["quality"], ["reset", "--yes"])]
    finally:
        holder.kill()
        holder.wait()
    for run in runs:
        assert run.returncode == 2, run.stderr
        assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr, run.stderr
        assert run.stderr.startswith("error: The database") and "stop the app first" in run.stderr
    assert path.exists(), "reset must not delete a database the app is using"


def test_import_limits_come_from_the_settings(tmp_path, capsys, monkeypatch):
    path, campaign_id = campaign_on_disk(tmp_path)
    source = tmp_path / "items.csv"
    source.write_text("key,body\na,one\n")
    monkeypatch.setenv("QUORUM_IMPORT_MAX_COLUMNS", "1")
    assert cli.main(["import", "--campaign", str(campaign_id), "--file", str(source),
                     "--map", "text=body", "--db", str(path), "--user", "rita"]) == 2
    err = capsys.readouterr().err
    assert "2 columns" in err and "at most 1 (QUORUM_IMPORT_MAX_COLUMNS)" in err


def test_on_postgres_the_command_line_works_while_the_app_holds_the_database(
        tmp_path, postgres):
    import subprocess
    import sys

    import pandas as pd

    from tests.conftest import ROOT, new_postgres_database

    url = new_postgres_database(postgres)
    url, campaign_id = campaign_on_disk(tmp_path, url)
    app = db.connect(url)  # the running app's connection, kept open throughout
    source = tmp_path / "items.csv"
    pd.DataFrame({"key": ["a", "b"], "body": ["one", "two"]}).to_csv(source, index=False)
    env = {**__import__("os").environ, "QUORUM_DATABASE_URL": url}
    out = tmp_path / "items.parquet"
    for command in (["import", "--campaign", str(campaign_id), "--file", str(source),
                     "--map", "text=body", "--id", "key", "--user", "rita"],
                    ["export", "--campaign", str(campaign_id), "--what", "items",
                     "--out", str(out), "--user", "rita"],
                    ["quality"]):
        run = subprocess.run([sys.executable, "cli.py", *command], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
    assert app.execute("SELECT count(*) FROM items WHERE campaign_id = ?",
                       [campaign_id]).fetchone()[0] == 2
    assert len(pd.read_parquet(out)) == 2
    app.close()


def test_an_operator_sets_a_forgotten_password_and_the_old_sessions_end(tmp_path, monkeypatch,
                                                                        capsys):
    from core import sessions, signin, users
    from tests.conftest import FAST_ROUNDS, NOW

    path, _ = campaign_on_disk(tmp_path)
    conn = db.connect(path)
    token = sessions.create(conn, users.get_user(conn, "rita"), NOW, hours=8)
    conn.close()
    typed = iter(["lantern-pepper-orbit", "lantern-pepper-orbit", "password1", "password1",
                  "a-b", "c-d"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))
    monkeypatch.setenv("QUORUM_BCRYPT_ROUNDS", str(FAST_ROUNDS))
    assert cli.main(["set-password", "--user", "rita", "--db", str(path)]) == 0
    assert "signed them out everywhere" in capsys.readouterr().out
    assert cli.main(["set-password", "--user", "rita", "--db", str(path)]) == 2
    assert "not a common password" in capsys.readouterr().err
    assert cli.main(["set-password", "--user", "rita", "--db", str(path)]) == 2
    assert "differ" in capsys.readouterr().err
    conn = db.connect(path)
    assert sessions.lookup(conn, token, NOW) is None
    assert signin.authenticate(conn, "rita", "lantern-pepper-orbit", client=None, now=NOW,
                               rounds=FAST_ROUNDS).username == "rita"
    conn.close()
