"""Pages at the addresses a signed-in user may not open: what they are and where to go instead."""

from __future__ import annotations

from functools import partial

import streamlit as st
from streamlit.navigation.page import StreamlitPage


def denied_page(page: StreamlitPage, landing: StreamlitPage) -> StreamlitPage:
    """A hidden page at `page`'s address saying the user's roles do not include it."""
    return st.Page(partial(_denied, page.title, landing), title=page.title,
                   url_path=page.url_path, visibility="hidden")


def signed_in_page(page: StreamlitPage, landing: StreamlitPage) -> StreamlitPage:
    """A hidden page at the login or sign-up address that moves a signed-in user on."""
    return st.Page(partial(st.switch_page, landing), title=page.title, url_path=page.url_path,
                   visibility="hidden")


def _denied(title: str, landing: StreamlitPage) -> None:
    st.title(f"You don't have access to {title}")
    st.markdown(f"Your account's roles do not include *{title}*. The pages you can use are in "
                "the menu on the left; if you need this one, ask an administrator to give you "
                "the role on *Users and roles*.")
    st.page_link(landing, label=f"Go to {landing.title}", icon=":material/arrow_forward:")
