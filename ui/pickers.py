"""Choosing the campaign a requester page works on, kept in the URL across pages."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import campaigns
from core.users import User
from ui import state

NEW = 0  # the picker's value for "a new campaign"


def campaign_picker(user: User, allow_new: bool = False) -> int | None:
    """A select box of the user's campaigns; the choice is kept in ?campaign= for other pages."""
    table: pd.DataFrame = campaigns.overview(state.connection(), user)
    titles = {int(r.id): f"#{r.id} · {r.title} ({r.status})" for r in table.itertuples()}
    options = ([NEW] if allow_new else []) + list(titles)
    if not options:
        return None
    raw = st.query_params.get("campaign", "")
    current = int(raw) if raw.isdigit() and int(raw) in options else options[0]
    picked = st.selectbox("Campaign", options, index=options.index(current),
                          format_func=lambda v: "+ New campaign" if v == NEW else titles[v])
    if picked != NEW:
        st.query_params["campaign"] = str(picked)
    elif "campaign" in st.query_params:
        del st.query_params["campaign"]
    return picked
