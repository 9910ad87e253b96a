"""Revolt's lobby and stage machine, with a fake clock and simulated members."""

from __future__ import annotations

import threading
from contextlib import nullcontext
from datetime import timedelta
from decimal import Decimal

import pytest

from core import db, revolt, revolt_lobby
from core.db import duckdb_engine
from core.errors import Conflict, Forbidden, Invalid, NotFound
from tests.revolt_helpers import (
    CAT_SPEC,
    SETTINGS,
    abandon,
    batch,
    categorize_all,
    conflicts,
    events,
    explain_all,
    form_team,
    paid,
    stage,
    status,
    team_in,
    vote_all,
    wait,
)

VOTE, EXPLAIN, CATEGORIZE = (f"Team {{}}: {s} stage" for s in ("Vote", "Explain", "Categorize"))


def team_with_one_conflict(conn, trio, cats, clock) -> int:
    """A team whose third item is the only one its members disagree on."""
    team_id = form_team(conn, trio, cats.id, clock)
    vote_all(conn, trio[0], team_id, ["Yes", "No", "Yes", "No"], clock)
    vote_all(conn, trio[1], team_id, ["Yes", "No", "No", "No"], clock)
    vote_all(conn, trio[2], team_id, ["Yes", "No", "No", "No"], clock)
    return team_id


# --- lobby ---------------------------------------------------------------------------------

def test_ready_turns_on_with_enough_experts_and_a_team_forms(conn, cats, trio, clock):
    ann, bob, cyd = trio
    revolt_lobby.enter(conn, ann, cats.id, clock.now, SETTINGS)
    lobby = revolt_lobby.enter(conn, bob, cats.id, clock.now, SETTINGS)
    assert (lobby.present, lobby.ready, lobby.can_ready) == (2, 0, False)
    with pytest.raises(Conflict, match="when 3 experts are in the lobby; 2 are here"):
        revolt_lobby.set_ready(conn, ann, cats.id, clock.now, SETTINGS)

    assert revolt_lobby.enter(conn, cyd, cats.id, clock.tick(), SETTINGS).can_ready
    revolt_lobby.set_ready(conn, ann, cats.id, clock.tick(), SETTINGS)
    lobby = revolt_lobby.set_ready(conn, bob, cats.id, clock.tick(), SETTINGS)
    assert (lobby.ready, lobby.team_id, lobby.ready_until) == (
        2, None, clock.now + timedelta(seconds=180))
    lobby = revolt_lobby.set_ready(conn, cyd, cats.id, clock.tick(), SETTINGS)

    team_id = lobby.team_id
    assert team_id is not None and lobby.present == 0
    assert revolt_lobby.poll(conn, ann, cats.id, clock.tick(), SETTINGS).team_id == team_id
    assert len(batch(conn, team_id)) == 4
    assert conn.execute("SELECT user_id, seat, status FROM revolt_members ORDER BY seat"
                        ).fetchall() == [(ann.id, 1, "active"), (bob.id, 2, "active"),
                                         (cyd.id, 3, "active")]
    assert events(conn, team_id) == [(1, "lobby", "vote", "3 ready experts met in the lobby; "
                                      "the team got 4 items no other team has.")]
    assert revolt.current_team(conn, bob, cats.id) == team_id


def test_readiness_expires_and_must_be_renewed(conn, cats, trio, clock):
    ann, bob, cyd = trio

    def linger(seconds):  # everyone's lobby page keeps polling every 10 s
        for _ in range(seconds // 10):
            clock.tick(10)
            for user in trio:
                revolt_lobby.poll(conn, user, cats.id, clock.now, SETTINGS)

    for user in trio:
        revolt_lobby.enter(conn, user, cats.id, clock.now, SETTINGS)
    revolt_lobby.set_ready(conn, ann, cats.id, clock.now, SETTINGS)
    linger(100)
    revolt_lobby.set_ready(conn, bob, cats.id, clock.now, SETTINGS)
    linger(70)
    assert revolt_lobby.state(conn, ann, cats.id, clock.now, SETTINGS).ready_until is not None
    linger(10)
    assert revolt_lobby.state(conn, ann, cats.id, clock.now, SETTINGS).ready_until is None
    lobby = revolt_lobby.set_ready(conn, cyd, cats.id, clock.now, SETTINGS)
    assert (lobby.ready, lobby.team_id) == (2, None)  # ann's readiness ran out after 180 s

    lobby = revolt_lobby.set_ready(conn, ann, cats.id, clock.tick(), SETTINGS)
    assert lobby.team_id is not None
    seats = conn.execute("SELECT user_id FROM revolt_members ORDER BY seat").fetchall()
    assert seats == [(bob.id,), (cyd.id,), (ann.id,)]  # first ready, first seated


def test_renewing_readiness_keeps_the_place_in_line(conn, cats, make_user, clock):
    four = [make_user(f"user{n}") for n in range(4)]
    for user in four:
        revolt_lobby.enter(conn, user, cats.id, clock.now, SETTINGS)
    revolt_lobby.set_ready(conn, four[0], cats.id, clock.tick(), SETTINGS)
    revolt_lobby.set_ready(conn, four[1], cats.id, clock.tick(), SETTINGS)
    revolt_lobby.set_ready(conn, four[0], cats.id, clock.tick(), SETTINGS)  # renewed
    revolt_lobby.set_ready(conn, four[2], cats.id, clock.tick(), SETTINGS)
    seated = [r[0] for r in conn.execute("SELECT user_id FROM revolt_members ORDER BY seat")
              .fetchall()]
    assert seated == [four[0].id, four[1].id, four[2].id]
    assert revolt_lobby.state(conn, four[3], cats.id, clock.now, SETTINGS).here


def test_silent_experts_leave_the_lobby(conn, cats, trio, clock):
    for user in trio:
        revolt_lobby.enter(conn, user, cats.id, clock.now, SETTINGS)
    clock.tick(61)
    lobby = revolt_lobby.poll(conn, trio[0], cats.id, clock.now, SETTINGS)
    assert (lobby.present, lobby.here) == (1, True)
    assert revolt_lobby.poll(conn, trio[1], cats.id, clock.tick(), SETTINGS).here is False
    revolt_lobby.leave_lobby(conn, trio[0], cats.id)
    assert revolt_lobby.state(conn, trio[0], cats.id, clock.now, SETTINGS).present == 0


def test_lobby_polls_write_presence_only_every_tenth_of_a_minute(conn, cats, trio, clock):
    """Polling once a second costs a write about every 10 s (a sixth of the 60 s dropout),
    and a waiting expert still never counts as gone."""
    ann = trio[0]
    revolt_lobby.enter(conn, ann, cats.id, clock.now, SETTINGS)

    def seen():
        return conn.execute("SELECT last_seen FROM revolt_lobby WHERE user_id = ?",
                            [ann.id]).fetchone()[0]

    entered, writes = seen(), 0
    for _ in range(120):  # two minutes of polls, one a second
        before = seen()
        lobby = revolt_lobby.poll(conn, ann, cats.id, clock.tick(1), SETTINGS)
        writes += seen() != before
        assert lobby.here and lobby.present == 1
    assert seen() > entered
    assert 10 <= writes <= 13
    # Whatever else is due still happens on the next poll: two more get ready, a team forms.
    for user in trio[1:]:
        revolt_lobby.enter(conn, user, cats.id, clock.now, SETTINGS)
    for user in trio:
        revolt_lobby.set_ready(conn, user, cats.id, clock.now, SETTINGS)
    assert conn.execute("SELECT count(*) FROM revolt_teams").fetchone()[0] == 1


def test_the_wait_is_estimated_from_how_often_teams_formed_lately(conn, cats, make_user, clock):
    assert revolt_lobby.formation_gap(conn, cats.id, clock.now) is None
    people = [make_user(f"person{n}") for n in range(9)]
    for start in range(0, 9, 3):  # three teams, 12 minutes apart
        for user in people[start:start + 3]:
            revolt_lobby.enter(conn, user, cats.id, clock.now, SETTINGS)
        for user in people[start:start + 3]:
            revolt_lobby.set_ready(conn, user, cats.id, clock.now, SETTINGS)
        clock.tick(12 * 60)
    assert revolt_lobby.formation_gap(conn, cats.id, clock.now) == timedelta(minutes=12)
    assert revolt_lobby.formation_gap(conn, cats.id, clock.now + timedelta(days=8)) is None


def test_two_teams_form_from_one_lobby_at_once(conn, cats, make_user, clock, now):
    six = [make_user(f"person{n}") for n in range(6)]
    for user in six:  # six ready experts that no poll has teamed up yet
        conn.execute("INSERT INTO revolt_lobby VALUES (?, ?, ?, ?, ?, ?)",
                     [cats.id, user.id, now, now, now, now + timedelta(minutes=3)])
    formed, errors = [], []

    def poll(user):
        try:
            formed.append(revolt_lobby.poll(conn, user, cats.id, now, SETTINGS).team_id)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=poll, args=(user,)) for user in six + six[:2]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    teams = conn.execute("SELECT team_id, array_agg(user_id ORDER BY seat) FROM revolt_members "
                         "GROUP BY team_id ORDER BY team_id").fetchall()
    assert len(teams) == 2
    assert sorted(u for _, members in teams for u in members) == sorted(u.id for u in six)
    first, second = (set(batch(conn, team_id)) for team_id, _ in teams)
    assert len(first) == len(second) == 4 and not first & second
    assert set(formed) == {team_id for team_id, _ in teams}
    assert conn.execute("SELECT count(*) FROM revolt_lobby").fetchone()[0] == 0


def test_batches_stay_disjoint_until_the_items_run_out(conn, cats, make_user, clock):
    people = [make_user(f"person{n}") for n in range(12)]
    teams = [form_team(conn, people[n:n + 3], cats.id, clock) for n in (0, 3, 6)]
    items = [i for t in teams for i in batch(conn, t)]
    assert len(items) == len(set(items)) == 12
    preview = revolt_lobby.preview(conn, people[9], cats.id, clock.now, SETTINGS)
    assert preview.items_left == 0 and "nothing is left to label" in preview.problem
    with pytest.raises(Conflict, match="nothing is left"):
        revolt_lobby.enter(conn, people[9], cats.id, clock.now, SETTINGS)


def test_preview_shows_pay_time_examples_and_why_not(conn, cats, make_user, clock):
    ada = make_user("ada")
    preview = revolt_lobby.preview(conn, ada, cats.id, clock.now, SETTINGS)
    assert preview.can_join and preview.question["id"] == "is_cat"
    assert revolt_lobby.stage_pay(preview.config) == [
        ("Vote", Decimal("2.00")), ("Explain", Decimal("1.00")), ("Categorize", Decimal("1.00"))]
    assert preview.examples == ({"text": "Review number 0"}, {"text": "Review number 1"})
    assert (preview.vote_minutes, preview.team_size, preview.items_left) == (8, 3, 12)
    painter = make_user("painter", expertise=[("arts", "en-US")])
    assert "Add that expertise" in revolt_lobby.preview(conn, painter, cats.id, clock.now,
                                                        SETTINGS).problem


def test_team_cap_and_excluded_campaigns_keep_experts_out(conn, cats, trio, make_campaign,
                                                          requester, make_user, clock, now):
    other = make_campaign(n_items=2, title="Earlier cats")
    revolt.configure(conn, requester, cats.id, pay_vote="3", pay_explain="1.5",
                     pay_categorize="1.5", team_cap=1, excluded_campaigns=[other.id], now=now)
    team_id = form_team(conn, trio, cats.id, clock)
    vote_all(conn, trio[0], team_id, ["Yes"] * 4, clock)
    revolt.leave(conn, trio[0], team_id, clock.tick(), SETTINGS)
    with pytest.raises(Conflict, match=r"taken part in 1 team here, the most .* \(1\)"):
        revolt_lobby.enter(conn, trio[0], cats.id, clock.now, SETTINGS)
    assert paid(conn, trio[0]) == [(VOTE.format(team_id), 3.0)]

    eve = make_user("eve")
    conn.execute("INSERT INTO responses (item_id, campaign_id, user_id, spec_version, answer, "
                 "started_at, submitted_at, duration_s) SELECT id, campaign_id, ?, 1, '{}', ?, ?, "
                 "1 FROM items WHERE campaign_id = ? LIMIT 1", [eve.id, now, now, other.id])
    problem = revolt_lobby.preview(conn, eve, cats.id, now, SETTINGS).problem
    assert problem == ("This campaign wants fresh eyes: experts who took part in “Earlier cats” "
                       "cannot join it.")
    with pytest.raises(Invalid) as refused:
        revolt.configure(conn, requester, cats.id, pay_vote="-1", pay_explain="x",
                         pay_categorize="1", team_cap=0, excluded_campaigns=[cats.id, 999],
                         now=now)
    assert set(refused.value.problems) == {"pay_vote", "pay_explain", "team_cap",
                                           "excluded_campaigns"}
    with pytest.raises(Forbidden):
        revolt.configure(conn, eve, cats.id, pay_vote="1", pay_explain="1", pay_categorize="1",
                         team_cap=None, excluded_campaigns=[], now=now)


def test_a_standard_campaign_has_no_lobby(conn, make_campaign, make_user, now):
    plain = make_campaign(n_items=1)
    with pytest.raises(Conflict, match="not a team campaign"):
        revolt_lobby.preview(conn, make_user("ada"), plain.id, now, SETTINGS)


# --- stages --------------------------------------------------------------------------------

def test_unanimous_team_skips_to_the_end(conn, cats, trio, clock):
    team_id = form_team(conn, trio, cats.id, clock)
    for user in trio:
        vote_all(conn, user, team_id, ["Yes", "No", "No", "Yes"], clock)
    assert stage(conn, team_id) == "done"
    assert events(conn, team_id)[1:] == [
        (2, "vote", "done", "All 3 members finished voting and all 4 items were unanimous, so "
                            "Explain and Categorize are skipped.")]
    for user in trio:
        assert paid(conn, user) == [(VOTE.format(team_id), 2.0)]
        view = revolt.session(conn, user, team_id, SETTINGS)
        assert view.finished and (view.earned, view.remaining) == (Decimal("2.00"), 0)
    assert conflicts(conn, team_id) == []


def test_conflicts_go_through_explain_and_categorize(conn, cats, trio, clock):
    ann, bob, cyd = trio
    team_id = form_team(conn, trio, cats.id, clock)
    vote_all(conn, ann, team_id, ["Yes", "No", "Yes", "No"], clock)
    waiting = revolt.session(conn, ann, team_id, SETTINGS)
    assert (waiting.stage, waiting.stage_done, waiting.todo) == ("vote", True, ())
    assert [(m.name, m.done, m.needed) for m in waiting.mates] == [
        ("You", 4, 4), ("Teammate B", 0, 4), ("Teammate C", 0, 4)]
    vote_all(conn, bob, team_id, ["Yes", "No", "No", "Yes"], clock)
    vote_all(conn, cyd, team_id, ["Yes", "No", "No", "No"], clock)
    items = batch(conn, team_id)
    assert conflicts(conn, team_id) == [items[2], items[3]]
    assert events(conn, team_id)[-1][1:] == (
        "vote", "explain", "All 3 members finished voting; 2 of 4 items conflicted.")

    view = revolt.session(conn, bob, team_id, SETTINGS)
    assert (view.stage, view.stage_number, view.conflicts) == ("explain", 2, 2)
    assert [(t.item_id, t.my_label) for t in view.todo] == [(items[2], "No"), (items[3], "Yes")]
    assert (view.earned, view.remaining) == (Decimal("2.00"), Decimal("2.00"))
    with pytest.raises(Conflict, match="only conflicting items"):
        revolt.explain(conn, bob, team_id, items[0], "It is obviously a cat here.", clock.now,
                       SETTINGS)
    with pytest.raises(Invalid, match="between 10 and 2,000"):
        revolt.explain(conn, bob, team_id, items[2], "short", clock.now, SETTINGS)
    for user in trio:
        explain_all(conn, user, team_id, clock)
    assert stage(conn, team_id) == "categorize"

    task = revolt.session(conn, cyd, team_id, SETTINGS).todo[0]
    assert task.explanations == (
        ("Teammate A", f"ann thinks about {items[2]}."),
        ("Teammate B", f"bob thinks about {items[2]}."),
        ("You", f"cyd thinks about {items[2]}."))
    revolt.categorize(conn, ann, team_id, items[2], "Statue of a cat", clock.tick(), SETTINGS)
    assert revolt.session(conn, bob, team_id, SETTINGS).concepts == (("Statue of a cat", 1),)
    revolt.categorize(conn, bob, team_id, items[2], "  statues of a CAT ", clock.tick(), SETTINGS)
    revolt.categorize(conn, bob, team_id, items[3], "Big cat", clock.tick(), SETTINGS)
    assert revolt.session(conn, cyd, team_id, SETTINGS).concepts == (
        ("Statue of a cat", 2), ("Big cat", 1))
    with pytest.raises(Invalid, match="Name the concept"):
        revolt.categorize(conn, cyd, team_id, items[2], "?!", clock.now, SETTINGS)
    revolt.categorize(conn, ann, team_id, items[3], "big cats", clock.tick(), SETTINGS)
    categorize_all(conn, cyd, team_id, "Big cat", clock)
    assert stage(conn, team_id) == "done"
    assert [e[1:3] for e in events(conn, team_id)] == [
        ("lobby", "vote"), ("vote", "explain"), ("explain", "categorize"), ("categorize", "done")]
    for user in trio:
        assert paid(conn, user) == [(VOTE.format(team_id), 2.0), (EXPLAIN.format(team_id), 1.0),
                                    (CATEGORIZE.format(team_id), 1.0)]


def test_explain_never_shows_how_the_labels_split(conn, cats, trio, clock):
    team_id = team_with_one_conflict(conn, trio, cats, clock)
    view = revolt.session(conn, trio[0], team_id, SETTINGS)
    assert [(t.my_label, t.explanations) for t in view.todo] == [("Yes", ())]
    assert [(m.name, m.done, m.needed) for m in view.mates] == [
        ("You", 0, 1), ("Teammate B", 0, 1), ("Teammate C", 0, 1)]
    assert view.conflicts == 1  # how many items conflicted, never how their labels split


WORK = list(revolt.WORK_STAGES)


@pytest.mark.parametrize("gone_in", WORK)
def test_a_silent_member_is_dropped_and_the_others_finish(conn, cats, trio, clock, gone_in):
    ann, bob, cyd = trio
    team_id = form_team(conn, trio, cats.id, clock)
    labels = {ann.id: ["Yes", "No", "Yes", "No"], bob.id: ["Yes", "No", "No", "No"],
              cyd.id: ["Yes", "No", "No", "No"]}
    work = {"vote": lambda u: vote_all(conn, u, team_id, labels[u.id], clock),
            "explain": lambda u: explain_all(conn, u, team_id, clock),
            "categorize": lambda u: categorize_all(conn, u, team_id, "Cartoon cat", clock)}
    for name in WORK:
        if name == gone_in:  # cyd's page stops polling; the others' go on
            wait(conn, clock, 61, team_id, [ann, bob])
            assert status(conn, team_id, cyd) == ("dropped", gone_in)
        workers = trio if WORK.index(name) < WORK.index(gone_in) else [ann, bob]
        for user in workers:
            work[name](user)
    assert stage(conn, team_id) == "done"
    assert [note for note, _ in paid(conn, cyd)] == [
        f"Team {team_id}: {revolt.STAGE_NAMES[s]} stage" for s in WORK[:WORK.index(gone_in)]]
    assert [len(paid(conn, u)) for u in (ann, bob)] == [3, 3]
    with pytest.raises(Conflict, match="went on without you"):
        revolt.vote(conn, cyd, team_id, batch(conn, team_id)[0], "Maybe", clock.now, SETTINGS)
    view = revolt.session(conn, cyd, team_id, SETTINGS)
    assert (view.status, view.dropped_stage, view.remaining, view.todo) == (
        "dropped", gone_in, 0, ())
    assert revolt.current_team(conn, cyd, cats.id) == team_id  # until cyd reads the notice
    revolt.close(conn, cyd, team_id, clock.now)
    assert revolt.current_team(conn, cyd, cats.id) is None


def test_last_member_standing(conn, cats, trio, clock):
    ann, bob, cyd = trio
    team_id = team_with_one_conflict(conn, trio, cats, clock)
    revolt.leave(conn, bob, team_id, clock.tick(), SETTINGS)
    assert revolt.current_team(conn, bob, cats.id) is None
    explain_all(conn, ann, team_id, clock)
    clock.tick(61)
    revolt.poll(conn, ann, team_id, clock.now, SETTINGS)  # cyd has been silent: dropped
    assert stage(conn, team_id) == "categorize"
    assert events(conn, team_id)[-1][3] == ("All 1 remaining member (2 gone) finished "
                                            "explaining the conflicting items.")
    categorize_all(conn, ann, team_id, "Painted cat", clock)
    assert stage(conn, team_id) == "done"
    assert len(batch(conn, team_id)) == 4  # finished alone: nothing goes back to the pool
    assert conn.execute("SELECT count(*) FROM revolt_released").fetchone()[0] == 0
    assert len(paid(conn, ann)) == 3
    assert [len(paid(conn, u)) for u in (bob, cyd)] == [1, 1]


def test_a_team_everyone_left_ends_on_the_next_poll_from_anyone(conn, cats, trio, clock):
    team_id = form_team(conn, trio, cats.id, clock)
    clock.tick(61)
    assert [(t.from_stage, t.to_stage, t.reason) for t in
            revolt.advance(conn, team_id, clock.now, SETTINGS)] == [
        ("vote", "done", "Nobody is left in the team: every member dropped out or left.")]
    assert revolt.advance(conn, team_id, clock.tick(), SETTINGS) == []
    assert conn.execute("SELECT count(*) FROM pay_ledger").fetchone()[0] == 0


def test_abandoned_teams_are_ended_by_anyone_in_the_lobby(conn, cats, trio, make_user, clock):
    team_id = form_team(conn, trio, cats.id, clock)
    vote_all(conn, trio[0], team_id, ["Yes"] * 4, clock)
    clock.tick(30)
    newcomer = make_user("newcomer")
    revolt_lobby.enter(conn, newcomer, cats.id, clock.now, SETTINGS)
    assert stage(conn, team_id) == "vote"  # not silent long enough yet
    clock.tick(31)
    revolt_lobby.poll(conn, newcomer, cats.id, clock.now, SETTINGS)
    assert stage(conn, team_id) == "done"
    assert [status(conn, team_id, u)[0] for u in trio] == ["dropped"] * 3
    assert paid(conn, trio[0]) == [(VOTE.format(team_id), 2.0)]


def test_closing_the_campaign_ends_its_teams(conn, cats, trio, clock):
    team_id = form_team(conn, trio, cats.id, clock)
    vote_all(conn, trio[0], team_id, ["Yes"] * 4, clock)
    conn.execute("UPDATE campaigns SET status = 'closed' WHERE id = ?", [cats.id])
    revolt.poll(conn, trio[1], team_id, clock.tick(), SETTINGS)
    assert stage(conn, team_id) == "done"
    assert "closed by its requester" in events(conn, team_id)[-1][3]
    with pytest.raises(Conflict, match="moved on from Vote to Done"):
        revolt.vote(conn, trio[1], team_id, batch(conn, team_id)[0], "No", clock.now, SETTINGS)
    assert len(paid(conn, trio[0])) == 1


def test_late_and_duplicate_submits_change_nothing(conn, cats, trio, make_user, clock):
    ann, bob, cyd = trio
    team_id = form_team(conn, trio, cats.id, clock)
    items = batch(conn, team_id)
    assert revolt.vote(conn, ann, team_id, items[0], "Yes", clock.tick(), SETTINGS).saved
    assert not revolt.vote(conn, ann, team_id, items[0], "Yes", clock.tick(), SETTINGS).saved
    with pytest.raises(Conflict, match="first one is kept"):
        revolt.vote(conn, ann, team_id, items[0], "No", clock.now, SETTINGS)
    with pytest.raises(Invalid, match="Choose one of the options"):
        revolt.vote(conn, ann, team_id, items[1], "Maybe", clock.now, SETTINGS)
    with pytest.raises(NotFound, match="not in your team's batch"):
        revolt.vote(conn, ann, team_id, items[0] + 100, "Yes", clock.now, SETTINGS)
    with pytest.raises(Forbidden):
        revolt.vote(conn, make_user("olga"), team_id, items[1], "Yes", clock.now, SETTINGS)
    vote_all(conn, bob, team_id, ["Yes", "No", "No", "No"], clock)
    vote_all(conn, cyd, team_id, ["Yes", "No", "No", "No"], clock)
    last = [revolt.vote(conn, ann, team_id, i, label, clock.tick(), SETTINGS)
            for i, label in zip(items[1:], ["No", "Yes", "No"], strict=True)]
    assert last[-1].finished_stage == "vote" and stage(conn, team_id) == "explain"
    again = revolt.vote(conn, ann, team_id, items[3], "No", clock.tick(), SETTINGS)
    assert (again.saved, again.finished_stage) == (False, None)  # the double click after it
    explain_all(conn, ann, team_id, clock)
    explain_all(conn, bob, team_id, clock)
    explain_all(conn, ann, team_id, clock)  # a late retry of the same explanations
    explain_all(conn, cyd, team_id, clock)
    with pytest.raises(Conflict, match="first one is kept"):
        revolt.explain(conn, ann, team_id, items[2], "A different second thought.", clock.now,
                       SETTINGS)
    assert stage(conn, team_id) == "categorize"
    assert len(paid(conn, ann)) == 2
    assert [e[0] for e in events(conn, team_id)] == [1, 2, 3]


def test_exit_survey_is_per_member_and_does_not_wait(conn, cats, trio, clock):
    ann, bob, cyd = trio
    team_id = team_with_one_conflict(conn, trio, cats, clock)
    for user in trio:
        explain_all(conn, user, team_id, clock)
    categorize_all(conn, ann, team_id, "Cartoon cat", clock)
    assert revolt.session(conn, ann, team_id, SETTINGS).finished
    with pytest.raises(Conflict, match="once your part of the session is over"):
        revolt.answer_survey(conn, bob, team_id, 4, 4, "", clock.now)
    with pytest.raises(Invalid) as bad:
        revolt.answer_survey(conn, ann, team_id, 0, 6, "", clock.now)
    assert set(bad.value.problems) == {"clarity", "teamwork"}
    revolt.answer_survey(conn, ann, team_id, 5, 4, "Good explanations.", clock.tick())
    assert revolt.current_team(conn, ann, cats.id) is None
    assert stage(conn, team_id) == "categorize"
    wait(conn, clock, 61, team_id, [bob, cyd])  # ann went home after finishing: no dropout
    assert status(conn, team_id, ann) == ("active", None)
    categorize_all(conn, bob, team_id, "Cartoon cat", clock)
    categorize_all(conn, cyd, team_id, "Cartoon cat", clock)
    assert stage(conn, team_id) == "done"
    revolt.close(conn, bob, team_id, clock.now)
    assert conn.execute("SELECT user_id, clarity, teamwork, comment FROM revolt_surveys"
                        ).fetchall() == [(ann.id, 5, 4, "Good explanations.")]


def test_progress_shows_stage_pay_earned_and_what_remains(conn, cats, trio, clock):
    team_id = form_team(conn, trio, cats.id, clock)
    view = revolt.session(conn, trio[0], team_id, SETTINGS)
    assert (view.stage_number, view.earned, view.remaining, len(view.todo)) == (
        1, Decimal("0.00"), Decimal("4.00"), 4)
    assert view.key == (team_id, 1, "active", False)


@pytest.mark.parametrize("locked", [True, False], ids=["write-lock", "no-lock"])
def test_transitions_from_8_threads_never_skip_or_repeat(conn, cats, trio, clock, monkeypatch,
                                                         locked):
    """Members' pages and other callers advance a team at once, 8 threads each time. Without
    the in-process write lock, DuckDB's conflict on the team row and the retry do the job
    (PostgreSQL has no such lock: both runs are the same there)."""
    if not locked:
        monkeypatch.setattr(duckdb_engine, "_write_lock", nullcontext())
    ann, bob, cyd = trio
    team_id = team_with_one_conflict(conn, trio, cats, clock)
    seen: list[str] = []
    errors: list[BaseException] = []

    def storm(pollers):
        barrier = threading.Barrier(8)
        now = clock.now

        def hammer(n):
            try:
                barrier.wait()
                if n < len(pollers):
                    seen.append(revolt.poll(conn, pollers[n], team_id, now, SETTINGS).stage)
                else:
                    revolt.advance(conn, team_id, now, SETTINGS)
            except BaseException as error:  # noqa: BLE001 - reported by the assertion below
                errors.append(error)

        threads = [threading.Thread(target=hammer, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def silent(*users):
        for user in users:
            conn.execute("UPDATE revolt_members SET last_seen = ? WHERE user_id = ?",
                         [clock.now - timedelta(seconds=61), user.id])

    explain_all(conn, ann, team_id, clock)
    explain_all(conn, bob, team_id, clock)
    silent(cyd)  # cyd never explains: dropped, then Explain ends
    storm([ann, bob])
    categorize_all(conn, ann, team_id, "Cartoon cat", clock)
    silent(bob)  # bob never categorizes: dropped, then Categorize ends
    storm([ann])
    storm([ann])
    assert errors == []
    assert [e[:3] for e in events(conn, team_id)] == [
        (1, "lobby", "vote"), (2, "vote", "explain"), (3, "explain", "categorize"),
        (4, "categorize", "done")]
    assert conn.execute("SELECT version, stage FROM revolt_teams").fetchone() == (4, "done")
    assert [status(conn, team_id, u)[0] for u in trio] == ["active", "dropped", "dropped"]
    assert [len(paid(conn, u)) for u in trio] == [3, 2, 1]
    assert set(seen) <= {"categorize", "done"}


def test_polls_write_only_a_stale_heartbeat_or_a_due_change(conn, cats, trio, clock):
    team_id = form_team(conn, trio, cats.id, clock)
    formed = clock.now

    def seen(user):
        return conn.execute("SELECT last_seen FROM revolt_members WHERE user_id = ?",
                            [user.id]).fetchone()[0]

    revolt.poll(conn, trio[0], team_id, clock.tick(5), SETTINGS)
    assert seen(trio[0]) == formed  # fresh enough: the poll only read
    revolt.poll(conn, trio[0], team_id, clock.tick(6), SETTINGS)
    assert seen(trio[0]) == clock.now  # older than 60 / 6 s: written
    assert stage(conn, team_id) == "vote" and events(conn, team_id)[-1][0] == 1


def test_settings_are_checked():
    with pytest.raises(Invalid) as bad:
        revolt.Settings(team_size=1, batch_size=0, ready_seconds=0, dropout_seconds=-1)
    assert set(bad.value.problems) == {"team_size", "batch_size", "ready_seconds",
                                       "dropout_seconds"}


@pytest.mark.parametrize("name, key", [
    ("Cartoon cats", "cartoon cat"), ("  CARTOON   cat!", "cartoon cat"), ("Big-cat", "big cat"),
    ("glass", "glass"), ("Lynx", "lynx"), ("cat", "cat"), ("Ｃａｔｓ", "cat"), ("?!", "")])
def test_concept_names_are_normalized(name, key):
    assert revolt.concept_key(name) == key


def test_items_nobody_voted_on_go_back_to_the_pool_when_a_team_ends(conn, cats, trio, clock):
    ann, bob, cyd = trio
    team_id = form_team(conn, trio, cats.id, clock)
    items = batch(conn, team_id)
    revolt.vote(conn, ann, team_id, items[0], "Yes", clock.tick(), SETTINGS)
    for user in trio:
        revolt.leave(conn, user, team_id, clock.tick(), SETTINGS)
    assert stage(conn, team_id) == "done"
    assert batch(conn, team_id) == [items[0]]  # the voted item keeps its judgment


@pytest.mark.parametrize("how", ["leave", "silence"])
@pytest.mark.parametrize("ended_in", WORK)
def test_what_a_team_everyone_left_did_not_decide_goes_to_the_next_team(
        conn, cats, trio, make_user, clock, ended_in, how):
    team_id, items = team_in(conn, trio, cats.id, clock, ended_in)
    abandon(conn, trio, team_id, cats.id, clock, how)
    # Unanimous items keep their label, and so does an item someone gave a concept; the
    # conflicts nobody categorized go back.
    kept = items[:3] if ended_in == "categorize" else items[:2]
    given_back = [i for i in items if i not in kept]
    assert batch(conn, team_id) == kept
    assert conn.execute("SELECT item_id, stage, cause FROM revolt_released WHERE team_id = ? "
                        "ORDER BY position", [team_id]).fetchall() == [
        (i, ended_in, "nobody left") for i in given_back]
    assert revolt_lobby.preview(conn, trio[0], cats.id, clock.now, SETTINGS).items_left == \
        12 - 4 + len(given_back)

    newcomers = [make_user(f"new{n}") for n in range(3)]
    second = form_team(conn, newcomers, cats.id, clock)
    assert batch(conn, second)[:len(given_back)] == given_back
    for user in newcomers:
        vote_all(conn, user, second, ["No"] * 4, clock)
    assert stage(conn, second) == "done"  # its own votes agree; the first team's do not count
    assert conflicts(conn, second) == []


def test_closing_the_campaign_gives_back_what_its_teams_left_undecided(conn, cats, trio,
                                                                        make_user, clock):
    team_id, items = team_in(conn, trio, cats.id, clock, "explain")
    conn.execute("UPDATE campaigns SET status = 'closed' WHERE id = ?", [cats.id])
    revolt.poll(conn, trio[1], team_id, clock.tick(), SETTINGS)
    assert stage(conn, team_id) == "done"
    assert batch(conn, team_id) == items[:2]
    assert conn.execute("SELECT cause FROM revolt_released").fetchall() == [
        ("campaign closed",)] * 2
    conn.execute("UPDATE campaigns SET status = 'live' WHERE id = ?", [cats.id])  # reopened
    second = form_team(conn, [make_user(f"new{n}") for n in range(3)], cats.id, clock)
    assert batch(conn, second)[:2] == items[2:]


def test_a_former_member_never_gets_an_item_they_voted_on_again(conn, cats, trio, make_user,
                                                                clock):
    team_id, items = team_in(conn, trio, cats.id, clock, "explain")
    abandon(conn, trio, team_id, cats.id, clock)
    again = form_team(conn, [trio[0], make_user("dee"), make_user("eve")], cats.id, clock)
    assert not set(batch(conn, again)) & set(items)
    fresh = form_team(conn, [make_user(f"new{n}") for n in range(3)], cats.id, clock)
    assert batch(conn, fresh)[:2] == items[2:]


def test_the_migration_gives_back_items_stranded_before_it(conn, cats, trio, clock):
    team_id, items = team_in(conn, trio, cats.id, clock, "explain")
    abandon(conn, trio, team_id, cats.id, clock)
    # The database as 0007 left it: the team's batch still holds its undecided items.
    conn.execute("INSERT INTO revolt_batch SELECT item_id, team_id, campaign_id, position, "
                 "conflict FROM revolt_released")
    conn.execute("DROP TABLE revolt_released")
    conn.execute("DELETE FROM schema_migrations WHERE version = 8")
    assert db.migrate(conn) == [8]
    assert batch(conn, team_id) == items[:2]
    assert conn.execute("SELECT item_id, stage, cause FROM revolt_released ORDER BY position"
                        ).fetchall() == [(i, "explain", "nobody left") for i in items[2:]]


def test_a_silent_team_holding_the_last_items_gives_them_back_before_the_preview(
        conn, make_campaign, trio, make_user, clock):
    few = make_campaign(n_items=4, spec=CAT_SPEC, kind="revolt", title="Four cats")
    team_id, items = team_in(conn, trio, few.id, clock, "explain")
    newcomer = make_user("newcomer")
    assert revolt_lobby.preview(conn, newcomer, few.id, clock.now, SETTINGS).items_left == 0
    clock.tick(SETTINGS.dropout_seconds + 1)  # every page fell silent; nobody is in the lobby
    preview = revolt_lobby.preview(conn, newcomer, few.id, clock.now, SETTINGS)
    assert (preview.items_left, preview.can_join) == (2, True)
    assert stage(conn, team_id) == "done"
