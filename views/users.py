"""Admins manage accounts' roles, and disable or enable accounts."""

import streamlit as st

from core import directory, users
from core.errors import DomainError
from server import settings
from ui import state
from ui.feedback import flash, show_error
from ui.format import expertise, headers
from ui.text import literal

conn = state.connection()
user = state.require_user()

st.title("Users and roles")
try:
    table = users.list_users(conn, user)
except DomainError as error:
    show_error(error)
    st.stop()



def readable(pairs) -> list[str]:
    """Core's "general · en-US" entries as "General knowledge · English (United States)"."""
    if not hasattr(pairs, "__iter__") or isinstance(pairs, str):
        return []  # no expertise: a missing value, not a list
    return [expertise(*pair.split(" · ", 1)) if " · " in pair else pair for pair in pairs]


shown = table.assign(expertise=table["expertise"].map(readable))
st.dataframe(shown, hide_index=True, width="stretch", placeholder="",
             column_config=headers(shown, {
    "id": st.column_config.NumberColumn("#", width="small"),
    "created_at": st.column_config.DatetimeColumn("Signed up", format="YYYY-MM-DD"),
    "disabled": st.column_config.CheckboxColumn("Disabled"),
    "roles": st.column_config.ListColumn("Roles"),
    "expertise": st.column_config.ListColumn("Expertise", width="large"),
}))

st.subheader("Change roles")
managed = sorted({role for _, role in directory.group_roles(conn)})
if managed:
    st.caption(f"For company accounts, the {' and '.join(managed)} role follows directory "
               "groups at each sign-in (Directory mapping), whatever is set here.")
names = table["username"].tolist()
target = st.selectbox("Account", names, index=None, placeholder="Choose an account")
if target:
    current = table.loc[table["username"] == target, "roles"].iloc[0]
    with st.form("roles"):
        chosen = st.multiselect("Roles", users.ROLES, default=list(current))
        if st.form_submit_button("Save roles", type="primary"):
            try:
                users.set_roles(conn, user, target, chosen, settings.now())
            except DomainError as error:
                show_error(error)
            else:
                flash(f"Saved the roles of {target}.", ":material/check:")
                st.rerun()

    st.subheader("Access")
    disabled = bool(table.loc[table["username"] == target, "disabled"].iloc[0])
    if disabled:
        st.caption(f"{literal(target)} is disabled: they cannot sign in.")
        if st.button("Enable account", key="enable_account"):
            users.set_disabled(conn, user, target, False, settings.now())
            flash(f"Enabled {target}: they can sign in again.", ":material/lock_open:")
            st.rerun()
    else:
        st.caption("Disabling an account signs its owner out of every browser at once and "
                   "refuses their sign-in until it is enabled again; their work stays.")
        if st.button("Disable account", key="disable_account", type="secondary"):
            try:
                users.set_disabled(conn, user, target, True, settings.now())
            except DomainError as error:
                show_error(error)
            else:
                flash(f"Disabled {target} and ended their sessions.", ":material/block:")
                st.rerun()
