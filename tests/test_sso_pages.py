"""Company sign-in pages under AppTest: st.user as an identity provider leaves it (AppTest.user)."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from core import db, directory, users
from server import settings
from tests.signin import sign_in, signed_in
from tests.test_pages import texts

AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "a-cookie-secret-for-tests-only-0123456789",
        "client_id": "quorum", "client_secret": "not-a-real-secret",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
        "label": "Acme"}


def identity(sub: str = "grace-1", **extra) -> dict:
    values = {"is_logged_in": True, "iss": "http://127.0.0.1:9", "sub": sub,
              "email": "grace@acme.com", "email_verified": True, "name": "Grace Hopper",
              "job_title": "Paralegal", "department": "Legal Affairs", "iat": int(time.time()),
              "groups": ["everyone"]}
    values.update(extra)
    return values


@pytest.fixture
def app(tmp_path, monkeypatch):
    """A demo workspace; make(user=…, auth=…) runs app.py as that company identity."""
    monkeypatch.setenv("QUORUM_DB", str(tmp_path / "quorum.duckdb"))
    monkeypatch.setenv("QUORUM_BCRYPT_ROUNDS", "4")
    monkeypatch.setenv("QUORUM_ALLOWED_EMAIL_DOMAINS", "acme.com")
    monkeypatch.delenv("QUORUM_EMPTY", raising=False)
    monkeypatch.delenv("QUORUM_AUTH", raising=False)

    def make(user: dict | None = None, username: str | None = None, auth: bool = True) -> AppTest:
        at = AppTest.from_file("../app.py", default_timeout=30)
        if auth:
            at.secrets["auth"] = AUTH
        if user is not None:
            at.user = user
        if username:
            sign_in(at, username)
        return at.run()

    return make


def confirm(at: AppTest) -> AppTest:
    """Press the welcome step's confirm button."""
    return at.button(key="FormSubmitter:welcome-step-Confirm and see my campaigns").click().run()


def buttons(at: AppTest) -> list[str]:
    return [b.label for b in at.button]


def test_the_login_page_offers_the_company_sign_in_beside_passwords(app):
    at = app()
    assert not at.exception
    assert "Sign in with Acme" in buttons(at)
    assert "Username" in [t.label for t in at.text_input]


def test_quorum_auth_chooses_the_sign_in_methods(app, monkeypatch):
    monkeypatch.setenv("QUORUM_AUTH", "sso")
    at = app()
    assert "Sign in with Acme" in buttons(at)
    assert not at.text_input  # no password form
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("views/signup.py").run()
    monkeypatch.setenv("QUORUM_AUTH", "password")
    at = app()
    assert "Sign in with Acme" not in buttons(at)
    assert "Username" in [t.label for t in at.text_input]
    monkeypatch.setenv("QUORUM_AUTH", "sso")
    at = app(auth=False)
    assert "no identity provider is configured" in texts(at)
    monkeypatch.setenv("QUORUM_AUTH", "passwords")
    assert "set it to password, sso or both" in texts(app())


def test_a_first_company_sign_in_confirms_suggested_skills_then_sees_campaigns(app):
    at = app(identity())
    assert not at.exception
    assert signed_in(at).username == "grace"
    assert "Welcome to Quorum, Grace" in texts(at)
    assert "Paralegal" in texts(at) and "Legal Affairs" in texts(at)
    assert at.multiselect[0].value == ["law"]
    assert at.multiselect[1].value == ["en-US"]
    confirm(at)
    assert not at.exception
    assert "Classify commercial contract clauses" in texts(at)  # the demo's law campaign
    assert "Welcome to Quorum! Your account is ready" in texts(at)
    # The step is done: a password user never sees it, and Grace does not see it again.
    at.run()
    assert "Hello, Grace" in texts(at)
    # Nobody knows the account's password: the profile offers no password change.
    at.switch_page("views/profile.py").run()
    assert "You sign in with your company account" in texts(at)
    assert "Change password" not in [b.label for b in at.button]


def test_the_suggestion_can_be_changed_in_the_same_step(app):
    at = app(identity(sub="alan-1", email="alan@acme.com", name="Alan Turing",
                      job_title="Mathematician", department=None))
    assert "No rule of the directory mapping matches" in texts(at)
    assert at.multiselect[0].value == []
    confirm(at)
    assert "Choose at least one skill." in texts(at)
    at.multiselect[0].set_value(["coding"])
    confirm(at)
    assert "Spot the bug in short Python functions" in texts(at)


def test_refused_identities_stay_on_the_login_page_with_the_reason(app):
    at = app(identity(email_verified=False))
    assert signed_in(at) is None
    assert "is not verified" in texts(at)
    assert "Use another company account" in buttons(at)
    at = app(identity(email="grace@gmail.com"))
    assert "addresses at acme.com only" in texts(at)


def test_log_out_ends_the_company_sign_in_too(app):
    claims = identity(iat=int(time.time()) - 5)
    at = app(claims)
    confirm(at)
    assert "Hello, Grace" in texts(at)
    at.sidebar.button[0].click().run()  # Log out
    assert not at.exception
    assert at.user.get("is_logged_in") is False  # st.logout() was called
    assert "Sign in with Acme" in buttons(at)
    # The same identity again (a saved identity cookie replayed) is refused.
    again = app(claims)
    assert signed_in(again) is None
    assert "You logged out of Quorum after this company sign-in" in texts(again)
    fresh = app(identity(iat=int(time.time()) + 1))
    assert "Hello, Grace" in texts(fresh)  # a new sign-in finds the same account


def test_a_group_claim_gives_the_requester_role(app, tmp_path):
    conn = db.connect(settings.load().db_path)
    at = app()  # the app set the demo workspace up
    admin = users.get_user(conn, "admin")
    directory.add_group_role(conn, admin, "Data Science", "requester", settings.now())
    conn.close()
    at = app(identity(sub="rosa-1", email="rosa@acme.com", name="Rosalind Franklin",
                      job_title="Research Scientist", groups=["Data Science"]))
    assert "requester" in signed_in(at).roles
    at.multiselect[0].set_value(["science"])
    confirm(at)
    at.switch_page("views/campaigns.py").run()
    assert not at.exception


def test_the_welcome_page_is_not_for_password_users(app):
    at = app(username="ada")
    assert "Hello, Ada" in texts(at)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("views/welcome.py").run()


def test_admins_edit_the_mapping_and_preview_a_title(app):
    at = app(username="admin")
    at.switch_page("views/directory.py").run()
    assert not at.exception
    assert 'Job title contains "paralegal"' in texts(at)
    at.text_input(key="preview_title").input("Staff Software Engineer").run()
    assert "Skills: Coding" in texts(at)
    next(t for t in at.text_input if t.label == "Text").input("Actuary")
    at.multiselect[0].set_value(["finance", "math"])
    at.button(key="FormSubmitter:add-rule-Add rule").click().run()
    assert not at.exception
    assert 'Job title contains "Actuary"' in texts(at)
    at.text_input(key="preview_title").input("Chief actuary").run()
    assert "Skills: Finance, Mathematics" in texts(at)
    removes = [b for b in at.button if b.label == "Remove"]
    before = len(removes)
    removes[0].click().run()
    assert len([b for b in at.button if b.label == "Remove"]) == before - 1
    at.button(key="FormSubmitter:add-rule-Add rule").click().run()  # no text typed
    assert "Type the text to look for" in texts(at)


def test_admins_map_groups_to_roles(app):
    at = app(username="admin")
    at.switch_page("views/directory.py").run()
    group = next(t for t in at.text_input if t.label == "Group")
    group.input("Quorum Admins")
    at.selectbox[-1].set_value("admin")
    at.button(key="FormSubmitter:add-group-Add").click().run()
    assert "Members of Quorum Admins are admins" in texts(at)


def test_an_admin_from_the_directory_edits_the_mapping(app):
    app()  # the app set the demo workspace up
    conn = db.connect(settings.load().db_path)
    directory.add_group_role(conn, users.get_user(conn, "admin"), "Quorum Admins", "admin",
                             settings.now())
    conn.close()
    at = app(identity(sub="boss-1", email="boss@acme.com", name="Ada Boss", job_title="CTO",
                      groups=["Quorum Admins"]))
    assert signed_in(at).roles == ("admin", "expert")
    at.multiselect[0].set_value(["general"])
    confirm(at)
    at.switch_page("views/directory.py").run()
    assert not at.exception
    assert "Members of Quorum Admins are admins" in texts(at)


def test_the_mapping_page_is_for_admins_only(app):
    at = app(username="rita")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("views/directory.py").run()


def test_every_page_renders_for_company_accounts(app):
    from tests.test_pages import ROLE_PAGES
    app()  # the app set the demo workspace up
    conn = db.connect(settings.load().db_path)
    admin = users.get_user(conn, "admin")
    directory.add_group_role(conn, admin, "Quorum Admins", "admin", settings.now())
    directory.add_group_role(conn, admin, "Quorum Admins", "requester", settings.now())
    conn.close()
    for sub, groups, pages in (
            ("expert-1", [], ROLE_PAGES["ada"]),
            ("admin-1", ["Quorum Admins"], ROLE_PAGES["admin"] + ROLE_PAGES["ada"])):
        at = app(identity(sub=sub, email=f"{sub}@acme.com", groups=groups))
        confirm(at)
        for page in pages:
            at.switch_page(page).run()
            assert not at.exception, (sub, page, at.exception)


def test_named_providers_each_get_a_button(app):
    at = AppTest.from_file("../app.py", default_timeout=30)
    provider = {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")}
    at.secrets["auth"] = {"redirect_uri": AUTH["redirect_uri"],
                          "cookie_secret": AUTH["cookie_secret"],
                          "okta": {**provider, "label": "Acme (Okta)"}, "keycloak": provider}
    at.run()
    assert {"Sign in with Acme (Okta)", "Sign in with Keycloak"} <= set(buttons(at))


def test_a_first_company_sign_in_on_postgres(postgres, monkeypatch):
    from tests.conftest import new_postgres_database
    monkeypatch.setenv("QUORUM_DATABASE_URL", new_postgres_database(postgres, empty=True))
    monkeypatch.setenv("QUORUM_BCRYPT_ROUNDS", "4")
    monkeypatch.setenv("QUORUM_ALLOWED_EMAIL_DOMAINS", "acme.com")
    monkeypatch.delenv("QUORUM_EMPTY", raising=False)
    monkeypatch.delenv("QUORUM_AUTH", raising=False)
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.secrets["auth"] = AUTH
    at.user = identity()
    at.run()
    assert "Welcome to Quorum, Grace" in texts(at)
    confirm(at)
    assert "Classify commercial contract clauses" in texts(at)
    at.switch_page("views/profile.py").run()
    assert "Law and legal" in texts(at)
