"""Log in, with the demo accounts listed while the demo workspace is loaded."""

import streamlit as st

from core import workspace
from ui import auth, sso, state

st.title("Quorum")
st.markdown("Contribute your expertise to the data our models learn from, "
            "and see your work count.")

left, right = st.columns([3, 2], gap="large")
with left:
    sso.sign_in_buttons()
    if sso.password_allowed():
        if sso.providers() and "sso" in sso.methods():
            st.caption("Or log in with a Quorum username and password:")
        auth.login_form()
        st.page_link("views/signup.py", label="New here? Create an account",
                     icon=":material/person_add:")
with right:
    logins = workspace.demo_logins(state.connection())
    if not logins.empty:
        with st.container(border=True):
            st.subheader("Demo accounts")
            st.caption("This workspace holds demo data. Log in as any of these; the list "
                       "disappears for an account once its password is changed.")
            st.dataframe(logins, hide_index=True, width="stretch")
