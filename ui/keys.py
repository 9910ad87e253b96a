"""Keyboard shortcuts for buttons, through streamlit-shortcuts (the review page's Alt keys:
Streamlit's own `shortcut=` reserves R, even with a modifier).

The package attaches one keydown listener to the page from its component's frame, once per
browser tab (a flag on the parent window). When that frame goes away (the element moves, or the
user opens another page and comes back), the listener belongs to a frame that no longer runs,
and with the flag still set no new one is attached, so the keys stop working. Its script is
therefore run with a short preamble that removes the earlier listener and clears the flag, so
each frame that loads attaches a live listener, and only one.
"""

from __future__ import annotations

from unittest import mock

import streamlit as st
import streamlit_shortcuts

_RESET = ("(() => { const w = window.parent; if (w.__streamlitShortcutsListener) "
          "w.document.removeEventListener('keydown', w.__streamlitShortcutsListener); "
          "w.__streamlitShortcutsInitialized = false; })();")

_FRAME_KEY = "keyboard-shortcuts"
_OUT_OF_LAYOUT = (f"<style>[data-testid='stLayoutWrapper']:has(> .st-key-{_FRAME_KEY}) "
                  "{position: absolute; width: 1px; height: 1px; overflow: hidden;}</style>")


def add_shortcuts(**keys: str | list[str]) -> None:
    """Bind keys to the buttons with these widget keys, e.g. review_accept="alt+a"."""
    scripts: list[str] = []
    with mock.patch.object(streamlit_shortcuts.components, "html",
                           lambda script, **_: scripts.append(script)):
        streamlit_shortcuts.add_shortcuts(**keys)
    # st.iframe, not the components.v1.html the package calls (deprecated, to be removed): the
    # same same-origin frame that runs the script, taken out of the layout (a frame of height
    # 0 is not drawn at all, so its script would not run).
    st.html(_OUT_OF_LAYOUT)
    with st.container(key=_FRAME_KEY):
        st.iframe(scripts[0].replace("<script>", "<script>" + _RESET, 1), height=1, width=1)
