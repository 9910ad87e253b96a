"""The app's settings, read once from the environment (core takes them as arguments)."""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from core import egress, webhooks
from core.import_files import ImportLimits

ROOT = Path(__file__).resolve().parent.parent
MIN_COOKIE_KEY_BYTES = 32  # HS256 wants a key at least as long as its 32-byte digest


class SettingsError(ValueError):
    """A setting the operator must fix before the app can start; the message says how."""


@dataclass(frozen=True)
class Settings:
    db_path: Path
    database_url: str | None  # PostgreSQL; when set, db_path is not used
    cookie_key: str | None    # shared by every replica; else secrets.toml or data/cookie_key
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
    webhook_hosts: egress.EgressPolicy  # where webhook receivers may live (as for models)
    webhook_every_seconds: float  # how often the worker looks for due deliveries (0: never)
    webhook_timeout_seconds: float
    webhook_backoff: tuple[float, ...]  # seconds before each retry; then it is given up
    api_requests_per_minute: float  # each token's request budget (per process)
    api_burst: int                  # requests a token may make at once before the budget bites


def load() -> Settings:
    """Settings from QUORUM_* environment variables, with the embedded defaults."""
    env = os.environ
    return Settings(
        db_path=Path(env.get("QUORUM_DB", ROOT / "data" / "quorum.duckdb")),
        database_url=env.get("QUORUM_DATABASE_URL") or None,
        cookie_key=env.get("QUORUM_COOKIE_KEY") or None,
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
    )


def database(s: Settings) -> str:
    """Where the data lives: the PostgreSQL URL if one is set, else the DuckDB file."""
    return s.database_url or str(s.db_path)


def cookie_key(configured: str | None, db_path: Path) -> str:
    """The cookie-signing key: from secrets if configured, else generated once beside the DB."""
    if configured:
        size = len(configured.encode())
        if size < MIN_COOKIE_KEY_BYTES:
            raise SettingsError(
                f"The cookie key (cookie_key in .streamlit/secrets.toml, or QUORUM_COOKIE_KEY) "
                f"is {size} bytes; set it to "
                f"{MIN_COOKIE_KEY_BYTES} bytes or more (python -c \"import secrets; "
                "print(secrets.token_urlsafe(48))\" prints one), or remove it to use a key "
                "generated into data/cookie_key.")
        return configured
    key_file = db_path.parent / "cookie_key"
    if not key_file.exists():
        _create_key_file(key_file)
    return key_file.read_text().strip()


def _create_key_file(key_file: Path) -> None:
    key_file.parent.mkdir(parents=True, exist_ok=True)
    # Written whole into a file that is owner-only from birth, then linked into place: nobody
    # can read it in between, and a process starting at the same moment reads all of it or
    # keeps the key the other one linked first.
    fd, draft = tempfile.mkstemp(dir=key_file.parent, prefix=".cookie_key-")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
        os.link(draft, key_file)
    except FileExistsError:
        pass
    finally:
        os.unlink(draft)


def now() -> datetime:
    """The current time as the naive UTC timestamp the database stores."""
    return datetime.now(UTC).replace(tzinfo=None)
