"""Team sessions (Revolt): the preview, the lobby, and a team's synchronized stages.

The page is drawn from the database alone: which of preview, lobby or session the expert sees
follows from their rows. Live parts are fragments that rerun when the server pushes an event
(ui/live.py: the team's or lobby's version moved past the one they were drawn from), never on a
timer; when a rerun finds the team (or the expert) in another state than the page was drawn
from, it reruns the whole page, which says what moved.
"""

from datetime import datetime, timedelta

import streamlit as st

from core import campaigns, catalog, revolt, revolt_live, revolt_lobby
from core.errors import DomainError, Invalid
from server import settings
from ui import live, state, team
from ui.feedback import flash, show_error
from ui.format import money, plural
from ui.text import literal, safe_markdown
from ui.workflow_form import render

conn = state.connection()
user = state.require_user()
rules = team.settings()
STAGE_HELP = {
    "vote": "Label every item on your own. Nobody sees anyone else's labels.",
    "explain": "Your team disagreed on these items. Explain your choice to help the others "
               "understand the item; you will not see how the labels were split.",
    "categorize": "Read everyone's explanations and name the concept behind each item, such as "
                  "“cartoon cat” or “big cat”: pick one from your team's list or add a new one.",
}


def choose_campaign() -> None:
    """No campaign in the address: list the expert's team campaigns."""
    st.title("Team sessions")
    mine = campaigns.for_expert(conn, user, settings.now())
    mine = mine[mine["kind"] == "revolt"]
    if mine.empty:
        st.info("No team campaign is open for your skills right now.")
        st.page_link("views/home.py", label="Back to my campaigns", icon=":material/home:")
        st.stop()
    counts = revolt_lobby.lobby_counts(conn, mine["id"].tolist(), settings.now(), rules)
    for campaign_id, title in mine[["id", "title"]].itertuples(index=False):
        waiting, left = counts.get(int(campaign_id), (0, 0))
        with st.container(border=True):
            text, go = st.columns([5, 1], vertical_alignment="center")
            text.markdown(f"**{literal(title)}**  \n"
                          f"{plural(waiting, 'expert')} in the lobby · "
                          f"{plural(left, 'item')} left for teams")
            if go.button("Open", key=f"open-{campaign_id}", width="stretch"):
                st.query_params["campaign"] = str(campaign_id)
                st.rerun()
    st.stop()


def display_blocks(spec: dict) -> dict:
    """The form without its questions: what an item shows."""
    return {**spec, "blocks": [b for b in spec["blocks"] if "id" not in b]}


# --- before the team ---------------------------------------------------------------------------

def preview_page(campaign_id: int) -> None:
    try:
        p = revolt_lobby.preview(conn, user, campaign_id, settings.now(), rules)
    except DomainError as error:
        show_error(error)
        st.stop()
    st.title(literal(p.campaign.title))
    st.markdown(":orange-badge[Team task] "
                f":blue-badge[{literal(catalog.skill_name(p.campaign.skill))}] "
                f":violet-badge[{literal(catalog.language_name(p.campaign.language))}]")
    if p.campaign.description:
        st.caption(literal(p.campaign.description))
    others = p.team_size - 1
    st.info(f"**You will work with {plural(others, 'other expert')}, in stages you move through "
            f"together.** Your team waits for everyone at each stage, so stay until the end: if "
            f"you leave early, the others wait up to {rules.dropout_seconds:g} seconds for you, "
            "and the items you did not finish lose your judgment.", icon=":material/groups:")
    how, facts = st.columns([3, 2])
    with how:
        st.markdown(
            f"1. **Vote** — label {plural(p.batch_size, 'item')} on your own; nobody sees anyone "
            "else's labels.\n"
            "2. **Explain** — only for items your team disagreed on: explain your choice to help "
            "the others understand the item.\n"
            "3. **Categorize** — read everyone's explanations and name the concept behind each "
            "of those items.\n\n"
            "When nothing conflicts, your team is done after voting. A short survey closes the "
            "session.")
    with facts:
        st.metric("Time", f"~{p.vote_minutes:g}–{p.most_minutes:g} min",
                  help="Voting takes about the first figure; explaining and categorizing add up "
                       "to the second when every item conflicts.")
        st.markdown("**Pay per stage you finish**  \n" + "  \n".join(
            f"{name}: **{money(amount)}**" for name, amount in revolt_lobby.stage_pay(p.config))
                    + "  \n_Explain and Categorize happen, and pay, only if your team disagrees._")
        st.caption(f"{plural(p.items_left, 'item')} left for teams.")
    with st.expander("Example items", expanded=True, icon=":material/image:"):
        for n, payload in enumerate(p.examples):
            render(display_blocks(p.spec), payload, key=f"example-{n}")
        st.markdown(f"You will answer: **{literal(p.question['prompt'])}** "
                    f"({literal(' / '.join(map(str, p.question['options'])))})")
    with st.expander("Guidelines", icon=":material/menu_book:"):
        st.markdown(safe_markdown(p.campaign.guidelines) if p.campaign.guidelines
                    else "_This campaign has no guidelines._")
    if p.problem:
        st.warning(literal(p.problem), icon=":material/block:")
    if st.button("Join the lobby", type="primary", icon=":material/login:",
                 disabled=not p.can_join):
        try:
            revolt_lobby.enter(conn, user, campaign_id, settings.now(), rules)
        except DomainError as error:
            show_error(error)
        else:
            st.session_state["ask_notifications"] = True
            for key in ("lobby_seen", "lobby_was_ready", "lobby_expired"):
                st.session_state.pop(key, None)
            st.rerun()


def lobby_page(campaign_id: int) -> None:
    title = campaigns.get(conn, campaign_id).title
    st.title(f"Lobby · {literal(title)}")
    if st.session_state.pop("ask_notifications", False):
        team.ask_permission()
    st.caption(f"A team forms as soon as {rules.team_size} experts here are ready. Keep this page "
               "open: you will hear a chime when someone arrives and when your team starts.")
    st.session_state["lobby_waiting"] = campaign_id  # so the team page says it started
    lobby_live(campaign_id)


@st.fragment
def lobby_live(campaign_id: int) -> None:
    """The lobby's live part: drawn again whenever the server says the lobby moved."""
    # Read before the lobby itself: a move in between then causes one event too many, not one
    # too few.
    version = revolt_live.lobby_version(conn, campaign_id, settings.now(), rules)
    try:
        lobby = revolt_lobby.poll(conn, user, campaign_id, settings.now(), rules)
    except DomainError as error:
        show_error(error)
        return
    if lobby.team_id is not None:
        st.rerun(scope="app")  # the page then says the team is starting
    if not lobby.here:
        flash("You were away from the lobby for a while, so you left it. Join again when ready.")
        st.rerun(scope="app")
    seen = st.session_state.get("lobby_seen")
    arrived = lobby.present_ids - (seen or frozenset()) - {user.id}
    if seen is not None and arrived:
        enough = lobby.present >= lobby.team_size > len(seen)  # a team can start now
        team.notify("An expert joined the lobby",
                    "Enough experts are here: press Ready to start your team." if enough else
                    f"{lobby.present} of the {lobby.team_size} needed for a team are here.")
    st.session_state["lobby_seen"] = lobby.present_ids

    a, b, c = st.columns(3)
    a.metric("Waiting in the lobby", lobby.present)
    b.metric("Ready", lobby.ready)
    c.metric("Team size", lobby.team_size)
    if lobby.items_left == 0:
        st.warning("Every item has been given to a team; no new team can form.")
    if st.session_state.get("lobby_was_ready") and lobby.ready_until is None:
        st.session_state["lobby_expired"] = True
    st.session_state["lobby_was_ready"] = lobby.ready_until is not None
    if st.session_state.get("lobby_expired") and lobby.ready_until is None:
        st.warning(f"Your readiness ran out after {rules.ready_seconds / 60:g} minutes. Press "
                   "Ready again when you are here.", icon=":material/timer_off:")
    ready_col, leave_col, _ = st.columns([2, 2, 2])
    if lobby.ready_until is not None:
        st.success(f"You are ready until {live.clock_time(lobby.ready_until)}. Waiting for "
                   f"{plural(max(0, lobby.team_size - lobby.ready), 'more ready expert')}.",
                   icon=":material/check_circle:")
        clicked = ready_col.button("Still ready", icon=":material/refresh:", width="stretch",
                                   help="Renew your readiness for another "
                                        f"{rules.ready_seconds / 60:g} minutes.")
    else:
        clicked = ready_col.button(
            "Ready", type="primary", icon=":material/thumb_up:", width="stretch",
            disabled=not lobby.can_ready,
            help=f"Turns on when {lobby.team_size} experts are in the lobby. Readiness lasts "
                 f"{rules.ready_seconds / 60:g} minutes and must be renewed.")
        if not lobby.can_ready and lobby.items_left:
            st.caption(f"Waiting for {plural(lobby.team_size - lobby.present, 'more expert')} to "
                       "arrive. "
                       f"{wait_estimate(campaign_id)} You can leave this tab open: it chimes "
                       "and notifies you when enough experts are here.")
        elif lobby.ready:
            st.info(f"{plural(lobby.ready, 'expert')} {'is' if lobby.ready == 1 else 'are'} "
                    "ready and waiting for you: press Ready to start the team.",
                    icon=":material/notifications_active:")
    if clicked:
        st.session_state.pop("lobby_expired", None)
        try:
            after = revolt_lobby.set_ready(conn, user, campaign_id, settings.now(), rules)
        except DomainError as error:
            show_error(error)
        else:
            if after.team_id is not None:
                st.rerun(scope="app")
            st.rerun(scope="fragment")
    if leave_col.button("Leave the lobby", icon=":material/logout:", width="stretch"):
        revolt_lobby.leave_lobby(conn, user, campaign_id)
        st.rerun(scope="app")
    live.wake_on_lobby(campaign_id, version)


def wait_estimate(campaign_id: int) -> str:
    """How long teams have taken to form here lately, in words."""
    gap = revolt_lobby.formation_gap(conn, campaign_id, settings.now())
    if gap is None:
        return "No team has formed here in the last week, so the wait may be long."
    minutes = max(1, round(gap.total_seconds() / 60))
    return f"Lately a team has formed here about every {plural(minutes, 'minute')}."


# --- the team session --------------------------------------------------------------------------

def session_page(team_id: int) -> None:
    version = revolt_live.team_version(conn, team_id, settings.now(), rules)  # before the poll
    try:
        s = revolt.poll(conn, user, team_id, settings.now(), rules)
    except DomainError as error:
        show_error(error)
        st.stop()
    campaign = campaigns.get(conn, s.campaign_id)
    st.title(f"Team session · {literal(campaign.title)}")
    announce_moves(s)
    progress_header(s)
    if s.status != "active":
        gone_notice(s)
        return
    if s.finished:
        exit_survey(s)
        return
    st.session_state["team_fresh"] = (s, version)
    spec = campaigns.spec(conn, s.campaign_id, s.spec_version)
    if s.stage == "vote" and s.todo:
        vote_form(s, spec)
    elif s.stage == "explain" and s.todo:
        explain_form(s, spec)
    team_live(team_id, s.key, display_blocks(spec))
    leave_button(s)
    st.caption(f"Keep this page open until your part is done: if it stops responding for "
               f"{rules.dropout_seconds:g} seconds, your team goes on without you.")


def announce_moves(s: revolt.Session) -> None:
    """Chime and notify when the team started or moved on since this tab last drew it."""
    seen = st.session_state.get("team_drawn")
    st.session_state["team_drawn"] = (s.team_id, s.version)
    if s.status != "active":
        return
    if seen is None or seen[0] != s.team_id:
        if st.session_state.pop("lobby_waiting", None) == s.campaign_id:
            team.notify("Your team is starting", "Everyone is ready: time to vote.")
    elif seen[1] != s.version:
        # Say why, as the stage machine recorded it: after a drop or a Leave, "everyone
        # finished" would not be true.
        team.notify("Your team has finished" if s.stage == "done"
                    else f"On to {revolt.STAGE_NAMES[s.stage]}", s.moved_because or "")


def progress_header(s: revolt.Session) -> None:
    """Stage n of 3, pay earned so far and what remains to earn."""
    name = revolt.STAGE_NAMES[s.stage]
    if s.status != "active":
        label = "Your team has finished" if s.stage == "done" else f"Your team is at {name}"
    elif s.stage == "done" and s.paid_stages == ("vote",):
        label = "Finished after Vote · every item was unanimous, so there was nothing to explain"
    elif s.finished:
        label = "Finished · all your stages are done"
    else:
        label = f"Stage {s.stage_number} of 3 · {name}"
    stage_col, earned_col, left_col = st.columns([2, 1, 1], vertical_alignment="bottom")
    with stage_col:
        st.progress(s.stage_number / 3 if s.stage != "done" else 1.0, text=label)
        if s.stage in STAGE_HELP and s.status == "active" and not s.finished:
            st.caption(STAGE_HELP[s.stage])
    earned_col.metric("Earned so far", money(s.earned))
    left_col.metric("Still to earn, at most", money(s.remaining) if s.remaining else "—",
                    help="Pay for the stages ahead; Explain and Categorize happen only if your "
                         "team disagrees on some item.")


def vote_form(s: revolt.Session, spec: dict) -> None:
    task = s.todo[0]
    q = s.question
    st.subheader(f"Item {s.batch_size - len(s.todo) + 1} of {s.batch_size}")
    with st.form(f"vote-{task.item_id}", border=True):
        render(display_blocks(spec), task.payload, key=f"vote-{task.item_id}")
        label = st.radio(literal(q["prompt"]), [str(o) for o in q["options"]], index=None,
                         key=f"vote-{task.item_id}:{q['id']}", format_func=literal,
                         help=literal(q["help"]) if q.get("help") else None)
        sent = st.form_submit_button("Submit vote", type="primary")
    if sent:
        if label is None:
            st.error("Choose a label first.", icon=":material/error:")
            return
        submit(lambda: revolt.vote(conn, user, s.team_id, task.item_id, label, settings.now(),
                                   rules))


def explain_form(s: revolt.Session, spec: dict) -> None:
    task = s.todo[0]
    done = (s.conflicts or 0) - len(s.todo)
    st.subheader(f"Conflicting item {done + 1} of {s.conflicts}")
    with st.form(f"explain-{task.item_id}", border=True):
        render(display_blocks(spec), task.payload, key=f"explain-{task.item_id}")
        st.warning("Your team's labels conflicted on this item.", icon=":material/call_split:")
        st.markdown(f"Your label: **{literal(task.my_label or '—')}**")
        low, high = revolt.EXPLANATION_LENGTH
        text = st.text_area("Your explanation", key=f"explain-{task.item_id}:text",
                            max_chars=high, placeholder=f"{low}–{high} characters",
                            help="What did you see in this item, and why did it lead to your "
                                 "label? Write it to help your teammates understand the item.")
        sent = st.form_submit_button("Submit explanation", type="primary")
    if sent:
        submit(lambda: revolt.explain(conn, user, s.team_id, task.item_id, text, settings.now(),
                                      rules))


def submit(action) -> None:
    """Run a submission; its outcome is shown after the page redraws."""
    try:
        step = action()
    except Invalid as problem:
        st.error(literal(problem), icon=":material/error:")
        return
    except DomainError as error:
        flash(str(error), ":material/block:")
        st.rerun()
    if step.finished_stage:
        flash(f"{revolt.STAGE_NAMES[step.finished_stage]} stage done: "
              f"+{money(step.paid)}.", ":material/payments:")
    st.rerun()


@st.fragment
def team_live(team_id: int, drawn: tuple, shown_spec: dict) -> None:
    """Drawn again whenever the server says the team moved: move the page on when the stage
    or this member changed, else redraw the waiting room or the Categorize form."""
    s, version = st.session_state.pop("team_fresh", (None, None))
    if s is None or s.team_id != team_id:
        version = revolt_live.team_version(conn, team_id, settings.now(), rules)
        try:
            s = revolt.poll(conn, user, team_id, settings.now(), rules)
        except DomainError as error:
            show_error(error)
            return
    if s.key != drawn:
        st.rerun(scope="app")  # the page then says what moved
    if s.stage == "categorize" and s.todo:
        categorize_form(s, shown_spec)
    elif s.stage_done or not s.todo:
        waiting_room(s)
    live.wake_on_team(team_id, version)


def waiting_room(s: revolt.Session) -> None:
    working = [m for m in s.mates if not m.is_me and m.status == "active" and m.done < m.needed]
    doing = {"vote": "voting", "explain": "explaining", "categorize": "categorizing"}.get(
        s.stage, "working")
    still = f": {len(working)} still {doing}" if working else ""
    st.success(f"You finished {revolt.STAGE_NAMES[s.stage]}. Waiting for your teammates{still}; "
               "you will all move on together.", icon=":material/hourglass_top:")
    now = settings.now()
    columns = st.columns(len(s.mates))
    for column, mate in zip(columns, s.mates, strict=True):
        status = {"active": "", "dropped": " (dropped out)", "left": " (left)"}[mate.status]
        column.metric(literal(mate.name + status), f"{mate.done} / {mate.needed}")
        if _is_quiet(mate, now):
            goes_on = mate.last_seen + timedelta(seconds=rules.dropout_seconds)
            column.caption(f":material/wifi_off: Not responding since "
                           f"{live.clock_time(mate.last_seen)}; unless they come back, the team "
                           f"goes on without them at {live.clock_time(goes_on)}.")


def _is_quiet(mate: revolt.Mate, now: datetime) -> bool:
    """Whether an active teammate's page has been silent for longer than usual.

    An open page's presence is written every few seconds (`rules.beat_seconds`), so only a
    gap of several beats means it stopped; the server's feed wakes this page when it does."""
    if mate.is_me or mate.status != "active" or mate.last_seen is None:
        return False
    return (now - mate.last_seen).total_seconds() > rules.quiet_seconds


def categorize_form(s: revolt.Session, shown_spec: dict) -> None:
    task = s.todo[0]
    done = (s.conflicts or 0) - len(s.todo)
    st.subheader(f"Conflicting item {done + 1} of {s.conflicts}")
    render(shown_spec, task.payload, key=f"categorize-{task.item_id}")
    st.markdown("**What your team wrote about it**")
    for who, text in task.explanations or (("—", "No explanations were written."),):
        with st.container(border=True):
            st.caption(literal(who))
            st.markdown(literal(text))
    names = [name for name, _ in s.concepts]
    if names:
        st.caption("Your team's concepts so far: " + " · ".join(
            f"{literal(name)} ({uses})" for name, uses in s.concepts))
    error_key = f"categorize-error-{task.item_id}"
    with st.form(f"categorize-{task.item_id}", border=True):
        concept = st.selectbox(
            "Concept", names, index=None, key=f"categorize-{task.item_id}:concept",
            accept_new_options=True,
            placeholder="Pick from your team's list, or type a new concept and press Enter",
            help="A short name for what makes this item ambiguous, e.g. “cartoon cat”.")
        sent = st.form_submit_button("Save concept", type="primary")
    if error_key in st.session_state:
        st.error(literal(st.session_state[error_key]), icon=":material/error:")
    if not sent:
        return
    if not concept:
        st.session_state[error_key] = "Pick or type a concept first."
        st.rerun(scope="fragment")
    try:
        step = revolt.categorize(conn, user, s.team_id, task.item_id, concept, settings.now(),
                                 rules)
    except Invalid as problem:
        st.session_state[error_key] = str(problem)
        st.rerun(scope="fragment")
    except DomainError as error:
        flash(str(error), ":material/block:")
        st.rerun(scope="app")
    st.session_state.pop(error_key, None)
    if step.finished_stage:
        flash(f"Categorize stage done: +{money(step.paid)}.", ":material/payments:")
        st.rerun(scope="app")
    st.rerun(scope="fragment")


def leave_button(s: revolt.Session) -> None:
    with st.popover("Leave the team", icon=":material/logout:"):
        st.markdown("Your teammates will go on without you. You keep the pay for the stages "
                    f"you finished ({money(s.earned)}); the stages ahead are not paid.")
        if st.button("Leave now", type="primary", key="leave-team"):
            revolt.leave(conn, user, s.team_id, settings.now(), rules)
            flash(f"You left the team. You earned {money(s.earned)} in this session.",
                  ":material/logout:")
            st.rerun()


def gone_notice(s: revolt.Session) -> None:
    stage = revolt.STAGE_NAMES.get(s.dropped_stage or "", "a stage")
    if s.status == "dropped":
        st.warning(f"Your team went on without you: your page stopped responding for more than "
                   f"{rules.dropout_seconds:g} seconds during {stage}.", icon=":material/wifi_off:")
    else:
        st.info(f"You left this team during {stage}.", icon=":material/logout:")
    paid = ", ".join(revolt.STAGE_NAMES[x] for x in s.paid_stages) or "no stage"
    st.markdown(f"You were paid **{money(s.earned)}** for the stages you finished: {paid}.")
    join, back, _ = st.columns([1, 1, 3])
    if join.button("Join the lobby again", type="primary", icon=":material/group_add:"):
        revolt.close(conn, user, s.team_id, settings.now())
        try:
            revolt_lobby.enter(conn, user, s.campaign_id, settings.now(), rules)
        except DomainError as error:
            flash(str(error), ":material/block:")
        st.rerun()
    if back.button("Back to the campaign", icon=":material/arrow_back:"):
        revolt.close(conn, user, s.team_id, settings.now())
        st.rerun()


def exit_survey(s: revolt.Session) -> None:
    if s.stage == "done":
        st.success(f"Your team is done. You earned **{money(s.earned)}** in this session.",
                   icon=":material/celebration:")
    else:
        st.success(f"You finished every stage and earned **{money(s.earned)}**. Your teammates "
                   "are still categorizing; you need not wait for them.",
                   icon=":material/celebration:")
    st.subheader("Before you go: two quick questions")
    scale = [1, 2, 3, 4, 5]
    with st.form(f"survey-{s.team_id}", border=True):
        clarity = st.radio("How clear was the task?", scale, index=None, horizontal=True,
                           format_func=lambda v: {1: "1 · Confusing", 5: "5 · Very clear"}.get(
                               v, str(v)))
        teamwork = st.radio("How much did your teammates' explanations help?", scale,
                            index=None, horizontal=True,
                            format_func=lambda v: {1: "1 · Not at all", 5: "5 · A lot"}.get(
                                v, str(v)))
        comment = st.text_area("Anything else? (optional)", max_chars=revolt.SURVEY_COMMENT_LENGTH)
        send, skip, _ = st.columns([1, 1, 6])
        sent = send.form_submit_button("Send", type="primary")
        skipped = skip.form_submit_button("Skip")
    if sent:
        try:
            revolt.answer_survey(conn, user, s.team_id, clarity, teamwork, comment,
                                 settings.now())
        except DomainError as error:
            show_error(error)
            return
        flash(f"Thank you! You earned {money(s.earned)} in this session.", ":material/favorite:")
        st.rerun()
    if skipped:
        revolt.close(conn, user, s.team_id, settings.now())
        st.rerun()


# --- which of the three ------------------------------------------------------------------------

raw_id = st.query_params.get("campaign")
if not raw_id or not raw_id.isdigit():
    choose_campaign()
campaign_id = int(raw_id)
team.play_queued()
current = revolt.current_team(conn, user, campaign_id)
if current is not None:
    session_page(current)
elif revolt_lobby.state(conn, user, campaign_id, settings.now(), rules).here:
    lobby_page(campaign_id)
else:
    preview_page(campaign_id)
    st.page_link("views/home.py", label="Back to my campaigns", icon=":material/home:")
