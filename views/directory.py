"""Admins edit the directory mapping: job titles and departments → skills, groups → roles."""

import streamlit as st

from core import catalog, directory, users
from core.errors import DomainError, Invalid
from server import settings
from ui import state
from ui.feedback import field_error, flash, show_error
from ui.text import literal

conn = state.connection()
user = state.require_user()
now = settings.now()
claims = settings.load().sso
skills, languages = catalog.skills(conn), catalog.languages(conn)

st.title("Directory mapping")
try:
    users.require_role(user, "admin")
except DomainError as error:
    show_error(error)
    st.stop()
st.markdown(
    "When someone signs in with their company account for the first time, the job title and "
    "department in their directory entry suggest skills and languages through the rules below; "
    "they confirm or change them before they see campaigns. Matching ignores case.")
st.caption(f"Quorum reads the job title from the `{literal(claims.title_claim)}` claim, the "
           f"department from `{literal(claims.department_claim)}` and groups from "
           f"`{literal(claims.groups_claim)}` (QUORUM_SSO_TITLE_CLAIM, "
           "QUORUM_SSO_DEPARTMENT_CLAIM, QUORUM_SSO_GROUPS_CLAIM).")


def _names(codes, names) -> str:
    return ", ".join(names.get(c, c) for c in codes) or "—"


st.subheader("Try a title")
st.caption("What a person with this directory entry would be offered at first sign-in.")
title_col, department_col = st.columns(2)
title = title_col.text_input("Job title", placeholder="Senior Software Engineer",
                             key="preview_title")
department = department_col.text_input("Department", placeholder="Legal",
                                       key="preview_department")
if title.strip() or department.strip():
    got = directory.suggest(conn, title, department)
    if got.rules:
        st.success(f"**Skills:** {literal(_names(got.skills, skills))}  \n"
                   f"**Languages:** {literal(_names(got.languages, languages))}  \n"
                   "From: " + "; ".join(literal(r.describe()) for r in got.rules),
                   icon=":material/check:")
    else:
        st.warning("No rule matches: this person would choose their skills themselves "
                   f"(languages offered: {literal(_names(got.languages, languages))}).",
                   icon=":material/help:")


st.subheader("Titles and departments → skills and languages")
rules = directory.rules(conn)
if not rules:
    st.info("No rules yet: people choose their skills themselves on their first sign-in. "
            "Add a rule below.")
with st.container(border=True):
    for rule in rules:
        what, gives, remove = st.columns([4, 5, 1], vertical_alignment="center")
        what.markdown(literal(rule.describe()))
        offer = [f"**{literal(_names(rule.skills, skills))}**"] if rule.skills else []
        if rule.languages:
            offer.append(f"in {literal(_names(rule.languages, languages))}")
        gives.markdown("→ " + " ".join(offer))
        if remove.button("Remove", key=f"rm-rule-{rule.id}", type="tertiary",
                         icon=":material/delete:"):
            try:
                directory.remove_rule(conn, user, rule.id)
            except DomainError as error:
                show_error(error)
            else:
                flash(f"Removed the rule {rule.describe()}.", ":material/delete:")
                st.rerun()

rule_error: Invalid | None = st.session_state.get("rule_error")
with st.form("add-rule", border=True, clear_on_submit=True):
    st.markdown("**Add a rule**")
    field_col, match_col, pattern_col = st.columns([2, 2, 3])
    field = field_col.selectbox("Look at", list(directory.FIELDS),
                                format_func=directory.FIELDS.get)
    match_kind = match_col.selectbox("Match", list(directory.MATCHES),
                                     format_func=directory.MATCHES.get)
    pattern = pattern_col.text_input("Text", placeholder="Software Engineer")
    field_error(rule_error, "pattern")
    skill_col, language_col = st.columns(2)
    chosen_skills = skill_col.multiselect("Suggest skills", list(skills), format_func=skills.get,
                                          placeholder="None")
    chosen_languages = language_col.multiselect(
        "Suggest languages", list(languages), format_func=lambda t: f"{languages[t]} ({t})",
        placeholder="None", help="Without any, people get the language of their directory "
                                 "locale, or English (United States).")
    field_error(rule_error, "skills")
    field_error(rule_error, "languages")
    if st.form_submit_button("Add rule", type="primary"):
        try:
            added = directory.add_rule(conn, user, field=field, match_kind=match_kind,
                                       pattern=pattern, skills=chosen_skills,
                                       languages=chosen_languages, now=now)
        except Invalid as problem:
            st.session_state["rule_error"] = problem
        else:
            st.session_state.pop("rule_error", None)
            flash(f"Added the rule {added.describe()}.", ":material/add:")
        st.rerun()

st.subheader("Groups → roles")
st.markdown("Every company account is an expert. A role named here follows the directory at "
            "each sign-in: members of its groups get it, others lose it (the last "
            "administrator is always kept). Roles no group names stay as set in "
            "*Users and roles*.")
mapped = directory.group_roles(conn)
if not mapped:
    st.caption("No group grants a role: roles are set by admins in Users and roles.")
for group, role in mapped:
    name, remove = st.columns([6, 1], vertical_alignment="center")
    name.markdown(f"Members of **{literal(group)}** are **{role}s**")
    if remove.button("Remove", key=f"rm-group-{group}-{role}"):
        directory.remove_group_role(conn, user, group, role)
        flash(f"Members of {group} no longer get the {role} role from it.", ":material/delete:")
        st.rerun()
group_error: Invalid | None = st.session_state.get("group_error")
with st.form("add-group", border=True, clear_on_submit=True):
    group_col, role_col, add_col = st.columns([4, 2, 1], vertical_alignment="bottom")
    group = group_col.text_input("Group", placeholder="Data Science",
                                 help="As the groups claim spells it: a name, or for Microsoft "
                                      "Entra ID usually the group's object id.")
    role = role_col.selectbox("Role", directory.GROUP_ROLES)
    if add_col.form_submit_button("Add", type="primary"):
        try:
            directory.add_group_role(conn, user, group, role, now)
        except Invalid as problem:
            st.session_state["group_error"] = problem
        else:
            st.session_state.pop("group_error", None)
            flash(f"Members of {group.strip()} get the {role} role from their next sign-in.",
                  ":material/group_add:")
        st.rerun()
field_error(group_error, "group")
field_error(group_error, "role")
