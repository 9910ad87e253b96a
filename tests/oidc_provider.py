"""A real OpenID Connect provider on 127.0.0.1 for tests (oidc-provider-mock, Authlib inside).

It serves discovery, authorization, token, userinfo, JWKS and end-session endpoints; its
authorization page has a button per predefined user, and each user's claims (job title,
department, groups, a verified e-mail) go into the signed ID token as a directory would put
them. `secrets_toml` writes the `[auth]` section a Quorum server needs to sign in through it.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import werkzeug.serving
from oidc_provider_mock import User, app

COMPANY = "Acme"
DOMAIN = "acme.test"
USERS = (
    User(sub="grace", claims={
        "email": f"grace.hopper@{DOMAIN}", "email_verified": True, "name": "Grace Hopper",
        "given_name": "Grace", "family_name": "Hopper", "preferred_username": "grace.hopper",
        "job_title": "Associate General Counsel", "department": "Legal", "groups": ["Everyone"]}),
    User(sub="rosa", claims={
        "email": f"rosa.franklin@{DOMAIN}", "email_verified": True, "name": "Rosa Franklin",
        "job_title": "Data Scientist", "department": "Research",
        "groups": ["Everyone", "Data Science"]}),
    User(sub="mallory", claims={
        "email": f"mallory@{DOMAIN}", "email_verified": False, "name": "Mallory Unverified",
        "job_title": "Software Engineer", "department": "Platform"}),
)


@dataclass(frozen=True)
class Provider:
    url: str  # the issuer

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"


@contextmanager
def running(users: tuple[User, ...] = USERS) -> Iterator[Provider]:
    """The provider on a free port of 127.0.0.1, for as long as the block runs."""
    server = werkzeug.serving.make_server(
        "127.0.0.1", 0, app(user_claims=users, require_nonce=True), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name="oidc-provider", daemon=True)
    thread.start()
    try:
        yield Provider(f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def secrets_toml(provider: Provider, path: Path) -> Path:
    """Write a secrets.toml whose [auth] signs in through `provider` ({port}: the app's own)."""
    path.write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_urlsafe(32)}"\n'
        'client_id = "quorum-tests"\n'
        f'client_secret = "{secrets.token_urlsafe(16)}"\n'
        f'server_metadata_url = "{provider.metadata_url}"\n'
        f'label = "{COMPANY}"\n')
    path.chmod(0o600)
    return path
