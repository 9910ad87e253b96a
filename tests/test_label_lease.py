"""The labeling page when the reservation runs out while the expert is typing (AppTest).

The page reads the real clock, so a test ages the reservation in the database between the run
that drew the form and the run that submits it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from core import db
from tests.test_pages import app, pick, texts  # noqa: F401  (app is a fixture)

TYPED = "Light travels far faster than sound, so the flash arrives first."


@pytest.fixture
def labeling(app):  # noqa: F811
    """Ada on the general-knowledge campaign, her answer typed but not submitted yet."""
    at = app("ada")
    at.query_params["campaign"] = "6"  # general knowledge, en-US
    at.switch_page("views/label.py").run()
    conn = db.connect(os.environ["QUORUM_DB"])
    ada, item = conn.execute("SELECT l.user_id, l.item_id FROM leases l JOIN users u "
                             "ON u.id = l.user_id WHERE u.username = 'ada'").fetchone()
    at.text_area[0].input(TYPED)
    pick(at, "4")
    yield at, conn, ada, item
    conn.close()


def age_reservation(conn, user_id: int, minutes: int) -> None:
    """Make the expert's reservation start `minutes` ago and end (30 minutes later) in the past."""
    started = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=minutes)
    conn.execute("UPDATE leases SET leased_at = ?, expires_at = ? WHERE user_id = ?",
                 [started, started + timedelta(minutes=30), user_id])


def submit(at: AppTest) -> AppTest:
    next(b for b in at.button if b.label == "Submit").click().run()
    assert not at.exception
    return at


def test_an_answer_on_a_run_out_reservation_is_kept_with_its_true_duration(labeling):
    at, conn, ada, item = labeling
    age_reservation(conn, ada, minutes=40)
    submit(at)
    assert "Answer saved" in at.success[0].value
    stored = conn.execute("SELECT item_id, duration_s, too_fast FROM responses "
                          "WHERE user_id = ?", [ada]).fetchall()
    assert len(stored) == 1
    answered, seconds, too_fast = stored[0]
    assert answered == item and seconds >= 40 * 60 - 5 and not too_fast


def test_an_answer_whose_place_was_taken_stays_on_screen_with_the_reason(labeling):
    at, conn, ada, item = labeling
    age_reservation(conn, ada, minutes=40)
    # Other experts take every place left on the item while Ada types.
    left = conn.execute("SELECT c.overlap - i.response_count FROM items i JOIN campaigns c "
                        "ON c.id = i.campaign_id WHERE i.id = ?", [item]).fetchone()[0]
    others = conn.execute("SELECT id FROM users WHERE id <> ? AND id NOT IN (SELECT user_id "
                          "FROM responses WHERE item_id = ?) ORDER BY id LIMIT ?",
                          [ada, item, left]).fetchall()
    now = datetime.now(UTC).replace(tzinfo=None)
    for (other,) in others:
        conn.execute("INSERT INTO leases VALUES (?, ?, 6, ?, ?)",
                     [item, other, now, now + timedelta(minutes=30)])
    submit(at)
    assert conn.execute("SELECT count(*) FROM responses WHERE user_id = ?", [ada]).fetchone() \
        == (0,)
    assert "cannot be counted" in texts(at)
    assert not at.success
    assert at.text_area[0].value == TYPED  # what she typed is still there, on the same item
    assert at.text_area[0].key.startswith(f"item-{item}:")
    at.run()  # a rerun keeps the refusal and the answer on screen
    assert "cannot be counted" in texts(at) and at.text_area[0].value == TYPED
    next(b for b in at.button if b.label == "Next item").click().run()
    assert not at.exception
    assert "cannot be counted" not in texts(at)
    assert not at.text_area[0].key.startswith(f"item-{item}:")
    assert conn.execute("SELECT item_id FROM leases WHERE user_id = ? AND expires_at > now()",
                        [ada]).fetchone()[0] != item


def test_an_incomplete_answer_stays_on_its_item_after_the_reservation_runs_out(app):  # noqa: F811
    at = app("ada")
    at.query_params["campaign"] = "6"
    at.switch_page("views/label.py").run()
    conn = db.connect(os.environ["QUORUM_DB"])
    try:
        ada, item = conn.execute("SELECT l.user_id, l.item_id FROM leases l JOIN users u "
                                 "ON u.id = l.user_id WHERE u.username = 'ada'").fetchone()
        at.text_area[0].input(TYPED)
        submit(at)  # the rating is missing
        assert "This question needs an answer." in [e.value for e in at.error]
        age_reservation(conn, ada, minutes=35)
        at.run()  # any rerun keeps the item on screen, with what was typed
        assert at.text_area[0].value == TYPED and at.text_area[0].key.startswith(f"item-{item}:")
        pick(at, "4")
        submit(at)
        assert "Answer saved" in at.success[0].value
        assert conn.execute("SELECT item_id, duration_s >= 35 * 60 - 5, too_fast FROM responses "
                            "WHERE user_id = ?", [ada]).fetchall() == [(item, True, False)]
    finally:
        conn.close()
