"""Log in: with a password (throttled, server/settings QUORUM_AUTH), or by single sign-on."""

import streamlit as st

from core import workspace
from ui import auth, sso, state
from ui.text import literal

mode = auth.mode()
st.title("Quorum")
st.markdown("Contribute your expertise to the data our models learn from, "
            "and see your work count.")

left, right = st.columns([3, 2], gap="large")
with left:
    if mode != "password" and not sso.providers():
        st.error("Single sign-on is switched on (QUORUM_AUTH), but no identity provider is "
                 "configured: add an [auth] section to .streamlit/secrets.toml (README, "
                 "*Single sign-on*).", icon=":material/key_off:")
    sso.sign_in_buttons()
    if mode != "sso":
        if sso.providers():
            st.caption("Or log in with a Quorum username and password:")
        with st.form("login"):
            st.subheader("Log in")
            username = st.text_input("Username", autocomplete="username")
            password = st.text_input("Password", type="password",
                                     autocomplete="current-password")
            submitted = st.form_submit_button("Log in", type="primary")
        if submitted:
            refusal = auth.log_in_with_password(username, password)
            if refusal is None:
                st.rerun()  # the page asked for (a deep link) or the landing page
            st.error(literal(refusal), icon=":material/block:")
        st.page_link("views/signup.py", label="New here? Create an account",
                     icon=":material/person_add:")
with right:
    if workspace.demo_loaded(state.connection()):
        with st.container(border=True):
            st.subheader("Demo workspace")
            st.markdown("This workspace holds demo data. Its accounts' passwords were made "
                        "when it was created; whoever runs the server finds them in the "
                        "server's console and in `data/demo_passwords.txt` (beside the "
                        "database).")
