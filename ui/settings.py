"""The app's settings, read once from the environment (core takes them as arguments)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from core import egress

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    db_path: Path
    demo: bool
    allowed_email_domains: tuple[str, ...]
    bcrypt_rounds: int
    survey_after_answers: int
    survey_period_days: int
    vendor_price: Decimal
    model_egress: egress.EgressPolicy  # which hosts models live on, which key variables


def load() -> Settings:
    """Settings from QUORUM_* environment variables, with the embedded defaults."""
    env = os.environ
    return Settings(
        db_path=Path(env.get("QUORUM_DB", ROOT / "data" / "quorum.duckdb")),
        demo=env.get("QUORUM_EMPTY", "").lower() not in ("1", "true", "yes"),
        allowed_email_domains=tuple(
            d.strip() for d in env.get("QUORUM_ALLOWED_EMAIL_DOMAINS", "").split(",") if d.strip()),
        bcrypt_rounds=int(env.get("QUORUM_BCRYPT_ROUNDS", "12")),
        survey_after_answers=int(env.get("QUORUM_SURVEY_AFTER_ANSWERS", "10")),
        survey_period_days=int(env.get("QUORUM_SURVEY_PERIOD_DAYS", "30")),
        vendor_price=Decimal(env.get("QUORUM_VENDOR_PRICE_PER_ITEM", "4.00")),
        model_egress=egress.parse_policy(env.get("QUORUM_MODEL_HOSTS"),
                                         env.get("QUORUM_MODEL_KEY_VARS")),
    )


def cookie_key(configured: str | None, db_path: Path) -> str:
    """The cookie-signing key: from secrets if configured, else generated once beside the DB."""
    if configured:
        return configured
    key_file = db_path.parent / "cookie_key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def now() -> datetime:
    """The current time as the naive UTC timestamp the database stores."""
    return datetime.now(UTC).replace(tzinfo=None)
