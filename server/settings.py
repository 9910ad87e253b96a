"""The app's settings, read once from the environment (core takes them as arguments)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from core import directory, egress, webhooks
from core.import_files import ImportLimits
from core.signin import Throttle

ROOT = Path(__file__).resolve().parent.parent
AUTH_MODES = ("password", "sso", "both")


class SettingsError(ValueError):
    """A setting the operator must fix before the app can start; the message says how."""


@dataclass(frozen=True)
class Settings:
    db_path: Path
    database_url: str | None  # PostgreSQL; when set, db_path is not used
    demo: bool
    allowed_email_domains: tuple[str, ...]
    bcrypt_rounds: int
    survey_after_answers: int
    survey_period_days: int
    vendor_price: Decimal
    model_egress: egress.EgressPolicy  # which hosts models live on, which key variables
    image_hosts: egress.EgressPolicy   # which hosts item pictures may load from (none: none)
    import_limits: ImportLimits
    quality_every_seconds: float  # how often the background worker looks for stale quality
    auth: str | None          # QUORUM_AUTH: password | sso | both; None: decided by auth_mode
    session_hours: float      # how long a sign-in lasts
    trusted_proxy: bool       # take the client's address from X-Forwarded-For
    throttle: Throttle        # growing pauses after failed sign-ins
    webhook_hosts: egress.EgressPolicy  # where webhook receivers may live (as for models)
    webhook_every_seconds: float  # how often the worker looks for due deliveries (0: never)
    webhook_timeout_seconds: float
    webhook_backoff: tuple[float, ...]  # seconds before each retry; then it is given up
    api_requests_per_minute: float  # each token's request budget (per process)
    api_burst: int                  # requests a token may make at once before the budget bites
    sso: directory.Settings = directory.Settings()  # claim names for company sign-in


def load() -> Settings:
    """Settings from QUORUM_* environment variables, with the embedded defaults."""
    env = os.environ
    return Settings(
        db_path=Path(env.get("QUORUM_DB", ROOT / "data" / "quorum.duckdb")),
        database_url=env.get("QUORUM_DATABASE_URL") or None,
        demo=env.get("QUORUM_EMPTY", "").lower() not in ("1", "true", "yes"),
        allowed_email_domains=tuple(
            d.strip() for d in env.get("QUORUM_ALLOWED_EMAIL_DOMAINS", "").split(",") if d.strip()),
        bcrypt_rounds=int(env.get("QUORUM_BCRYPT_ROUNDS", "12")),
        survey_after_answers=int(env.get("QUORUM_SURVEY_AFTER_ANSWERS", "10")),
        survey_period_days=int(env.get("QUORUM_SURVEY_PERIOD_DAYS", "30")),
        vendor_price=Decimal(env.get("QUORUM_VENDOR_PRICE_PER_ITEM", "4.00")),
        model_egress=egress.parse_policy(env.get("QUORUM_MODEL_HOSTS"),
                                         env.get("QUORUM_MODEL_KEY_VARS")),
        image_hosts=egress.parse_policy(env.get("QUORUM_IMAGE_HOSTS"), None,
                                        hosts_setting="QUORUM_IMAGE_HOSTS"),
        quality_every_seconds=float(env.get("QUORUM_QUALITY_EVERY_SECONDS", "10")),
        auth=_auth(env.get("QUORUM_AUTH")),
        session_hours=float(env.get("QUORUM_SESSION_HOURS", "12")),
        trusted_proxy=env.get("QUORUM_TRUSTED_PROXY", "").lower() in ("1", "true", "yes"),
        throttle=Throttle(
            account_free=int(env.get("QUORUM_SIGNIN_FREE_FAILURES", Throttle.account_free)),
            client_free=int(env.get("QUORUM_SIGNIN_FREE_FAILURES_PER_CLIENT",
                                    Throttle.client_free))),
        webhook_hosts=egress.parse_policy(env.get("QUORUM_WEBHOOK_HOSTS"), None,
                                          hosts_setting="QUORUM_WEBHOOK_HOSTS"),
        webhook_every_seconds=float(env.get("QUORUM_WEBHOOK_EVERY_SECONDS", "1")),
        webhook_timeout_seconds=float(env.get("QUORUM_WEBHOOK_TIMEOUT_SECONDS", "10")),
        webhook_backoff=webhooks.parse_backoff(env.get("QUORUM_WEBHOOK_RETRY_SECONDS")),
        api_requests_per_minute=float(env.get("QUORUM_API_REQUESTS_PER_MINUTE", "600")),
        api_burst=int(env.get("QUORUM_API_BURST", "60")),
        import_limits=ImportLimits(
            max_megabytes=float(env.get("QUORUM_IMPORT_MAX_MB", ImportLimits.max_megabytes)),
            max_columns=int(env.get("QUORUM_IMPORT_MAX_COLUMNS", ImportLimits.max_columns)),
            max_line_megabytes=float(env.get("QUORUM_IMPORT_MAX_LINE_MB",
                                             ImportLimits.max_line_megabytes))),
        sso=directory.Settings(
            title_claim=env.get("QUORUM_SSO_TITLE_CLAIM") or "job_title",
            department_claim=env.get("QUORUM_SSO_DEPARTMENT_CLAIM") or "department",
            groups_claim=env.get("QUORUM_SSO_GROUPS_CLAIM") or "groups",
            email_verified_claim=env.get("QUORUM_SSO_EMAIL_VERIFIED_CLAIM") or "email_verified",
            allowed_domains=tuple(d.strip() for d in env.get(
                "QUORUM_ALLOWED_EMAIL_DOMAINS", "").split(",") if d.strip()),
            rounds=int(env.get("QUORUM_BCRYPT_ROUNDS", "12"))),
    )


def _auth(value: str | None) -> str | None:
    if not value:
        return None
    if value.strip().lower() not in AUTH_MODES:
        raise SettingsError(f"QUORUM_AUTH is {value!r}; set it to password, sso or both "
                            "(or leave it unset: password, or both once single sign-on is "
                            "configured).")
    return value.strip().lower()


def auth_mode(s: Settings, sso_configured: bool) -> str:
    """How people sign in: QUORUM_AUTH, else passwords, plus single sign-on once configured."""
    return s.auth or ("both" if sso_configured else "password")


def database(s: Settings) -> str:
    """Where the data lives: the PostgreSQL URL if one is set, else the DuckDB file."""
    return s.database_url or str(s.db_path)


def now() -> datetime:
    """The current time as the naive UTC timestamp the database stores."""
    return datetime.now(UTC).replace(tzinfo=None)
