"""Concept review (Revolt): what teams found ambiguous, mapped to labels; team settings."""

import json

import pandas as pd
import streamlit as st

from core import campaigns, revolt, revolt_review
from core.errors import DomainError
from server import settings
from ui import state, team
from ui.feedback import flash, show_error
from ui.format import money
from ui.text import literal, quoted
from ui.workflow_form import render

conn = state.connection()
user = state.require_user()
rules = team.settings()
NEW = "➕ New label (the concept's name)"
UNMAPPED = "— not mapped —"

st.title("Concept review")
mine = campaigns.overview(conn, user)
ours = mine[mine["kind"] == "revolt"]
if ours.empty:
    st.info("You have no team campaigns. Create one on *Design* with the kind “revolt”.")
    st.stop()
titles = {int(r.id): f"#{r.id} · {r.title} ({r.status})" for r in ours.itertuples()}
raw = st.query_params.get("campaign", "")
current = int(raw) if raw.isdigit() and int(raw) in titles else next(iter(titles))
campaign_id = st.selectbox("Team campaign", list(titles), index=list(titles).index(current),
                           format_func=titles.get)
st.query_params["campaign"] = str(campaign_id)
spec = campaigns.spec(conn, campaign_id, campaigns.get(conn, campaign_id).spec_version)
shown = {**spec, "blocks": [b for b in spec["blocks"] if "id" not in b]}

with st.expander("Team settings: pay per stage, cap on teams, excluded campaigns",
                 icon=":material/tune:"):
    cfg = revolt.config(conn, campaign_id, rules)
    others = {int(r.id): f"#{r.id} · {r.title}" for r in mine.itertuples()
              if int(r.id) != campaign_id}
    with st.form("team-settings", border=False):
        a, b, c = st.columns(3)
        pay_vote = a.number_input("Pay for Vote", min_value=0.0, step=0.1, format="%.2f",
                                  value=float(cfg.pay_vote))
        pay_explain = b.number_input("Pay for Explain", min_value=0.0, step=0.1, format="%.2f",
                                     value=float(cfg.pay_explain))
        pay_categorize = c.number_input("Pay for Categorize", min_value=0.0, step=0.1,
                                        format="%.2f", value=float(cfg.pay_categorize))
        cap = st.number_input("Most teams one expert may join (0: no cap)", min_value=0, step=1,
                              value=cfg.team_cap or 0)
        excluded = st.multiselect("Exclude the participants of these campaigns", list(others),
                                  default=[i for i in cfg.excluded_campaigns if i in others],
                                  format_func=others.get,
                                  help="Experts who answered in, or joined a team of, these "
                                       "campaigns cannot join this one.")
        st.caption(f"Teams of {rules.team_size}, {rules.batch_size} items each; readiness "
                   f"lasts {rules.ready_seconds:g} s and a silent member is dropped after "
                   f"{rules.dropout_seconds:g} s (server settings).")
        if st.form_submit_button("Save team settings", type="primary"):
            try:
                revolt.configure(conn, user, campaign_id, pay_vote=pay_vote,
                                 pay_explain=pay_explain, pay_categorize=pay_categorize,
                                 team_cap=int(cap) or None, excluded_campaigns=excluded,
                                 now=settings.now())
            except DomainError as error:
                show_error(error)
            else:
                flash("Team settings saved.", ":material/check:")
                st.rerun()

try:
    summary = revolt_review.label_summary(conn, user, campaign_id)
    found = revolt_review.concepts(conn, user, campaign_id)
    labels = revolt_review.label_options(conn, campaign_id)
except DomainError as error:
    show_error(error)
    st.stop()

counts = dict(zip(summary["label_source"], summary["items"], strict=True))
final = sum(n for s, n in counts.items() if s == "unanimous" or s.startswith("concept"))
pending = sum(n for s, n in counts.items() if s.startswith("pending"))
waiting = sum(n for s, n in counts.items() if s.startswith("waiting"))
m1, m2, m3, m4, m5 = st.columns(5)
m1.metric("Items given to teams", int(summary["items"].sum()))
m2.metric("With a final label", final)
m3.metric("Pending", pending, help="Conflicting items whose concept is not mapped yet, or whose "
                                   "team is still working.")
m4.metric("Waiting for another team", waiting,
          help="Items a team gave back when it ended before deciding them: everyone left or "
               "the campaign stopped taking work. The next team to form gets them.")
m5.metric("Concepts found", len(found))
if waiting:
    st.info(f"{waiting} item{'s are' if waiting != 1 else ' is'} waiting for another team: the "
            "team that had them ended before deciding them, so the next team to form gets "
            "them. *From* in **Final labels** says why for each.", icon=":material/group_off:")

st.subheader("Concepts discovered by the teams")
if found.empty:
    st.info("No concepts yet: they appear as teams categorize the items they disagreed on.")
else:
    st.caption("Names are grouped after normalizing case, punctuation and plurals. Map each "
               "concept to a label, or keep it as a new label; conflicting items then take the "
               "label of the concept their team gave them.")
    choices = [UNMAPPED, *labels, NEW]
    table = pd.DataFrame({
        "concept_key": found["concept_key"],
        "Concept": found["concept"],
        "Spellings": [", ".join(s) for s in found["spellings"]],
        "Teams": found["teams"],
        "Items": found["items"],
        "Decides": found["items_decided"],
        "Label": [NEW if n is True else lab if isinstance(lab, str) else UNMAPPED
                  for lab, n in zip(found["label"], found["is_new"].astype(object),
                                    strict=True)],
    })
    edited = st.data_editor(
        table, hide_index=True, width="stretch", key=f"concepts-{campaign_id}",
        disabled=["concept_key", "Concept", "Spellings", "Teams", "Items", "Decides"],
        column_order=["Concept", "Spellings", "Teams", "Items", "Decides", "Label"],
        column_config={
            "Decides": st.column_config.NumberColumn(
                help="Conflicting items whose team gave them this concept: their final label."),
            "Label": st.column_config.SelectboxColumn(options=choices, required=True)})
    if st.button("Save mappings", type="primary", icon=":material/save:"):
        changed = edited[edited["Label"] != table["Label"]]
        try:
            for row in changed.itertuples():
                revolt_review.map_concept(
                    conn, user, campaign_id, row.concept_key,
                    None if row.Label in (UNMAPPED, NEW) else row.Label, settings.now(),
                    as_new=row.Label == NEW)
        except DomainError as error:
            show_error(error)
        else:
            flash(f"Saved {len(changed)} mapping(s).", ":material/check:")
            st.rerun()

    names = dict(zip(found["concept_key"], found["concept"], strict=True))
    key = st.selectbox("See the items and explanations behind a concept", list(names),
                       format_func=names.get)
    examples = revolt_review.concept_examples(conn, user, campaign_id, key)
    for row in examples.itertuples():
        with st.container(border=True):
            votes = literal(", ".join(map(str, row.votes))) if row.votes is not None else "—"
            st.caption(f"Item {row.item_id} · team {row.team_id} · votes: {votes} · "
                       f"{row.members} member(s) chose this concept")
            render(shown, json.loads(row.payload), key=f"concept-item-{row.item_id}")
            for text in row.explanations if row.explanations is not None else []:
                st.markdown(quoted(text))

st.subheader("Final labels")
labels_table = revolt_review.final_labels(conn, user, campaign_id)
if labels_table.empty:
    st.caption("No team has formed yet.")
else:
    st.dataframe(labels_table[["item_id", "external_id", "team_id", "votes", "conflict",
                               "concept", "final_label", "label_source"]],
                 hide_index=True, width="stretch", column_config={
                     "item_id": "Item", "external_id": "External id", "team_id": "Team",
                     "votes": "Votes", "conflict": "Conflict", "concept": "Team's concept",
                     "final_label": "Final label", "label_source": "From"})
    cost = revolt.config(conn, campaign_id, rules)
    st.caption(f"Pay per member: Vote {money(cost.pay_vote)}, Explain {money(cost.pay_explain)}, "
               f"Categorize {money(cost.pay_categorize)}. Download everything from *Monitor*.")
