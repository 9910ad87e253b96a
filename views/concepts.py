"""Concept review (Revolt): what teams found ambiguous, mapped to labels; team settings."""

import json
from collections import Counter

import pandas as pd
import streamlit as st

from core import campaigns, concept_edits, revolt, revolt_review
from core.errors import DomainError
from server import settings
from ui import state, team
from ui.feedback import flash, show_error
from ui.format import money
from ui.pickers import campaign_links, campaign_picker
from ui.text import literal, quoted
from ui.workflow_form import render

conn = state.connection()
user = state.require_user()
rules = team.settings()
NEW = "➕ New label (the concept's name)"
UNMAPPED = "— not mapped —"

st.title("Concept review")
campaign_id = campaign_picker(user, kind="revolt", label="Team campaign")
if campaign_id is None:
    st.info("You have no team campaigns. Create one on *Design* with the kind “revolt”.")
    st.page_link("views/design.py", label="Design a campaign", icon=":material/add:")
    st.stop()
campaign_links("views/concepts.py", campaigns.get(conn, campaign_id))
mine = campaigns.overview(conn, user)
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

def votes_text(votes) -> str:
    """A team's votes on an item as counts: "Yes ×2 · No ×1"."""
    if votes is None or len(votes) == 0:
        return ""
    counts = Counter(map(str, votes))
    return " · ".join(f"{label} ×{n}" for label, n in counts.most_common())


def edit_concepts(names: dict[str, str]) -> None:
    """Merge synonyms into one concept."""
    with st.container(border=True):
        st.markdown("**Merge synonyms** · e.g. “lynx”, “lynxes” and “bobcat” into one concept")
        a, b, c = st.columns([3, 2, 1], vertical_alignment="bottom")
        into = b.selectbox("Into", list(names), format_func=names.get, key="merge-into")
        sources = a.multiselect("Merge these concepts", [k for k in names if k != into],
                                format_func=names.get, key=f"merge-from-{into}",
                                placeholder="Choose the synonyms")
        if c.button("Merge", disabled=not sources, width="stretch", key="merge"):
            try:
                moved = concept_edits.merge(conn, user, campaign_id, sources, into,
                                            settings.now())
            except DomainError as error:
                show_error(error)
            else:
                flash(f"Merged {len(sources)} concept(s) into “{names[into]}” "
                      f"({moved} item(s)).", ":material/merge:")
                st.rerun()


def concept_items(names: dict[str, str]) -> None:
    """A concept's items with their votes; some of them can move to a new concept (split)."""
    key = st.selectbox("See a concept's items", list(names), format_func=names.get,
                       key="concept-shown")
    examples = revolt_review.concept_examples(conn, user, campaign_id, key, limit=500)
    table = pd.DataFrame({
        "Item": examples["item_id"], "External id": examples["external_id"].fillna(""),
        "Team": examples["team_id"], "Votes": [votes_text(v) for v in examples["votes"]],
        "Members who chose it": examples["members"]})
    st.caption("Select items to move them to another concept, to split a generic one "
               "(“not a real cat” into “cartoon” and “statue”).")
    picked = st.dataframe(table, hide_index=True, width="stretch", on_select="rerun",
                          selection_mode="multi-row", key=f"concept-items-{key}",
                          height=min(38 + 35 * len(table), 300))
    chosen = [int(table.iloc[r]["Item"]) for r in picked.selection.rows]
    a, b = st.columns([3, 1], vertical_alignment="bottom")
    new_name = a.text_input(f"Move the {len(chosen)} selected item(s) to the concept",
                            placeholder="A new name, or an existing concept's",
                            key=f"split-name-{key}")
    if b.button("Move items", disabled=not chosen, width="stretch", key="split"):
        try:
            concept_edits.split(conn, user, campaign_id, key, chosen, new_name, settings.now())
        except DomainError as error:
            show_error(error)
        else:
            flash(f"Moved {len(chosen)} item(s) from “{names[key]}” to “{new_name}”.",
                  ":material/call_split:")
            st.rerun()
    for row in examples.head(3).itertuples():
        with st.container(border=True):
            st.caption(f"Item {row.item_id} · team {row.team_id} · votes: "
                       f"{literal(votes_text(row.votes)) or '—'} · "
                       f"{row.members} member(s) chose this concept")
            render(shown, json.loads(row.payload), key=f"concept-item-{row.item_id}")
            for text in row.explanations if row.explanations is not None else []:
                st.markdown(quoted(text))


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
    edit_concepts(names)
    concept_items(names)

with st.expander("History of merges and splits", icon=":material/history:"):
    past = concept_edits.history(conn, user, campaign_id)
    if past.empty:
        st.caption("No concept has been merged or split yet.")
    else:
        past["label_moved"] = past["label_moved"].fillna("")
        st.dataframe(past, hide_index=True, width="stretch", column_config={
            "edited_at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm"),
            "edited_by": "By", "action": "Edit", "from_key": "From concept",
            "to_key": "To concept", "to_name": "Named", "items": "Items",
            "item_ids": "Item numbers", "label_moved": "Label carried over"})

st.subheader("Final labels")
labels_table = revolt_review.final_labels(conn, user, campaign_id)
if labels_table.empty:
    st.caption("No team has formed yet.")
else:
    for column in ("external_id", "concept", "final_label"):
        labels_table[column] = labels_table[column].astype(object).where(
            labels_table[column].notna(), "")
    st.dataframe(labels_table[["item_id", "external_id", "team_id", "votes", "conflict",
                               "concept", "final_label", "label_source"]],
                 hide_index=True, width="stretch", column_config={
                     "item_id": "Item", "external_id": "External id", "team_id": "Team",
                     "votes": "Votes", "conflict": "Conflict", "concept": "Team's concept",
                     "final_label": "Final label", "label_source": "From"})
    cost = revolt.config(conn, campaign_id, rules)
    st.caption(f"Pay per member: Vote {money(cost.pay_vote)}, Explain {money(cost.pay_explain)}, "
               f"Categorize {money(cost.pay_categorize)}. Download everything from *Monitor*.")
