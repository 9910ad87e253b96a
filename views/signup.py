"""Create an expert account with at least one skill and language."""

import streamlit as st

from core import catalog, users
from core.errors import Invalid
from server import settings
from ui import auth, state
from ui.feedback import field_error
from ui.text import literal

conn = state.connection()
config = settings.load()
skills, languages = catalog.skills(conn), catalog.languages(conn)
error: Invalid | None = st.session_state.get("signup_error")

st.title("Create your Quorum account")
if not auth.password_allowed():
    st.info("Accounts here come from your company's single sign-on: log in with it instead.")
    st.page_link("views/login.py", label="Log in", icon=":material/login:")
    st.stop()
st.markdown("Tell us what you know: you will see the campaigns that ask for your skills "
            "in your languages. You can change these later on your profile.")
if config.allowed_email_domains:
    st.info("Sign-up is open to addresses at "
            + literal(", ".join(config.allowed_email_domains)) + ".")
if error is not None:
    st.error(literal(error), icon=":material/block:")

with st.form("signup"):
    name = st.text_input("Full name", key="signup_name")
    field_error(error, "name")
    username = st.text_input("Username", key="signup_username",
                             help="3–32 lowercase letters, digits, '.', '_' or '-'.")
    field_error(error, "username")
    email = st.text_input("Work e-mail", key="signup_email")
    field_error(error, "email")
    password = st.text_input("Password", type="password", key="signup_password",
                             help="At least 8 characters and not a common password; three or "
                                  "four unrelated words work well.")
    field_error(error, "password")
    confirm = st.text_input("Repeat password", type="password", key="signup_confirm")
    field_error(error, "confirm")
    chosen_skills = st.multiselect("Your skills", list(skills), format_func=skills.get,
                                   key="signup_skills", placeholder="Choose one or more")
    chosen_languages = st.multiselect("Languages you work in", list(languages),
                                      format_func=lambda t: f"{languages[t]} ({t})",
                                      key="signup_languages", placeholder="Choose one or more")
    field_error(error, "expertise")
    submitted = st.form_submit_button("Create account", type="primary")

if submitted:
    try:
        user = users.register(
            conn, username=username, name=name, email=email, password=password,
            expertise=[(s, lang) for s in chosen_skills for lang in chosen_languages],
            now=settings.now(), allowed_domains=config.allowed_email_domains,
            rounds=config.bcrypt_rounds, confirm=confirm)
    except Invalid as problem:
        st.session_state["signup_error"] = problem
        st.rerun()
    st.session_state.pop("signup_error", None)
    st.session_state["welcome"] = True
    auth.sign_in(user)
    st.rerun()

st.page_link("views/login.py", label="Already have an account? Log in", icon=":material/login:")
