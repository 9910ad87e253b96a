"""Rerun a team page when its team or lobby moves, instead of polling it every second.

`wake_on_team` / `wake_on_lobby` mount a small component (Streamlit's components v2) whose
script opens an EventSource to the server's event route (server/events.py) and sets a trigger
value when an event arrives, which reruns the page; nothing runs on the server for this page
while nothing moves. The component sits outside the page's fragments on purpose: after a
server restart the browser's Streamlit session is a new one that knows none of the old
fragments (a fragment rerun would be dropped), while a page rerun always works. The address
carries the version the page was drawn with, so a move between drawing and connecting is sent
at once. The browser reconnects by itself after a dropped stream; a refused one (the server
restarting) is retried, more slowly each time.
The script is fixed; only the address, built here from numbers, is passed to it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import streamlit as st

from core.revolt_live import Version
from server import events

_JS = """
export default function ({ data, setTriggerValue }) {
  let source = null;
  let timer = null;
  let closed = false;
  let delay = 2000;
  const open = () => {
    source = new EventSource(data.url);
    source.onmessage = (event) => {
      delay = 2000;
      setTriggerValue("moved", event.data);
    };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED && !closed) {
        timer = setTimeout(open, delay);
        delay = Math.min(delay * 2, 30000);
      }
    };
  };
  open();
  return () => {
    closed = true;
    clearTimeout(timer);
    if (source) source.close();
  };
}
"""

_component = st.components.v2.component("quorum_live_events", js=_JS)


def wake_on_team(team_id: int, version: Version) -> None:
    """Rerun the page when the team's version moves past `version`."""
    _mount(f"/events/team/{int(team_id)}?since={events.encode(version)}")


def wake_on_lobby(campaign_id: int, version: Version) -> None:
    """Rerun the page when the lobby's version moves past `version`."""
    _mount(f"/events/lobby/{int(campaign_id)}?since={events.encode(version)}")


def _mount(url: str) -> None:
    _component(key="live-events", data={"url": url}, on_moved_change=_nothing)


def _nothing() -> None:
    """The trigger's callback: the rerun it causes is all that is wanted."""


def clock_time(moment: datetime) -> str:
    """A stored (naive UTC) time as the reader's wall clock shows it, e.g. "14:05:09"; in UTC
    with the zone named when the browser did not say its time zone."""
    zone_name = st.context.timezone
    try:
        zone = ZoneInfo(zone_name) if isinstance(zone_name, str) else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    aware = moment.replace(tzinfo=UTC)
    if zone is None:
        return aware.strftime("%H:%M:%S UTC")
    return aware.astimezone(zone).strftime("%H:%M:%S")
