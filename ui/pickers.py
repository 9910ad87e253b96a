"""Choosing the campaign a requester page works on, kept in the URL across pages."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from core import campaigns
from core.users import User
from ui import state

NEW = 0  # the picker's value for "a new campaign"
# The requester's pages about one campaign, in the order the links show them.
PAGES = (("views/design.py", "Design", ":material/design_services:"),
         ("views/monitor.py", "Monitor", ":material/monitoring:"),
         ("views/review.py", "Review", ":material/fact_check:"),
         ("views/concepts.py", "Concept review", ":material/category:"))


def campaign_picker(user: User, allow_new: bool = False, kind: str | None = None,
                    label: str = "Campaign",
                    default: Callable[[list[int]], int | None] | None = None) -> int | None:
    """A select box of the user's campaigns (of one kind if given); the choice is kept in
    ?campaign= so other pages, and a shared link, open the same campaign. Without one in the
    URL it opens `default(ids)` if that names one (e.g. the first with work waiting), else the
    newest."""
    table: pd.DataFrame = campaigns.choices(state.connection(), user)
    if kind is not None:
        table = table[table["kind"] == kind]
    titles = {int(r.id): f"#{r.id} · {r.title} ({r.status})" for r in table.itertuples()}
    options = ([NEW] if allow_new else []) + list(titles)
    if not options:
        return None
    raw = st.query_params.get("campaign", "")
    if raw.isdigit() and int(raw) in options:
        current = int(raw)
    else:
        preferred = default(list(titles)) if default else None
        current = preferred if preferred in options else options[0]
    picked = st.selectbox(label, options, index=options.index(current),
                          format_func=lambda v: "+ New campaign" if v == NEW else titles[v])
    if picked != NEW:
        st.query_params["campaign"] = str(picked)
    elif "campaign" in st.query_params:
        del st.query_params["campaign"]
    return picked


def campaign_links(here: str, campaign: campaigns.Campaign) -> None:
    """Links to the campaign's other pages, carrying ?campaign= with them."""
    pages = [p for p in PAGES if p[0] != here
             and (p[0] != "views/concepts.py" or campaign.kind == "revolt")]
    for column, (page, label, icon) in zip(st.columns(len(pages) + 2), pages, strict=False):
        with column:
            st.page_link(page, label=label, icon=icon,
                         query_params={"campaign": str(campaign.id)})
