"""Sessions the server can end, one-time cookie codes, throttled sign-in, the password policy."""

from __future__ import annotations

from datetime import timedelta

import bcrypt
import pytest
import yaml

from core import passwords, sessions, signin, users
from core.errors import Forbidden, Invalid
from tests.conftest import FAST_ROUNDS, NOW

THROTTLE = signin.Throttle(account_free=3, client_free=5, first_delay_seconds=30,
                           max_delay_seconds=600, forget_after_seconds=3600)


def test_a_session_names_its_user_until_it_expires(conn, make_user):
    ada = make_user("ada")
    token = sessions.create(conn, ada, NOW, hours=8)
    assert sessions.lookup(conn, token, NOW + timedelta(hours=7)) == ada
    assert sessions.lookup(conn, token, NOW + timedelta(hours=8)) is None
    assert sessions.lookup(conn, "not-a-token", NOW) is None
    assert sessions.lookup(conn, None, NOW) is None


def test_only_the_tokens_hash_is_stored(conn, make_user):
    token = sessions.create(conn, make_user("ada"), NOW, hours=8)
    stored = [row[0] for row in conn.execute("SELECT token_hash FROM sessions").fetchall()]
    assert stored == [sessions.digest(token)] and token not in stored


def test_ending_one_session_leaves_the_others(conn, make_user):
    ada = make_user("ada")
    laptop, phone = (sessions.create(conn, ada, NOW, hours=8) for _ in range(2))
    sessions.end(conn, laptop, NOW)
    assert sessions.lookup(conn, laptop, NOW) is None
    assert sessions.lookup(conn, phone, NOW) == ada


def test_ending_all_sessions_ends_every_browser_and_notes_when(conn, make_user):
    ada, mei = make_user("ada"), make_user("mei")
    tokens = [sessions.create(conn, ada, NOW, hours=8) for _ in range(3)]
    other = sessions.create(conn, mei, NOW, hours=8)
    code = sessions.issue_code(conn, ada, NOW)
    later = NOW + timedelta(minutes=5)
    sessions.end_all(conn, ada, later)
    assert all(sessions.lookup(conn, t, later) is None for t in tokens)
    assert sessions.exchange_code(conn, code, later, hours=8) is None  # codes die too
    assert sessions.lookup(conn, other, later) == mei
    assert sessions.signed_out_at(conn, ada) == later
    assert sessions.signed_out_at(conn, mei) is None


def test_a_code_is_exchanged_once_within_a_minute(conn, make_user):
    ada = make_user("ada")
    code = sessions.issue_code(conn, ada, NOW)
    token = sessions.exchange_code(conn, code, NOW + timedelta(seconds=30), hours=8)
    assert sessions.lookup(conn, token, NOW + timedelta(seconds=31)) == ada
    assert sessions.exchange_code(conn, code, NOW + timedelta(seconds=32), hours=8) is None
    late = sessions.issue_code(conn, ada, NOW)
    assert sessions.exchange_code(conn, late, NOW + timedelta(seconds=61), hours=8) is None
    assert sessions.exchange_code(conn, "", NOW, hours=8) is None
    stored = [r[0] for r in conn.execute("SELECT code_hash FROM session_codes").fetchall()]
    assert code not in stored and late not in stored


def test_a_password_change_ends_every_session(conn, make_user):
    ada = make_user("ada")
    token = sessions.create(conn, ada, NOW, hours=8)
    users.change_password(conn, ada, "correct-horse-9", "lantern-pepper-orbit", NOW, FAST_ROUNDS)
    assert sessions.lookup(conn, token, NOW) is None


def test_disabling_an_account_ends_its_sessions_and_sign_in(conn, make_user):
    admin, ada = make_user("boss", roles=("admin",)), make_user("ada")
    token = sessions.create(conn, ada, NOW, hours=8)
    code = sessions.issue_code(conn, ada, NOW)
    with pytest.raises(Forbidden):
        users.set_disabled(conn, ada, "boss", True, NOW)
    with pytest.raises(Invalid, match="your own account"):
        users.set_disabled(conn, admin, "boss", True, NOW)
    users.set_disabled(conn, admin, "ada", True, NOW)
    assert users.is_disabled(conn, ada)
    assert sessions.lookup(conn, token, NOW) is None
    assert sessions.exchange_code(conn, code, NOW, hours=8) is None
    with pytest.raises(Forbidden, match="disabled"):
        signin.authenticate(conn, "ada", "correct-horse-9", client="10.0.0.1", now=NOW,
                            rounds=FAST_ROUNDS)
    users.set_disabled(conn, admin, "ada", False, NOW)
    assert signin.authenticate(conn, "ada", "correct-horse-9", client="10.0.0.1", now=NOW,
                               rounds=FAST_ROUNDS) == ada
    assert sessions.lookup(conn, token, NOW) is None  # enabling starts nothing old again


def _fail(conn, username, client, now):
    with pytest.raises(Invalid):
        signin.authenticate(conn, username, "wrong-guess-1", client=client, now=now,
                            throttle=THROTTLE, rounds=FAST_ROUNDS)


def test_failures_on_an_account_pause_it_with_growing_delays(conn, make_user):
    make_user("ada")
    clock = NOW
    for n in range(3):  # free failures
        _fail(conn, "ada", f"10.0.0.{n}", clock)
    with pytest.raises(signin.TooManyAttempts) as paused:  # the 4th starts a 30 s pause
        signin.authenticate(conn, "ada", "wrong-guess-1", client="10.0.1.1", now=clock,
                            throttle=THROTTLE, rounds=FAST_ROUNDS)
    assert paused.value.seconds == 30
    # While paused even the right password is refused, from any client, without a check.
    with pytest.raises(signin.TooManyAttempts, match="this account"):
        signin.authenticate(conn, "ADA", "correct-horse-9", client="10.9.9.9",
                            now=clock + timedelta(seconds=29), throttle=THROTTLE,
                            rounds=FAST_ROUNDS, check=_never_called)
    clock += timedelta(seconds=30)
    with pytest.raises(signin.TooManyAttempts) as longer:  # the 5th pauses for 60 s
        signin.authenticate(conn, "ada", "wrong-guess-1", client="10.0.1.2", now=clock,
                            throttle=THROTTLE, rounds=FAST_ROUNDS)
    assert longer.value.seconds == 60
    assert [signin.delay_after(n, 3, THROTTLE) for n in range(3, 11)] == [
        0, 30, 60, 120, 240, 480, 600, 600]
    clock += timedelta(seconds=60)
    user = signin.authenticate(conn, "ada", "correct-horse-9", client="10.0.1.3", now=clock,
                               throttle=THROTTLE, rounds=FAST_ROUNDS)
    assert user.username == "ada"
    # Success clears the account's count: three more free failures.
    for _ in range(3):
        _fail(conn, "ada", "10.0.2.1", clock)


def test_the_count_is_in_the_database_and_survives_a_restart(database, make_user):
    from tests.conftest import _open
    conn = _open(database)
    users.register(conn, username="ada", name="Ada", email="ada@example.com",
                   password="correct-horse-9", expertise=[("general", "en-US")], now=NOW,
                   rounds=FAST_ROUNDS)
    for _ in range(4):
        try:
            signin.authenticate(conn, "ada", "wrong-guess-1", client=None, now=NOW,
                                throttle=THROTTLE, rounds=FAST_ROUNDS)
        except (Invalid, signin.TooManyAttempts):
            pass
    conn.close()
    again = _open(database)  # a new process would open it like this
    with pytest.raises(signin.TooManyAttempts):
        signin.authenticate(again, "ada", "correct-horse-9", client=None, now=NOW,
                            throttle=THROTTLE, rounds=FAST_ROUNDS)
    again.close()


def test_one_client_guessing_many_accounts_is_paused(conn, make_user):
    make_user("ada")
    for n in range(5):
        _fail(conn, f"guess{n}", "192.0.2.7", NOW)
    with pytest.raises(signin.TooManyAttempts):
        signin.authenticate(conn, "guess9", "wrong-guess-1", client="192.0.2.7", now=NOW,
                            throttle=THROTTLE, rounds=FAST_ROUNDS)
    with pytest.raises(signin.TooManyAttempts, match="network address"):
        signin.authenticate(conn, "ada", "correct-horse-9", client="192.0.2.7", now=NOW,
                            throttle=THROTTLE, rounds=FAST_ROUNDS)
    # Another client is not paused, and a quiet day forgets the count.
    assert signin.authenticate(conn, "ada", "correct-horse-9", client="192.0.2.8", now=NOW,
                               throttle=THROTTLE, rounds=FAST_ROUNDS).username == "ada"
    _fail(conn, "guess1", "192.0.2.7", NOW + timedelta(days=2))


def _never_called(password: str, stored: str) -> bool:
    raise AssertionError("no password may be checked while sign-in is paused")


def test_an_unknown_user_costs_the_same_bcrypt_work_as_a_wrong_password(conn, make_user,
                                                                        monkeypatch):
    make_user("ada")  # its hash has cost FAST_ROUNDS, as the dummy has
    work: list[int] = []
    real = bcrypt.checkpw

    def counted(password: bytes, hashed: bytes) -> bool:
        work.append(int(hashed.split(b"$")[2]))  # the cost: 2^n rounds of key setup
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counted)
    for username in ("ada", "nobody-here", ""):
        work.clear()
        with pytest.raises(Invalid) as refused:
            signin.authenticate(conn, username, "wrong-guess-1", client=None, now=NOW,
                                rounds=FAST_ROUNDS)
        assert work == [FAST_ROUNDS], username
        assert str(refused.value) == signin.MISMATCH


@pytest.mark.parametrize("password, fragment", [
    ("short-1", "at least 8 characters"),
    ("password1", "common password"),
    ("iloveyou", "common password"),
    ("aaaaaaaaaaaa", "Repeats"),
    ("qwertyuiop", "three or four unrelated words"),
    ("ada-lovelace-1815", "username"),
    ("x" * 73, "72 bytes"),
])
def test_new_passwords_follow_nist(password, fragment):
    problem = passwords.problem(password, username="ada", name="Ada Lovelace",
                                email="ada@example.com")
    assert problem and fragment in problem


def test_long_uncommon_passwords_pass_without_composition_rules():
    for password in ("lantern pepper orbit", "correct-horse-9", "zebrafishmoonlight"):
        assert passwords.problem(password, username="ada") is None
    assert passwords.problem("adalovelace", name="Ada Lovelace") is not None  # own name


def test_the_demo_passwords_are_made_at_creation_and_in_no_committed_file(conn, tmp_path):
    import subprocess

    from core import workspace
    from server import runtime
    from tests.conftest import ROOT
    from tests.signin import demo_passwords

    made = workspace.load_demo(conn, NOW, rounds=FAST_ROUNDS)
    assert set(made) == {"admin", "rita", "ada", "luis", "mei"}
    assert len(set(made.values())) == 5 and all(passwords.problem(p) is None
                                                 for p in made.values())
    for name, password in made.items():
        assert signin.authenticate(conn, name, password, client=None, now=NOW,
                                   rounds=FAST_ROUNDS).username == name
    assert not any("password" in person for person in
                   yaml.safe_load(workspace.DEMO_FILE.read_text())["users"])
    stored = " ".join(str(row) for row in conn.execute("SELECT * FROM users").fetchall())
    assert not any(password in stored for password in made.values())

    shown = runtime.announce_demo_passwords(made, tmp_path)
    assert shown.stat().st_mode & 0o077 == 0, "the file is the owner's alone"
    assert demo_passwords(tmp_path) == made

    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        path = ROOT / name
        if path.is_file():
            content = path.read_bytes()
            assert not any(p.encode() in content for p in made.values()), name


def test_a_demo_from_before_gets_random_passwords_once(conn):
    from core import workspace

    made = workspace.load_demo(conn, NOW, rounds=FAST_ROUNDS)
    assert workspace.ensure(conn, NOW, demo=True, rounds=FAST_ROUNDS) == {}, "not again"
    # A database whose demo was loaded by an older version, with published passwords:
    users.change_password(conn, users.get_user(conn, "mei"), made["mei"], "orchard-violin-42",
                          NOW, FAST_ROUNDS)  # a changed password is hers to keep
    conn.execute("DELETE FROM settings WHERE key = 'demo_passwords'")
    again = workspace.ensure(conn, NOW, demo=True, rounds=FAST_ROUNDS)
    assert set(again) == {"admin", "rita", "ada", "luis"}
    assert not set(again.values()) & set(made.values())
    assert signin.authenticate(conn, "ada", again["ada"], client=None, now=NOW,
                               rounds=FAST_ROUNDS).username == "ada"
    with pytest.raises(Invalid):
        signin.authenticate(conn, "ada", made["ada"], client=None, now=NOW, rounds=FAST_ROUNDS)
    assert signin.authenticate(conn, "mei", "orchard-violin-42", client=None, now=NOW,
                               rounds=FAST_ROUNDS).username == "mei"
    assert workspace.ensure(conn, NOW, demo=True, rounds=FAST_ROUNDS) == {}
