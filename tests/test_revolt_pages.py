"""The team-session pages under AppTest: preview, lobby, stages, survey, concept review, monitor.

The pages run inside a small navigation of their own (the real views, reached through links to
this folder), so these tests do not depend on which pages app.py registers. AppTest runs each
fragment once per full run, which is enough to draw the polling parts; their timing is tested
in a real browser (tests/e2e/test_revolt.py).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import db, revolt, revolt_live, revolt_lobby, users
from server import events, settings
from tests.conftest import FAST_ROUNDS, NOW
from tests.rendered import shown
from tests.signin import sign_in
from ui import team

ROOT = Path(__file__).resolve().parent.parent
HARNESS = """
import streamlit as st
from ui.feedback import show_flashes

pages = [st.Page("views/home.py", title="My campaigns"),
         st.Page("views/lobby.py", title="Team session"),
         st.Page("views/concepts.py", title="Concept review"),
         st.Page("views/monitor.py", title="Monitor"),
         st.Page("views/label.py", title="Label"),
         st.Page("views/profile.py", title="Profile"),
         st.Page("views/design.py", title="Design"),
         st.Page("views/review.py", title="Review")]
show_flashes()
st.navigation(pages).run()
"""


@pytest.fixture
def harness(tmp_path, monkeypatch):
    """A demo workspace, a database connection beside the app's, and an AppTest factory."""
    home = tmp_path / "app"
    home.mkdir()
    (home / "harness.py").write_text(HARNESS)
    for folder in ("views", "ui", "core", "data"):
        (home / folder).symlink_to(ROOT / folder)
    monkeypatch.setenv("QUORUM_DB", str(tmp_path / "quorum.duckdb"))
    monkeypatch.setenv("QUORUM_BCRYPT_ROUNDS", str(FAST_ROUNDS))
    monkeypatch.setenv("QUORUM_REVOLT_BATCH_SIZE", "2")
    monkeypatch.delenv("QUORUM_EMPTY", raising=False)
    first = AppTest.from_file(str(home / "harness.py"), default_timeout=30).run()
    assert not first.exception, first.exception
    conn = db.connect(tmp_path / "quorum.duckdb")  # the same database, in this process

    def app(username: str, page: str = "views/lobby.py", **query) -> AppTest:
        at = AppTest.from_file(str(home / "harness.py"), default_timeout=30)
        sign_in(at, username)
        at.query_params.update({k: str(v) for k, v in query.items()})
        at.switch_page(page) if page != "views/home.py" else None
        return at.run()

    yield app, conn
    conn.close()


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "info",
                                  "warning", "error", "success") for e in getattr(at, kind)]
    return "\n".join(shown(p) for p in parts)


def cats_id(conn) -> int:
    return conn.execute("SELECT id FROM campaigns WHERE kind = 'revolt'").fetchone()[0]


def painters(conn, n: int = 2) -> list[users.User]:
    return [users.register(conn, username=f"painter{k}", name=f"Painter {k}",
                           email=f"painter{k}@example.com", password="correct-horse-9",
                           expertise=[("arts", "en-US")], now=NOW, rounds=FAST_ROUNDS)
            for k in range(n)]


def crew_team(conn, campaign_id: int) -> tuple[list[users.User], int]:
    """mei and two painters enter the lobby and say ready: their team forms."""
    rules = team.settings()
    crew = [users.get_user(conn, "mei"), *painters(conn)]
    for member in crew:
        revolt_lobby.enter(conn, member, campaign_id, settings.now(), rules)
    for member in crew:
        team_id = revolt_lobby.set_ready(conn, member, campaign_id, settings.now(), rules).team_id
    return crew, team_id


def vote_as(conn, crew: list[users.User], team_id: int, labels: tuple[str, ...]) -> None:
    """Each member gives every item of the batch their label."""
    for member, label in zip(crew, labels, strict=True):
        for task in revolt.session(conn, member, team_id, team.settings()).todo:
            revolt.vote(conn, member, team_id, task.item_id, label, settings.now(),
                        team.settings())


def test_the_landing_card_leads_to_the_preview_and_the_lobby(harness):
    app, conn = harness
    at = app("mei", "views/home.py")
    start = next(b for b in at.button if b.label == "Preview")
    at = start.click().run()
    assert not at.exception
    preview = texts(at)
    assert "You will work with 2 other experts" in preview
    assert "Vote: $1.60" in preview and "Categorize: $0.80" in preview
    assert "A house cat asleep on a windowsill" in preview  # an example item
    join = next(b for b in at.button if b.label == "Join the lobby")
    at = join.click().run()
    assert not at.exception
    assert shown(at.title[0].value) == "Lobby · Is it a cat? Team labeling of ambiguous pictures"
    assert [m.value for m in at.metric] == ["1", "0", "3"]
    ready = next(b for b in at.button if b.label == "Ready")
    assert ready.disabled


def test_a_team_session_page_follows_the_stages(harness):
    app, conn = harness
    campaign_id = cats_id(conn)
    rules = team.settings()
    crew, team_id = crew_team(conn, campaign_id)
    mei = crew[0]

    at = app("mei", campaign=campaign_id)
    assert not at.exception
    assert "Stage 1 of 3 · Vote" in at.get("progress")[0].proto.text
    assert "Item 1 of 2" in texts(at)
    at.radio(key=f"vote-{revolt.session(conn, mei, team_id, rules).todo[0].item_id}:is_cat"
             ).set_value("Yes")
    at = at.button[0].click().run()  # the form's Submit vote
    assert not at.exception
    assert "Item 2 of 2" in texts(at)

    items = [t.item_id for t in revolt.session(conn, mei, team_id, rules).todo]
    revolt.vote(conn, mei, team_id, items[0], "No", settings.now(), rules)
    at = app("mei", campaign=campaign_id)
    assert "Waiting for your teammates" in texts(at)
    assert [m.value for m in at.metric][-3:] == ["2 / 2", "0 / 2", "0 / 2"]

    for member, labels in zip(crew[1:], (["Yes", "Yes"], ["No", "No"]), strict=True):
        for task, label in zip(revolt.session(conn, member, team_id, rules).todo, labels,
                               strict=True):
            revolt.vote(conn, member, team_id, task.item_id, label, settings.now(), rules)
    at = app("mei", campaign=campaign_id)
    shown = texts(at)
    assert "Stage 2 of 3 · Explain" in at.get("progress")[0].proto.text
    assert "Your team's labels conflicted on this item." in shown
    assert "Your label: Yes" in shown
    assert "2 of 3" not in shown and "1 of 3" not in shown.replace("Stage 2 of 3", "")

    conflicted = revolt.session(conn, mei, team_id, rules).todo
    for member in crew:
        for task in revolt.session(conn, member, team_id, rules).todo:
            revolt.explain(conn, member, team_id, task.item_id,
                           f"{member.username} saw something here.", settings.now(), rules)
    revolt.categorize(conn, crew[1], team_id, conflicted[0].item_id, "Cartoon cat",
                      settings.now(), rules)
    at = app("mei", campaign=campaign_id)
    shown = texts(at)
    assert "Stage 3 of 3 · Categorize" in at.get("progress")[0].proto.text
    assert "mei saw something here" in shown and "Teammate B" in shown
    assert "Cartoon cat (1)" in shown
    assert at.selectbox[0].options == ["Cartoon cat"]


def test_finished_members_take_the_survey_and_the_dropped_see_their_pay(harness):
    app, conn = harness
    campaign_id = cats_id(conn)
    rules = team.settings()
    crew, team_id = crew_team(conn, campaign_id)
    revolt.leave(conn, crew[2], team_id, settings.now(), rules)
    vote_as(conn, crew[:2], team_id, ("Yes", "Yes"))
    at = app("mei", campaign=campaign_id)
    assert "Your team is done. You earned $1.60" in texts(at)
    at.radio[0].set_value(4)
    at.radio[1].set_value(5)
    at = next(b for b in at.button if b.label == "Send").click().run()
    assert not at.exception
    assert conn.execute("SELECT clarity, teamwork FROM revolt_surveys").fetchall() == [(4, 5)]
    assert "Join the lobby" in [b.label for b in at.button]  # back to the preview

    conn.execute("UPDATE revolt_members SET status = 'dropped', closed_at = NULL, "
                 "dropped_stage = 'vote' WHERE user_id = ?", [crew[1].id])
    at = app(crew[1].username, campaign=campaign_id)
    assert "Your team went on without you" in texts(at)
    assert "You were paid $1.60 for the stages you finished: Vote." in texts(at)


def test_a_waiting_member_sees_who_stopped_responding_and_a_dropped_one_rejoins(harness,
                                                                               monkeypatch):
    app, conn = harness
    monkeypatch.setenv("QUORUM_REVOLT_DROPOUT_SECONDS", "600")  # room for a slow machine
    campaign_id = cats_id(conn)
    crew, team_id = crew_team(conn, campaign_id)
    vote_as(conn, crew[:2], team_id, ("Yes", "Yes"))  # the third painter has not voted
    conn.execute("UPDATE revolt_members SET last_seen = ? WHERE user_id = ?",
                 [settings.now() - timedelta(seconds=200), crew[2].id])
    at = app("mei", campaign=campaign_id)
    shown_text = texts(at)
    assert "Waiting for your teammates: 1 still voting" in shown_text
    # Times that need no ticking (AppTest's browser names no time zone: UTC, said so).
    found = re.search(r"Not responding since (\d\d):(\d\d):(\d\d) UTC; unless they come back, "
                      r"the team goes on without them at (\d\d):(\d\d):(\d\d) UTC", shown_text)
    assert found
    since, goes_on = (int(found[1]) * 3600 + int(found[2]) * 60 + int(found[3]),
                      int(found[4]) * 3600 + int(found[5]) * 60 + int(found[6]))
    assert (goes_on - since) % 86_400 == 600

    conn.execute("UPDATE revolt_members SET status = 'dropped', dropped_stage = 'vote' "
                 "WHERE user_id = ?", [crew[1].id])
    at = app(crew[1].username, campaign=campaign_id)
    at = next(b for b in at.button if b.label == "Join the lobby again").click().run()
    assert not at.exception
    assert conn.execute("SELECT count(*) FROM revolt_lobby WHERE user_id = ?",
                        [crew[1].id]).fetchone()[0] == 1


def live_urls(at: AppTest) -> list[str]:
    """Where the page's live-event components listen."""
    return [json.loads(e.proto.json)["url"] for e in at.get("bidi_component")]


def test_the_lobby_listens_for_its_events_from_the_version_it_drew(harness):
    app, conn = harness
    campaign_id = cats_id(conn)
    rules = team.settings()
    for member in painters(conn):
        revolt_lobby.enter(conn, member, campaign_id, settings.now(), rules)
    at = app("mei", campaign=campaign_id)
    at = next(b for b in at.button if b.label == "Join the lobby").click().run()
    version = revolt_live.lobby_version(conn, campaign_id, settings.now(), rules)
    assert live_urls(at) == [f"/events/lobby/{campaign_id}?since={events.encode(version)}"]
    # (AppTest reruns the whole page for a click inside a fragment, where the Ready button's
    # fragment-scoped rerun is refused, so readiness is said through core here.)
    revolt_lobby.set_ready(conn, users.get_user(conn, "mei"), campaign_id, settings.now(), rules)
    at = app("mei", campaign=campaign_id)
    assert not at.exception
    assert re.search(r"You are ready until \d\d:\d\d:\d\d UTC\. Waiting for 2 more ready "
                     r"experts", texts(at))


def test_a_team_page_listens_for_its_team_s_events(harness):
    app, conn = harness
    campaign_id = cats_id(conn)
    crew, team_id = crew_team(conn, campaign_id)
    at = app("mei", campaign=campaign_id)
    assert not at.exception
    version = revolt_live.team_version(conn, team_id, settings.now(), team.settings())
    assert live_urls(at) == [f"/events/team/{team_id}?since={events.encode(version)}"]


def test_my_campaigns_says_when_a_team_is_forming(harness):
    app, conn = harness
    campaign_id = cats_id(conn)
    at = app("mei", "views/home.py")
    assert "A team is forming" not in texts(at)
    for member in painters(conn):
        revolt_lobby.enter(conn, member, campaign_id, settings.now(), team.settings())
    at = app("mei", "views/home.py")
    assert not at.exception
    assert ("A team is forming: 2 experts are waiting for a team in Is it a cat? Team labeling "
            "of ambiguous pictures. A team starts as soon as 3 experts are ready.") in texts(at)
    joined = app("painter0", "views/home.py")  # those waiting are not told about themselves
    assert "A team is forming" not in texts(joined)


def test_an_expert_not_ready_is_told_others_wait_for_them(harness):
    app, conn = harness
    campaign_id = cats_id(conn)
    rules = team.settings()
    mei, *others = [users.get_user(conn, "mei"), *painters(conn)]
    for member in (mei, *others):
        revolt_lobby.enter(conn, member, campaign_id, settings.now(), rules)
    revolt_lobby.set_ready(conn, others[0], campaign_id, settings.now(), rules)
    at = app("mei", campaign=campaign_id)
    assert "1 expert is ready and waiting for you: press Ready" in texts(at)


def test_concept_review_maps_concepts_and_monitor_shows_teams(harness):
    app, conn = harness
    campaign_id = cats_id(conn)
    rules = team.settings()
    crew, team_id = crew_team(conn, campaign_id)
    vote_as(conn, crew, team_id, ("Yes", "No", "No"))
    for member in crew:
        for task in revolt.session(conn, member, team_id, rules).todo:
            revolt.explain(conn, member, team_id, task.item_id, "It has whiskers.",
                           settings.now(), rules)
    for member in crew:
        for task in revolt.session(conn, member, team_id, rules).todo:
            revolt.categorize(conn, member, team_id, task.item_id, "Cartoon cats",
                              settings.now(), rules)

    at = app("rita", "views/concepts.py", campaign=campaign_id)
    assert not at.exception
    assert "Concepts discovered by the teams" in texts(at)
    concepts, labels = at.dataframe[0], at.dataframe[-1]  # the concept table … final labels
    assert concepts.value[["Concept", "Teams", "Items", "Label"]].values.tolist() == [
        ["Cartoon cats", 1, 2, "— not mapped —"]]
    assert "It has whiskers" in texts(at)
    assert set(labels.value["label_source"]) == {"pending: concept not mapped"}

    from core import revolt_review
    rita = users.get_user(conn, "rita")
    revolt_review.map_concept(conn, rita, campaign_id, "cartoon cat", "Yes", settings.now())
    at = app("rita", "views/concepts.py", campaign=campaign_id)
    assert set(at.dataframe[-1].value["final_label"]) == {"Yes"}
    assert at.dataframe[0].value["Label"].tolist() == ["Yes"]

    at = app("rita", "views/monitor.py", campaign=campaign_id)
    assert not at.exception, at.exception
    shown = texts(at)
    assert "Teams" in shown
    stages = ["Teams voting", "Teams explaining", "Teams categorizing", "Teams finished"]
    assert [m.value for m in at.metric if m.label in stages] == ["0", "0", "0", "1"]



def test_the_requester_sees_which_items_wait_for_another_team_and_why(harness):
    app, conn = harness
    campaign_id = cats_id(conn)
    crew, team_id = crew_team(conn, campaign_id)
    vote_as(conn, crew, team_id, ("Yes", "No", "No"))
    for member in crew:  # everyone leaves during Explain
        revolt.leave(conn, member, team_id, settings.now(), team.settings())
    why = "the team that had it ended during Explain with nobody left"

    at = app("rita", "views/concepts.py", campaign=campaign_id)
    assert not at.exception, at.exception
    assert "2 items are waiting for another team" in texts(at)
    assert [m.value for m in at.metric if m.label == "Waiting for another team"] == ["2"]
    labels = at.dataframe[-1]
    assert set(labels.value["label_source"]) == {f"waiting for another team: {why}"}

    at = app("rita", "views/monitor.py", campaign=campaign_id)
    assert not at.exception, at.exception
    assert "Waiting for another team" in texts(at)
    waiting = next(d for d in at.dataframe if "reason" in d.value.columns)
    assert waiting.value["reason"].tolist() == [f"waiting for another team: {why}"] * 2
    teams = next(d for d in at.dataframe if "given_back" in d.value.columns)
    assert teams.value["given_back"].tolist() == [2]


def test_concept_review_merges_and_splits_on_the_page(harness):
    app, conn = harness
    campaign_id = cats_id(conn)
    rules = team.settings()
    crew, team_id = crew_team(conn, campaign_id)
    vote_as(conn, crew, team_id, ("Yes", "No", "No"))
    for member in crew:
        for task in revolt.session(conn, member, team_id, rules).todo:
            revolt.explain(conn, member, team_id, task.item_id, "Pointed ears.",
                           settings.now(), rules)
    for member, names in zip(crew, (("lynx", "not a real cat"), ("lynxes", "not a real cat"),
                                    ("bobcat", "not a real cat")), strict=True):
        for task, name in zip(revolt.session(conn, member, team_id, rules).todo, names,
                              strict=True):
            revolt.categorize(conn, member, team_id, task.item_id, name, settings.now(), rules)

    at = app("rita", "views/concepts.py", campaign=campaign_id)
    assert not at.exception, at.exception
    concepts = at.dataframe[0].value
    assert sorted(concepts["Concept"]) == ["bobcat", "lynx", "lynxes", "not a real cat"]
    at.selectbox(key="merge-into").select("lynx").run()
    at.multiselect(key="merge-from-lynx").set_value(["lynxe", "bobcat"]).run()  # keys
    at.button(key="merge").click().run()
    assert not at.exception, at.exception
    concepts = at.dataframe[0].value
    assert sorted(concepts["Concept"]) == ["lynx", "not a real cat"]
    assert concepts.set_index("Concept").loc["lynx", "Items"] == 1

    at.selectbox(key="concept-shown").select("not a real cat").run()
    items = next(d for d in at.dataframe if "Votes" in d.value.columns).value
    assert items["Votes"].tolist() == ["No ×2 · Yes ×1"]
    history = next(d for d in at.dataframe if "from_key" in d.value.columns).value
    assert sorted(history["from_key"]) == ["bobcat", "lynxe"]
    assert set(history["action"]) == {"merge"}
