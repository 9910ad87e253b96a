"""Company sign-in accounts and the directory mapping, on both engines."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from core import directory, sessions, users
from core.errors import Forbidden, Invalid
from tests.conftest import FAST_ROUNDS, NOW, table_counts

ISSUER = "http://127.0.0.1:9999"
SETTINGS = directory.Settings(allowed_domains=("acme.com",), rounds=FAST_ROUNDS)


def claims(sub: str = "u-1", **extra) -> dict:
    values = {"iss": ISSUER, "sub": sub, "email": "grace.hopper@acme.com",
              "email_verified": True, "name": "Grace Hopper", "iat": int(NOW.timestamp()) - 5,
              "job_title": "Senior Software Engineer", "department": "Platform"}
    values.update(extra)
    return {k: v for k, v in values.items() if v is not None}


def sign_in(conn, **extra):
    return directory.provision(conn, claims(**extra), NOW, SETTINGS, random.Random(1))


def test_first_sign_in_creates_an_expert_named_from_the_claims(conn, make_user):
    make_user("admin", roles=("admin",))
    first = sign_in(conn)
    assert first.welcome
    assert first.user.name == "Grace Hopper"
    assert first.user.username == "grace.hopper"
    assert first.user.email == "grace.hopper@acme.com"
    assert first.user.roles == ("expert",)
    # Nobody knows the password the account was given.
    stored = users.sign_in_record(conn, "grace.hopper")[1]
    assert not users.password_matches("", stored)
    assert not users.password_known(conn, first.user)  # so no password to change
    with pytest.raises(Invalid, match="company account"):
        users.change_password(conn, first.user, "", "a long new passphrase", NOW)


def test_a_second_sign_in_finds_the_same_account(conn):
    first = sign_in(conn)
    again = sign_in(conn, email="grace@acme.com", job_title="Staff Engineer")
    assert again.user.id == first.user.id
    assert again.welcome  # skills not confirmed yet
    assert directory.directory_entry(conn, again.user).job_title == "Staff Engineer"
    assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 1


def test_the_same_subject_at_another_issuer_is_another_identity(conn):
    first = sign_in(conn)
    other = directory.provision(conn, claims(iss="https://other.example", email="g@acme.com"),
                                NOW, SETTINGS, random.Random(1))
    assert other.user.id != first.user.id


def test_unverified_email_and_other_domains_are_refused_with_a_sentence(conn):
    before = table_counts(conn)
    with pytest.raises(Invalid, match="not verified"):
        sign_in(conn, email_verified=False)
    with pytest.raises(Invalid, match="not verified"):
        sign_in(conn, email_verified=None)
    with pytest.raises(Invalid, match="addresses at acme.com only"):
        sign_in(conn, email="grace@gmail.com")
    with pytest.raises(Invalid, match="e-mail address"):
        sign_in(conn, email=None)
    with pytest.raises(Invalid, match="issuer or subject"):
        sign_in(conn, sub=None)
    assert table_counts(conn) == before


def test_the_verified_claim_name_is_configurable(conn):
    entra = directory.Settings(email_verified_claim="xms_edov", rounds=FAST_ROUNDS)
    with pytest.raises(Invalid, match="not verified"):
        directory.provision(conn, claims(), NOW, entra, random.Random(1))
    made = directory.provision(conn, claims(email_verified=None, xms_edov=True), NOW, entra,
                               random.Random(1))
    assert made.user.email == "grace.hopper@acme.com"


def test_linking_keeps_the_account_and_skips_the_welcome(conn, make_user):
    ada = make_user("ada", expertise=(("coding", "en-US"),))
    settings = directory.Settings(rounds=FAST_ROUNDS)
    linked = directory.provision(conn, claims(email="ada@example.com"), NOW, settings,
                                 random.Random(1))
    assert linked.user.id == ada.id
    assert not linked.welcome
    assert not directory.needs_welcome(conn, linked.user)
    rita = make_user("rita", roles=("requester",), expertise=())
    assert not directory.provision(conn, claims(sub="rita", email="rita@example.com"), NOW,
                                   settings, random.Random(1)).welcome
    assert directory.provision(conn, claims(sub="rita", email="rita@example.com"), NOW,
                               settings, random.Random(1)).user.id == rita.id


def test_usernames_are_made_valid_and_unique(conn, make_user):
    make_user("grace.hopper")
    made = sign_in(conn, preferred_username="Grace.Hopper@acme.com")
    assert made.user.username == "grace.hopper2"
    odd = sign_in(conn, sub="u-2", email="7@acme.com", preferred_username="7 ü")
    assert users._USERNAME.match(odd.user.username)


def test_the_first_account_of_an_empty_workspace_runs_it(conn):
    assert sign_in(conn).user.roles == tuple(sorted(users.ROLES))


def test_a_sign_in_issued_before_log_out_is_refused(conn):
    made = sign_in(conn)
    directory.end_sign_in(conn, made.user, NOW + timedelta(seconds=30, microseconds=500))
    with pytest.raises(directory.StaleSignIn, match="sign in again"):
        sign_in(conn, iat=int(NOW.timestamp()) + 10)
    with pytest.raises(directory.StaleSignIn):
        sign_in(conn, iat=None)
    # Issued in the same second as the log out, or later: accepted.
    assert sign_in(conn, iat=int(NOW.timestamp()) + 30).user.id == made.user.id


def test_ending_every_session_or_disabling_refuses_an_older_identity(conn, make_user):
    admin = make_user("admin", roles=("admin",))
    made = sign_in(conn)
    sessions.end_all(conn, made.user, NOW + timedelta(seconds=20))  # log out, password change
    with pytest.raises(directory.StaleSignIn):
        sign_in(conn, iat=int(NOW.timestamp()) + 10)
    assert sign_in(conn, iat=int(NOW.timestamp()) + 21).user.id == made.user.id
    users.set_disabled(conn, admin, made.user.username, True, NOW + timedelta(seconds=40))
    users.set_disabled(conn, admin, made.user.username, False, NOW + timedelta(seconds=41))
    with pytest.raises(directory.StaleSignIn):  # a sign-in from before the disabling
        sign_in(conn, iat=int(NOW.timestamp()) + 30)
    users.set_disabled(conn, admin, made.user.username, True, NOW + timedelta(seconds=50))
    with pytest.raises(Invalid, match="disabled"):
        sign_in(conn, iat=int(NOW.timestamp()) + 60)


def test_a_linked_account_keeps_its_password(conn, make_user):
    ada = make_user("ada", expertise=(("coding", "en-US"),))
    linked = directory.provision(conn, claims(email="ada@example.com"), NOW,
                                 directory.Settings(rounds=FAST_ROUNDS), random.Random(1))
    assert linked.user.id == ada.id
    assert users.password_known(conn, ada)


def test_welcome_sets_the_confirmed_expertise_once(conn, now):
    made = sign_in(conn)
    with pytest.raises(Invalid) as refused:
        directory.welcome(conn, made.user, [], ["en-US"], now)
    assert "skills" in refused.value.problems
    with pytest.raises(Invalid, match="fix"):
        directory.welcome(conn, made.user, ["coding"], ["xx-XX"], now)
    directory.welcome(conn, made.user, ["coding", "law"], ["en-US"], now)
    pairs = set(users.expertise(conn, made.user.id)[["skill", "language"]].itertuples(
        index=False, name=None))
    assert pairs == {("coding", "en-US"), ("law", "en-US")}
    assert not directory.needs_welcome(conn, made.user)
    assert not sign_in(conn).welcome


def test_rules_suggest_skills_from_title_and_department(conn, make_user, now):
    admin = make_user("admin", roles=("admin",))
    for rule in directory.rules(conn):
        directory.remove_rule(conn, admin, rule.id)
    directory.add_rule(conn, admin, field="title", match_kind="contains", pattern="engineer",
                       skills=["coding"], languages=[], now=now)
    directory.add_rule(conn, admin, field="either", match_kind="exact", pattern="Legal",
                       skills=["law"], languages=["en-GB"], now=now)
    directory.add_rule(conn, admin, field="department", match_kind="contains", pattern="paris",
                       skills=[], languages=["fr-FR"], now=now)
    got = directory.suggest(conn, "Senior Software ENGINEER", "Platform")
    assert got.skills == ("coding",) and got.languages == ("en-US",)
    assert [r.pattern for r in got.rules] == ["engineer"]
    got = directory.suggest(conn, "Counsel", "legal")
    assert got.skills == ("law",) and got.languages == ("en-GB",)
    assert directory.suggest(conn, "Counsel", "Legal Affairs").skills == ()  # exact, not contains
    got = directory.suggest(conn, "Engineer", "Paris office")
    assert got.skills == ("coding",) and got.languages == ("fr-FR",)
    assert directory.suggest(conn, None, None, locale="de_de").languages == ("de-DE",)
    assert directory.suggest(conn, None, None, locale="tlh").languages == ("en-US",)


def test_the_starting_mapping_knows_common_titles(conn):
    assert directory.suggest(conn, "Software Engineer", None).skills == ("coding",)
    assert directory.suggest(conn, "Paralegal", None).skills == ("law",)
    assert directory.suggest(conn, "Associate General Counsel", None).skills == ("law",)


def test_rule_edits_are_checked_and_for_admins_only(conn, make_user, now):
    admin, ada = make_user("admin", roles=("admin",)), make_user("ada")
    with pytest.raises(Forbidden):
        directory.add_rule(conn, ada, field="title", match_kind="contains", pattern="x",
                           skills=["coding"], languages=[], now=now)
    with pytest.raises(Invalid) as bad:
        directory.add_rule(conn, admin, field="office", match_kind="like", pattern=" ",
                           skills=["juggling"], languages=[], now=now)
    assert set(bad.value.problems) == {"field", "match_kind", "pattern", "skills"}
    with pytest.raises(Invalid) as empty:
        directory.add_rule(conn, admin, field="title", match_kind="contains", pattern="x",
                           skills=[], languages=[], now=now)
    assert "skills" in empty.value.problems
    with pytest.raises(Forbidden):
        directory.add_group_role(conn, ada, "g", "admin", now)
    with pytest.raises(Invalid):
        directory.add_group_role(conn, admin, "g", "expert", now)


def test_groups_set_the_roles_they_map_and_leave_the_others(conn, make_user, now):
    admin = make_user("admin", roles=("admin",))
    directory.add_group_role(conn, admin, "Data Science", "requester", now)
    made = sign_in(conn, groups=["data science", "everyone"])
    assert made.user.roles == ("expert", "requester")
    # Out of the group: the mapped role goes; roles no group maps stay as admins set them.
    users.set_roles(conn, admin, made.user.username, ["expert", "requester", "admin"], now)
    again = sign_in(conn, groups=["everyone"])
    assert again.user.roles == ("admin", "expert")
    directory.remove_group_role(conn, admin, "Data Science", "requester")
    users.set_roles(conn, admin, made.user.username, ["expert", "requester"], now)
    assert sign_in(conn, groups=[]).user.roles == ("expert", "requester")


def test_a_group_mapping_never_removes_the_last_admin(conn, make_user, now):
    made = sign_in(conn)  # first account: admin
    directory.add_group_role(conn, made.user, "Quorum Admins", "admin", now)
    assert "admin" in sign_in(conn, groups="Other").user.roles
    assert directory.group_roles(conn) == [("Quorum Admins", "admin")]
