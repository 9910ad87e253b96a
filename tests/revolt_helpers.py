"""Shared pieces of the Revolt tests: a fake clock, a cat form, and teams formed through core."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core import revolt, revolt_lobby
from core.users import User

CAT_SPEC = """\
blocks:
  - type: text
    field: text
  - type: single_choice
    id: is_cat
    prompt: Is this a cat?
    options: ["Yes", "No"]
"""
SETTINGS = revolt.Settings(team_size=3, batch_size=4, ready_seconds=180, dropout_seconds=60)


@dataclass
class Clock:
    """A clock the test moves by hand."""
    now: datetime

    def tick(self, seconds: float = 1) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def form_team(conn, members: list[User], campaign_id: int, clock: Clock,
              settings: revolt.Settings = SETTINGS) -> int:
    """Everyone enters the lobby, then says ready; returns the team formed."""
    for user in members:
        revolt_lobby.enter(conn, user, campaign_id, clock.now, settings)
    for user in members:
        lobby = revolt_lobby.set_ready(conn, user, campaign_id, clock.tick(), settings)
    assert lobby.team_id is not None
    return lobby.team_id


def batch(conn, team_id: int) -> list[int]:
    """The team's items in order."""
    return [r[0] for r in conn.execute("SELECT item_id FROM revolt_batch WHERE team_id = ? "
                                       "ORDER BY position", [team_id]).fetchall()]


def vote_all(conn, user: User, team_id: int, labels: list[str], clock: Clock,
             settings: revolt.Settings = SETTINGS) -> None:
    for item_id, label in zip(batch(conn, team_id), labels, strict=True):
        revolt.vote(conn, user, team_id, item_id, label, clock.tick(), settings)


def conflicts(conn, team_id: int) -> list[int]:
    return [r[0] for r in conn.execute("SELECT item_id FROM revolt_batch WHERE team_id = ? "
                                       "AND conflict ORDER BY position", [team_id]).fetchall()]


def explain_all(conn, user: User, team_id: int, clock: Clock,
                settings: revolt.Settings = SETTINGS) -> None:
    for item_id in conflicts(conn, team_id):
        revolt.explain(conn, user, team_id, item_id, f"{user.username} thinks about {item_id}.",
                       clock.tick(), settings)


def categorize_all(conn, user: User, team_id: int, concept: str, clock: Clock,
                   settings: revolt.Settings = SETTINGS) -> None:
    for item_id in conflicts(conn, team_id):
        revolt.categorize(conn, user, team_id, item_id, concept, clock.tick(), settings)


def stage(conn, team_id: int) -> str:
    return conn.execute("SELECT stage FROM revolt_teams WHERE id = ?", [team_id]).fetchone()[0]


def events(conn, team_id: int) -> list[tuple]:
    return conn.execute("SELECT version, from_stage, to_stage, reason FROM revolt_events "
                        "WHERE team_id = ? ORDER BY version", [team_id]).fetchall()


def paid(conn, user: User) -> list[tuple[str, float]]:
    """The member's stage pay as (note, amount), oldest first."""
    return [(note, float(amount)) for note, amount in conn.execute(
        "SELECT note, amount FROM pay_ledger WHERE user_id = ? AND kind = 'stage' ORDER BY id",
        [user.id]).fetchall()]


def status(conn, team_id: int, user: User) -> tuple[str, str | None]:
    return conn.execute("SELECT status, dropped_stage FROM revolt_members WHERE team_id = ? "
                        "AND user_id = ?", [team_id, user.id]).fetchone()


def wait(conn, clock: Clock, seconds: float, team_id: int, present: list[User],
         settings: revolt.Settings = SETTINGS) -> None:
    """Let time pass while the pages of `present` keep polling every 10 s (and at the end)."""
    while seconds > 0:
        step = min(10, seconds)
        seconds -= step
        clock.tick(step)
        for user in present:
            revolt.poll(conn, user, team_id, clock.now, settings)


# Items 3 and 4 conflict: the first member says "Yes" where the others say "No".
TWO_CONFLICTS = (["Yes", "No", "Yes", "Yes"], ["Yes", "No", "No", "No"], ["Yes", "No", "No", "No"])


def team_in(conn, trio: list[User], campaign_id: int, clock: Clock, stage_name: str
            ) -> tuple[int, list[int]]:
    """A team whose items 3 and 4 conflict, stopped in `stage_name` with part of its work done.

    In Vote only the first two members have voted; in Explain the first explained item 3; in
    Categorize everyone explained and the first gave item 3 a concept. Returns the team and
    its batch."""
    team_id = form_team(conn, trio, campaign_id, clock)
    items = batch(conn, team_id)
    voters = trio[:2] if stage_name == "vote" else trio
    for user, labels in zip(voters, TWO_CONFLICTS, strict=False):
        vote_all(conn, user, team_id, labels, clock)
    if stage_name == "explain":
        revolt.explain(conn, trio[0], team_id, items[2], "Stripes and a huge paw.",
                       clock.tick(), SETTINGS)
    if stage_name == "categorize":
        for user in trio:
            explain_all(conn, user, team_id, clock)
        revolt.categorize(conn, trio[0], team_id, items[2], "Big cat", clock.tick(), SETTINGS)
    assert stage(conn, team_id) == stage_name
    return team_id, items


def abandon(conn, trio: list[User], team_id: int, campaign_id: int, clock: Clock,
            how: str = "leave") -> None:
    """Every member goes: each presses Leave, or all pages fall silent and Monitor sweeps."""
    if how == "leave":
        for user in trio:
            revolt.leave(conn, user, team_id, clock.tick(), SETTINGS)
    else:
        clock.tick(SETTINGS.dropout_seconds + 1)
        revolt.sweep(conn, campaign_id, clock.now, SETTINGS)
    assert stage(conn, team_id) == "done"

