"""Accounts, roles and declared expertise."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import bcrypt
import pandas as pd

from core import passwords, sessions
from core.db import Connection, Cursor, reading, writing
from core.errors import Forbidden, Invalid, NotFound

ROLES = ("expert", "requester", "admin")
DEFAULT_ROLES = ("expert",)
BCRYPT_ROUNDS = 12
_USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{2,31}$")
_EMAIL = re.compile(r"^[^@\s]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}$")


@dataclass(frozen=True)
class User:
    id: int
    username: str
    name: str
    email: str
    roles: tuple[str, ...]
    created_at: datetime

    def has(self, role: str) -> bool:
        """Whether the user holds `role`."""
        return role in self.roles


def require_role(user: User, *roles: str) -> None:
    """Raise Forbidden unless the user holds one of `roles`."""
    if not any(user.has(role) for role in roles):
        wanted = " or ".join(roles)
        raise Forbidden(f"This needs the {wanted} role, which your account does not have. "
                        "Ask an administrator if you need it.")


def hash_password(password: str, rounds: int = BCRYPT_ROUNDS) -> str:
    """A bcrypt hash of the password."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def password_matches(password: str, password_hash: str) -> bool:
    """Whether the password matches the stored bcrypt hash."""
    try:
        return bcrypt.checkpw(password.encode(), password_hash.encode())
    except ValueError:
        return False  # passwords over bcrypt's 72 bytes can never have been set


def password_problem(password: str, username: str = "", name: str = "",
                     email: str = "") -> str | None:
    """Why a new password is not acceptable (core/passwords.py), or None."""
    return passwords.problem(password, username=username, name=name, email=email)


def register(conn: Connection, *, username: str, name: str, email: str,
             password: str, expertise: Iterable[tuple[str, str]], now: datetime,
             allowed_domains: Iterable[str] = (), rounds: int = BCRYPT_ROUNDS,
             confirm: str | None = None) -> User:
    """Create an expert account with its declared expertise; the first account is also admin.

    `confirm`, when given, is the password typed a second time and must match.
    """
    username, name, email = username.strip().lower(), name.strip(), email.strip().lower()
    pairs = sorted(set(expertise))
    problems = _signup_problems(conn, username, name, email, password, pairs, allowed_domains)
    if confirm is not None and confirm != password:
        problems["confirm"] = "The two passwords differ; type the same one twice."
    if problems:
        raise Invalid("Please fix the highlighted fields.", problems)
    password_hash = hash_password(password, rounds)

    def work(cur: Cursor) -> int:
        # Checked again inside the transaction: the form's check may be stale.
        taken = _taken(cur, username, email)
        if taken:
            raise Invalid("Please fix the highlighted fields.", taken)
        first = cur.execute("SELECT count(*) FROM users").fetchone()[0] == 0
        user_id = cur.execute(
            "INSERT INTO users (username, name, email, password_hash, created_at) "
            "VALUES (?, ?, ?, ?, ?) RETURNING id",
            [username, name, email, password_hash, now]).fetchone()[0]
        for role in ROLES if first else DEFAULT_ROLES:
            cur.execute("INSERT INTO user_roles VALUES (?, ?, ?)", [user_id, role, now])
        for skill, language in pairs:
            cur.execute("INSERT INTO expertise VALUES (?, ?, ?, ?)",
                        [user_id, skill, language, now])
        return user_id

    writing(conn, work)
    return get_user(conn, username)


def _signup_problems(conn, username, name, email, password, pairs, allowed_domains):
    problems: dict[str, str] = {}
    if not _USERNAME.match(username):
        problems["username"] = ("Use 3–32 characters: lowercase letters, digits, '.', '_' or '-',"
                                " starting with a letter.")
    if not name:
        problems["name"] = "Enter your name."
    if not _EMAIL.match(email):
        problems["email"] = "Enter an e-mail address such as name@example.com."
    else:
        domains = [d.strip().lower().lstrip("@") for d in allowed_domains if d.strip()]
        if domains and email.rsplit("@", 1)[1] not in domains:
            problems["email"] = f"Sign-up is limited to addresses at {', '.join(domains)}."
    bad_password = password_problem(password, username, name, email)
    if bad_password:
        problems["password"] = bad_password
    problem = expertise_problem(conn, pairs)
    if not pairs:
        problems["expertise"] = "Choose at least one skill and one language."
    elif problem:
        problems["expertise"] = problem
    with reading(conn) as cur:
        for field, message in _taken(cur, username, email).items():
            problems.setdefault(field, message)
    return problems


def _taken(cur: Cursor, username: str, email: str) -> dict[str, str]:
    taken = {}
    if cur.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone():
        taken["username"] = f"The username {username!r} is taken; choose another."
    if cur.execute("SELECT 1 FROM users WHERE email = ?", [email]).fetchone():
        taken["email"] = "An account with this e-mail already exists; log in instead."
    return taken


def expertise_problem(conn: Connection,
                      pairs: Iterable[tuple[str, str]]) -> str | None:
    """Why some (skill, language) pairs are not in the catalog, or None."""
    with reading(conn) as cur:
        skills = {r[0] for r in cur.execute("SELECT code FROM skills").fetchall()}
        languages = {r[0] for r in cur.execute("SELECT tag FROM languages").fetchall()}
    for skill, language in pairs:
        if skill not in skills:
            return f"Unknown skill {skill!r}; pick one from the list."
        if language not in languages:
            return f"Unknown language {language!r}; pick one from the list."
    return None


def user_from_row(row) -> User:
    """A User from (id, username, name, email, created_at, roles) as the look-ups select it."""
    uid, uname, name, email, created, roles = row
    return User(uid, uname, name, email, tuple(roles or ()), created)


def get_user(conn: Connection, username: str) -> User:
    """The user with this username; NotFound if there is none."""
    with reading(conn) as cur:
        row = cur.execute(
            "SELECT u.id, u.username, u.name, u.email, u.created_at, "
            " array_agg(r.role ORDER BY r.role) FILTER (WHERE r.role IS NOT NULL) "
            "FROM users u LEFT JOIN user_roles r ON r.user_id = u.id "
            "WHERE u.username = ? GROUP BY u.id, u.username, u.name, u.email, u.created_at",
            [username.lower()]).fetchone()
    if row is None:
        raise NotFound(f"There is no account named {username!r}.")
    return user_from_row(row)


def sign_in_record(conn: Connection, username: str) -> tuple[User, str, bool] | None:
    """(user, password hash, disabled) for a username typed at sign-in, or None."""
    with reading(conn) as cur:
        row = cur.execute(
            "SELECT u.id, u.username, u.name, u.email, u.created_at, "
            " array_agg(r.role ORDER BY r.role) FILTER (WHERE r.role IS NOT NULL), "
            " u.password_hash, u.disabled_at IS NOT NULL "
            "FROM users u LEFT JOIN user_roles r ON r.user_id = u.id WHERE u.username = ? "
            "GROUP BY u.id, u.username, u.name, u.email, u.created_at, u.password_hash, "
            "u.disabled_at", [username.strip().lower()]).fetchone()
    return None if row is None else (user_from_row(row[:6]), row[6], bool(row[7]))


def change_password(conn: Connection, user: User, current: str, new: str, now: datetime,
                    rounds: int = BCRYPT_ROUNDS) -> None:
    """Replace the user's password after checking the current one; ends all their sessions."""
    with reading(conn) as cur:
        stored = cur.execute("SELECT password_hash, coalesce(password_unknown, false) "
                             "FROM users WHERE id = ?", [user.id]).fetchone()
    if stored is None:
        raise NotFound("Your account no longer exists.")
    if stored[1]:
        raise Invalid(NO_PASSWORD)
    if not password_matches(current, stored[0]):
        raise Invalid("Please fix the highlighted fields.",
                      {"current": "This is not your current password."})
    problem = password_problem(new, user.username, user.name, user.email)
    if problem:
        raise Invalid("Please fix the highlighted fields.", {"new": problem})
    new_hash = hash_password(new, rounds)

    def work(cur: Cursor) -> None:
        cur.execute("UPDATE users SET password_hash = ?, is_demo = false WHERE id = ?",
                    [new_hash, user.id])
        sessions.end_all_in(cur, user.id, now)  # a stolen cookie dies with the old password

    writing(conn, work)


NO_PASSWORD = ("You sign in with your company account, so Quorum keeps no password of yours to "
               "change; change it with your company account.")


def password_known(conn: Connection, user: User) -> bool:
    """Whether the account has a password its owner knows (not one company sign-in created)."""
    with reading(conn) as cur:
        row = cur.execute("SELECT coalesce(password_unknown, false) FROM users WHERE id = ?",
                          [user.id]).fetchone()
    return row is not None and not row[0]


def set_password(conn: Connection, username: str, password: str, now: datetime,
                 rounds: int = BCRYPT_ROUNDS) -> None:
    """Give an account a new password without the old one (operators and tests, not pages)."""
    target = get_user(conn, username)
    problem = password_problem(password, target.username, target.name, target.email)
    if problem:
        raise Invalid(problem)
    new_hash = hash_password(password, rounds)

    def work(cur: Cursor) -> None:
        cur.execute("UPDATE users SET password_hash = ?, password_unknown = false WHERE id = ?",
                    [new_hash, target.id])
        cur.execute("DELETE FROM sign_in_failures WHERE scope = 'account' AND subject = ?",
                    [target.username])  # the owner may sign in with it at once
        sessions.end_all_in(cur, target.id, now)

    writing(conn, work)


def set_disabled(conn: Connection, actor: User, username: str, disabled: bool,
                 now: datetime) -> User:
    """Disable an account, ending its sessions at once, or enable it again (admins only)."""
    require_role(actor, "admin")
    target = get_user(conn, username)
    if disabled and target.id == actor.id:
        raise Invalid("You cannot disable your own account; ask another administrator.")

    def work(cur: Cursor) -> None:
        cur.execute("UPDATE users SET disabled_at = ? WHERE id = ?",
                    [now if disabled else None, target.id])
        if disabled:
            sessions.end_all_in(cur, target.id, now)

    writing(conn, work)
    return target


def is_disabled(conn: Connection, user: User) -> bool:
    """Whether an admin disabled the account."""
    with reading(conn) as cur:
        row = cur.execute("SELECT disabled_at FROM users WHERE id = ?", [user.id]).fetchone()
    return row is not None and row[0] is not None


def expertise(conn: Connection, user_id: int) -> pd.DataFrame:
    """The user's declared (skill, language) pairs with display names."""
    with reading(conn) as cur:
        return cur.execute(
            "SELECT e.skill, s.name AS skill_name, e.language, l.name AS language_name, "
            "e.added_at FROM expertise e JOIN skills s ON s.code = e.skill "
            "JOIN languages l ON l.tag = e.language WHERE e.user_id = ? "
            "ORDER BY s.name, l.name", [user_id]).df()


def add_expertise(conn: Connection, user: User, skill: str, language: str,
                  now: datetime) -> None:
    """Declare a (skill, language) pair; adding one already held changes nothing."""
    problem = expertise_problem(conn, [(skill, language)])
    if problem:
        raise Invalid(problem, {"expertise": problem})
    writing(conn, lambda cur: cur.execute(
        "INSERT INTO expertise VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [user.id, skill, language, now]))


def remove_expertise(conn: Connection, user: User, skill: str,
                     language: str) -> None:
    """Withdraw a declared (skill, language) pair."""
    writing(conn, lambda cur: cur.execute(
        "DELETE FROM expertise WHERE user_id = ? AND skill = ? AND language = ?",
        [user.id, skill, language]))


def list_users(conn: Connection, actor: User) -> pd.DataFrame:
    """Every account with its roles and expertise (admins only)."""
    require_role(actor, "admin")
    with reading(conn) as cur:
        return cur.execute(
            "SELECT u.id, u.username, u.name, u.email, u.created_at, "
            " u.disabled_at IS NOT NULL AS disabled,"
            " (SELECT array_agg(role ORDER BY role) FROM user_roles r"
            "   WHERE r.user_id = u.id) AS roles,"
            " (SELECT array_agg(skill || ' · ' || language ORDER BY skill, language)"
            "   FROM expertise e WHERE e.user_id = u.id) AS expertise "
            "FROM users u ORDER BY u.created_at DESC, u.id DESC").df()


def set_roles(conn: Connection, actor: User, username: str,
              roles: Iterable[str], now: datetime) -> User:
    """Replace a user's roles (admins only); an admin cannot remove their own admin role."""
    require_role(actor, "admin")
    roles = sorted(set(roles))
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise Invalid(f"Unknown role(s): {', '.join(unknown)}.")
    if not roles:
        raise Invalid("Keep at least one role; an account without roles cannot use Quorum.")
    target = get_user(conn, username)
    if target.id == actor.id and "admin" not in roles:
        raise Invalid("You cannot remove your own admin role; ask another administrator.")

    def work(cur: Cursor) -> None:
        cur.execute("DELETE FROM user_roles WHERE user_id = ? AND role NOT IN "
                    "(SELECT unnest(?::VARCHAR[]))", [target.id, roles])
        for role in roles:
            cur.execute("INSERT INTO user_roles VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                        [target.id, role, now])

    writing(conn, work)
    return get_user(conn, username)


def opted_out(conn: Connection, user: User) -> bool:
    """Whether the user appears anonymously on leaderboards."""
    with reading(conn) as cur:
        return bool(cur.execute("SELECT leaderboard_opt_out FROM users WHERE id = ?",
                                [user.id]).fetchone()[0])


def set_leaderboard_opt_out(conn: Connection, user: User, hidden: bool) -> None:
    """Choose whether others see the user's name on leaderboards."""
    writing(conn, lambda cur: cur.execute(
        "UPDATE users SET leaderboard_opt_out = ? WHERE id = ?", [hidden, user.id]))
