"""Rerun a team page when its team or lobby moves, instead of polling it every second.

`wake_on_team` / `wake_on_lobby` mount a small component (Streamlit's components v2) whose
script opens an EventSource to the server's event route (server/events.py) and sets a trigger
value when an event arrives, which reruns the fragment it sits in; nothing runs on the server
for this page while nothing moves. The address carries the version the page was drawn with, so
a move between drawing and connecting is sent at once. The browser reconnects by itself after
a dropped stream; a refused one (the server restarting) is retried, more slowly each time.
After a restart the browser's Streamlit session is new and knows none of the page's fragments,
so when a stream's first event names another server process than before, the page reloads.
The script is fixed; only the address, built here from numbers, is passed to it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import streamlit as st

from core.revolt_live import Version
from server import events

_JS = """
// Streamlit calls this again, on the same mount, whenever the address changes, and calls only
// the last returned clean-up when the component goes: so the stream is kept per mount here,
// and an address change closes the old stream before opening the new one.
const live = new WeakMap();

function stop(state) {
  clearTimeout(state.timer);
  if (state.source) state.source.close();
  state.source = null;
}

function open(state) {
  const source = new EventSource(state.url);
  state.source = source;
  source.addEventListener("boot", (event) => {
    // Another server process than the one that drew this page: its Streamlit session, and
    // the fragments this component would rerun, are gone with the old one.
    const drawnBy = window.__quorumServer;
    window.__quorumServer = event.data;
    if (drawnBy && drawnBy !== event.data) window.location.reload();
  });
  source.onmessage = (event) => {
    state.delay = 2000;
    state.trigger("moved", event.data);
  };
  source.onerror = () => {
    // A dropped stream reconnects by itself; a refused one (the server restarting) is closed:
    // try again, more slowly each time.
    if (source.readyState === EventSource.CLOSED && state.source === source) {
      state.timer = setTimeout(() => { if (state.source === source) open(state); }, state.delay);
      state.delay = Math.min(state.delay * 2, 30000);
    }
  };
}

export default function ({ data, parentElement, setTriggerValue }) {
  let state = live.get(parentElement);
  if (!state) {
    state = {};
    live.set(parentElement, state);
  }
  state.trigger = setTriggerValue;
  if (state.url !== data.url) {
    stop(state);
    state.url = data.url;
    state.delay = 2000;
    open(state);
  }
  const mine = data.url;
  return () => {
    if (state.url === mine) {
      stop(state);
      state.url = null;
    }
  };
}
"""

_component = st.components.v2.component("quorum_live_events", js=_JS)


def wake_on_team(team_id: int, version: Version) -> None:
    """Rerun the calling fragment when the team's version moves past `version`."""
    _mount(f"/events/team/{int(team_id)}?since={events.encode(version)}")


def wake_on_lobby(campaign_id: int, version: Version) -> None:
    """Rerun the calling fragment when the lobby's version moves past `version`."""
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
