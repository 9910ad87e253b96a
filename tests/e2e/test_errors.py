"""A visitor who hits an uncaught error sees a plain message: no traceback, no paths."""

from __future__ import annotations

from playwright.sync_api import expect


def test_a_logged_out_visitor_sees_no_traceback(start_server, page, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database folder should be")
    # The first run fails opening the database: an error the app does not catch.
    url = start_server(QUORUM_DB=str(blocker / "quorum.duckdb"))
    page.goto(url)
    shown = page.get_by_test_id("stException")
    expect(shown).to_be_visible(timeout=30_000)
    text = shown.inner_text()
    assert "not-a-folder" not in text and ".py" not in text and "Traceback" not in text, text
    assert "error" in text.lower()
