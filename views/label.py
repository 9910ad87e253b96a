"""The labeling page: one reserved item drawn from the campaign's form, submit or skip.

A form with a model step asks its models from here (ui.model_step); a campaign whose models
cannot be called is shown as unavailable, and no item of it is reserved.
"""

import random
from collections.abc import Callable
from datetime import datetime
from functools import cache, partial

import streamlit as st
from streamlit.errors import StreamlitAPIException

from core import assign, campaigns, edits, flags, models, responses, workflow
from core.errors import Conflict, DomainError, Invalid
from server import settings
from ui import model_step, shortcuts, state, survey_prompt
from ui.feedback import flash, show_error, show_flashes
from ui.format import money, time_left
from ui.models import api_keys
from ui.text import literal, safe_markdown
from ui.workflow_form import ModelStepDrawer, pressed_answer, render

conn = state.connection()
user = state.require_user()
keys = api_keys(conn)
# The item whose form is on screen, and the item whose answer is being handled (submitted,
# refused or incomplete): that item stays on screen instead of a new claim until it is saved,
# skipped or left with "Next item", so a reservation that ran out never swaps the form.
SHOWN, ANSWERING, REFUSAL = "label_shown", "label_answering", "label_refusal"
# What the page is doing besides answering: ("flag", item_id) or ("edit", response_id).
MODE = "label_mode"
# Whether "Your recent answers" is open: the expander's own state, and a copy that outlives the
# runs that do not draw it (editing an answer), so it opens again as it was.
RECENT_OPEN, RECENT_KEPT = "label_recent_open", "label_recent_kept"
# A campaign's spec at a version (versions never change once written).
Specs = Callable[[int], dict]


def confirmation() -> None:
    """The receipt of the last committed answer, until the next one, an edit or a flag.

    One alert, no frame or button of its own: it is redrawn on every answer's run, and each
    element a run sends is work for the browser before the next item shows.
    """
    receipt: responses.Receipt | None = st.session_state.get("receipt")
    if receipt is None:
        return
    items = "item" if receipt.campaign_count == 1 else "items"
    st.success(f"Answer saved. You have answered **{receipt.campaign_count:,}** {items} in "
               f"this campaign and **{receipt.total_count:,}** in all "
               f"(+{money(receipt.earned)})."
               + (f" You can change it for {receipt.edit_minutes} min under *Your recent "
                  "answers*." if receipt.edit_minutes else ""),
               icon=":material/check_circle:")
    if receipt.too_fast:
        st.warning(too_fast_note(receipt), icon=":material/timer:")


def too_fast_note(receipt: responses.Receipt) -> str:
    """Why an answer given far under the expected time earns no points yet."""
    took = f"{receipt.seconds:.0f} s" if receipt.seconds < 120 else \
        f"{receipt.seconds / 60:.0f} min"
    share = f"{responses.TOO_FAST_SHARE:.0%}"
    return (f"That answer took {took}; this campaign expects about "
            f"{receipt.expected_minutes:g} min per item. Answers given in under {share} of "
            "that wait for a reviewer before they count on the leaderboard. You are paid for "
            "it as usual; taking the time an item needs keeps your points coming.")


def specs_of(campaign_id: int) -> Specs:
    """The campaign's specs by version, each read at most once on this run."""
    return cache(partial(campaigns.spec, conn, campaign_id))


def answering(campaign_id: int) -> assign.Assignment | None:
    """The shown item if its answer is being handled now; it comes before any new claim."""
    shown: assign.Assignment | None = st.session_state.get(SHOWN)
    if shown is None or shown.campaign_id != campaign_id or "claim_reason" in st.session_state:
        return None  # nothing shown here yet, or new work was just asked for on the home page
    form = f"item-{shown.item_id}"
    pressed = (f"submit-{shown.item_id}", shortcuts.enter_key(form),
               *(shortcuts.pick_key(form, n) for n in range(shortcuts.MAX_CHOICES)))
    if any(map(st.session_state.get, pressed)) or st.session_state.get(ANSWERING) == shown.item_id:
        return shown
    return None


def leave_item() -> None:
    """Let go of the shown item: the next run claims afresh."""
    shown = st.session_state.get(SHOWN)
    if shown is not None:
        st.session_state.pop(shortcuts.chosen_key(f"item-{shown.item_id}"), None)
    for key in (SHOWN, ANSWERING, REFUSAL, MODE):
        st.session_state.pop(key, None)


def set_mode(mode: tuple[str, int] | None) -> None:
    """Switch between answering, flagging the item and editing an earlier answer."""
    if mode is None:
        st.session_state.pop(MODE, None)
    else:  # the last answer's receipt would read as the outcome of what is being done now
        st.session_state.pop("receipt", None)
        st.session_state[MODE] = mode


def flag_panel(item_id: int) -> None:
    """Say what is wrong with the item instead of answering it; the expert moves on."""
    with st.form(f"flag-{item_id}", border=True):
        st.markdown("**What is wrong with this item?** Flagging costs you nothing: the item "
                    "goes to the campaign's requester and you get the next one.")
        reason = st.radio("Reason", list(flags.REASONS), index=None,
                          format_func=lambda r: literal(flags.REASONS[r]))
        note = st.text_input("Details (needed for “Something else”)", max_chars=500)
        send, back, _ = st.columns([2, 2, 5])
        sent = send.form_submit_button("Flag and move on", type="primary", width="stretch",
                                       icon=":material/flag:")
        back.form_submit_button("Back to the item", width="stretch",
                                on_click=set_mode, args=(None,))
    if sent:
        try:
            paused = flags.flag(conn, user, item_id, reason or "", note, settings.now())
        except DomainError as error:
            show_error(error)
            return
        leave_item()
        flash("Thanks, the item is flagged" + (" and held back until the requester looks at it."
                                               if paused else "; here is the next one."),
              ":material/flag:")
        rerun_here()


def summary(spec: dict, answer: dict) -> str:
    """An answer in one line: each question's prompt and the value given (plain text)."""
    parts = []
    for question in workflow.questions(spec):
        value = answer.get(question["id"])
        if value in (None, "", []):
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "…"
        prompt = question["prompt"].rstrip()
        parts.append(f"{prompt} {shown}" if prompt.endswith(("?", ":")) else f"{prompt}: {shown}")
    return " · ".join(parts) or "(no answer given)"


def keep_recent_open() -> None:
    st.session_state[RECENT_KEPT] = st.session_state[RECENT_OPEN]


def recent_answers(campaign: campaigns.Campaign, specs: Specs, answered_here: int,
                   now: datetime) -> None:
    """The expert's answers here that can still be edited or withdrawn, read and drawn only
    while the list is open: a submit's run sends nothing the closed list would hide."""
    if campaign.edit_minutes <= 0 or not answered_here:
        return
    if RECENT_OPEN not in st.session_state and st.session_state.get(RECENT_KEPT):
        st.session_state[RECENT_OPEN] = True
    with st.expander(f"Your recent answers · you can change each for {campaign.edit_minutes} "
                     "min, until it is reviewed", icon=":material/history:", key=RECENT_OPEN,
                     on_change=keep_recent_open):
        if not st.session_state.get(RECENT_OPEN):
            return
        mine = edits.recent(conn, user, campaign.id, now)
        if not mine:
            st.caption(f"None of your answers here can still be changed: each can be for "
                       f"{campaign.edit_minutes} min after you give it, until it is reviewed.")
            return
        for entry in mine:
            spec = specs(entry.spec_version)
            text, edit_col, withdraw_col = st.columns([6, 1, 1.4], vertical_alignment="center")
            edited = " · edited" if entry.edited_at else ""
            text.markdown(f"{literal(summary(spec, entry.answer))}  \n"
                          f":gray[Item {entry.item_id} · {time_left(entry.until, now)} to "
                          f"change{edited}]")
            edit_col.button("Edit", key=f"edit-{entry.response_id}", width="stretch",
                            on_click=set_mode, args=(("edit", entry.response_id),))
            with withdraw_col.popover("Withdraw", width="stretch"):
                st.markdown("Withdraw this answer? It leaves your count and your pay, and the "
                            "item goes to another expert.")
                if st.button("Withdraw it", key=f"withdraw-{entry.response_id}",
                             type="primary"):
                    try:
                        edits.withdraw(conn, user, entry.response_id, settings.now())
                    except DomainError as error:
                        show_error(error)
                    else:
                        st.session_state.pop("receipt", None)
                        flash("Answer withdrawn; it no longer counts and its pay was reversed.",
                              ":material/undo:")
                        rerun_here()


def stored_responses(record: dict) -> ModelStepDrawer:
    """Draws the model responses an answer was given about, as they were, without asking."""
    def draw(block: dict, payload: dict, key: str) -> list[str]:
        shown = record.get("responses", [])
        for entry, column in zip(shown, st.columns(max(len(shown), 1)), strict=False):
            column.markdown(f"**Response {literal(entry['slot'])}**")
            with column.container(border=True):
                st.markdown(literal(entry.get("text") or "(no response)"))
        return [r["slot"] for r in shown if r.get("status") == "ok"]
    return draw


def edit_panel(campaign: campaigns.Campaign, specs: Specs, response_id: int,
               now: datetime) -> None:
    """The form of an earlier answer, filled in, to change and save as a new version."""
    entry = next((e for e in edits.recent(conn, user, campaign.id, now, limit=50)
                  if e.response_id == response_id), None)
    if entry is None:
        set_mode(None)
        st.info("That answer can no longer be changed (its time is over or it was reviewed).")
        return
    spec = specs(entry.spec_version)
    errors_key = f"edit-errors-{response_id}"
    record = entry.answer.get(workflow.MODEL_STEP)
    st.markdown(f"#### Editing your answer to item {entry.item_id}")
    st.caption(f"You can change it for {time_left(entry.until, now)[:-5]}. The earlier version "
               "is kept in the answer's history; your count and pay stay as they are.")
    with st.form(f"edit-{response_id}", border=True):
        changed = render(spec, entry.payload, key=f"edit-{response_id}",
                         errors=st.session_state.get(errors_key), values=entry.answer,
                         model_step=stored_responses(record) if record else None)
        save, back, _ = st.columns([2, 2, 5])
        saved = save.form_submit_button("Save changes", type="primary", width="stretch")
        back.form_submit_button("Cancel", width="stretch", on_click=set_mode, args=(None,))
    if saved:
        try:
            edits.edit(conn, user, response_id, changed, settings.now())
        except Invalid as problem:
            st.session_state[errors_key] = problem.problems
            if not problem.problems:
                show_error(problem)
                return
            rerun_here()
        except DomainError as error:
            show_error(error)
            return
        st.session_state.pop(errors_key, None)
        set_mode(None)
        flash("Your answer is changed.", ":material/edit:")
        rerun_here()


def choose_campaign() -> None:
    """No campaign picked yet: offer the expert's open campaigns."""
    st.title("Label")
    mine = campaigns.for_expert(conn, user, settings.now())
    mine = mine[mine["kind"] == "standard"]
    if mine.empty:
        st.info("No campaign is open for your skills right now.")
        st.page_link("views/home.py", label="Back to my campaigns", icon=":material/home:")
        st.stop()
    titles = dict(zip(mine["id"], mine["title"], strict=True))
    unavailable = models.unavailable_campaigns(conn, list(titles), keys)
    picked = st.selectbox("Campaign", list(titles), index=None,
                          format_func=lambda c: titles[c] + (" (unavailable for now: its models "
                                                             "are not set up)"
                                                             if c in unavailable else ""),
                          placeholder="Choose a campaign to work on")
    if picked is not None:
        st.query_params["campaign"] = str(picked)
        st.rerun()
    st.stop()


def rerun_here() -> None:
    """Run the labeling part of the page again, not the whole app; AppTest, which runs whole
    scripts only, gets a full run."""
    try:
        st.rerun(scope="fragment")
    except StreamlitAPIException:  # not in a fragment's own run
        st.rerun()


def next_claim(campaign: campaigns.Campaign, specs: Specs,
               now: datetime) -> tuple[assign.Claim | None, str | None]:
    """The item to show: the one whose answer is being handled, else a new claim; None with the
    reason when the campaign's models cannot be called."""
    unavailable = models.campaign_unavailable(conn, campaign, specs(campaign.spec_version), keys)
    pending = answering(campaign.id)
    if unavailable and pending is None:  # hand back what another page reserved here
        models.release_held(conn, user, campaign.id)
    if pending is not None:
        return assign.Claim(pending, "answering"), unavailable
    if unavailable:
        return None, unavailable
    return assign.claim_next(conn, user, campaign.id, now, random.Random()), None


def header(campaign: campaigns.Campaign, counted: responses.Receipt | None) -> int:
    """The title and the expert's counts, read after any answer of this run is committed (the
    receipt of an answer committed on this run has them); returns the count here."""
    here, overall = ((counted.campaign_count, counted.total_count) if counted else
                     responses.counts(conn, user.id, campaign.id))
    # One row without columns: fewer elements for the browser to redraw on each answer.
    with st.container(horizontal=True, vertical_alignment="bottom", gap="medium", wrap=False):
        st.title(literal(campaign.title))
        capped = campaign.per_expert_cap is not None
        st.metric("Your answers here", f"{here} of {campaign.per_expert_cap}" if capped else here,
                  help=f"This campaign takes at most {campaign.per_expert_cap} answers per "
                       "expert." if capped else None, width="content")
        st.metric("All your answers", overall, width="content")
    confirmation()
    if st.session_state.get("receipt"):
        survey_prompt.offer(user)
    return here


def item_form(campaign: campaigns.Campaign, specs: Specs, claim: assign.Claim | None,
              unavailable: str | None, now: datetime) -> str:
    """The reserved item's form; handles its Submit and Skip. Says whether the expert moved
    on ("answered", "skipped": the next item is to be claimed) or not ("")."""
    if claim is None:
        st.warning(literal(unavailable), icon=":material/cloud_off:")
        st.page_link("views/home.py", label="Back to my campaigns", icon=":material/home:")
        return ""
    assignment = claim.assignment
    if assignment is None:
        st.info(literal(claim.reason))
        st.page_link("views/home.py", label="Back to my campaigns", icon=":material/home:")
        return ""
    st.session_state[SHOWN] = assignment
    spec = specs(assignment.spec_version)
    hotkeys = shortcuts.for_spec(spec)
    form, errors_key = f"item-{assignment.item_id}", f"errors-{assignment.item_id}"
    pressed = pressed_answer(spec, form, hotkeys)
    if pressed is not None:  # the whole answer: saved before anything of this item is drawn
        return save_answer(assignment, pressed, errors_key)
    why = st.session_state.pop("claim_reason", None) or assignment.reason
    if st.session_state.get(ANSWERING) == assignment.item_id and st.session_state.get(REFUSAL):
        st.error(f"{literal(st.session_state[REFUSAL])} What you wrote is still below, to copy "
                 "if you wish.", icon=":material/block:")
        st.button("Next item", type="primary", icon=":material/skip_next:", on_click=leave_item)
    else:
        held = (f"Reserved for you for {time_left(assignment.expires_at, now)[:-5]}"
                if assignment.expires_at > now else
                "Your reservation ran out; an answer still counts while the item has room")
        st.caption(f"{literal(why)} {held}; "
                   f"about {campaign.minutes_per_item:g} min · {money(campaign.pay_per_item)}.")

    if model_step.take_skip_request(assignment.item_id):
        try:
            models.skip_failed_item(conn, user, assignment.item_id, settings.now())
        except DomainError as refusal:
            show_error(refusal)
        else:
            st.session_state.pop(errors_key, None)
            leave_item()
            flash("Item given back at no cost to you; the models' failure is recorded.",
                  ":material/skip_next:")
            rerun_here()
    asks_models = workflow.model_step(spec) is not None
    mode = st.session_state.get(MODE)
    flagging = mode is not None and mode == ("flag", assignment.item_id)
    if flagging:
        flag_panel(assignment.item_id)
    with st.form(form, border=True):
        answer = render(spec, assignment.payload, key=form,
                        errors=st.session_state.get(errors_key),
                        model_step=model_step.ModelStep(conn, user, assignment.item_id, keys)
                        if asks_models else None, keys=hotkeys)
        # On a one-question choice form the option buttons answer; elsewhere Submit does (or
        # the form's hidden first Submit, which Enter in a text box presses).
        with st.container(horizontal=True, vertical_alignment="center"):
            if hotkeys.quick:
                submitted = answer.get(hotkeys.question) is not None
            else:
                submitted = st.form_submit_button(
                    "Submit", type="primary", key=f"submit-{assignment.item_id}",
                    shortcut=shortcuts.SUBMIT_KEY) or bool(
                    st.session_state.get(shortcuts.enter_key(form)))
            skipped = st.form_submit_button("Skip", shortcut=shortcuts.SKIP_KEY,
                                            help="Give this item back and move on.")
            st.form_submit_button("Flag a problem", icon=":material/flag:",
                                  shortcut=shortcuts.FLAG_KEY, disabled=flagging,
                                  on_click=set_mode, args=(("flag", assignment.item_id),),
                                  help="Something is wrong with this item: tell the requester "
                                       "instead of answering it, at no cost to you.")
        st.caption(shortcuts.legend(hotkeys))

    if submitted:
        return save_answer(assignment, answer, errors_key)
    if skipped:
        assign.skip(conn, user, assignment.item_id, settings.now())
        st.session_state.pop(errors_key, None)
        leave_item()
        flash("Item skipped; it goes back to the pool for other experts.", ":material/skip_next:")
        return "skipped"
    return ""


def save_answer(assignment: assign.Assignment, answer: dict, errors_key: str) -> str:
    """Submit the answer: "answered" once committed; a refusal or a problem shows on the item
    (the run starts again with it)."""
    st.session_state[ANSWERING] = assignment.item_id
    try:
        receipt = responses.submit(conn, user, assignment.item_id, answer,
                                   assignment.spec_version, settings.now())
    except Invalid as problem:
        st.session_state[errors_key] = problem.problems
        rerun_here()
    except Conflict as refusal:
        st.session_state[REFUSAL] = str(refusal)
        rerun_here()
    except DomainError as error:
        show_error(error)
        return ""
    st.session_state.pop(errors_key, None)
    leave_item()
    st.session_state["receipt"] = receipt
    return "answered"


@st.fragment
def labeling(campaign_id: int) -> None:
    """The page below the campaign choice, the one part that runs again after an answer.

    An answer is saved on the run its Submit starts, and on that same run the next item is
    claimed and drawn in place of the form: one short run per click, nothing else of the app.
    The title, counts and confirmation are drawn last, above the form, so what they say was
    read after the commit.
    """
    now = settings.now()
    try:
        campaign = campaigns.get(conn, campaign_id)
        specs = specs_of(campaign_id)
        claim, unavailable = next_claim(campaign, specs, now)
    except DomainError as error:
        confirmation()
        show_error(error)
        st.page_link("views/home.py", label="Back to my campaigns", icon=":material/home:")
        return
    top, guidelines, middle, item = st.container(), st.container(), st.container(), st.empty()
    counted = None
    mode = st.session_state.get(MODE)
    editing = bool(mode and mode[0] == "edit")
    if editing:
        with item.container():
            edit_panel(campaign, specs, mode[1], now)
    else:
        with item.container():
            moved_on = item_form(campaign, specs, claim, unavailable, now)
        if moved_on:  # the answer is committed: the next item takes the form's place
            counted = st.session_state.get("receipt") if moved_on == "answered" else None
            now = settings.now()  # the models were found callable a moment ago
            try:
                claim = assign.claim_next(conn, user, campaign_id, now, random.Random())
            except DomainError as error:
                claim, unavailable = None, str(error)
            with item.container():
                item_form(campaign, specs, claim, unavailable, now)
    with top:
        here = header(campaign, counted)
    if not editing:
        with middle:
            recent_answers(campaign, specs, here, now)
    with guidelines, st.expander("Guidelines", expanded=here == 0, icon=":material/menu_book:"):
        st.markdown(safe_markdown(campaign.guidelines) if campaign.guidelines
                    else "_This campaign has no guidelines._")
    show_flashes()  # toasts queued on this run or the fragment's last


raw_id = st.query_params.get("campaign")
if not raw_id or not raw_id.isdigit():
    choose_campaign()
labeling(int(raw_id))
