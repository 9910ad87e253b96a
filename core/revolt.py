"""Revolt team sessions: the stage machine and what members submit at each stage.

After Chang, Amershi and Kamar (CHI 2017): a team first labels its batch alone (Vote), so that
ambiguity is not hidden by herding; then, only on the items where labels conflicted, each member
explains their choice without seeing how the labels split (Explain), and names the concept behind
each item after reading everyone's explanations (Categorize). Requesters map concepts to labels
afterwards (`core.revolt_review`); teams form in the lobby (`core.revolt_lobby`).

A team moves through VOTE → EXPLAIN → CATEGORIZE → DONE together: when every active member has
finished a stage, `advance` moves it on by a compare-and-swap on `revolt_teams.version`, and
appends the change with its reason to `revolt_events`, whose key (team, version) makes a repeated
transition impossible. Every member's poll calls it, so it must be, and is, idempotent. A member
whose page stops polling for `Settings.dropout_seconds` is marked dropped; the others go on.
Each member is paid, once, for every stage they finish, in the transaction that finishes it.
A team that ends early (nobody left, or the campaign stopped) gives back to the pool the items
it left undecided, for the next team.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from core import campaigns, rollups
from core.campaigns import Campaign
from core.db import Connection, Cursor, reading, writing
from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.events import team_moved
from core.users import User

STAGES = ("vote", "explain", "categorize", "done")
WORK_STAGES = ("vote", "explain", "categorize")
STAGE_NAMES = {"lobby": "Lobby", "vote": "Vote", "explain": "Explain",
               "categorize": "Categorize", "done": "Done"}
EXPLANATION_LENGTH = (10, 2000)
CONCEPT_LENGTH = (2, 60)
SURVEY_COMMENT_LENGTH = 2000
# Why a team ended before finishing, as revolt_released records it.
NOBODY_LEFT, CAMPAIGN_CLOSED = "nobody left", "campaign closed"


@dataclass(frozen=True)
class Settings:
    """How teams form and when a silent member counts as gone (the app reads them from env)."""
    team_size: int = 3
    batch_size: int = 6
    ready_seconds: float = 180
    dropout_seconds: float = 60

    def __post_init__(self) -> None:
        problems = {}
        if not isinstance(self.team_size, int) or self.team_size < 2:
            problems["team_size"] = "A team needs at least 2 members."
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            problems["batch_size"] = "A batch needs at least 1 item."
        for name in ("ready_seconds", "dropout_seconds"):
            if not getattr(self, name) > 0:
                problems[name] = "Use a number of seconds above 0."
        if problems:
            raise Invalid("The team session settings are not valid.", problems)

    @property
    def beat_seconds(self) -> float:
        """How often an open page's presence is written (a twelfth of the dropout time)."""
        return self.dropout_seconds / 12

    @property
    def quiet_seconds(self) -> float:
        """After how long without presence a member's page counts as not responding: longer
        than a few missed beats, well before the dropout."""
        return self.dropout_seconds / 6 + 5


@dataclass(frozen=True)
class Config:
    """A team campaign's requester settings: pay per stage and the redundancy controls."""
    pay_vote: Decimal
    pay_explain: Decimal
    pay_categorize: Decimal
    team_cap: int | None = None
    excluded_campaigns: tuple[int, ...] = ()

    def pay_for(self, stage: str) -> Decimal:
        """What finishing `stage` pays one member."""
        return {"vote": self.pay_vote, "explain": self.pay_explain,
                "categorize": self.pay_categorize}[stage]

    @property
    def total_pay(self) -> Decimal:
        """The most one member can earn in one team session."""
        return self.pay_vote + self.pay_explain + self.pay_categorize


@dataclass(frozen=True)
class Transition:
    """One stage change of a team, as recorded in revolt_events."""
    team_id: int
    version: int
    from_stage: str
    to_stage: str
    reason: str


@dataclass(frozen=True)
class Step:
    """The outcome of a submission: whether it was new, and the stage it finished, if any."""
    saved: bool
    finished_stage: str | None = None
    paid: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class Mate:
    """A team member as the others see them: a seat letter and progress counts, nothing else."""
    seat: int
    is_me: bool
    status: str
    done: int
    needed: int
    last_seen: datetime | None = None  # when their page last checked in (written every ~10 s)

    @property
    def name(self) -> str:
        """'You' or 'Teammate A', 'Teammate B', …"""
        return "You" if self.is_me else f"Teammate {seat_letter(self.seat)}"


@dataclass(frozen=True)
class Task:
    """An item the member still has to handle in the current stage."""
    item_id: int
    position: int
    payload: dict[str, Any]
    my_label: str | None = None
    explanations: tuple[tuple[str, str], ...] = ()   # (who, text), for Categorize


@dataclass(frozen=True)
class Session:
    """Everything a member's page shows, read from the database alone."""
    team_id: int
    campaign_id: int
    stage: str
    version: int
    seat: int
    status: str                      # active | dropped | left
    dropped_stage: str | None
    spec_version: int
    question: dict[str, Any]
    batch_size: int
    conflicts: int | None            # decided when Vote ends
    mates: tuple[Mate, ...]
    todo: tuple[Task, ...]
    stage_done: bool                 # this member finished the current stage
    paid_stages: tuple[str, ...]
    earned: Decimal
    remaining: Decimal               # the most still to earn in this session
    concepts: tuple[tuple[str, int], ...] = field(default=())   # the team's list: name, uses
    moved_because: str | None = None  # the reason of the team's latest stage change

    @property
    def stage_number(self) -> int:
        """1, 2 or 3 for the working stages (3 once done)."""
        return WORK_STAGES.index(self.stage) + 1 if self.stage in WORK_STAGES else 3

    @property
    def finished(self) -> bool:
        """Whether this member's part is over: the team is done or they finished the last stage."""
        return self.stage == "done" or "categorize" in self.paid_stages

    @property
    def key(self) -> tuple[int, int, str, bool]:
        """What the page was drawn from; when a poll returns another key the page moves on."""
        return (self.team_id, self.version, self.status, self.stage_done)


def seat_letter(seat: int) -> str:
    """1 → A, 2 → B, …"""
    return chr(ord("A") + seat - 1)


# --- settings and config ---------------------------------------------------------------------

def default_config(pay_per_item: Decimal, settings: Settings) -> Config:
    """Pay derived from the campaign's pay per item: a batch's worth for voting, half each after."""
    vote = (pay_per_item * settings.batch_size).quantize(Decimal("0.01"))
    half = (vote / 2).quantize(Decimal("0.01"))
    return Config(vote, half, half)


def config_of(cur: Cursor, campaign: Campaign, settings: Settings) -> Config:
    """The campaign's team settings read through an open cursor, or the defaults."""
    row = cur.execute("SELECT pay_vote, pay_explain, pay_categorize, team_cap, excluded_campaigns "
                      "FROM revolt_config WHERE campaign_id = ?", [campaign.id]).fetchone()
    if row is None:
        return default_config(campaign.pay_per_item, settings)
    return Config(row[0], row[1], row[2], row[3], tuple(row[4]))


def config(conn: Connection, campaign_id: int, settings: Settings) -> Config:
    """The campaign's team settings, or the defaults when the requester set none."""
    with reading(conn) as cur:
        return config_of(cur, campaigns.fetch(cur, campaign_id), settings)


def configure(conn: Connection, actor: User, campaign_id: int, *,
              pay_vote: Any, pay_explain: Any, pay_categorize: Any, team_cap: int | None,
              excluded_campaigns: list[int], now: datetime) -> Config:
    """Save a team campaign's pay per stage, cap on teams per expert and excluded campaigns."""
    campaign = campaigns.get(conn, campaign_id)
    campaigns.require_owner(actor, campaign)
    require_team_campaign(campaign)
    problems: dict[str, str] = {}
    amounts = {}
    for name, value in (("pay_vote", pay_vote), ("pay_explain", pay_explain),
                        ("pay_categorize", pay_categorize)):
        amounts[name] = _money(value)
        if amounts[name] is None:
            problems[name] = "Enter an amount of at least 0, such as 2.40."
    if team_cap is not None and (not isinstance(team_cap, int) or team_cap < 1):
        problems["team_cap"] = "Leave empty for no cap, or enter a whole number ≥ 1."
    excluded = sorted(set(excluded_campaigns))
    if campaign_id in excluded:
        problems["excluded_campaigns"] = "A campaign cannot exclude its own participants."
    with reading(conn) as cur:
        known = {r[0] for r in cur.execute("SELECT id FROM campaigns WHERE id = ANY(?)",
                                           [excluded]).fetchall()}
    if set(excluded) - known:
        missing = ", ".join(str(c) for c in sorted(set(excluded) - known))
        problems["excluded_campaigns"] = f"There is no campaign number {missing}."
    if problems:
        raise Invalid("Please fix the highlighted team settings.", problems)
    writing(conn, lambda cur: cur.execute(
        "INSERT INTO revolt_config VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (campaign_id) DO "
        "UPDATE SET pay_vote = excluded.pay_vote, pay_explain = excluded.pay_explain, "
        "pay_categorize = excluded.pay_categorize, team_cap = excluded.team_cap, "
        "excluded_campaigns = excluded.excluded_campaigns, updated_by = excluded.updated_by, "
        "updated_at = excluded.updated_at",
        [campaign_id, amounts["pay_vote"], amounts["pay_explain"], amounts["pay_categorize"],
         team_cap, excluded, actor.id, now]))
    return Config(amounts["pay_vote"], amounts["pay_explain"], amounts["pay_categorize"],
                  team_cap, tuple(excluded))


def _money(value: Any) -> Decimal | None:
    """An amount rounded to cents, or None if it is not a non-negative number."""
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (ArithmeticError, ValueError):
        return None
    return amount if amount >= 0 else None


def require_team_campaign(campaign: Campaign) -> None:
    """Raise Conflict unless the campaign is a team (revolt) campaign."""
    if campaign.kind != "revolt":
        raise Conflict(f"“{campaign.title}” is not a team campaign: its items are answered one "
                       "by one, not in team sessions.")


def label_question(spec: dict[str, Any]) -> dict[str, Any]:
    """The form's first single-choice question: the label a team votes on."""
    for block in spec.get("blocks", []):
        if block.get("type") == "single_choice" and "id" in block:
            return block
    raise Invalid("A team campaign needs a single-choice question in its form: it is the label "
                  "members vote on.", {"spec": "add a single_choice question"})


def concept_key(name: str) -> str:
    """A concept's name normalized for grouping: case, accents' forms, punctuation, plurals."""
    text = unicodedata.normalize("NFKC", name).casefold()
    words = re.sub(r"[^\w]+", " ", text).split()
    # A plain plural "s" goes, so "cartoon cats" and "cartoon cat" are one concept.
    return " ".join(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is"))
                    else w for w in words)


def clean_concept(name: str) -> str:
    """A concept name as it is shown: trimmed, inner whitespace collapsed."""
    return " ".join(str(name).split())


# --- the stage machine -----------------------------------------------------------------------

def advance(conn: Connection, team_id: int, now: datetime,
            settings: Settings) -> list[Transition]:
    """Bring a team's stage up to date and return the changes made (none if already current).

    Safe to call from every member's poll at once: a change happens only by compare-and-swap
    on the team's version, so concurrent callers never skip or repeat a stage.
    """
    return writing(conn, lambda cur: advance_in(cur, team_id, now, settings))


def advance_in(cur: Cursor, team_id: int, now: datetime,
               settings: Settings) -> list[Transition]:
    """`advance` inside an open write transaction."""
    rows = cur.execute(_DUE_SQL, [team_id]).fetchall()
    if not rows:
        raise NotFound(f"There is no team number {team_id}.")
    stage, version, campaign_id = rows[0][:3]
    if not _due(rows, now, settings):
        return []  # the common case, one read: nobody went silent and someone is still working
    _drop_silent(cur, team_id, stage, now, settings)
    campaign = campaigns.fetch(cur, campaign_id)
    moves: list[Transition] = []
    while stage != "done":
        move = _next_move(cur, team_id, stage, campaign, now)
        if move is None:
            break
        to_stage, reason, cause = move
        swapped = cur.execute(
            "UPDATE revolt_teams SET stage = ?, version = version + 1, stage_started_at = ?, "
            "finished_at = CASE WHEN ? = 'done' THEN ? ELSE finished_at END "
            "WHERE id = ? AND version = ? RETURNING version",
            [to_stage, now, to_stage, now, team_id, version]).fetchone()
        if swapped is None:
            break  # another caller moved the team first; its change stands
        if stage == "vote":
            _decide_conflicts(cur, team_id)
        cur.execute("INSERT INTO revolt_events VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [team_id, swapped[0], campaign_id, stage, to_stage, reason, now])
        moves.append(Transition(team_id, swapped[0], stage, to_stage, reason))
        team_moved(cur, campaign_id, team_id, to_stage, reason, now)  # for webhooks
        if cause is not None:
            _release_undecided(cur, team_id, stage, cause, now)
        stage, version = to_stage, swapped[0]
    return moves


def _release_undecided(cur: Cursor, team_id: int, stage: str, cause: str,
                       now: datetime) -> None:
    """Give back to the pool what a team that ended early left undecided.

    That is the items nobody voted on, and the conflicts nobody gave a concept (a concept can
    still decide an item once mapped). Their batch rows move to revolt_released, so the next
    team can have them; the team's votes and explanations stay, as history.
    """
    cur.execute(
        "INSERT INTO revolt_released SELECT b.item_id, b.team_id, b.campaign_id, b.position, "
        "b.conflict, $stage, $cause, $now FROM revolt_batch b WHERE b.team_id = $team AND ("
        "b.item_id NOT IN (SELECT item_id FROM revolt_votes WHERE team_id = $team) OR "
        "(b.conflict AND b.item_id NOT IN "
        " (SELECT item_id FROM revolt_categories WHERE team_id = $team)))",
        {"team": team_id, "stage": stage, "cause": cause, "now": now})
    cur.execute("DELETE FROM revolt_batch WHERE team_id = $team AND item_id IN "
                "(SELECT item_id FROM revolt_released WHERE team_id = $team)", {"team": team_id})


def sweep(conn: Connection, campaign_id: int, now: datetime,
          settings: Settings) -> list[Transition]:
    """Advance the campaign's unfinished teams nobody polls any more (everyone left or went)."""
    return writing(conn, lambda cur: sweep_in(cur, campaign_id, now, settings))


def sweep_in(cur: Cursor, campaign_id: int, now: datetime,
             settings: Settings) -> list[Transition]:
    """`sweep` inside an open write transaction."""
    return [move for team_id in silent_teams(cur, campaign_id, now, settings)
            for move in advance_in(cur, team_id, now, settings)]


def silent_teams(cur: Cursor, campaign_id: int, now: datetime, settings: Settings) -> list[int]:
    """The campaign's unfinished teams none of whose active members polled lately."""
    return [t for (t,) in cur.execute(
        "SELECT t.id FROM revolt_teams t LEFT JOIN revolt_members m ON m.team_id = t.id "
        "AND m.status = 'active' AND m.last_seen >= ? WHERE t.campaign_id = ? "
        "AND t.stage <> 'done' GROUP BY t.id HAVING count(m.user_id) = 0 ORDER BY t.id",
        [now - timedelta(seconds=settings.dropout_seconds), campaign_id]).fetchall()]


# The team, its campaign's state, and each member with the stages they finished: enough to
# tell whether `advance` has anything to do. Kept free of correlated subqueries (they cost
# milliseconds in DuckDB), as it runs on every member's poll.
_DUE_SQL = """
    SELECT t.stage, t.version, t.campaign_id, c.status, c.opens_at, c.expires_at,
           m.user_id, m.status, m.last_seen,
           coalesce(array_agg(d.stage) FILTER (WHERE d.stage IS NOT NULL), ARRAY[]::VARCHAR[])
    FROM revolt_teams t
    JOIN campaigns c ON c.id = t.campaign_id
    JOIN revolt_members m ON m.team_id = t.id
    LEFT JOIN revolt_stage_done d ON d.team_id = m.team_id AND d.user_id = m.user_id
    WHERE t.id = ?
    GROUP BY t.stage, t.version, t.campaign_id, c.status, c.opens_at, c.expires_at,
             m.user_id, m.status, m.last_seen
"""


def _due(rows: list[tuple], now: datetime, settings: Settings) -> bool:
    """Whether a silent member is to be dropped, a stage is over, or the campaign stopped."""
    stage, _, _, status, opens_at, expires_at = rows[0][:6]
    if stage == "done":
        return False
    if status != "live" or now < opens_at or now >= expires_at:
        return True
    silent_since = now - timedelta(seconds=settings.dropout_seconds)
    active = [(seen, done) for *_, member_status, seen, done in rows if member_status == "active"]
    if any(seen < silent_since and "categorize" not in done for seen, done in active):
        return True
    return all(stage in done for _, done in active)


def _drop_silent(cur: Cursor, team_id: int, stage: str, now: datetime,
                 settings: Settings) -> None:
    """Mark dropped the active members whose page stopped polling, unless all their work is done."""
    cur.execute(
        "UPDATE revolt_members SET status = 'dropped', dropped_at = ?, dropped_stage = ? "
        "WHERE team_id = ? AND status = 'active' AND last_seen < ? AND user_id NOT IN "
        "(SELECT user_id FROM revolt_stage_done WHERE team_id = ? AND stage = 'categorize')",
        [now, stage, team_id, now - timedelta(seconds=settings.dropout_seconds), team_id])


def _next_move(cur: Cursor, team_id: int, stage: str, campaign: Campaign,
               now: datetime) -> tuple[str, str, str | None] | None:
    """The stage the team should be in next, why, and what ended it early (None when it
    was not); or None while someone is still working."""
    closed = campaign.closed_reason(now)
    if closed:
        return "done", f"The campaign stopped taking work: {closed}", CAMPAIGN_CLOSED
    active, gone, pending = cur.execute(
        "SELECT count(*) FILTER (WHERE m.status = 'active'), "
        "count(*) FILTER (WHERE m.status <> 'active'), "
        "count(*) FILTER (WHERE m.status = 'active' AND d.user_id IS NULL) "
        "FROM revolt_members m LEFT JOIN revolt_stage_done d "
        "ON d.team_id = m.team_id AND d.user_id = m.user_id AND d.stage = ? "
        "WHERE m.team_id = ?", [stage, team_id]).fetchone()
    if active == 0:
        return "done", "Nobody is left in the team: every member dropped out or left.", NOBODY_LEFT
    if pending:
        return None
    who = (f"All {active} members" if not gone else
           f"All {active} remaining member{'s' if active != 1 else ''} ({gone} gone)")
    if stage == "vote":
        conflicts, items = cur.execute(
            "SELECT count(*) FILTER (WHERE labels > 1), count(*) FROM "
            "(SELECT b.item_id, count(DISTINCT v.label) AS labels FROM revolt_batch b "
            " LEFT JOIN revolt_votes v ON v.item_id = b.item_id AND v.team_id = b.team_id "
            " WHERE b.team_id = ? "
            " GROUP BY b.item_id) AS per_item", [team_id]).fetchone()
        if conflicts == 0:
            return "done", (f"{who} finished voting and all {items} items were unanimous, so "
                            "Explain and Categorize are skipped."), None
        return "explain", f"{who} finished voting; {conflicts} of {items} items conflicted.", None
    if stage == "explain":
        return "categorize", f"{who} finished explaining the conflicting items.", None
    return "done", f"{who} finished categorizing.", None


def _decide_conflicts(cur: Cursor, team_id: int) -> None:
    """Record once, as Vote ends, which items got more than one label."""
    cur.execute(
        "UPDATE revolt_batch SET conflict = (SELECT count(DISTINCT v.label) > 1 "
        "FROM revolt_votes v WHERE v.item_id = revolt_batch.item_id "
        "AND v.team_id = revolt_batch.team_id) WHERE team_id = ?",
        [team_id])


# --- what members do -------------------------------------------------------------------------

def poll(conn: Connection, user: User, team_id: int, now: datetime,
         settings: Settings) -> Session:
    """A member's page checking in: note they are here, advance the team, return their view.

    Most polls only read: the member's last-seen time is written when it is older than a
    sixth of the dropout timeout, and the team is advanced only when there is something to do.
    """
    with reading(conn) as cur:
        rows = cur.execute(_DUE_SQL, [team_id]).fetchall()
    if not rows:
        raise NotFound(f"There is no team number {team_id}.")
    stale = now - timedelta(seconds=settings.dropout_seconds / 6)
    mine = [row for row in rows if row[6] == user.id]
    beat = bool(mine) and mine[0][7] == "active" and mine[0][8] < stale and rows[0][0] != "done"
    if beat or _due(rows, now, settings):
        def work(cur: Cursor) -> None:
            cur.execute("UPDATE revolt_members SET last_seen = ? WHERE team_id = ? "
                        "AND user_id = ? AND status = 'active'", [now, team_id, user.id])
            advance_in(cur, team_id, now, settings)

        writing(conn, work)
    return session(conn, user, team_id, settings)


def vote(conn: Connection, user: User, team_id: int, item_id: int, label: str,
         now: datetime, settings: Settings) -> Step:
    """Record the member's own label for an item of the team's batch (Vote stage)."""
    def insert(cur: Cursor, team: _Team) -> None:
        options = [str(o) for o in team.question["options"]]
        if label not in options:
            raise Invalid("Choose one of the options.",
                          {team.question["id"]: f"choose one of {', '.join(options)}"})
        cur.execute("INSERT INTO revolt_votes VALUES (?, ?, ?, ?, ?)",
                    [item_id, user.id, team_id, label, now])

    return writing(conn, lambda cur: _submit(cur, user, team_id, item_id, "vote", label,
                                             insert, now, settings))


def explain(conn: Connection, user: User, team_id: int, item_id: int, text: str,
            now: datetime, settings: Settings) -> Step:
    """Record the member's explanation of a conflicting item (Explain stage)."""
    text = str(text).strip()
    low, high = EXPLANATION_LENGTH
    if not low <= len(text) <= high:
        raise Invalid(f"Write between {low} and {high:,} characters.",
                      {"explanation": f"{len(text)} characters; write {low} to {high:,}"})

    def insert(cur: Cursor, team: _Team) -> None:
        cur.execute("INSERT INTO revolt_explanations VALUES (?, ?, ?, ?, ?)",
                    [item_id, user.id, team_id, text, now])

    return writing(conn, lambda cur: _submit(cur, user, team_id, item_id, "explain", text,
                                             insert, now, settings))


def categorize(conn: Connection, user: User, team_id: int, item_id: int,
               concept: str, now: datetime, settings: Settings) -> Step:
    """Give a conflicting item a concept, new or from the team's list (Categorize stage)."""
    name = clean_concept(concept)
    low, high = CONCEPT_LENGTH
    key = concept_key(name)
    if not low <= len(name) <= high or not key:
        raise Invalid(f"Name the concept in {low} to {high} characters, e.g. “cartoon cat”.",
                      {"concept": "give a short name with letters or digits"})

    def insert(cur: Cursor, team: _Team) -> None:
        # Reuse the team's spelling of a concept already on its list, so the list stays one.
        known = cur.execute("SELECT (array_agg(concept ORDER BY chosen_at))[1] "
                            "FROM revolt_categories "
                            "WHERE team_id = ? AND concept_key = ?", [team_id, key]).fetchone()[0]
        cur.execute("INSERT INTO revolt_categories VALUES (?, ?, ?, ?, ?, ?)",
                    [item_id, user.id, team_id, known or name, key, now])

    return writing(conn, lambda cur: _submit(cur, user, team_id, item_id, "categorize", key,
                                             insert, now, settings))


_ENTRIES = {  # stage → (table, the column compared for a duplicate submit, what it is called)
    "vote": ("revolt_votes", "label", "vote"),
    "explain": ("revolt_explanations", "explanation", "explanation"),
    "categorize": ("revolt_categories", "concept_key", "concept"),
}


@dataclass(frozen=True)
class _Team:
    campaign_id: int
    stage: str
    question: dict[str, Any]


def _submit(cur: Cursor, user: User, team_id: int, item_id: int, stage: str,
            value: str, insert, now: datetime, settings: Settings) -> Step:
    table, column, noun = _ENTRIES[stage]
    member = cur.execute("SELECT status FROM revolt_members WHERE team_id = ? AND user_id = ?",
                         [team_id, user.id]).fetchone()
    if member is None:
        raise Forbidden(f"You are not a member of team {team_id}.")
    earlier = cur.execute(f"SELECT {column} FROM {table} WHERE item_id = ? AND user_id = ?",
                          [item_id, user.id]).fetchone()
    if earlier is not None and earlier[0] == value:
        return Step(saved=False)  # the same submit again (a double click, a late retry)
    if member[0] != "active":
        raise Conflict(_gone_message(member[0]) + " This was not saved.")
    if earlier is not None:
        raise Conflict(f"You already submitted your {noun} for this item; your first one is "
                       "kept.")
    team = _team(cur, team_id)
    if team.stage != stage:
        raise Conflict(f"Your team has moved on from {STAGE_NAMES[stage]} to "
                       f"{STAGE_NAMES[team.stage]}; this {noun} was not saved.")
    batch = cur.execute("SELECT conflict FROM revolt_batch WHERE item_id = ? AND team_id = ?",
                        [item_id, team_id]).fetchone()
    if batch is None:
        raise NotFound(f"Item {item_id} is not in your team's batch.")
    if stage != "vote" and not batch[0]:
        raise Conflict(f"Item {item_id} was unanimous; only conflicting items get a {noun}.")
    insert(cur, team)
    cur.execute("UPDATE revolt_members SET last_seen = ? WHERE team_id = ? AND user_id = ?",
                [now, team_id, user.id])
    step = Step(saved=True)
    if _left_to_do(cur, team_id, user.id, stage) == 0:
        step = Step(True, stage, _finish_stage(cur, team.campaign_id, team_id, user.id, stage,
                                               now, settings))
    advance_in(cur, team_id, now, settings)
    return step


def _gone_message(status: str) -> str:
    if status == "left":
        return "You left this team."
    return ("Your team went on without you because your page stopped responding for too long.")


def _team(cur: Cursor, team_id: int) -> _Team:
    row = cur.execute("SELECT t.campaign_id, t.stage, s.spec FROM revolt_teams t "
                      "JOIN campaign_specs s ON s.campaign_id = t.campaign_id "
                      "AND s.version = t.spec_version WHERE t.id = ?", [team_id]).fetchone()
    if row is None:
        raise NotFound(f"There is no team number {team_id}.")
    return _Team(row[0], row[1], label_question(json.loads(row[2])))


def _left_to_do(cur: Cursor, team_id: int, user_id: int, stage: str) -> int:
    table = _ENTRIES[stage][0]
    only_conflicts = "" if stage == "vote" else "AND b.conflict"
    return cur.execute(
        f"SELECT count(*) FROM revolt_batch b WHERE b.team_id = ? {only_conflicts} "
        f"AND b.item_id NOT IN (SELECT item_id FROM {table} WHERE team_id = ? AND user_id = ?)",
        [team_id, team_id, user_id]).fetchone()[0]


def _finish_stage(cur: Cursor, campaign_id: int, team_id: int, user_id: int,
                  stage: str, now: datetime, settings: Settings) -> Decimal:
    """Mark the member done with the stage and pay them for it, once."""
    if cur.execute("SELECT 1 FROM revolt_stage_done WHERE team_id = ? AND user_id = ? "
                   "AND stage = ?", [team_id, user_id, stage]).fetchone():
        return Decimal("0.00")
    amount = config_of(cur, campaigns.fetch(cur, campaign_id), settings).pay_for(stage)
    ledger_id = cur.execute(
        "INSERT INTO pay_ledger (user_id, campaign_id, kind, amount, note, created_at) "
        "VALUES (?, ?, 'stage', ?, ?, ?) RETURNING id",
        [user_id, campaign_id, amount, f"Team {team_id}: {STAGE_NAMES[stage]} stage", now]
    ).fetchone()[0]
    cur.execute("INSERT INTO revolt_stage_done VALUES (?, ?, ?, ?, ?, ?)",
                [team_id, user_id, stage, now, amount, ledger_id])
    rollups.paid(cur, now, campaign_id, user_id, amount)
    return amount


def leave(conn: Connection, user: User, team_id: int, now: datetime,
          settings: Settings) -> None:
    """The member leaves the team now; the others go on without waiting for them."""
    def work(cur: Cursor) -> None:
        stage = cur.execute("SELECT stage FROM revolt_teams WHERE id = ?", [team_id]).fetchone()
        if stage is None:
            raise NotFound(f"There is no team number {team_id}.")
        if stage[0] != "done":  # leaving a finished session is only closing it
            cur.execute("UPDATE revolt_members SET status = 'left', dropped_at = ?, "
                        "dropped_stage = ? WHERE team_id = ? AND user_id = ? "
                        "AND status = 'active'", [now, stage[0], team_id, user.id])
        cur.execute("UPDATE revolt_members SET closed_at = coalesce(closed_at, ?) "
                    "WHERE team_id = ? AND user_id = ?", [now, team_id, user.id])
        advance_in(cur, team_id, now, settings)

    writing(conn, work)


def close(conn: Connection, user: User, team_id: int, now: datetime) -> None:
    """The member is done looking at this session (they skipped the survey or read the notice)."""
    writing(conn, lambda cur: cur.execute(
        "UPDATE revolt_members SET closed_at = coalesce(closed_at, ?) "
        "WHERE team_id = ? AND user_id = ?", [now, team_id, user.id]))


def answer_survey(conn: Connection, user: User, team_id: int, clarity: int,
                  teamwork: int, comment: str, now: datetime) -> None:
    """Store the member's exit survey, once their own part of the session is over."""
    problems = {name: "choose from 1 to 5" for name, value in
                (("clarity", clarity), ("teamwork", teamwork))
                if not isinstance(value, int) or not 1 <= value <= 5}
    comment = str(comment or "").strip()
    if len(comment) > SURVEY_COMMENT_LENGTH:
        problems["comment"] = f"keep it under {SURVEY_COMMENT_LENGTH:,} characters"
    if problems:
        raise Invalid("Please complete the survey.", problems)

    def work(cur: Cursor) -> None:
        row = cur.execute(
            "SELECT t.stage, m.status, EXISTS (SELECT 1 FROM revolt_stage_done d "
            " WHERE d.team_id = m.team_id AND d.user_id = m.user_id AND d.stage = 'categorize') "
            "FROM revolt_members m JOIN revolt_teams t ON t.id = m.team_id "
            "WHERE m.team_id = ? AND m.user_id = ?", [team_id, user.id]).fetchone()
        if row is None:
            raise Forbidden(f"You are not a member of team {team_id}.")
        stage, status, categorized = row
        if stage != "done" and not categorized:
            raise Conflict("The exit survey opens once your part of the session is over.")
        cur.execute("INSERT INTO revolt_surveys VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    [team_id, user.id, clarity, teamwork, comment, now])
        cur.execute("UPDATE revolt_members SET closed_at = coalesce(closed_at, ?) "
                    "WHERE team_id = ? AND user_id = ?", [now, team_id, user.id])

    writing(conn, work)


# --- reading a member's view -----------------------------------------------------------------

def current_team(conn: Connection, user: User, campaign_id: int) -> int | None:
    """The member's team in this campaign whose session is not over for them, if any."""
    with reading(conn) as cur:
        row = cur.execute("SELECT team_id FROM revolt_members WHERE user_id = ? "
                          "AND campaign_id = ? AND closed_at IS NULL ORDER BY team_id DESC "
                          "LIMIT 1", [user.id, campaign_id]).fetchone()
    return row[0] if row else None


def session(conn: Connection, user: User, team_id: int,
            settings: Settings) -> Session:
    """The member's view of their team: stage, teammates' progress counts, their own to-do."""
    with reading(conn) as cur:
        head = cur.execute(_HEAD_SQL, [team_id, user.id]).fetchone()
        if head is None:
            raise Forbidden(f"You are not a member of team {team_id}.")
        (seat, status, dropped_stage, campaign_id, stage, version, spec_version, spec,
         pay_per_item, configured, *pays) = head
        batch_size, decided, conflicts = cur.execute(
            "SELECT count(*), count(conflict), count(*) FILTER (WHERE conflict) "
            "FROM revolt_batch WHERE team_id = ?", [team_id]).fetchone()
        work_stage = stage if stage in WORK_STAGES else "categorize"
        needed = batch_size if work_stage == "vote" else conflicts
        made = _made(cur, team_id, work_stage)
        mates, paid = [], {}
        for mate_seat, uid, mate_status, seen, stages, amounts in cur.execute(
                "SELECT m.seat, m.user_id, m.status, m.last_seen, array_agg(d.stage), "
                "array_agg(d.amount) "
                "FROM revolt_members m LEFT JOIN revolt_stage_done d ON d.team_id = m.team_id "
                "AND d.user_id = m.user_id WHERE m.team_id = ? "
                "GROUP BY m.seat, m.user_id, m.status, m.last_seen ORDER BY m.seat",
                [team_id]).fetchall():
            mates.append(Mate(mate_seat, uid == user.id, mate_status, made.get(uid, 0), needed,
                              seen))
            if uid == user.id:
                paid = {st: a for st, a in zip(stages, amounts, strict=True) if st is not None}
        todo = _todo(cur, team_id, user.id, stage) if status == "active" else ()
        moved = cur.execute("SELECT reason FROM revolt_events WHERE team_id = ? "
                            "ORDER BY version DESC LIMIT 1", [team_id]).fetchone()
        concepts = tuple(cur.execute(
            "SELECT (array_agg(concept ORDER BY chosen_at))[1], count(*) FROM revolt_categories "
            "WHERE team_id = ? GROUP BY concept_key ORDER BY min(chosen_at)",
            [team_id]).fetchall()) if stage == "categorize" else ()
    cfg = Config(*pays) if configured else default_config(pay_per_item, settings)
    paid_stages = tuple(s for s in WORK_STAGES if s in paid)
    earned = sum(paid.values(), Decimal("0.00"))
    return Session(
        team_id=team_id, campaign_id=campaign_id, stage=stage, version=version, seat=seat,
        status=status, dropped_stage=dropped_stage, spec_version=spec_version,
        question=label_question(json.loads(spec)), batch_size=batch_size,
        conflicts=conflicts if decided else None, mates=tuple(mates), todo=todo,
        stage_done=stage in paid_stages, paid_stages=paid_stages, earned=earned,
        remaining=_remaining(cfg, stage, status, paid_stages), concepts=concepts,
        moved_because=moved[0] if moved else None)


# Everything about the member and the team that is not per item or per member, in one read.
_HEAD_SQL = """
    SELECT m.seat, m.status, m.dropped_stage, t.campaign_id, t.stage, t.version,
           t.spec_version, s.spec, c.pay_per_item, rc.campaign_id IS NOT NULL,
           rc.pay_vote, rc.pay_explain, rc.pay_categorize
    FROM revolt_members m
    JOIN revolt_teams t ON t.id = m.team_id
    JOIN campaigns c ON c.id = t.campaign_id
    JOIN campaign_specs s ON s.campaign_id = t.campaign_id AND s.version = t.spec_version
    LEFT JOIN revolt_config rc ON rc.campaign_id = t.campaign_id
    WHERE m.team_id = ? AND m.user_id = ?
"""


def _made(cur: Cursor, team_id: int, stage: str) -> dict[int, int]:
    """Per member, how many entries they made that count for the stage."""
    table = _ENTRIES[stage][0]
    only_conflicts = "" if stage == "vote" else "AND b.conflict"
    return dict(cur.execute(
        f"SELECT e.user_id, count(*) FROM {table} e JOIN revolt_batch b "
        f"ON b.item_id = e.item_id AND b.team_id = e.team_id WHERE e.team_id = ? "
        f"{only_conflicts} GROUP BY e.user_id",
        [team_id]).fetchall())


def _todo(cur: Cursor, team_id: int, user_id: int,
          stage: str) -> tuple[Task, ...]:
    if stage not in WORK_STAGES:
        return ()
    table = _ENTRIES[stage][0]
    only_conflicts = "" if stage == "vote" else "AND b.conflict"
    rows = cur.execute(
        f"SELECT b.item_id, b.position, i.payload, v.label FROM revolt_batch b "
        f"JOIN items i ON i.id = b.item_id "
        f"LEFT JOIN revolt_votes v ON v.item_id = b.item_id AND v.team_id = $team "
        f"AND v.user_id = $user "
        f"WHERE b.team_id = $team {only_conflicts} AND b.item_id NOT IN "
        f"(SELECT item_id FROM {table} WHERE team_id = $team AND user_id = $user) "
        f"ORDER BY b.position", {"team": team_id, "user": user_id}).fetchall()
    notes: dict[int, list[tuple[str, str]]] = {}
    if stage == "categorize" and rows:
        for item_id, seat, author, text in cur.execute(
                "SELECT e.item_id, m.seat, e.user_id, e.explanation FROM revolt_explanations e "
                "JOIN revolt_members m ON m.team_id = e.team_id AND m.user_id = e.user_id "
                "WHERE e.team_id = ? ORDER BY m.seat", [team_id]).fetchall():
            who = "You" if author == user_id else f"Teammate {seat_letter(seat)}"
            notes.setdefault(item_id, []).append((who, text))
    return tuple(Task(item_id, position, json.loads(payload), label,
                      tuple(notes.get(item_id, ())))
                 for item_id, position, payload, label in rows)


def _remaining(cfg: Config, stage: str, status: str, paid: tuple[str, ...]) -> Decimal:
    """The most the member can still earn: unpaid stages from the current one on."""
    if status != "active" or stage == "done":
        return Decimal("0.00")
    ahead = WORK_STAGES[WORK_STAGES.index(stage):]
    return sum((cfg.pay_for(s) for s in ahead if s not in paid), Decimal("0.00"))

