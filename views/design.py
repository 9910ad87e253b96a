"""Design a campaign: settings, the form spec with a live preview, items, and its lifecycle."""

from datetime import datetime, time, timedelta

import streamlit as st

from core import campaigns, catalog, io, lifecycle, models, workflow
from core.errors import DomainError, Invalid
from server import settings
from ui import shortcuts, state
from ui.campaign_status import status_controls
from ui.feedback import field_error, flash, problem_lines, show_error
from ui.files import private_path
from ui.form_builder import builder
from ui.format import headers, kind_name
from ui.models import api_keys
from ui.pickers import campaign_links, campaign_picker
from ui.text import literal
from ui.workflow_form import render

conn = state.connection()
user = state.require_user()
now = settings.now()

st.title("Design a campaign")
picked = campaign_picker(user, allow_new=True)
campaign = campaigns.get(conn, picked) if picked else None
if campaign is not None:
    campaign_links("views/design.py", campaign)
key = f"c{picked}"
error: Invalid | None = st.session_state.get(f"design_error_{key}")
if campaign and campaign.status == "closed":
    st.info("This campaign is closed: its settings and form are shown read-only.")


def datetime_input(label: str, value: datetime, widget_key: str) -> datetime:
    """A date and a time picker side by side, combined (UTC)."""
    day_col, time_col = st.columns(2)
    day = day_col.date_input(f"{label} (date, UTC)", value.date(), key=f"{widget_key}-d")
    at = time_col.time_input(f"{label} (time, UTC)", value.time().replace(second=0,
                             microsecond=0), key=f"{widget_key}-t", step=timedelta(minutes=30))
    return datetime.combine(day, at or time(0))


def settings_form() -> dict:
    """The campaign's settings as widgets, pre-filled from the campaign or sensible defaults."""
    c = campaign
    skills, languages = catalog.skills(conn), catalog.languages(conn)
    st.subheader("Settings")
    values = {"title": st.text_input("Title", c.title if c else "", key=f"{key}-title")}
    field_error(error, "title")
    values["description"] = st.text_input("One-line description", c.description if c else "",
                                          key=f"{key}-description")
    values["guidelines"] = st.text_area("Guidelines (markdown)", c.guidelines if c else "",
                                        key=f"{key}-guidelines", height=150)
    a, b, k = st.columns(3)
    skill_codes, language_tags = list(skills), list(languages)
    values["skill"] = a.selectbox("Skill", skill_codes, format_func=skills.get,
                                  index=skill_codes.index(c.skill) if c else 0, key=f"{key}-skill")
    values["language"] = b.selectbox(
        "Language", language_tags, format_func=lambda t: f"{languages[t]} ({t})",
        index=language_tags.index(c.language if c else "en-US"), key=f"{key}-language")
    values["kind"] = k.radio("Kind", campaigns.KINDS, horizontal=True, key=f"{key}-kind",
                             format_func=kind_name,
                             index=campaigns.KINDS.index(c.kind) if c else 0,
                             disabled=bool(c and c.status != "draft"),
                             help="Revolt: teams label together in synchronized stages.")
    a, b = st.columns(2)
    values["expertise_level"] = a.text_input("Expected level", c.expertise_level if c else "Any",
                                             key=f"{key}-level")
    values["expertise_type"] = b.text_input("Expected type of expertise",
                                            c.expertise_type if c else "", key=f"{key}-type",
                                            placeholder="e.g. Python developers")
    a, b, d, e, f = st.columns(5)
    values["minutes_per_item"] = a.number_input(
        "Minutes per item", 0.1, 600.0, float(c.minutes_per_item) if c else 2.0, 0.5,
        key=f"{key}-minutes")
    values["pay_per_item"] = b.number_input("Pay per item ($)", 0.0, 1000.0,
                                            float(c.pay_per_item) if c else 1.0, 0.25,
                                            format="%.2f", key=f"{key}-pay")
    values["overlap"] = d.number_input("Answers per item", 1, 50, c.overlap if c else 3,
                                       key=f"{key}-overlap")
    cap = e.number_input("Cap per expert (0 = none)", 0, 1_000_000,
                         (c.per_expert_cap or 0) if c else 0, key=f"{key}-cap")
    values["per_expert_cap"] = int(cap) or None
    values["lease_minutes"] = f.number_input("Reservation (minutes)", 1, 1440,
                                             c.lease_minutes if c else 30, key=f"{key}-lease")
    a, b, _ = st.columns([1, 1, 3])
    values["edit_minutes"] = int(a.number_input(
        "Edits allowed for (minutes)", 0, 10080, c.edit_minutes if c else 30,
        key=f"{key}-edit-minutes", help="How long experts may edit or withdraw an answer that "
        "is not reviewed yet. 0 turns editing off."))
    values["flag_limit"] = int(b.number_input(
        "Flags that pause an item", 1, 1000, c.flag_limit if c else 2, key=f"{key}-flags",
        help="An item flagged this many times stops being handed out until you decide in "
        "Review."))
    for name in ("minutes_per_item", "pay_per_item", "overlap", "per_expert_cap",
                 "edit_minutes", "flag_limit"):
        field_error(error, name)
    opens = now.replace(minute=0, second=0, microsecond=0)
    values["opens_at"] = datetime_input("Opens", c.opens_at if c else opens, f"{key}-opens")
    values["expires_at"] = datetime_input("Expires", c.expires_at if c else opens
                                          + timedelta(days=30), f"{key}-expires")
    field_error(error, "expires_at")
    with st.expander("Quality checks and rewards", expanded=bool(c and (
            c.gold_rate or c.bonus_min_quality or c.challenge_rewards))):
        a, b, d = st.columns(3)
        values["gold_rate"] = a.number_input(
            "Share of gold items", 0.0, 0.5, float(c.gold_rate) if c else 0.0, 0.05,
            key=f"{key}-gold", help="How often an expert gets an item with a known answer "
            "(import a gold column). 0.1 means about one task in ten.")
        bonus_on = b.number_input(
            "Bonus from quality (0 = no bonus)", 0.0, 1.0,
            float(c.bonus_min_quality or 0) if c else 0.0, 0.05, key=f"{key}-bonusq",
            help="At close, experts whose quality score reaches this get the bonus per item.")
        values["bonus_min_quality"] = bonus_on or None
        values["bonus_per_item"] = d.number_input(
            "Bonus per item ($)", 0.0, 1000.0, float(c.bonus_per_item) if c else 0.0, 0.1,
            format="%.2f", key=f"{key}-bonus")
        rewards = st.text_input(
            "Challenge rewards for the top experts ($, rank 1 first)",
            ", ".join(f"{r:g}" for r in c.challenge_rewards) if c else "",
            placeholder="e.g. 50, 30, 20", key=f"{key}-rewards",
            help="Paid when the campaign closes, by leaderboard rank in this campaign.")
        values["challenge_rewards"] = [r.strip() for r in rewards.split(",") if r.strip()]
        for name in ("gold_rate", "bonus_min_quality", "bonus_per_item", "challenge_rewards"):
            field_error(error, name)
    return values


def spec_editor() -> tuple[str, dict | None]:
    """The spec text area beside its live preview; returns the text and the parsed spec."""
    st.subheader("Form")
    if campaign is None:
        template = st.selectbox("Start from a template", list(workflow.TEMPLATES),
                                key="template")
        default = workflow.TEMPLATES[template]
        editor_key = f"{key}-spec-{template}"
    else:
        default = campaigns.spec_text(conn, campaign.id)
        editor_key = f"{key}-spec-v{campaign.spec_version}"
    st.session_state.setdefault(editor_key, default)
    edit, preview = st.columns(2, gap="large")
    build_tab, yaml_tab = edit.tabs(["Builder", "YAML"])
    with yaml_tab:
        text = st.text_area("Form spec (YAML or JSON)", height=520, key=editor_key,
                            disabled=read_only,
                            help="The builder edits this same text. Blocks are shown in order. "
                                 "Display blocks: text, markdown, code, image (`value` or an "
                                 "item `field`). Questions: single_choice, multiple_choice, "
                                 "free_text, rating, code_answer, and about model responses: "
                                 "ranking, pairwise. A `model_responses` block asks the "
                                 "registered models it names.")
    with build_tab:
        builder(editor_key, disabled=read_only)
    with preview:
        st.caption("Live preview, drawn exactly as experts will see it")
        try:
            parsed = workflow.parse_spec(text)
        except Invalid as problem:
            st.error(literal(str(problem).split(":")[0] + ":"), icon=":material/error:")
            st.markdown(problem_lines(problem))
            return text, None
        model_choices(parsed)
        payload = preview_item(parsed)
        keys = shortcuts.for_spec(parsed)
        if keys.question is None:
            with st.container(border=True):
                render(parsed, payload, key=f"preview-{editor_key}")
        else:  # options drawn as buttons with number keys, which only a form can hold
            with st.form(f"preview-form-{editor_key}", border=True):
                render(parsed, payload, key=f"preview-{editor_key}", keys=keys)
    return text, parsed


def preview_item(parsed: dict) -> dict:
    """The imported item the preview shows, stepped through by number; placeholders before
    any import."""
    count = campaigns.item_count(conn, campaign.id) if campaign is not None else 0
    if count == 0:
        return {f: f"(the item's “{f}” appears here)" for f in workflow.payload_fields(parsed)}
    number = st.number_input(f"Preview item (1–{count:,}, in import order)", 1, count, 1,
                             key=f"{key}-preview-item")
    return campaigns.item_payload_at(conn, campaign.id, int(number) - 1) or {}


def model_choices(parsed: dict) -> None:
    """For a form that asks models: the registered ones, and any it names that cannot be asked."""
    if workflow.model_step(parsed) is None:
        return
    names = [m.name for m in models.list_models(conn)]
    st.caption("Registered models: " + (literal(", ".join(names)) if names else "none yet")
               + " (see the Models page).")
    problems = models.availability_problems(conn, parsed, api_keys(conn))
    if problems:
        st.warning("Experts will see this campaign as unavailable until its models can be "
                   f"asked: {literal('; '.join(problems))}.", icon=":material/smart_toy:")


read_only = bool(campaign and campaign.status == "closed")
values = settings_form()
spec_text, parsed = spec_editor()
label = "Create draft" if campaign is None else "Save changes"
if st.button(label, type="primary", disabled=parsed is None or read_only):
    try:
        if campaign is None:
            saved = campaigns.create(conn, user, spec_text=spec_text, now=now, **values)
        else:
            saved = campaigns.update(conn, user, campaign.id, spec_text=spec_text, now=now,
                                     **values)
    except Invalid as problem:
        st.session_state[f"design_error_{key}"] = problem
        st.rerun()
    except DomainError as refusal:
        show_error(refusal)
    else:
        st.session_state.pop(f"design_error_{key}", None)
        flash(f"Saved “{saved.title}” (form version {saved.spec_version}).", ":material/save:")
        st.query_params["campaign"] = str(saved.id)
        st.rerun()
if error is not None:
    show_error(error)
if parsed is None:
    st.caption("Fix the form spec to save.")

if campaign is None:
    st.stop()

st.divider()
st.subheader("Items")
count = campaigns.item_count(conn, campaign.id)
st.markdown(f"This campaign has **{count:,}** items.")
if count:
    with st.expander(f"The imported items{' (the first 200)' if count > 200 else ''}",
                     icon=":material/table_rows:"):
        listed = campaigns.items_page(conn, user, campaign.id)
        listed["external_id"] = listed["external_id"].fillna("")
        st.dataframe(listed, hide_index=True, width="stretch", height=260, column_config={
            "id": st.column_config.NumberColumn("Item #", format="%d"),
            "external_id": "External id", "response_count": "Answers",
            "gold": st.column_config.CheckboxColumn("Gold")})
upload = st.file_uploader("Import items from CSV, JSON Lines or Parquet",
                          type=["csv", "jsonl", "ndjson", "json", "parquet"],
                          disabled=read_only,
                          # a new key after each import empties the uploader
                          key=f"{key}-upload-{st.session_state.get('imports_done', 0)}")
if upload is not None:
    try:
        with private_path(upload.name, upload.getvalue()) as path:
            file_columns = io.columns(conn, path, limits=settings.load().import_limits)
    except DomainError as problem:
        show_error(problem)
        st.stop()
    spec_now = campaigns.spec(conn, campaign.id, campaign.spec_version)
    file_key = f"{key}-{upload.file_id}"  # every new file gets a mapping of its own columns
    with st.form(f"{file_key}-mapping"):
        st.caption("Map the file's columns to the fields the form shows.")
        mapping = {}
        fields = workflow.payload_fields(spec_now) or ["text"]
        for field in fields:
            guess = file_columns.index(field) if field in file_columns else None
            mapping[field] = st.selectbox(f"Field “{literal(field)}” comes from column",
                                          file_columns,
                                          index=guess, key=f"{file_key}-map-{field}")
        optional = [None, *file_columns]
        external = st.selectbox("External id column (optional)", optional,
                                format_func=lambda c: "— none —" if c is None else c,
                                index=optional.index("id") if "id" in optional else 0,
                                key=f"{file_key}-external")
        gold = st.selectbox("Gold answer column (optional)", optional,
                            format_func=lambda c: "— none —" if c is None else c,
                            index=optional.index("gold") if "gold" in optional else 0,
                            key=f"{file_key}-gold")
        if st.form_submit_button("Import", type="primary"):
            try:
                with private_path(upload.name, upload.getvalue()) as path:
                    report = io.import_items(conn, user, campaign.id, path, io.Mapping(
                        {f: c for f, c in mapping.items() if c}, external, gold), settings.now(),
                        limits=settings.load().import_limits)
            except DomainError as problem:
                show_error(problem)
            else:
                st.session_state["imports_done"] = st.session_state.get("imports_done", 0) + 1
                flash(f"Imported {report.imported:,} items.", ":material/upload:")
                st.rerun()

st.divider()
status_controls(conn, user, campaign, where="design")
history = lifecycle.history(conn, campaign.id)
if not history.empty:
    st.dataframe(history, hide_index=True, width="stretch", placeholder="", column_config={
        "changed_at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm"),
        "from_status": "From", "to_status": "To", "by": "By", "note": "Note"})
with st.expander("Form versions"):
    versions = campaigns.spec_versions(conn, campaign.id)
    st.dataframe(versions, hide_index=True, width="stretch", column_config=headers(versions, {
        "created_at": st.column_config.DatetimeColumn("Saved (UTC)", format="YYYY-MM-DD HH:mm"),
        "created_by": "By", "answers": "Answers with it"}))
