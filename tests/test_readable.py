"""What people read: the format helpers, and key pages without ids, codes or "None" cells."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import catalog
from core.errors import Invalid
from tests.rendered import shown
from tests.signin import sign_in
from ui import format as fmt
from ui.feedback import field_label, problem_lines

# -- format helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "header"), [
    ("items_done", "Items done"), ("external_id", "External ID"), ("rank", "Rank"),
    ("median_minutes", "Median minutes"), ("api_key", "API key"), ("Pay per item", "Pay per item"),
    ("DS label", "DS label"), ("", "")])
def test_headers_are_sentence_case_without_underscores(name, header):
    assert fmt.header(name) == header


def test_headers_keep_the_labels_a_page_gives_and_word_the_rest():
    frame = pd.DataFrame(columns=["item_id", "majority_label", "ds_label"])
    config = fmt.headers(frame, {"ds_label": "Dawid-Skene label"})
    assert config == {"item_id": "Item ID", "majority_label": "Majority label",
                      "ds_label": "Dawid-Skene label"}


@pytest.mark.parametrize(("seconds", "unit"), [
    ([0.5, 3, 40], "seconds"), ([1.23], "seconds"), ([90, 150, 300], "minutes"),
    ([7200, 9000], "hours"), ([], "seconds")])
def test_time_unit_follows_the_typical_duration(seconds, unit):
    assert fmt.time_unit(seconds)[2] == unit


@pytest.mark.parametrize(("seconds", "text"), [
    (0.3, "0.3 s"), (5, "5 s"), (74, "74 s"), (125, "2.1 min"), (600, "10 min"),
    (7200, "2 h"), (9000, "2.5 h"), (None, ""), (float("nan"), "")])
def test_duration_reads_in_a_natural_unit(seconds, text):
    assert fmt.duration(seconds) == text


def test_expertise_reads_as_words_everywhere():
    assert fmt.expertise("general", "en-US") == "General knowledge · English (United States)"
    assert catalog.expertise_name("law", "es-ES") == "Law and legal · Spanish (Spain)"
    # Something not in the catalog is shown as it is rather than hidden.
    assert fmt.expertise("origami", "xx-YY") == "origami · xx-YY"


def test_kinds_statuses_and_long_text():
    assert fmt.kind_name("revolt") == "Team labeling"
    assert fmt.kind_name("standard") == "Standard"
    assert fmt.status_name("live") == "Live"
    assert fmt.short("Which label fits this text?", 40) == "Which label fits this text?"
    cut = fmt.short("Does this function have a bug that a careful reader would notice?", 30)
    assert cut.endswith("…") and len(cut) <= 30


def test_questions_are_named_by_their_prompts():
    spec = {"blocks": [{"type": "text", "field": "body"},
                       {"type": "single_choice", "id": "label", "prompt": "Which label fits?",
                        "options": ["a", "b"]},
                       {"type": "free_text", "id": "why", "prompt": "Why?"}]}
    assert fmt.question_prompts(spec) == {"label": "Which label fits?", "why": "Why?"}
    assert fmt.measures_agreement(spec)
    assert not fmt.measures_agreement({"blocks": spec["blocks"][2:]})


def test_field_problems_are_listed_under_their_labels():
    error = Invalid("Please fix the highlighted settings.",
                    {"title": "This is required.", "expires_at": "The expiry must come after "
                     "the opening.", "blocks[2].id": "is used by another question",
                     "odd_field": "x"})
    lines = problem_lines(error)
    assert "**Title**: This is required." in lines
    assert "**Expires**:" in lines
    assert "**Block 3: id**:" in lines
    assert "**Odd field**:" in lines
    assert "title:" not in lines and "expires_at" not in lines
    assert field_label("label", {"label": "Which label fits?"}) == "Which label fits?"


def test_time_per_answer_chart_picks_its_unit():
    from ui import charts
    quick = charts.minutes_histogram(pd.DataFrame({"minutes": [0.0205, 0.03, 0.05]})).to_dict()
    assert quick["encoding"]["x"]["title"] == "Seconds per answer"
    assert max(quick["datasets"][next(iter(quick["datasets"]))],
               key=lambda r: r["time"])["time"] == pytest.approx(3.0)
    slow = charts.minutes_histogram(pd.DataFrame({"minutes": [3, 5, 8]})).to_dict()
    assert slow["encoding"]["x"]["title"] == "Minutes per answer"


# -- pages ---------------------------------------------------------------------------------------


@pytest.fixture
def app(tmp_path, monkeypatch):
    """A fresh demo workspace; make(user, page, **query) renders one page signed in as user."""
    monkeypatch.setenv("QUORUM_DB", str(tmp_path / "quorum.duckdb"))
    monkeypatch.setenv("QUORUM_BCRYPT_ROUNDS", "4")
    monkeypatch.delenv("QUORUM_EMPTY", raising=False)

    def make(username: str, page: str | None = None, **query: str) -> AppTest:
        at = AppTest.from_file("../app.py", default_timeout=60)
        sign_in(at, username)
        at.run()
        if page:
            at.query_params.update(query)
            at.switch_page(page).run()
        assert not at.exception, at.exception
        return at

    return make


def everything(at: AppTest) -> str:
    """Every text the page drew, metrics' labels and table cells included."""
    parts = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "info",
                                  "warning", "error", "success") for e in getattr(at, kind)]
    parts += [m.label for m in at.metric]
    parts += [frame.value.to_csv(header=False, index=False) for frame in at.dataframe]
    return "\n".join(shown(p) for p in parts)


def assert_tables_readable(at: AppTest, where: str) -> None:
    """Every table: missing values drawn empty, every shown header in words."""
    for frame in at.dataframe:
        assert frame.proto.HasField("placeholder") and frame.proto.placeholder == "", where
        config = json.loads(frame.proto.columns or "{}")
        for column in frame.value.columns:
            label = (config.get(str(column)) or {}).get("label", str(column))
            hidden = (config.get(str(column)) or {}).get("hidden")
            if hidden:
                continue
            assert "_" not in label and label[:1] == label[:1].upper(), (where, column, label)


PAGES = [("ada", "views/home.py", {}), ("ada", "views/profile.py", {}),
         ("ada", "views/leaderboard.py", {}),
         ("rita", "views/campaigns.py", {}), ("rita", "views/monitor.py", {"campaign": "15"}),
         ("admin", "views/impact.py", {}), ("admin", "views/users.py", {})]


@pytest.mark.parametrize(("user", "page", "query"), PAGES,
                         ids=[f"{u}-{p.split('/')[1]}" for u, p, _ in PAGES])
def test_key_pages_show_no_internal_names(app, user, page, query):
    at = app(user, page, **query)
    text = everything(at)
    for internal in ("general in en-US", "general · en-US", "_", "None"):
        assert internal not in text.replace("quorum.example", ""), (page, internal)
    if page in ("views/campaigns.py", "views/impact.py", "views/users.py", "views/monitor.py"):
        assert at.dataframe, page
    assert_tables_readable(at, page)


def test_monitor_before_any_answer_does_not_deny_the_choice_question(app):
    at = app("rita", "views/monitor.py", campaign="9")  # "Is it a cat?": a choice, no answers yet
    text = everything(at)
    assert "no choice or rating question" not in text
    assert "No answers to compute quality from yet." in text


def test_monitor_names_questions_by_prompt_and_times_in_seconds(app):
    at = app("rita", "views/monitor.py", campaign="15")
    labels = [m.label for m in at.metric]
    assert any(label.startswith("α · Which") for label in labels), labels
    assert not any(label == "α · label" for label in labels)
    experts = at.dataframe[-1].value
    assert experts["median_minutes"].str.fullmatch(r"\d+(\.\d)? (s|min|h)").all()


def test_design_lists_a_missing_title_under_its_label(app):
    at = app("rita", "views/design.py")
    at.text_input[0].input("")  # the title
    next(b for b in at.button if b.label == "Create draft").click().run()
    assert not at.exception
    markdown = "\n".join(m.value for m in at.markdown)
    assert "**Title**: This is required." in markdown
    assert "**title**" not in markdown


def test_a_requester_profile_shows_their_campaigns(app):
    at = app("rita", "views/profile.py")
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Live"]) >= 1 and "Answers collected" in metrics


def test_the_expert_home_reads_as_the_program_and_their_standing(app):
    at = app("ada", "views/home.py")
    text = everything(at)
    assert "QUORUM · THE EXPERT PROGRAM" in text
    assert at.title[0].value == "Hello, Ada"
    assert {"Items you answered", "Earned", "Rank this month",
            "Open campaigns for you"} <= {m.label for m in at.metric}
    assert "General knowledge" in text and "English (United States)" in text


def test_a_campaign_outside_ones_expertise_is_named_in_words(app):
    at = app("ada", "views/label.py", campaign="3")  # law in en-US; ada declared coding, general
    errors = " ".join(e.value for e in at.error)
    assert "Law and legal · English (United States)" in errors
    assert "law in en-US" not in errors
