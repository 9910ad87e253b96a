"""The user's profile: expertise, their campaigns, totals, and password."""

import streamlit as st

from core import campaigns, catalog, pay, profile, quality, users
from core.errors import DomainError, Invalid
from server import settings
from ui import auth, state
from ui.feedback import field_error, flash, show_error
from ui.format import expertise, headers, money, status_name
from ui.text import literal
from ui.tokens import show_tokens

# The pay ledger's kinds of row, as an expert reads them.
PAY_KINDS = {"item": "Answer", "reversal": "Reversal", "bonus": "Quality bonus",
             "reward": "Challenge reward", "stage": "Team session stage"}

conn = state.connection()
user = state.require_user()
now = settings.now()

st.title(literal(user.name))
st.caption(f"{literal(user.username)} · {literal(user.email)} · {', '.join(user.roles)} · "
           f"member since {user.created_at:%B %Y}")

if user.has("expert"):
    totals = profile.totals(conn, user)
    a, b, c = st.columns(3)
    a.metric("Items answered", f"{totals.answers:,}")
    b.metric("Total earnings", money(totals.earnings))
    c.metric("Campaigns", totals.campaigns)

    st.subheader("Your expertise")
    st.caption("You see the campaigns that ask for one of these skills in one of these languages.")
    skills, languages = catalog.skills(conn), catalog.languages(conn)
    held = users.expertise(conn, user.id)
    if held.empty:
        st.warning("You have no skills declared, so no campaign can match you. Add one below.")
    for row in held.itertuples():
        name, remove = st.columns([6, 1], vertical_alignment="center")
        name.markdown(f"**{literal(row.skill_name)}** · {literal(row.language_name)}")
        if remove.button("Remove", key=f"rm-{row.skill}-{row.language}"):
            users.remove_expertise(conn, user, row.skill, row.language)
            flash(f"Removed {expertise(row.skill, row.language)}.")
            st.rerun()
    with st.form("add-expertise", border=True):
        skill_col, language_col, add_col = st.columns([3, 3, 1], vertical_alignment="bottom")
        skill = skill_col.selectbox("Skill", list(skills), format_func=skills.get)
        tags = list(languages)
        language = language_col.selectbox("Language", tags, index=tags.index("en-US"),
                                          format_func=lambda t: f"{languages[t]} ({t})")
        if add_col.form_submit_button("Add", type="primary"):
            try:
                users.add_expertise(conn, user, skill, language, now)
            except DomainError as error:
                show_error(error)
            else:
                flash(f"Added {expertise(skill, language)}.", ":material/add:")
                st.rerun()

    worked = profile.campaigns_worked(conn, user, now)
    columns = {
        "title": st.column_config.TextColumn("Campaign", width="large"),
        "answers": st.column_config.NumberColumn("Your answers"),
        "earned": st.column_config.NumberColumn("Earned", format="dollar"),
        "reward": st.column_config.NumberColumn("Reward won", format="dollar"),
        "expires_at": st.column_config.DatetimeColumn("Ends", format="YYYY-MM-DD"),
        "status": st.column_config.TextColumn("Status"),
    }
    for heading, rows, empty in (
            ("Ongoing campaigns", worked[~worked["past"]], "No answers in open campaigns yet."),
            ("Past campaigns", worked[worked["past"]], "No past campaigns yet.")):
        st.subheader(heading)
        if rows.empty:
            st.caption(empty)
        else:
            shown = rows[list(columns)].assign(status=rows["status"].map(status_name))
            st.dataframe(shown, column_config=columns, hide_index=True, width="stretch",
                         placeholder="")

if user.has("expert"):
    st.subheader("Quality")
    scores = quality.for_expert(conn, user.id)  # kept fresh by the background worker
    if not scores:
        st.caption("Your quality appears here once you have answered items.")
    for q in scores:
        score = "not measured yet" if q.score is None else f"{q.score:.0%}"
        st.markdown(f"**{literal(q.title)}**: {score}  \n{literal(q.explanation())}")

    st.subheader("Earnings history")
    ledger = pay.history(conn, user)
    if ledger.empty:
        st.caption("No earnings yet.")
    else:
        ledger = ledger.assign(kind=ledger["kind"].map(PAY_KINDS).fillna(ledger["kind"]))
        st.dataframe(ledger, hide_index=True, width="stretch", placeholder="",
                     column_config=headers(ledger, {
            "created_at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm"),
            "kind": "Kind", "amount": st.column_config.NumberColumn("Amount", format="dollar"),
            "campaign": "Campaign", "note": "Note"}))

    st.subheader("Past challenges")
    won = pay.challenges_won(conn, user)
    if won.empty:
        st.caption("No challenge rewards yet. Campaigns with challenges reward their top "
                   "experts when they close.")
    else:
        st.dataframe(won, hide_index=True, width="stretch", placeholder="",
                     column_config=headers(won, {
            "reward": st.column_config.NumberColumn("Reward", format="dollar"),
            "created_at": st.column_config.DatetimeColumn("Won (UTC)", format="YYYY-MM-DD")}))

    st.subheader("Leaderboard")
    hidden = st.toggle("Appear anonymously on leaderboards", value=users.opted_out(conn, user),
                       help="Others see “Anonymous expert” instead of your name; you still see "
                            "your own rank.")
    if hidden != users.opted_out(conn, user):
        users.set_leaderboard_opt_out(conn, user, hidden)
        flash("Leaderboard preference saved.", ":material/visibility_off:" if hidden
              else ":material/visibility:")
        st.rerun()

if user.has("requester"):
    st.subheader("Your campaigns")
    owned = campaigns.overview(conn, user)
    owned = owned[owned["created_by"] == user.username]  # an admin's overview holds everyone's
    a, b, c, d = st.columns(4)
    a.metric("Live", int((owned["status"] == "live").sum()))
    b.metric("Drafts", int((owned["status"] == "draft").sum()))
    c.metric("Closed", int((owned["status"] == "closed").sum()))
    d.metric("Answers collected", f"{int(owned['answers'].sum()):,}")
    st.page_link("views/campaigns.py", label="Open your campaigns", icon=":material/folder:")

if not users.password_known(conn, user):  # created by company sign-in: no password
    st.subheader("Password")
    st.info(users.NO_PASSWORD, icon=":material/domain:")
else:
    st.subheader("Change password")
    password_error: Invalid | None = st.session_state.get("password_error")
    with st.form("change-password", clear_on_submit=True):
        current = st.text_input("Current password", type="password")
        field_error(password_error, "current")
        new = st.text_input("New password", type="password",
                            help="At least 8 characters and not a common password; three or four "
                                 "unrelated words work well. Changing it signs you out everywhere "
                                 "else.")
        field_error(password_error, "new")
        if st.form_submit_button("Change password"):
            try:
                users.change_password(conn, user, current, new, settings.now(),
                                      settings.load().bcrypt_rounds)
            except Invalid as problem:
                st.session_state["password_error"] = problem
            else:
                st.session_state.pop("password_error", None)
                auth.sign_in(user)  # every session ended with the old password; this one goes on
                flash("Password changed. Every other browser signed in as you was signed out.",
                      ":material/lock:")
            st.rerun()

show_tokens(conn, user, now)  # personal access tokens for the HTTP API
