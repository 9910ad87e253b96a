"""Accounts: sign-up rules, roles, expertise, passwords."""

import pytest

from core import users
from core.errors import Forbidden, Invalid
from tests.conftest import FAST_ROUNDS, NOW, table_counts


def register(conn, **overrides):
    values = dict(username="grace", name="Grace Hopper", email="grace@navy.example",
                  password="cobol-rules-1959", expertise=[("coding", "en-US")], now=NOW,
                  rounds=FAST_ROUNDS)
    values.update(overrides)
    return users.register(conn, **values)


def test_first_account_gets_every_role_and_later_ones_are_experts(conn):
    first = register(conn)
    second = register(conn, username="alan", email="alan@example.com")
    assert first.roles == ("admin", "expert", "requester")
    assert second.roles == ("expert",)
    assert users.expertise(conn, second.id)[["skill", "language"]].values.tolist() == [
        ["coding", "en-US"]]


def test_username_and_email_are_normalized(conn):
    user = register(conn, username="  Grace ", email="Grace@Navy.Example ")
    assert (user.username, user.email) == ("grace", "grace@navy.example")
    assert users.get_user(conn, "GRACE").id == user.id


@pytest.mark.parametrize("field, overrides, fragment", [
    ("username", {"username": "g"}, "3–32 characters"),
    ("username", {"username": "has space"}, "lowercase letters"),
    ("name", {"name": "  "}, "Enter your name"),
    ("email", {"email": "not-an-email"}, "e-mail address"),
    ("password", {"password": "short1"}, "at least 8"),
    ("password", {"password": "password1"}, "common password"),
    ("password", {"password": "qwertyuiop"}, "three or four unrelated words"),
    ("password", {"password": "grace-is-1-great"}, "username"),
    ("password", {"password": "a1" * 40}, "72 bytes"),
    ("expertise", {"expertise": []}, "at least one skill"),
    ("expertise", {"expertise": [("juggling", "en-US")]}, "Unknown skill"),
    ("expertise", {"expertise": [("coding", "xx-XX")]}, "Unknown language"),
])
def test_bad_sign_up_says_what_to_fix_and_writes_nothing(conn, field, overrides, fragment):
    before = table_counts(conn)
    with pytest.raises(Invalid) as refused:
        register(conn, **overrides)
    assert fragment in refused.value.problems[field]
    assert table_counts(conn) == before


def test_taken_username_and_email_are_refused(conn):
    register(conn)
    before = table_counts(conn)
    with pytest.raises(Invalid) as refused:
        register(conn, email="GRACE@navy.example")
    assert "already exists" in refused.value.problems["email"]
    assert "taken" in refused.value.problems["username"]
    assert table_counts(conn) == before


def test_allowed_domains_limit_sign_up(conn):
    with pytest.raises(Invalid) as refused:
        register(conn, allowed_domains=["quorum.example"])
    assert "quorum.example" in refused.value.problems["email"]
    user = register(conn, email="grace@quorum.example", allowed_domains=["@Quorum.example"])
    assert user.email == "grace@quorum.example"


def test_the_sign_in_record_holds_a_hash_not_the_password(conn):
    register(conn)
    user, stored, disabled = users.sign_in_record(conn, " Grace ")
    assert user.username == "grace" and not disabled
    assert stored.startswith("$2b$") and "cobol" not in stored
    assert users.password_matches("cobol-rules-1959", stored)
    assert users.sign_in_record(conn, "nobody") is None


def test_change_password_checks_the_current_one(conn):
    user = register(conn)
    with pytest.raises(Invalid) as refused:
        users.change_password(conn, user, "wrong-password-1", "new-secret-22", NOW, FAST_ROUNDS)
    assert "current" in refused.value.problems
    with pytest.raises(Invalid) as weak:
        users.change_password(conn, user, "cobol-rules-1959", "weak", NOW, FAST_ROUNDS)
    assert "new" in weak.value.problems
    users.change_password(conn, user, "cobol-rules-1959", "new-secret-22", NOW, FAST_ROUNDS)
    assert users.password_matches("new-secret-22", users.sign_in_record(conn, "grace")[1])


def test_only_admins_manage_roles(conn, make_user):
    admin = make_user("boss", roles=("admin",))
    expert = make_user("worker")
    with pytest.raises(Forbidden):
        users.set_roles(conn, expert, "boss", ["expert"], NOW)
    with pytest.raises(Forbidden):
        users.list_users(conn, expert)
    assert users.set_roles(conn, admin, "worker", ["expert", "requester"], NOW).roles == (
        "expert", "requester")
    with pytest.raises(Invalid, match="own admin role"):
        users.set_roles(conn, admin, "boss", ["expert"], NOW)
    with pytest.raises(Invalid, match="Unknown role"):
        users.set_roles(conn, admin, "worker", ["wizard"], NOW)
    assert set(users.list_users(conn, admin)["username"]) == {"boss", "worker"}


def test_expertise_can_be_added_and_removed(conn, make_user):
    user = make_user("ada", expertise=[("coding", "en-US")])
    users.add_expertise(conn, user, "law", "es-ES", NOW)
    users.add_expertise(conn, user, "law", "es-ES", NOW)  # twice changes nothing
    users.remove_expertise(conn, user, "coding", "en-US")
    assert users.expertise(conn, user.id)[["skill", "language"]].values.tolist() == [
        ["law", "es-ES"]]
    with pytest.raises(Invalid, match="Unknown skill"):
        users.add_expertise(conn, user, "alchemy", "en-US", NOW)


def test_a_mistyped_confirmation_is_reported_with_the_other_problems(conn):
    with pytest.raises(Invalid) as refused:
        register(conn, confirm="cobol-rules-1960", name="")
    assert set(refused.value.problems) == {"confirm", "name"}
    assert register(conn, confirm="cobol-rules-1959").username == "grace"
