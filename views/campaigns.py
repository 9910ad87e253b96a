"""Campaigns at a glance for requesters (their own) and admins (all)."""

import streamlit as st

from core import campaigns, catalog
from core.errors import DomainError
from ui import state
from ui.feedback import show_error
from ui.format import headers, kind_name, status_name
from ui.text import literal

conn = state.connection()
user = state.require_user()

st.title("Campaigns")
st.page_link("views/design.py", label="New campaign", icon=":material/add:")
try:
    table = campaigns.overview(conn, user)
except DomainError as error:
    show_error(error)
    st.stop()
st.caption("Your campaigns and their progress." if not user.has("admin")
           else "Every campaign in the workspace and its progress.")
if table.empty:
    st.info("No campaigns yet.")
    st.stop()
table["progress"] = (table["items_complete"] / table["items"].where(table["items"] > 0)).fillna(0)
table = table.assign(kind=table["kind"].map(kind_name), status=table["status"].map(status_name),
                     language=table["language"].map(catalog.language_name))
picked = st.dataframe(
    table[["id", "title", "kind", "skill", "language", "status", "items", "items_complete",
           "progress", "answers", "pay_per_item", "expires_at", "created_by"]],
    hide_index=True, width="stretch", placeholder="",
    column_config=headers(table, {
        "id": st.column_config.NumberColumn("#", width="small"),
        "title": st.column_config.TextColumn("Title", width="large"),
        "items_complete": st.column_config.NumberColumn("Complete"),
        "progress": st.column_config.ProgressColumn("Progress", min_value=0, max_value=1,
                                                    format="percent"),
        "pay_per_item": st.column_config.NumberColumn("Pay / item", format="dollar"),
        "expires_at": st.column_config.DatetimeColumn("Expires", format="YYYY-MM-DD"),
        "created_by": st.column_config.TextColumn("Owner"),
    }), on_select="rerun", selection_mode="single-row")
rows = picked.selection.rows
if rows:
    chosen = int(table.iloc[rows[0]]["id"])
    st.caption(f"Open #{chosen} · {literal(table.iloc[rows[0]]['title'])} in:")
    for column, (page, label) in zip(st.columns(6), [
            ("views/design.py", "Design"), ("views/monitor.py", "Monitor"),
            ("views/review.py", "Review")], strict=False):
        if column.button(label, key=f"open-{page}", width="stretch"):
            st.switch_page(page, query_params={"campaign": chosen})
else:
    st.caption("Select a campaign to open it in Design, Monitor or Review.")
