"""What keeps team pages live without polling (core/revolt_live.py), on both engines: versions
that move exactly when a page has something new to show, presence written in batches, and the
clock's work (dropouts, forming teams) done by whoever tends the watched teams and lobbies."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import revolt, revolt_live, revolt_lobby
from core.errors import Forbidden, NotFound
from core.revolt_live import LOBBY, TEAM
from tests.revolt_helpers import SETTINGS, batch, form_team, stage, status


def seen(conn, team_id: int, user) -> object:
    return conn.execute("SELECT last_seen FROM revolt_members WHERE team_id = ? AND user_id = ?",
                        [team_id, user.id]).fetchone()[0]


def test_a_team_version_moves_with_each_entry_and_stage_but_not_with_presence(
        conn, cats, trio, clock):
    ann, bob, cyd = trio
    team_id = form_team(conn, trio, cats.id, clock)
    first = revolt_live.team_version(conn, team_id, clock.now, SETTINGS)
    revolt_live.record_presence(conn, [(team_id, u.id) for u in trio], [], clock.tick(2))
    assert revolt_live.team_version(conn, team_id, clock.now, SETTINGS) == first

    item = batch(conn, team_id)[0]
    revolt.vote(conn, ann, team_id, item, "Yes", clock.tick(), SETTINGS)
    after_vote = revolt_live.team_version(conn, team_id, clock.now, SETTINGS)
    assert after_vote != first
    for user in trio:  # everyone votes everything: the stage moves
        for other in batch(conn, team_id):
            revolt.vote(conn, user, team_id, other, "Yes", clock.tick(), SETTINGS)
    assert stage(conn, team_id) == "done"
    assert revolt_live.team_version(conn, team_id, clock.now, SETTINGS)[0] > after_vote[0]


def test_a_team_version_moves_when_a_member_goes_quiet_and_when_they_come_back(
        conn, cats, trio, clock):
    ann, bob, cyd = trio
    team_id = form_team(conn, trio, cats.id, clock)
    lively = revolt_live.team_version(conn, team_id, clock.now, SETTINGS)
    clock.tick(SETTINGS.quiet_seconds - 5)
    revolt_live.record_presence(conn, [(team_id, ann.id), (team_id, bob.id)], [], clock.now)
    clock.tick(6)  # cyd's page has been silent a little longer than quiet_seconds now
    quiet = revolt_live.team_version(conn, team_id, clock.now, SETTINGS)
    assert quiet != lively and quiet[-1] == 1
    revolt_live.record_presence(conn, [(team_id, cyd.id)], [], clock.now)
    assert revolt_live.team_version(conn, team_id, clock.now, SETTINGS)[-1] == 0


def test_versions_of_many_teams_and_lobbies_come_from_one_call(conn, cats, make_user, clock):
    people = [make_user(f"expert{n}") for n in range(7)]
    teams = [form_team(conn, people[:3], cats.id, clock),
             form_team(conn, people[3:6], cats.id, clock)]
    revolt_lobby.enter(conn, people[6], cats.id, clock.now, SETTINGS)
    found = revolt_live.versions(conn, teams + [999], [cats.id, 998], clock.now, SETTINGS)
    assert set(found) == {(TEAM, teams[0]), (TEAM, teams[1]), (LOBBY, cats.id), (LOBBY, 998)}
    assert found[(LOBBY, 998)] == ()  # nobody waits there
    assert found[(LOBBY, cats.id)][0] == 1


def test_a_lobby_version_moves_with_arrivals_readiness_and_departures(conn, cats, trio, clock):
    ann, bob, cyd = trio
    empty = revolt_live.lobby_version(conn, cats.id, clock.now, SETTINGS)
    assert empty == ()
    revolt_lobby.enter(conn, ann, cats.id, clock.now, SETTINGS)
    one = revolt_live.lobby_version(conn, cats.id, clock.now, SETTINGS)
    revolt_lobby.enter(conn, bob, cats.id, clock.now, SETTINGS)
    revolt_lobby.enter(conn, cyd, cats.id, clock.now, SETTINGS)
    three = revolt_live.lobby_version(conn, cats.id, clock.now, SETTINGS)
    revolt_lobby.set_ready(conn, ann, cats.id, clock.tick(), SETTINGS)
    ready = revolt_live.lobby_version(conn, cats.id, clock.now, SETTINGS)
    revolt_live.record_presence(conn, [], [(cats.id, u.id) for u in trio], clock.tick())
    assert revolt_live.lobby_version(conn, cats.id, clock.now, SETTINGS) == ready
    clock.tick(SETTINGS.ready_seconds)  # ann's readiness ran out; everyone is still here
    revolt_live.record_presence(conn, [], [(cats.id, u.id) for u in trio], clock.now)
    expired = revolt_live.lobby_version(conn, cats.id, clock.now, SETTINGS)
    revolt_lobby.leave_lobby(conn, bob, cats.id)
    left = revolt_live.lobby_version(conn, cats.id, clock.now, SETTINGS)
    assert len({empty, one, three, ready, left}) == 5
    assert expired == three


def test_presence_is_written_for_active_members_and_visitors_only(conn, cats, trio, make_user,
                                                                  clock):
    ann, bob, cyd = trio
    team_id = form_team(conn, trio, cats.id, clock)
    revolt.leave(conn, cyd, team_id, clock.tick(), SETTINGS)
    dee = make_user("dee")
    revolt_lobby.enter(conn, dee, cats.id, clock.now, SETTINGS)
    before = seen(conn, team_id, cyd)
    later = clock.tick(30)
    revolt_live.record_presence(conn, [(team_id, u.id) for u in trio], [(cats.id, dee.id)], later)
    assert seen(conn, team_id, ann) == seen(conn, team_id, bob) == later
    assert seen(conn, team_id, cyd) == before  # cyd left: no presence is recorded for them
    assert conn.execute("SELECT last_seen FROM revolt_lobby WHERE user_id = ?",
                        [dee.id]).fetchone()[0] == later
    revolt_live.record_presence(conn, [], [], later)  # nothing open: nothing to write


def test_tending_drops_a_member_silent_for_the_dropout_time_and_keeps_the_others(
        conn, cats, trio, clock):
    ann, bob, cyd = trio
    team_id = form_team(conn, trio, cats.id, clock)
    for _ in range(int(SETTINGS.dropout_seconds // SETTINGS.beat_seconds) + 1):
        clock.tick(SETTINGS.beat_seconds)
        revolt_live.record_presence(conn, [(team_id, ann.id), (team_id, bob.id)], [], clock.now)
        revolt_live.tend(conn, [team_id], [], clock.now, SETTINGS)
    assert [status(conn, team_id, u)[0] for u in trio] == ["active", "active", "dropped"]


def test_tending_with_nothing_due_writes_nothing(conn, cats, trio, clock):
    team_id = form_team(conn, trio, cats.id, clock)
    before = revolt_live.team_version(conn, team_id, clock.now, SETTINGS)
    assert revolt_live.tend(conn, [team_id], [cats.id], clock.tick(5), SETTINGS) == []
    assert revolt_live.team_version(conn, team_id, clock.now, SETTINGS) == before
    assert revolt_lobby.lobbies_with_work(conn, [cats.id], clock.now, SETTINGS) == []


def test_tending_a_lobby_forgets_the_silent_and_ends_a_team_everyone_abandoned(
        conn, cats, trio, make_user, clock):
    team_id = form_team(conn, trio, cats.id, clock)
    dee, eve = make_user("dee"), make_user("eve")
    revolt_lobby.enter(conn, dee, cats.id, clock.now, SETTINGS)
    revolt_lobby.enter(conn, eve, cats.id, clock.now, SETTINGS)
    clock.tick(SETTINGS.dropout_seconds + 1)
    revolt_live.record_presence(conn, [], [(cats.id, eve.id)], clock.now)
    assert revolt_lobby.lobbies_with_work(conn, [cats.id], clock.now, SETTINGS) == [cats.id]
    revolt_live.tend(conn, [], [cats.id], clock.now, SETTINGS)
    waiting = {u for (u,) in conn.execute("SELECT user_id FROM revolt_lobby").fetchall()}
    assert waiting == {eve.id}
    assert stage(conn, team_id) == "done"  # its members all went silent: its items go back


def test_a_lobby_whose_team_formed_has_no_work_left(conn, cats, trio, clock):
    for user in trio:
        revolt_lobby.enter(conn, user, cats.id, clock.now, SETTINGS)
    for user in trio:
        revolt_lobby.set_ready(conn, user, cats.id, clock.now, SETTINGS)
    assert revolt_lobby.state(conn, trio[0], cats.id, clock.now, SETTINGS).team_id is not None
    assert revolt_lobby.lobbies_with_work(conn, [cats.id], clock.now, SETTINGS) == []


def test_only_members_may_watch_a_team_and_only_fitting_experts_a_lobby(
        conn, cats, trio, make_user, clock):
    team_id = form_team(conn, trio, cats.id, clock)
    outsider = make_user("ozzy")
    lawyer = make_user("lex", expertise=(("law", "en-US"),))
    revolt_live.check_may_watch_team(conn, trio[0], team_id)
    with pytest.raises(Forbidden):
        revolt_live.check_may_watch_team(conn, outsider, team_id)
    with pytest.raises(NotFound):
        revolt_live.check_may_watch_team(conn, outsider, team_id + 100)
    revolt_live.check_may_watch_lobby(conn, outsider, cats.id, clock.now)
    with pytest.raises(Forbidden):
        revolt_live.check_may_watch_lobby(conn, lawyer, cats.id, clock.now)


def test_a_team_forming_is_shown_to_fitting_experts_not_yet_there(conn, cats, trio, make_user,
                                                                  clock):
    ann, bob, cyd = trio
    revolt_lobby.enter(conn, ann, cats.id, clock.now, SETTINGS)
    revolt_lobby.enter(conn, bob, cats.id, clock.now, SETTINGS)
    assert revolt_lobby.teams_forming(conn, cyd, [cats.id], clock.now, SETTINGS) == {cats.id: 2}
    assert revolt_lobby.teams_forming(conn, ann, [cats.id], clock.now, SETTINGS) == {}
    later = clock.now + timedelta(seconds=SETTINGS.dropout_seconds + 1)
    assert revolt_lobby.teams_forming(conn, cyd, [cats.id], later, SETTINGS) == {}
    assert revolt_lobby.teams_forming(conn, cyd, [], clock.now, SETTINGS) == {}
