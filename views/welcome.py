"""A first company sign-in: confirm the skills and languages the directory suggests."""

import streamlit as st

from core import catalog, directory
from core.errors import Invalid
from server import settings
from ui import state
from ui.feedback import field_error
from ui.text import literal

conn = state.connection()
user = state.require_user()
entry = directory.directory_entry(conn, user)
if entry is None or entry.welcomed:
    st.session_state["_after_welcome"] = True  # nothing to confirm: on to the campaigns
    st.rerun()

skills, languages = catalog.skills(conn), catalog.languages(conn)
suggestion = directory.suggest(conn, entry.job_title, entry.department, entry.locale)
error: Invalid | None = st.session_state.get("welcome_error")

first = user.name.split()[0] if user.name.split() else user.username
st.title(f"Welcome to Quorum, {literal(first)}")
known = [f"**{literal(v)}**" for v in (entry.job_title, entry.department) if v]
if known:
    st.markdown(f"Your company directory lists you as {' in '.join(known)}. "
                "From that we suggest the skills and languages below: keep them, change them, "
                "and confirm. You will see the campaigns that ask for them.")
else:
    st.markdown("Your company directory did not give a job title or department, so there is "
                "nothing to suggest from. Choose the skills and languages you work in: you will "
                "see the campaigns that ask for them.")
if suggestion.rules:
    st.caption("Suggested because: " + "; ".join(
        literal(f"{rule.describe()} → "
                + ", ".join([skills.get(s, s) for s in rule.skills]
                            + [languages.get(t, t) for t in rule.languages]))
        for rule in suggestion.rules))
elif known:
    st.caption("No rule of the directory mapping matches your title or department yet.")
if error is not None:
    st.error(literal(error), icon=":material/block:")

with st.form("welcome-step", border=True):
    chosen_skills = st.multiselect(
        "Your skills", list(skills), default=[s for s in suggestion.skills if s in skills],
        format_func=skills.get, placeholder="Choose one or more")
    field_error(error, "skills")
    chosen_languages = st.multiselect(
        "Languages you work in", list(languages),
        default=[t for t in suggestion.languages if t in languages],
        format_func=lambda t: f"{languages[t]} ({t})", placeholder="Choose one or more")
    field_error(error, "languages")
    st.caption("You can change these at any time on your profile.")
    confirmed = st.form_submit_button("Confirm and see my campaigns", type="primary")

if confirmed:
    try:
        directory.welcome(conn, user, chosen_skills, chosen_languages, settings.now())
    except Invalid as problem:
        st.session_state["welcome_error"] = problem
        st.rerun()
    st.session_state.pop("welcome_error", None)
    st.session_state["welcome"] = True       # the landing page greets the new expert
    st.session_state["_after_welcome"] = True
    st.session_state["_welcomed"] = user.id
    st.rerun()
