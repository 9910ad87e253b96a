"""Keyboard shortcuts for buttons, through streamlit-shortcuts.

The package attaches one keydown listener to the page from its component's frame, once per
browser tab (a flag on the parent window). When that frame goes away (the element moves, or the
user opens another page and comes back), the listener belongs to a frame that no longer runs,
and with the flag still set no new one is attached, so the keys stop working. Its script is
therefore run with a short preamble that removes the earlier listener and clears the flag, so
each frame that loads attaches a live listener, and only one.
"""

from __future__ import annotations

from unittest import mock

import streamlit.components.v1 as components
import streamlit_shortcuts

_RESET = ("(() => { const w = window.parent; if (w.__streamlitShortcutsListener) "
          "w.document.removeEventListener('keydown', w.__streamlitShortcutsListener); "
          "w.__streamlitShortcutsInitialized = false; })();")


def add_shortcuts(**keys: str | list[str]) -> None:
    """Bind keys to the buttons with these widget keys, e.g. review_accept="alt+a"."""
    scripts: list[str] = []
    with mock.patch.object(streamlit_shortcuts.components, "html",
                           lambda script, **_: scripts.append(script)):
        streamlit_shortcuts.add_shortcuts(**keys)
    components.html(scripts[0].replace("<script>", "<script>" + _RESET, 1), height=0, width=0)
