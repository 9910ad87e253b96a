"""Quorum's frame: page config, login gate, and the pages the user's roles allow."""

from pathlib import Path

import streamlit as st

from server import settings
from ui import access, auth, sso, state
from ui.feedback import show_flashes
from ui.text import literal

ICON = Path(__file__).parent / "ui" / "assets" / "icon.png"
# A file of our own: a :material/…: page icon makes every browser fetch it from Google's servers.
st.set_page_config(page_title="Quorum", page_icon=str(ICON), layout="wide")
st.logo(str(ICON.parent / "logo.svg"), icon_image=str(ICON.parent / "mark.svg"), size="large")

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
    "directory": st.Page("views/directory.py", title="Directory mapping",
                         icon=":material/account_tree:"),
    "welcome": st.Page("views/welcome.py", title="Welcome", icon=":material/waving_hand:"),
}

ROLE_SECTIONS = {  # section → (roles that see it, its pages)
    "Work": (("expert",), ("home", "label", "lobby", "leaderboard")),
    "Requester": (("requester", "admin"), ("campaigns", "design", "monitor", "review", "concepts",
                                           "models", "webhooks")),
    "Admin": (("admin",), ("impact", "users", "directory")),
    "Account": (("expert", "requester", "admin"), ("profile",)),
}
SIGNED_IN_PAGES = [key for _, keys in ROLE_SECTIONS.values() for key in keys]

try:
    settings.load()
except settings.SettingsError as error:  # a setting the operator must fix; it says how
    st.error(str(error), icon=":material/settings_alert:")
    st.stop()
user = state.current_user()  # one indexed look-up of this tab's session, every run
if user is None:
    sso.sign_in_from_identity()  # after st.login: the company identity in st.user
    user = state.current_user()
if user is not None:
    with st.sidebar:
        st.markdown(f"**{literal(user.name)}**  \n{literal(user.username)} · "
                    f"{', '.join(role.capitalize() for role in user.roles)}")
        st.button("Log out", key="logout_button", on_click=sso.log_out)

# Every page's address is always registered, so a deep link never meets Streamlit's "Page not
# found": signed out, it draws the login form (and, once signed in, the page itself, at the
# same address); signed in without the role, it says so and where to go.
if user is None:
    entry = [PAGES["login"]] + ([PAGES["signup"]] if auth.password_allowed() else [])
    sections = {"": entry}
    hidden = [st.Page("views/login.py", title="Log in", url_path=PAGES[key].url_path,
                      visibility="hidden") for key in SIGNED_IN_PAGES]
elif sso.welcome_pending(user):  # a first company sign-in confirms its skills first
    sections = {"": [PAGES["welcome"]]}
    hidden = [st.Page("views/welcome.py", title="Welcome", url_path=PAGES[key].url_path,
                      visibility="hidden") for key in SIGNED_IN_PAGES]
else:
    sections = {title: [PAGES[key] for key in keys] for title, (roles, keys)
                in ROLE_SECTIONS.items() if any(user.has(role) for role in roles)}
    allowed = {page.url_path for pages in sections.values() for page in pages}
    landing = next(iter(sections.values()))[0]
    hidden = [access.denied_page(PAGES[key], landing) for key in SIGNED_IN_PAGES
              if PAGES[key].url_path not in allowed]
    hidden += [access.signed_in_page(PAGES[key], landing) for key in ("login", "signup")]
if hidden:
    sections.setdefault("", []).extend(hidden)

show_flashes()
page = st.navigation(sections)
if user is not None and user.has("expert") and st.session_state.pop("_after_welcome", False):
    st.switch_page(PAGES["home"])  # the step is done: on to the campaigns that match
if user is None or page.url_path not in ("login", "signup"):
    auth.hand_over_cookie()  # not on a run that only moves a signed-in user on: it is cut short
state.run_page(page, user)
