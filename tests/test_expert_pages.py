"""The expert's pages under AppTest: keys and their legend, edits, withdrawals, flags, progress."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import campaigns, db, users, workspace
from server import runtime, settings
from tests.rendered import shown
from tests.signin import sign_in

ROOT = Path(__file__).resolve().parents[1]
CHOICE = {"blocks": [{"type": "text", "field": "text"},
                     {"type": "single_choice", "id": "label", "prompt": "Which label fits?",
                      "options": ["positive", "neutral", "negative"]}]}
CODE = {"blocks": [{"type": "markdown", "field": "text"},
                   {"type": "code_answer", "id": "solution", "prompt": "Your solution",
                    "language": "python"},
                   {"type": "free_text", "id": "notes", "prompt": "Notes", "required": False,
                    "max_length": 300}]}


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A workspace with a choice campaign (cap 2) and a code campaign for the expert ada."""
    path = tmp_path / "quorum.duckdb"
    monkeypatch.setenv("QUORUM_DB", str(path))
    monkeypatch.setenv("QUORUM_BCRYPT_ROUNDS", "4")
    monkeypatch.setenv("QUORUM_EMPTY", "1")
    now = settings.now()
    conn = db.connect(path)
    workspace.ensure(conn, now, demo=False)
    for username in ("rita", "ada"):
        users.register(conn, username=username, name=username.title(),
                       email=f"{username}@example.com", password="correct-horse-9",
                       expertise=[("general", "en-US")], now=now, rounds=4)
    rita = users.get_user(conn, "rita")  # the first account: admin and requester
    ids = {}
    for name, spec, cap in (("Choices", CHOICE, 2), ("Code", CODE, None)):
        campaign = campaigns.create(
            conn, rita, spec_text=json.dumps(spec), now=now - timedelta(days=2), status="live",
            title=name, skill="general", language="en-US", minutes_per_item=2, pay_per_item=1,
            overlap=2, per_expert_cap=cap, lease_minutes=30, opens_at=now - timedelta(days=1),
            expires_at=now + timedelta(days=30))
        campaigns.add_items(conn, rita, campaign.id, pd.DataFrame({"payload": [
            {"text": f"{name} item {n}"} for n in range(3)]}), now - timedelta(days=2))
        ids[name] = campaign.id
    conn.close()  # the app opens the file next

    def app(page: str, username: str = "ada", **query: str) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
        sign_in(at, username)
        at.run()
        for key, value in query.items():
            at.query_params[key] = value
        return at.switch_page(page).run()

    return app, ids


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "markdown", "caption", "info", "warning", "error",
                                  "success") for e in getattr(at, kind)]
    return "\n".join(shown(p) for p in parts)


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def stored(sql: str, params=()):
    with db.reading(runtime.connection()) as cur:
        return cur.execute(sql, list(params)).fetchall()


def test_choice_form_shows_its_keys_and_a_too_fast_answer_is_explained(site):
    app, ids = site
    at = app("views/label.py", campaign=str(ids["Choices"]))
    assert not at.exception
    page = texts(at)
    assert "Keyboard: 1–3 answer and move on, S skips, F flags." in page
    picks = [b for b in at.button if b.label in ("positive", "neutral", "negative")]
    assert [(b.label, b.proto.shortcut) for b in picks] == [
        ("positive", "1"), ("neutral", "2"), ("negative", "3")]
    button(at, "neutral").click().run()
    assert not at.exception
    page = texts(at)
    assert "Answer saved" in page and "change it for 30 min" in page
    assert "expects about 2 min per item" in page and "wait for a reviewer" in page


def test_an_answer_is_edited_then_withdrawn_from_the_page(site):
    app, ids = site
    at = app("views/label.py", campaign=str(ids["Choices"]))
    button(at, "neutral").click().run()
    assert "Which label fits? neutral" not in texts(at)  # the list is drawn once opened
    at.session_state["label_recent_open"] = True  # the expert opens it, and it stays open
    at.session_state["label_recent_kept"] = True
    at.run()
    assert "Which label fits? neutral" in texts(at)
    edit = next(b for b in at.button if b.label == "Edit")
    assert "Answer saved" in texts(at)
    edit.click().run()
    assert "Editing your answer to item" in texts(at)
    assert "Answer saved" not in texts(at)  # the receipt is not the outcome of an edit
    assert at.radio[0].value == "neutral"  # the form comes filled in
    at.radio[0].set_value("negative")
    button(at, "Save changes").click().run()
    assert not at.exception
    assert stored("SELECT answer FROM responses") == [('{"label": "negative"}',)]
    assert stored("SELECT change FROM answer_versions") == [("edit",)]
    assert "Which label fits? negative" in texts(at)

    button(at, "Withdraw it").click().run()
    assert not at.exception
    assert stored("SELECT count(*) FROM responses") == [(0,)]
    assert [m.value for m in at.metric][0] == "0 of 2"


def test_flagging_moves_on_and_the_requester_sees_the_reason(site):
    app, ids = site
    at = app("views/label.py", campaign=str(ids["Choices"]))
    assert "Choices item 0" in texts(at)
    button(at, "Flag a problem").click().run()
    assert "What is wrong with this item?" in texts(at)
    at.radio[0].set_value("other")
    button(at, "Flag and move on").click().run()
    assert "Say in a few words" in texts(at)
    at.text_input[0].input("The text is cut off")
    button(at, "Flag and move on").click().run()
    assert not at.exception
    assert stored("SELECT reason, note FROM item_flags") == [("other", "The text is cut off")]
    assert "What is wrong with this item?" not in texts(at)
    assert "Choices item 0" not in texts(at) and "Choices item 1" in texts(at)

    review = app("views/review.py", username="rita", campaign=str(ids["Choices"]))
    assert not review.exception
    assert any("Flagged items: 1 item" in e.label for e in review.expander)
    assert "Something else (say what): “The text is cut off”" in texts(review)
    button(review, "Put back").click().run()
    assert stored("SELECT resolution FROM item_flags") == [("restored",)]


def test_code_answers_are_monospace_with_a_character_count(site):
    app, ids = site
    at = app("views/label.py", campaign=str(ids["Code"]))
    assert not at.exception
    code, notes = at.text_area
    assert code.max_chars == 20_000 and notes.max_chars == 300  # Streamlit counts against it
    assert any("st-key-code-answer" in h.proto.body for h in at.get("html"))
    assert "in a text box Ctrl+Enter submits" in texts(at)


def test_home_counts_what_is_left_for_you_and_drops_start_at_the_cap(site):
    app, ids = site
    at = app("views/home.py")
    assert not at.exception
    page = texts(at)
    assert "2 items left for you" in page and "You answered 0 of at most 2" in page
    assert "3 items left for you" in page  # the code campaign has no cap
    label = app("views/label.py", campaign=str(ids["Choices"]))
    for _ in range(2):
        button(label, "positive").click().run()
    assert "the most this campaign allows" in texts(label)
    at = app("views/home.py")
    page = texts(at)
    assert "You reached this campaign's cap" in page and "0 items left for you" in page
    assert len([b for b in at.button if b.label == "Start"]) == 1  # only the code campaign's


def test_leaderboard_says_how_many_answers_wait_for_review(site):
    app, ids = site
    label = app("views/label.py", campaign=str(ids["Choices"]))
    button(label, "positive").click().run()
    board = app("views/leaderboard.py")
    assert not board.exception
    assert "1 answer of yours is waiting for review" in texts(board)
