"""The requester's pages under AppTest: review drawn with the form and moving on after an
action, the campaign in the URL and the links, the builder writing the YAML."""

from __future__ import annotations

import pytest
import yaml

from core import campaigns, users
from server import runtime
from tests.test_pages import app, texts  # noqa: F401 (the app fixture)

CLOSED = "14"  # a demo campaign of rita's with 180 answers waiting for review


def open_page(app, username: str, page: str, campaign: str):  # noqa: F811
    at = app(username)
    at.query_params["campaign"] = campaign
    return at.switch_page(page).run()


@pytest.mark.parametrize("username", ["rita", "admin"])
def test_review_draws_the_answer_with_its_form_and_moves_on(app, username):  # noqa: F811
    at = open_page(app, username, "views/review.py", CLOSED)
    assert not at.exception, at.exception
    shown = texts(at)
    assert "180 answers, newest first" in shown
    assert "Which label fits this text?" in shown  # the question's prompt, not its id
    assert "None" not in shown and "{" not in shown
    table = at.dataframe[0].value
    assert table["too_fast"].dtype == bool
    assert table["status"].unique().tolist() == ["Waiting for review"]
    first = at.subheader[0].value
    next(b for b in at.button if b.key == "review_accept").click().run()
    assert not at.exception, at.exception
    assert "179 answers, newest first" in texts(at)
    assert at.subheader[0].value != first
    assert [s.label for s in at.selectbox if s.label == "Speed"] == ["Speed"]
    assert len(at.dataframe) == 1  # the closed history is not read
    at.session_state[f"review-history-{CLOSED}"] = True  # opened (AppTest cannot click it)
    at.run()
    history = at.dataframe[1].value
    assert history["action"].tolist() == ["accept"] and history["reviewer"].tolist() == [username]


def test_review_refuses_a_reject_without_reason_and_stays(app):  # noqa: F811
    at = open_page(app, "rita", "views/review.py", CLOSED)
    first = at.subheader[0].value
    next(b for b in at.button if b.key == "review_reject").click().run()
    assert "Give a reason: the expert sees it." in texts(at)
    assert at.subheader[0].value == first


@pytest.mark.parametrize("page", ["views/design.py", "views/monitor.py", "views/review.py"])
def test_the_campaign_stays_in_the_url_and_links_carry_it(app, page):  # noqa: F811
    at = open_page(app, "rita", page, "3")
    assert not at.exception, at.exception
    assert at.query_params["campaign"] in (["3"], "3")
    assert at.selectbox[0].value == 3
    links = [e.proto for e in at.get("page_link")]
    assert len(links) == 2, links  # the other two of Design, Monitor, Review
    assert all(link.query_string == "campaign=3" for link in links), links


def test_the_builder_writes_the_yaml_the_editor_shows(app):  # noqa: F811
    at = open_page(app, "rita", "views/design.py", "3")
    editor = next(t for t in at.text_area if t.label == "Form spec (YAML or JSON)")
    before = yaml.safe_load(editor.value)["blocks"]
    next(s for s in at.selectbox if s.label == "Add a block").select("free_text").run()
    next(b for b in at.button if b.label == "Add").click().run()
    assert not at.exception, at.exception
    editor = next(t for t in at.text_area if t.label == "Form spec (YAML or JSON)")
    after = yaml.safe_load(editor.value)["blocks"]
    assert after[:-1] == before
    assert after[-1]["type"] == "free_text" and after[-1]["prompt"] == "Explain your answer."
    assert "Explain your answer." in [t.label for t in at.text_area]  # drawn in the preview


def test_design_sets_how_long_edits_last_and_how_many_flags_pause_an_item(app):  # noqa: F811
    at = open_page(app, "rita", "views/design.py", "3")
    next(n for n in at.number_input if n.label == "Edits allowed for (minutes)").set_value(5)
    next(n for n in at.number_input if n.label == "Flags that pause an item").set_value(4)
    at.run()
    next(b for b in at.button if b.label == "Save changes").click().run()
    assert not at.exception, at.exception
    saved = campaigns.get(runtime.connection(), 3)
    assert (saved.edit_minutes, saved.flag_limit) == (5, 4)



def test_review_opens_on_a_campaign_with_answers_waiting(app):  # noqa: F811
    at = app("rita").switch_page("views/review.py").run()
    assert not at.exception, at.exception
    conn = runtime.connection()
    newest_first = campaigns.choices(conn, users.get_user(conn, "rita"))["id"].tolist()
    waiting = next(c for c in newest_first if conn.execute(
        "SELECT count(*) FROM responses WHERE campaign_id = ? AND status = 'submitted'",
        [c]).fetchone()[0])
    assert waiting != newest_first[0]  # the demo's newest campaign has nothing to review
    assert at.query_params["campaign"] == str(waiting)
    assert "Waiting for review" in at.dataframe[0].value["status"].tolist()
