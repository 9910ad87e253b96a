"""Pages show what users and items wrote literally (AppTest; the browser test covers loading).

Every string a page hands Streamlit is read back as Markdown with a real CommonMark parser: a
title, a caption, a label or an option must read exactly as typed and make no image or link.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import campaigns, db, users, workspace
from tests.conftest import NOW
from tests.rendered import shown, tags
from tests.signin import sign_in

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = "![x](http://127.0.0.2:9/leak) :red[red] :material/home: :smile: <b>b</b> example\\.com"


def hostile(where: str) -> str:
    return f"{where} {HOSTILE}"


@pytest.fixture
def site(tmp_path, monkeypatch):
    """An empty workspace: rita's campaign and Eve, all written with hostile Markdown."""
    path = tmp_path / "quorum.duckdb"
    monkeypatch.setenv("QUORUM_DB", str(path))
    monkeypatch.setenv("QUORUM_BCRYPT_ROUNDS", "4")
    monkeypatch.setenv("QUORUM_EMPTY", "1")
    conn = db.connect(path)
    workspace.ensure(conn, NOW, demo=False)
    for username, name in (("rita", "Rita"), ("eve", hostile("Eve"))):
        users.register(conn, username=username, name=name, email=f"{username}@example.com",
                       password="correct-horse-9", expertise=[("general", "en-US")], now=NOW,
                       rounds=4)
    rita = users.get_user(conn, "rita")  # the first account: admin, requester and expert
    spec = {"blocks": [
        {"type": "text", "field": "text"},
        {"type": "single_choice", "id": "pick", "prompt": hostile("Question"),
         "help": hostile("Help"), "options": [hostile("Option"), "plain"]},
        {"type": "free_text", "id": "why", "prompt": hostile("Free"), "required": False}]}
    campaign = campaigns.create(
        conn, rita, spec_text=json.dumps(spec), now=NOW - timedelta(days=2), status="live",
        title=hostile("Title"), description=hostile("Description"),
        expertise_level=hostile("Level"), expertise_type="Type", guidelines="**Bold** rule",
        skill="general", language="en-US", minutes_per_item=2, pay_per_item=1, overlap=2,
        lease_minutes=30, opens_at=NOW - timedelta(days=1), expires_at=NOW + timedelta(days=30))
    campaigns.add_items(conn, rita, campaign.id, pd.DataFrame({"payload": [
        {"text": hostile("Item")}]}), NOW - timedelta(days=2))
    conn.close()  # the app opens the file next

    def app(username: str, page: str, **query: str) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
        sign_in(at, username)
        for key, value in query.items():
            at.query_params[key] = value
        at.run()
        return at.switch_page(page).run()

    return app, campaign.id


def markdown_of(at: AppTest) -> list[str]:
    """Every Markdown string the page drew: text elements, labels, help and radio options."""
    parts = [e.value for kind in ("title", "subheader", "markdown", "caption", "info",
                                  "warning", "error", "success") for e in getattr(at, kind)]
    for widget in [*at.radio, *at.text_area, *at.button]:
        parts += [widget.label] + ([widget.help] if getattr(widget, "help", None) else [])
    for radio in at.radio:
        parts += [str(o) for o in radio.options]
    return [str(p) for p in parts]


def assert_literal(at: AppTest, *wheres: str) -> None:
    assert not at.exception, at.exception
    drawn = markdown_of(at)
    for markdown in drawn:
        assert not tags(markdown) & {"img", "a", "em", "b"}, markdown
    seen = "\n".join(shown(m) for m in drawn)
    for where in wheres:
        assert hostile(where) in seen, where


def test_the_expert_sees_campaign_and_name_as_typed(site):
    app, _ = site
    at = app("eve", "views/home.py")
    assert_literal(at, "Title", "Description", "Level")
    assert shown(at.title[0].value) == "Hello, Eve"
    at = app("eve", "views/profile.py")
    assert_literal(at, "Eve")


def test_the_labeling_page_shows_the_form_as_typed(site):
    app, campaign_id = site
    at = app("eve", "views/label.py", campaign=str(campaign_id))
    assert_literal(at, "Title", "Item", "Question", "Option", "Free")
    # the choice beside a text box is drawn as buttons (number keys), its help on its prompt
    question = next(m for m in at.markdown if hostile("Question") in shown(m.value))
    assert shown(question.proto.help) == hostile("Help")
    assert "strong" in tags(next(e.value for e in at.expander[0].markdown))  # guidelines


def test_the_requester_preview_shows_the_form_as_typed(site):
    app, campaign_id = site
    at = app("rita", "views/design.py", campaign=str(campaign_id))
    assert_literal(at, "Item", "Question", "Option", "Free")
