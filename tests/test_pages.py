"""Every page under AppTest, for every role; roles cannot reach each other's pages."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.rendered import shown
from tests.signin import demo_password, demo_passwords, open_address, sign_in

REQUESTER_PAGES = ["views/campaigns.py", "views/design.py", "views/monitor.py",
                   "views/review.py", "views/concepts.py", "views/models.py",
                   "views/webhooks.py"]
ROLE_PAGES = {
    "ada": ["views/home.py", "views/label.py", "views/lobby.py", "views/leaderboard.py",
            "views/profile.py"],
    "rita": REQUESTER_PAGES + ["views/profile.py"],                         # requester
    "admin": REQUESTER_PAGES + ["views/impact.py", "views/users.py", "views/directory.py",
                                "views/profile.py"],
}
ALL_PAGES = sorted({p for pages in ROLE_PAGES.values() for p in pages})


@pytest.fixture
def app(tmp_path, monkeypatch):
    """A fresh demo workspace and an AppTest on it, optionally signed in."""
    monkeypatch.setenv("QUORUM_DB", str(tmp_path / "quorum.duckdb"))
    monkeypatch.setenv("QUORUM_BCRYPT_ROUNDS", "4")
    monkeypatch.delenv("QUORUM_EMPTY", raising=False)

    def make(username: str | None = None) -> AppTest:
        at = AppTest.from_file("../app.py", default_timeout=30)
        if username:
            sign_in(at, username)
        return at.run()

    return make


def texts(at: AppTest) -> str:
    """Everything the page wrote, as a reader sees it, as one string to search."""
    parts = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "info",
                                  "warning", "error", "success") for e in getattr(at, kind)]
    return "\n".join(shown(p) for p in parts)


def test_logged_out_visitors_see_login_without_any_password(app, tmp_path):
    at = app()
    assert not at.exception
    assert "demo_passwords.txt" in texts(at)
    for password in demo_passwords(tmp_path).values():
        assert password not in texts(at) and password not in str(at.get("arrow_data_frame"))
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("views/home.py").run()



@pytest.mark.parametrize("username", list(ROLE_PAGES))
def test_each_role_renders_each_of_its_pages(app, username):
    at = app(username)
    for page in ROLE_PAGES[username]:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert at.title, page


@pytest.mark.parametrize("username", list(ROLE_PAGES))
def test_roles_cannot_reach_other_roles_pages(app, username):
    at = app(username)
    for page in sorted(set(ALL_PAGES) - set(ROLE_PAGES[username])):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page).run()
        # Its address says so, and where to go, instead of Streamlit's "Page not found".
        open_address(at, page.removeprefix("views/").removesuffix(".py")).run()
        assert not at.exception
        title = shown(at.title[0].value)
        assert title.startswith("You don't have access to "), (page, title)
        assert "ask an administrator" in texts(at)


def test_a_deep_link_signs_in_and_lands_on_its_page(app, tmp_path):
    at = open_address(app(), "review").run()
    assert "Log in" in texts(at)
    at.text_input[0].input("rita")
    at.text_input[1].input(demo_password(tmp_path, "rita"))
    at.button[0].click().run()
    assert not at.exception
    assert shown(at.title[0].value) == "Review answers"


def test_login_form_signs_in_and_shows_the_landing_page(app, tmp_path):
    at = app()
    at.text_input[0].input("ada")
    at.text_input[1].input(demo_password(tmp_path, "ada"))
    at.button[0].click().run()
    assert not at.exception
    assert "Hello, Ada" in texts(at)
    assert "Spot the bug in short Python functions" in texts(at)
    assert "Classify commercial contract clauses" not in texts(at)


def test_wrong_password_is_refused(app):
    at = app()
    at.text_input[0].input("ada")
    at.text_input[1].input("not-the-password-1")
    at.button[0].click().run()
    assert "do not match" in texts(at)
    assert "Log out" not in [b.label for b in at.button]


def fill_signup(at: AppTest, **values) -> AppTest:
    at.switch_page("views/signup.py").run()
    fields = {"signup_name": "Grace Hopper", "signup_username": "grace",
              "signup_email": "grace@quorum.example", "signup_password": "cobol-rules-1959",
              "signup_confirm": "cobol-rules-1959"}
    fields.update(values)
    for key, value in fields.items():
        at.text_input(key=key).input(value)
    at.multiselect(key="signup_skills").set_value(values.get("skills", ["law"]))
    at.multiselect(key="signup_languages").set_value(["en-US"])
    return at.button[0].click().run()


def test_sign_up_creates_an_expert_who_sees_matching_campaigns(app):
    at = fill_signup(app())
    assert not at.exception
    assert "Log out" in [b.label for b in at.button]
    assert "Classify commercial contract clauses" in texts(at)
    assert "Spot the bug in short Python functions" not in texts(at)


def test_sign_up_problems_appear_beside_the_fields(app):
    at = fill_signup(app(), signup_username="ada", signup_confirm="something-else-2")
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("taken" in e for e in errors)
    assert any("passwords differ" in e for e in errors)
    assert "Log out" not in [b.label for b in at.button]


def pick(at: AppTest, option: str) -> AppTest:
    """Press an option's button (number key) on a form where that only picks it."""
    return next(b for b in at.button if b.label == option).click().run()


def test_labeling_page_submits_and_confirms_with_the_count(app):
    at = app("ada")
    at.query_params["campaign"] = "6"  # general knowledge, en-US
    at.switch_page("views/label.py").run()
    assert not at.exception
    assert "Answer general-knowledge questions" in shown(at.title[0].value)
    submit = next(b for b in at.button if b.label == "Submit")
    submit.click().run()
    assert "This question needs an answer." in [shown(e.value) for e in at.error]
    why = "Light travels far faster than sound, so the flash arrives first."
    at.text_area[0].input(why)
    # The rating beside the text is buttons with number keys: a press picks, Submit saves.
    assert "`1`–`5` pick an answer" in [c.value for c in at.caption][-1]
    pick(at, "4")
    assert not at.success and at.text_area[0].value == why
    assert [b.proto.type for b in at.button if b.label in "12345"] == [
        "secondary", "secondary", "secondary", "primary", "secondary"]
    next(b for b in at.button if b.label == "Submit").click().run()
    assert not at.exception
    confirmation = [shown(s.value) for s in at.success]
    assert confirmation and "answered 1 item in this campaign" in confirmation[0]
    assert [m.value for m in at.metric][:2] == ["1", "1"]


def test_labeling_page_without_a_campaign_offers_a_choice(app):
    at = app("ada")
    at.switch_page("views/label.py").run()
    assert not at.exception
    assert at.selectbox[0].label == "Campaign"


def test_expert_without_skills_is_sent_to_the_profile(app):
    at = app("ada")
    at.switch_page("views/profile.py").run()
    while any(b.label == "Remove" for b in at.button):
        next(b for b in at.button if b.label == "Remove").click().run()
    assert "no skills declared" in texts(at)
    at.switch_page("views/home.py").run()
    assert "not declared any skills" in texts(at)


def test_admin_changes_roles_on_the_users_page(app):
    at = app("admin")
    at.switch_page("views/users.py").run()
    at.selectbox[0].set_value("ada").run()
    at.multiselect[0].set_value(["expert", "requester"])
    next(b for b in at.button if b.label == "Save roles").click().run()
    assert not at.exception
    at_ada = app("ada")
    at_ada.switch_page("views/campaigns.py").run()
    assert not at_ada.exception


def test_with_passwords_off_the_login_page_offers_no_password_form(app, monkeypatch):
    monkeypatch.setenv("QUORUM_AUTH", "sso")
    at = app()
    assert not at.exception
    assert not at.text_input, "no username or password field"
    assert "no identity provider is configured" in texts(at)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("views/signup.py").run()  # sign-up is not offered either
