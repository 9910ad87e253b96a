"""Company sign-in: accounts from OpenID Connect identities, and the directory mapping.

A person signing in through the company's identity provider brings an ID token's claims: the
issuer and subject (who they are at the provider), a verified e-mail, a name, and directory
fields (job title, department, groups) under names the operator configures. `provision` finds
or creates the Quorum account for them; `suggest` turns the directory fields into skills and
languages through rules an admin edits; groups can grant roles.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from core import users
from core.db import Connection, Cursor, reading, writing
from core.errors import Forbidden, Invalid

FIELDS = {"title": "Job title", "department": "Department", "either": "Title or department"}
MATCHES = {"contains": "contains", "exact": "is exactly"}
GROUP_ROLES = ("requester", "admin")  # every company account is an expert; these can follow groups
FALLBACK_LANGUAGE = "en-US"


@dataclass(frozen=True)
class Settings:
    """Which claims carry what, and who may sign in (from QUORUM_SSO_* and friends)."""

    title_claim: str = "job_title"
    department_claim: str = "department"
    groups_claim: str = "groups"
    email_verified_claim: str = "email_verified"
    allowed_domains: tuple[str, ...] = ()
    rounds: int = users.BCRYPT_ROUNDS


@dataclass(frozen=True)
class Identity:
    """What an ID token says about a person, read with the configured claim names."""

    issuer: str
    subject: str
    email: str
    email_verified: bool
    name: str
    username_hint: str
    job_title: str | None
    department: str | None
    groups: tuple[str, ...]
    locale: str | None
    issued_at: datetime | None


@dataclass(frozen=True)
class SignIn:
    user: users.User
    welcome: bool  # a first sign-in: the person still confirms the suggested skills


@dataclass(frozen=True)
class Rule:
    id: int
    field: str
    match_kind: str
    pattern: str
    skills: tuple[str, ...]
    languages: tuple[str, ...]

    def matches(self, job_title: str | None, department: str | None) -> bool:
        """Whether the directory text this rule looks at matches its pattern (any case)."""
        texts = {"title": [job_title], "department": [department],
                 "either": [job_title, department]}[self.field]
        wanted = self.pattern.casefold()
        for text in texts:
            text = (text or "").strip().casefold()
            if text and (text == wanted if self.match_kind == "exact" else wanted in text):
                return True
        return False

    def describe(self) -> str:
        """The rule as a sentence: Job title contains "counsel"."""
        return f'{FIELDS[self.field]} {MATCHES[self.match_kind]} "{self.pattern}"'


@dataclass(frozen=True)
class Suggestion:
    skills: tuple[str, ...]
    languages: tuple[str, ...]
    rules: tuple[Rule, ...]  # the rules that matched


class StaleSignIn(Forbidden):
    """The identity was issued before the account last signed out; a fresh sign-in is needed."""


# ---- identities and accounts --------------------------------------------------------------

def read_claims(claims: Mapping[str, object], settings: Settings) -> Identity:
    """The identity the claims describe; Invalid when they lack an issuer or a subject."""
    issuer, subject = _text(claims.get("iss")), _text(claims.get("sub"))
    if not issuer or not subject:
        raise Invalid("The company sign-in did not say who you are (no issuer or subject in "
                      "its ID token). Ask your administrator to check the provider's settings.")
    email = (_text(claims.get("email")) or "").lower()
    name = (_text(claims.get("name"))
            or " ".join(p for p in (_text(claims.get("given_name")),
                                    _text(claims.get("family_name"))) if p)
            or email.split("@")[0])
    hint = _text(claims.get("preferred_username")) or email
    groups = claims.get(settings.groups_claim) or ()
    if isinstance(groups, str):
        groups = [g for g in re.split(r"[,;]", groups)]
    iat = claims.get("iat")
    return Identity(
        issuer=issuer, subject=subject, email=email,
        email_verified=_truthy(claims.get(settings.email_verified_claim)),
        name=name.strip(), username_hint=hint.split("@")[0],
        job_title=_text(claims.get(settings.title_claim)),
        department=_text(claims.get(settings.department_claim)),
        groups=tuple(sorted({g.strip() for g in groups if isinstance(g, str) and g.strip()})),
        locale=_text(claims.get("locale")),
        issued_at=(datetime.fromtimestamp(iat, UTC).replace(tzinfo=None)
                   if isinstance(iat, int | float) and not isinstance(iat, bool) else None))


def provision(conn: Connection, claims: Mapping[str, object], now: datetime, settings: Settings,
              rng: random.Random) -> SignIn:
    """The account for these ID-token claims, created as an expert on a first sign-in.

    Found by (issuer, subject); else, the first time, by a verified e-mail within the allowed
    domains (an existing account with that e-mail is linked); else created, named from the
    claims. Each sign-in records the directory fields and lets groups set the roles they map.
    """
    who = read_claims(claims, settings)
    # Hashed outside the transaction: nobody knows this password, so only the provider signs in.
    unusable = users.hash_password(f"{rng.getrandbits(256):064x}", settings.rounds)

    def work(cur: Cursor) -> tuple[int, bool]:
        found = cur.execute("SELECT user_id, welcomed_at FROM sso_identities "
                            "WHERE issuer = ? AND subject = ?",
                            [who.issuer, who.subject]).fetchone()
        if found:
            user_id, welcome = found[0], found[1] is None
            _refuse_stale(cur, user_id, who)
            cur.execute("UPDATE sso_identities SET email = ?, job_title = ?, department = ?, "
                        "directory_groups = ?::VARCHAR[], locale = ?, last_sign_in_at = ? "
                        "WHERE issuer = ? AND subject = ?",
                        [who.email or "", who.job_title, who.department, list(who.groups),
                         who.locale, now, who.issuer, who.subject])
        else:
            _check_first_sign_in(who, settings)
            user_id, welcome = _link_or_create(cur, who, unusable, now)
            cur.execute("INSERT INTO sso_identities VALUES (?, ?, ?, ?, ?, ?, ?::VARCHAR[], ?, "
                        "?, ?, ?)",
                        [who.issuer, who.subject, user_id, who.email, who.job_title,
                         who.department, list(who.groups), who.locale, now, now,
                         None if welcome else now])
        _sync_roles(cur, user_id, who.groups, now)
        return user_id, welcome

    user_id, welcome = writing(conn, work)
    return SignIn(_user_by_id(conn, user_id), welcome)


def _check_first_sign_in(who: Identity, settings: Settings) -> None:
    if not who.email:
        raise Invalid("Your company sign-in did not include an e-mail address, which Quorum needs "
                      "the first time. Ask your administrator to release the email claim.")
    if not who.email_verified:
        raise Invalid(f"Your company sign-in says the e-mail address {who.email} is not verified,"
                      " so Quorum cannot create an account from it. Verify it with your company "
                      "account, or ask your administrator.")
    domains = [d.strip().lower().lstrip("@") for d in settings.allowed_domains if d.strip()]
    if domains and who.email.rsplit("@", 1)[-1] not in domains:
        raise Invalid(f"Quorum accepts company sign-in for addresses at {', '.join(domains)} "
                      f"only; {who.email} is not one of them. Sign in with your work account.")


def _link_or_create(cur: Cursor, who: Identity, password_hash: str,
                    now: datetime) -> tuple[int, bool]:
    existing = cur.execute("SELECT id FROM users WHERE email = ?", [who.email]).fetchone()
    if existing:
        # Only an expert without skills has anything to confirm.
        pending = cur.execute(
            "SELECT 1 FROM user_roles r WHERE r.user_id = ? AND r.role = 'expert' AND NOT EXISTS "
            "(SELECT 1 FROM expertise e WHERE e.user_id = r.user_id)", [existing[0]]).fetchone()
        return existing[0], pending is not None
    first = cur.execute("SELECT count(*) FROM users").fetchone()[0] == 0
    user_id = cur.execute(
        "INSERT INTO users (username, name, email, password_hash, created_at, password_unknown) "
        "VALUES (?, ?, ?, ?, ?, true) RETURNING id",
        [_free_username(cur, who), who.name or who.email, who.email, password_hash,
         now]).fetchone()[0]
    # As with sign-up, the first account of an empty workspace runs it.
    for role in users.ROLES if first else users.DEFAULT_ROLES:
        cur.execute("INSERT INTO user_roles VALUES (?, ?, ?)", [user_id, role, now])
    return user_id, True


def _free_username(cur: Cursor, who: Identity) -> str:
    base = re.sub(r"[^a-z0-9_.-]+", ".", who.username_hint.lower()).strip(".-_")
    base = re.sub(r"^[^a-z]+", "", base)[:28] or "user"
    if len(base) < 3:
        base = f"{base}user"
    for n in range(1, 10_000):
        candidate = base if n == 1 else f"{base}{n}"
        if not cur.execute("SELECT 1 FROM users WHERE username = ?", [candidate]).fetchone():
            return candidate
    raise Invalid("Could not find a free username for this account; ask an administrator.")


def _refuse_stale(cur: Cursor, user_id: int, who: Identity) -> None:
    # Refused: a disabled account; an identity issued before the person's sessions were last
    # ended (`signed_out_at`: log out, password change, disabling) or before a company log out
    # (`sso_valid_after`). ID tokens count whole seconds, so the cut-off is truncated to one.
    never = "TIMESTAMP '1970-01-01'"
    after = cur.execute(
        f"SELECT greatest(coalesce(sso_valid_after, {never}), coalesce(signed_out_at, {never})),"
        " disabled_at IS NOT NULL FROM users WHERE id = ?", [user_id]).fetchone()
    if after[1]:
        raise Invalid("Your Quorum account is disabled, so company sign-in cannot open it. "
                      "Ask an administrator to enable it again.")
    cutoff = after[0].replace(microsecond=0)
    if cutoff > datetime(1970, 1, 1) and (who.issued_at is None or who.issued_at < cutoff):
        raise StaleSignIn("You logged out of Quorum after this company sign-in was made; "
                          "sign in again to continue.")


def _sync_roles(cur: Cursor, user_id: int, groups: Iterable[str], now: datetime) -> None:
    mapped = cur.execute("SELECT group_name, role FROM directory_group_roles").fetchall()
    managed = {role for _, role in mapped}
    folded = {g.casefold() for g in groups}
    granted = {role for group, role in mapped if group.casefold() in folded}
    for role in sorted(managed):
        if role in granted:
            cur.execute("INSERT INTO user_roles VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                        [user_id, role, now])
            continue
        if role == "admin" and cur.execute(
                "SELECT count(*) FROM user_roles WHERE role = 'admin' AND user_id <> ?",
                [user_id]).fetchone()[0] == 0:
            continue  # never leave the workspace without an administrator
        cur.execute("DELETE FROM user_roles WHERE user_id = ? AND role = ?", [user_id, role])


def _user_by_id(conn: Connection, user_id: int) -> users.User:
    with reading(conn) as cur:
        username = cur.execute("SELECT username FROM users WHERE id = ?", [user_id]).fetchone()[0]
    return users.get_user(conn, username)


def end_sign_in(conn: Connection, user: users.User, now: datetime) -> None:
    """Refuse, from now on, company sign-ins issued before now (called at log out)."""
    cutoff = now.replace(microsecond=0)  # ID tokens count whole seconds
    writing(conn, lambda cur: cur.execute("UPDATE users SET sso_valid_after = ? WHERE id = ?",
                                          [cutoff, user.id]))


@dataclass(frozen=True)
class Directory:
    """What the directory said about an account at its last company sign-in."""

    email: str
    job_title: str | None
    department: str | None
    groups: tuple[str, ...]
    locale: str | None
    welcomed: bool


def directory_entry(conn: Connection, user: users.User) -> Directory | None:
    """The account's latest company identity, or None for an account without one."""
    with reading(conn) as cur:
        row = cur.execute(
            "SELECT email, job_title, department, directory_groups, locale, welcomed_at "
            "FROM sso_identities WHERE user_id = ? ORDER BY last_sign_in_at DESC LIMIT 1",
            [user.id]).fetchone()
    if row is None:
        return None
    return Directory(row[0], row[1], row[2], tuple(row[3] or ()), row[4], row[5] is not None)


def needs_welcome(conn: Connection, user: users.User) -> bool:
    """Whether the account came from a company sign-in and has not confirmed its skills yet."""
    entry = directory_entry(conn, user)
    return entry is not None and not entry.welcomed


def welcome(conn: Connection, user: users.User, skills: Iterable[str], languages: Iterable[str],
            now: datetime) -> None:
    """Set the expert's skills × languages (at least one of each) and end the first-sign-in step."""
    skills, languages = sorted(set(skills)), sorted(set(languages))
    problems = {}
    if not skills:
        problems["skills"] = "Choose at least one skill."
    if not languages:
        problems["languages"] = "Choose at least one language."
    pairs = [(s, lang) for s in skills for lang in languages]
    problem = users.expertise_problem(conn, pairs)
    if problem:
        problems["skills"] = problem
    if problems:
        raise Invalid("Please fix the highlighted fields.", problems)

    def work(cur: Cursor) -> None:
        cur.execute("DELETE FROM expertise WHERE user_id = ?", [user.id])
        for skill, language in pairs:
            cur.execute("INSERT INTO expertise VALUES (?, ?, ?, ?)",
                        [user.id, skill, language, now])
        cur.execute("UPDATE sso_identities SET welcomed_at = ? WHERE user_id = ? "
                    "AND welcomed_at IS NULL", [now, user.id])

    writing(conn, work)


# ---- the mapping --------------------------------------------------------------------------

def rules(conn: Connection) -> list[Rule]:
    """Every directory rule, oldest first."""
    with reading(conn) as cur:
        rows = cur.execute("SELECT id, field, match_kind, pattern, skills, languages "
                           "FROM directory_rules ORDER BY id").fetchall()
    return [Rule(i, f, m, p, _codes(s), _codes(lang)) for i, f, m, p, s, lang in rows]


def suggest(conn: Connection, job_title: str | None, department: str | None,
            locale: str | None = None) -> Suggestion:
    """The skills and languages the rules give this title and department.

    Languages come from the matching rules; without any, from the locale claim when it names
    a catalog language, else English (United States).
    """
    matched = tuple(r for r in rules(conn) if r.matches(job_title, department))
    skills = tuple(dict.fromkeys(s for r in matched for s in r.skills))
    languages = tuple(dict.fromkeys(lang for r in matched for lang in r.languages))
    if not languages:
        with reading(conn) as cur:
            tags = [r[0] for r in cur.execute("SELECT tag FROM languages").fetchall()]
        by_case = {t.casefold(): t for t in tags}
        fallback = by_case.get((locale or "").replace("_", "-").casefold())
        languages = (fallback,) if fallback else (
            (FALLBACK_LANGUAGE,) if FALLBACK_LANGUAGE in tags else ())
    return Suggestion(skills, languages, matched)


def add_rule(conn: Connection, actor: users.User, *, field: str, match_kind: str, pattern: str,
             skills: Iterable[str], languages: Iterable[str], now: datetime) -> Rule:
    """Add a mapping rule (admins only): directory text → skills and languages."""
    users.require_role(actor, "admin")
    pattern, skills, languages = pattern.strip(), sorted(set(skills)), sorted(set(languages))
    problems = {}
    if field not in FIELDS:
        problems["field"] = f"Choose one of: {', '.join(FIELDS)}."
    if match_kind not in MATCHES:
        problems["match_kind"] = f"Choose one of: {', '.join(MATCHES)}."
    if not pattern:
        problems["pattern"] = "Type the text to look for, such as Software Engineer or Legal."
    elif len(pattern) > 200:
        problems["pattern"] = "Keep the text under 200 characters."
    if not skills and not languages:
        problems["skills"] = "Choose at least one skill or language for this rule to suggest."
    with reading(conn) as cur:
        known_skills = {r[0] for r in cur.execute("SELECT code FROM skills").fetchall()}
        known_languages = {r[0] for r in cur.execute("SELECT tag FROM languages").fetchall()}
    if set(skills) - known_skills:
        problems["skills"] = f"Unknown skill(s): {', '.join(sorted(set(skills) - known_skills))}."
    if set(languages) - known_languages:
        problems["languages"] = ("Unknown language(s): "
                                 f"{', '.join(sorted(set(languages) - known_languages))}.")
    if problems:
        raise Invalid("Please fix the highlighted fields.", problems)
    rule_id = writing(conn, lambda cur: cur.execute(
        "INSERT INTO directory_rules (field, match_kind, pattern, skills, languages, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        [field, match_kind, pattern, ",".join(skills), ",".join(languages), now]).fetchone()[0])
    return Rule(rule_id, field, match_kind, pattern, tuple(skills), tuple(languages))


def remove_rule(conn: Connection, actor: users.User, rule_id: int) -> None:
    """Delete a mapping rule (admins only); people already signed in keep their skills."""
    users.require_role(actor, "admin")
    writing(conn, lambda cur: cur.execute("DELETE FROM directory_rules WHERE id = ?", [rule_id]))


def group_roles(conn: Connection) -> list[tuple[str, str]]:
    """Every (directory group, role) pair, by group."""
    with reading(conn) as cur:
        return [tuple(r) for r in cur.execute(
            "SELECT group_name, role FROM directory_group_roles ORDER BY group_name, role"
        ).fetchall()]


def add_group_role(conn: Connection, actor: users.User, group: str, role: str,
                   now: datetime) -> None:
    """Let members of a directory group hold a role (admins only), from their next sign-in."""
    users.require_role(actor, "admin")
    group = group.strip()
    problems = {}
    if not group:
        problems["group"] = "Type the group as the groups claim spells it (a name or an id)."
    if role not in GROUP_ROLES:
        problems["role"] = f"Choose {' or '.join(GROUP_ROLES)}."
    if problems:
        raise Invalid("Please fix the highlighted fields.", problems)
    writing(conn, lambda cur: cur.execute(
        "INSERT INTO directory_group_roles VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        [group, role, now]))


def remove_group_role(conn: Connection, actor: users.User, group: str, role: str) -> None:
    """Stop a group granting a role (admins only); a role no group maps is left to admins."""
    users.require_role(actor, "admin")
    writing(conn, lambda cur: cur.execute(
        "DELETE FROM directory_group_roles WHERE group_name = ? AND role = ?", [group, role]))


def _codes(text: str) -> tuple[str, ...]:
    return tuple(c for c in text.split(",") if c)


def _text(value: object) -> str | None:
    if isinstance(value, list | tuple):
        value = next((v for v in value if isinstance(v, str) and v.strip()), None)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _truthy(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")
