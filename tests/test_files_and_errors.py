"""Files are private from their first byte; unfit secrets and uncaught errors say nothing more."""

from __future__ import annotations

import sys
import tempfile
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.signin import sign_in

ROOT = Path(__file__).resolve().parent.parent
_watching: list[tuple[Path, list[int]]] = []


def _note_key_file_modes(event: str, args: tuple) -> None:
    for path, modes in _watching:
        if path.exists():
            modes.append(path.stat().st_mode & 0o777)


sys.addaudithook(_note_key_file_modes)  # audit hooks cannot be removed: it idles when unwatched


def test_uncaught_errors_show_no_details_to_visitors():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"



@pytest.fixture
def admin_app(tmp_path, monkeypatch):
    """The demo workspace under AppTest, signed in as admin, with a temp folder of its own."""
    monkeypatch.setenv("QUORUM_DB", str(tmp_path / "quorum.duckdb"))
    monkeypatch.setenv("QUORUM_BCRYPT_ROUNDS", "4")
    monkeypatch.delenv("QUORUM_EMPTY", raising=False)
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    at = AppTest.from_file("../app.py", default_timeout=30)
    sign_in(at, "admin")
    at.run()
    return at, temp


def leftovers(temp: Path) -> list[str]:
    return sorted(str(p.relative_to(temp)) for p in temp.rglob("*"))


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.switch_page("views/design.py")
    at.query_params["campaign"] = "6"
    at.run()
    at.file_uploader[0].set_value((name, content, "text/csv"))
    return at.run()


def import_button(at):
    """The mapping form's Import button (each uploaded file has a form of its own)."""
    return next(b for b in at.button if (b.key or "").startswith("FormSubmitter:c6-")
                and b.key.endswith("-mapping-Import"))


def test_an_upload_lives_in_a_private_folder_only_while_it_is_read(admin_app):
    at, temp = admin_app
    upload(at, "items.csv", b"question\nWhy is the sky blue?\nWhy is grass green?\n")
    assert not at.exception
    fields = [s for s in at.selectbox if s.label.startswith("Field")]
    assert fields, "the mapping form is shown"
    assert leftovers(temp) == [], "nothing stays on disk between runs"
    for select in fields:
        select.set_value("question")
    import_button(at).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert leftovers(temp) == []


def test_a_refused_upload_leaves_nothing_behind(admin_app):
    at, temp = admin_app
    upload(at, "items.csv", b"question\n")
    import_button(at).click().run()
    assert "no items" in at.error[0].value
    assert leftovers(temp) == []


def test_an_export_leaves_no_folder_behind(admin_app):
    at, temp = admin_app
    at.switch_page("views/monitor.py")
    at.query_params["campaign"] = "6"
    at.run()
    [b for b in at.button if b.label == "Prepare download"][0].click().run()
    assert not at.exception
    assert at.get("download_button"), "the download is offered"
    assert leftovers(temp) == []


def test_a_bad_sign_in_setting_stops_the_app_with_what_to_set(tmp_path, monkeypatch):
    monkeypatch.setenv("QUORUM_DB", str(tmp_path / "quorum.duckdb"))
    monkeypatch.setenv("QUORUM_AUTH", "passwords")
    at = AppTest.from_file("../app.py", default_timeout=30).run()
    assert not at.exception
    assert "QUORUM_AUTH" in at.error[0].value and "password, sso or both" in at.error[0].value
    assert not at.text_input, "no login form while the setting is wrong"
