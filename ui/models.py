"""What the pages need to call models: the API keys from the environment, one HTTP client."""

from __future__ import annotations

import os
import time

import httpx
import streamlit as st

from core import models
from core.db import Connection

clock = time.perf_counter  # the monotonic clock core times calls with


def api_keys(conn: Connection) -> dict[str, str]:
    """The registered models' API keys, read from this server's environment (never stored)."""
    names = {m.api_key_env for m in models.list_models(conn) if m.api_key_env}
    return {name: os.environ[name] for name in names if os.environ.get(name)}


def key_is_set(name: str) -> bool:
    """Whether the environment variable holding a model's key is set on this server."""
    return bool(os.environ.get(name))


@st.cache_resource(show_spinner=False)
def http_client() -> httpx.Client:
    """One pooled client for the process; httpx clients are safe to share across threads."""
    return httpx.Client()
