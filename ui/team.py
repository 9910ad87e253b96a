"""Team sessions in the browser: their settings from the environment, and notifications.

A notification is a toast, a short chime and, where the browser allows it, a system
notification. The chime is a WAV made once with numpy; it and the Notification API call live in
one fixed script drawn with st.html. Only fixed sentences and numbers go into that script, never
anything a user typed.
"""

from __future__ import annotations

import base64
import io
import json
import wave
from functools import cache

import numpy as np
import streamlit as st

from core import revolt
from server import events
from ui.text import literal

_PENDING = "team_notices"


def settings() -> revolt.Settings:
    """Team size, batch size and timeouts from QUORUM_REVOLT_* variables, or the defaults
    (the same the server's event feed uses)."""
    return events.rules()


@cache
def chime() -> bytes:
    """A short two-note chime as WAV bytes (made once per process)."""
    rate = 22_050
    notes = []
    for frequency, seconds in ((880.0, 0.12), (1318.5, 0.2)):
        t = np.arange(int(rate * seconds)) / rate
        envelope = np.minimum(1, np.minimum(t, seconds - t) * 60)  # no clicks at the edges
        notes.append(0.35 * envelope * np.sin(2 * np.pi * frequency * t))
    samples = (np.concatenate(notes) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


@cache
def _chime_uri() -> str:
    return "data:audio/wav;base64," + base64.b64encode(chime()).decode()


def _js(value: str) -> str:
    """A JavaScript string literal that cannot close the script element."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e")


def notify(title: str, body: str, icon: str = ":material/notifications_active:") -> None:
    """Toast, chime and browser notification, now (the fixed `title` and `body` only)."""
    st.toast(f"**{literal(title)}** {literal(body)}", icon=icon)
    count = st.session_state.get("team_notice_count", 0) + 1
    st.session_state["team_notice_count"] = count
    # The counter makes each script new, so the browser runs it once per notification.
    st.html(f"""<script>/* notice {count} */
(() => {{
  const w = window.__quorumNotices = (window.__quorumNotices || 0) + 1;
  new Audio({_js(_chime_uri())}).play().catch(() => {{}});
  if ("Notification" in window && Notification.permission === "granted") {{
    new Notification({_js(title)}, {{body: {_js(body)}, tag: "quorum-team-" + w}});
  }}
}})();
</script>""", unsafe_allow_javascript=True, width=1)


def queue(title: str, body: str) -> None:
    """Notify on the next full run (what is drawn just before st.rerun() is lost)."""
    st.session_state.setdefault(_PENDING, []).append((title, body))


def play_queued() -> None:
    """Show the notifications queued by `queue`."""
    for title, body in st.session_state.pop(_PENDING, []):
        notify(title, body)


def ask_permission() -> None:
    """Ask the browser, once, whether Quorum may show system notifications."""
    st.html("""<script>
if ("Notification" in window && Notification.permission === "default") {
  Notification.requestPermission().catch(() => {});
}
</script>""", unsafe_allow_javascript=True, width=1)
