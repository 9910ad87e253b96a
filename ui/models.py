"""What the pages need to call models: the allowed API keys, the operator's policy, one client."""

from __future__ import annotations

import os
import time

import httpx
import streamlit as st

from core import egress, models
from core.db import Connection
from server import settings

clock = time.perf_counter  # the monotonic clock core times calls with


def policy() -> egress.EgressPolicy:
    """The operator's egress policy for models (QUORUM_MODEL_HOSTS, QUORUM_MODEL_KEY_VARS)."""
    return settings.load().model_egress


def api_keys(conn: Connection) -> dict[str, str]:
    """The registered models' API keys from this server's environment, allowed variables only."""
    allowed = policy()
    names = {m.api_key_env for m in models.list_models(conn)
             if egress.allows_secret(allowed, m.api_key_env)}
    return {name: os.environ[name] for name in names if os.environ.get(name)}


def key_status(name: str) -> str:
    """A model's key as the registry shows it; a variable the operator did not allow is not read."""
    if not name:
        return "no key needed"
    if not egress.allows_secret(policy(), name):
        return "variable not allowed"
    return "set" if os.environ.get(name) else "NOT SET"


@st.cache_resource(show_spinner=False)
def http_client() -> httpx.Client:
    """One pooled client for the process; httpx clients are safe to share across threads."""
    return httpx.Client()  # follows no redirect: only the host that was checked is called
