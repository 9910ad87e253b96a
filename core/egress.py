"""The operator's egress policy: which hosts the server may call for users, which secrets it sends.

A user-supplied URL that the server calls (a model's base URL, later a webhook) is a way to make
the server reach places the user cannot, and an environment variable named by a user is a way
to make it send one of its secrets there. The operator decides both, through settings the UI
layer reads and passes in as an `EgressPolicy`; core reads no environment.

- Hosts: an allow-list of `host`, `host:port`, `*.example.com` (any subdomain) or `*` (any
  host). Without one (`hosts` is None) only administrators choose destinations; what they chose
  may be called on anyone's behalf.
- Secrets: the environment variable names that may be sent, or prefixes written `NAME_*`.
  None by default: only servers that need no key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from core.errors import Forbidden, Invalid
from core.users import User

_SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}\*?$")
_HOST = re.compile(r"^(\*|(\*\.)?[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?|[0-9a-f:.]*:[0-9a-f:.]*)$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class EgressPolicy:
    """Where requests made for users may go, and which environment variables they may carry."""
    hosts: tuple[str, ...] | None = None      # None: only administrators set destinations
    secret_names: tuple[str, ...] = ()         # exact names, or prefixes ending in '*'
    hosts_setting: str = "QUORUM_MODEL_HOSTS"  # named in messages: what the operator changes
    secrets_setting: str = "QUORUM_MODEL_KEY_VARS"


CLOSED = EgressPolicy()  # the default: administrators choose hosts, no secret is ever sent


def parse_policy(hosts: str | None, secret_names: str | None, *,
                 hosts_setting: str = "QUORUM_MODEL_HOSTS",
                 secrets_setting: str = "QUORUM_MODEL_KEY_VARS") -> EgressPolicy:
    """A policy from the settings' comma-separated text; Invalid names a bad entry."""
    names = _entries(secret_names)
    for name in names:
        if name == "*" or not _SECRET_NAME.match(name):
            raise Invalid(f"{secrets_setting} holds “{name}”: list environment variable names "
                          "such as OPENAI_API_KEY, or a prefix such as QUORUM_MODEL_KEY_* "
                          "(a bare * would let any variable of the server be sent).")
    allowed = None if hosts is None or not hosts.strip() else tuple(
        _checked_pattern(p, hosts_setting) for p in _entries(hosts))
    return EgressPolicy(allowed, names, hosts_setting, secrets_setting)


def _entries(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def _checked_pattern(pattern: str, setting: str) -> str:
    try:
        _split_host(pattern.lower())
    except ValueError:
        raise Invalid(f"{setting} holds “{pattern}”: list hosts such as models.example.com, "
                      "localhost:8000 or *.example.com, separated by commas.") from None
    return pattern.lower()


def _split_host(pattern: str) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]:port`, `*.domain` as (host, port); ValueError otherwise."""
    parts = urlsplit("//" + pattern)
    host = (parts.hostname or "").rstrip(".")
    if parts.path or parts.query or parts.fragment or "@" in parts.netloc \
            or not _HOST.match(host):
        raise ValueError(pattern)
    return host, parts.port


def allows_secret(policy: EgressPolicy, name: str) -> bool:
    """Whether the environment variable `name` may be read and sent under the policy."""
    return bool(name) and any(name == allowed or (allowed.endswith("*")
                                                   and name.startswith(allowed[:-1]))
                              for allowed in policy.secret_names)


def check_secret_name(policy: EgressPolicy, name: str) -> None:
    """Refuse (Invalid) an environment variable the policy does not let the server send."""
    if allows_secret(policy, name):
        return
    if not policy.secret_names:
        raise Invalid(f"This Quorum server sends no API keys: {policy.secrets_setting} names "
                      "none. Leave the variable empty for a server without keys, or ask the "
                      f"operator to add {name} to {policy.secrets_setting}.")
    raise Invalid(f"{name} is not a variable this server may send; use one of "
                  f"{', '.join(policy.secret_names)}, or ask the operator to add it to "
                  f"{policy.secrets_setting}.")


def check_url(policy: EgressPolicy, actor: User | None, url: str) -> str:
    """The URL, if `actor` may make the server call it; Invalid or Forbidden with the reason.

    `actor` None asks whether the server may call a destination chosen earlier (by an
    administrator, when there is no allow-list).
    """
    if policy.hosts is None and actor is not None and not actor.has("admin"):
        raise Forbidden("On this server only an administrator sets where requests go "
                        f"({policy.hosts_setting} is not set). Ask an administrator to enter "
                        "the address, or the operator to allow its host.")
    parts = _parts(url)
    if policy.hosts is not None and not _host_allowed(policy.hosts, parts):
        raise Invalid(f"{_host_of(parts)} is not a host this server may call; allowed: "
                      f"{', '.join(policy.hosts)}. Ask the operator to add it to "
                      f"{policy.hosts_setting}.")
    return url


def allows_url(policy: EgressPolicy, url: str) -> bool:
    """Whether the server may call `url`, a destination chosen earlier, under the policy."""
    try:
        check_url(policy, None, url)
    except Invalid:
        return False
    return True


def _parts(url: str) -> SplitResult:
    problem = Invalid("Give an address starting with http:// or https://, such as "
                      "https://models.example.com/v1.")
    # What urllib and httpx might read differently (spaces, backslashes, IDNA) is refused.
    if not url.isascii() or any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in url):
        raise problem
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        raise problem from None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise problem
    if "@" in parts.netloc:  # credentials belong in a key variable, and hide the real host
        raise Invalid("Leave the user name and password out of the address; put a key in an "
                      "environment variable instead.")
    return parts


def _host_of(parts: SplitResult) -> str:
    host = parts.hostname.rstrip(".")
    return f"[{host}]" if ":" in host else host


def _host_allowed(patterns: tuple[str, ...], parts: SplitResult) -> bool:
    host = parts.hostname.rstrip(".")
    port = parts.port or _DEFAULT_PORTS[parts.scheme]
    for name, wanted in map(_split_host, patterns):
        if wanted is not None and wanted != port:
            continue
        if name in ("*", host) or (name.startswith("*.") and host.endswith(name[1:])):
            return True
    return False
