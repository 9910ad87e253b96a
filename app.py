"""Quorum's frame: page config, login gate, and the pages the user's roles allow."""

from pathlib import Path

import streamlit as st

from ui import auth, state
from ui.feedback import show_flashes
from ui.text import literal

ICON = Path(__file__).parent / "ui" / "assets" / "icon.png"
# A file of our own: a :material/…: page icon makes every browser fetch it from Google's servers.
st.set_page_config(page_title="Quorum", page_icon=str(ICON), layout="wide")

PAGES = {
    "login": st.Page("views/login.py", title="Log in", icon=":material/login:"),
    "signup": st.Page("views/signup.py", title="Sign up", icon=":material/person_add:"),
    "home": st.Page("views/home.py", title="My campaigns", icon=":material/home:"),
    "label": st.Page("views/label.py", title="Label", icon=":material/edit_note:"),
    "lobby": st.Page("views/lobby.py", title="Team session", icon=":material/groups:"),
    "concepts": st.Page("views/concepts.py", title="Concept review", icon=":material/category:"),
    "models": st.Page("views/models.py", title="Models", icon=":material/smart_toy:"),
    "webhooks": st.Page("views/webhooks.py", title="Webhooks", icon=":material/webhook:"),
    "leaderboard": st.Page("views/leaderboard.py", title="Leaderboard",
                           icon=":material/leaderboard:"),
    "profile": st.Page("views/profile.py", title="Profile", icon=":material/person:"),
    "campaigns": st.Page("views/campaigns.py", title="Campaigns", icon=":material/folder:"),
    "design": st.Page("views/design.py", title="Design", icon=":material/design_services:"),
    "monitor": st.Page("views/monitor.py", title="Monitor", icon=":material/monitoring:"),
    "review": st.Page("views/review.py", title="Review", icon=":material/fact_check:"),
    "impact": st.Page("views/impact.py", title="Impact", icon=":material/insights:"),
    "users": st.Page("views/users.py", title="Users and roles",
                     icon=":material/manage_accounts:"),
}

auth.require_cookie_key()
auth.forget_cookie_after_logout()
user = state.current_user()
if user is None:
    auth.restore_from_cookie()
    user = state.current_user()
if user is not None:
    auth.keep_cookie(user.username)
    with st.sidebar:
        st.markdown(f"**{literal(user.name)}**  \n{literal(user.username)} · "
                    f"{', '.join(user.roles)}")
        st.button("Log out", key="logout_button", on_click=auth.log_out)

if user is None:
    sections = {"": [PAGES["login"], PAGES["signup"]]}
else:
    sections = {}
    if user.has("expert"):
        sections["Work"] = [PAGES[p] for p in ("home", "label", "lobby", "leaderboard")]
    if user.has("requester") or user.has("admin"):
        sections["Requester"] = [PAGES[p] for p in ("campaigns", "design", "monitor", "review",
                                                    "concepts", "models", "webhooks")]
    if user.has("admin"):
        sections["Admin"] = [PAGES["impact"], PAGES["users"]]
    sections["Account"] = [PAGES["profile"]]

show_flashes()
st.navigation(sections).run()
