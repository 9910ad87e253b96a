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
