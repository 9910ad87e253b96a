"""What requesters do with Revolt's results: review concepts, map them to labels, monitor teams.

Final labels: an item its team labeled unanimously keeps that label; a conflicting item takes
the label the requester mapped from the concept its team gave it (the concept most of its
members chose, the earliest on a tie); until that concept is mapped the item is pending. An
item a team gave back when it ended early (see `revolt._release_undecided`) is waiting for
another team, and only the team that has it now decides it; the earlier team's judgments stay.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from core import campaigns, revolt
from core.db import Connection, Cursor, reading, writing
from core.errors import Invalid, NotFound
from core.events import emit
from core.users import User

# Why an ended team gave an item back, from its revolt_released row `r`, in words.
_GIVEN_BACK = """('the team that had it ended during ' || upper(substr(r.stage, 1, 1))
    || substr(r.stage, 2)
    || CASE r.cause WHEN 'nobody left' THEN ' with nobody left'
                    ELSE ' when the campaign stopped taking work' END)"""

# One row per item given to a team: the team that has it now (whose votes and concept alone
# decide it), or, for an item an ended team gave back and no team has yet, the last team that
# had it, with why it is waiting. Used by `final_labels` and by the export in core.io
# ($campaign is the only parameter).
FINAL_LABELS_SQL = """
    WITH teams AS (SELECT id, stage FROM revolt_teams WHERE campaign_id = $campaign),
    held AS (
        SELECT item_id, team_id, position, conflict, NULL AS waiting
        FROM revolt_batch WHERE campaign_id = $campaign
        UNION ALL
        SELECT item_id, team_id, position, conflict, waiting FROM (
            SELECT item_id, team_id, position, conflict,
                   'waiting for another team: ' || GIVEN_BACK AS waiting,
                   row_number() OVER (PARTITION BY item_id
                                      ORDER BY released_at DESC, team_id DESC) AS latest
            FROM revolt_released r
            WHERE campaign_id = $campaign AND item_id NOT IN
                  (SELECT item_id FROM revolt_batch WHERE campaign_id = $campaign)
        ) AS released WHERE latest = 1
    ), votes AS (
        SELECT item_id, team_id, count(*) AS votes, count(DISTINCT label) AS labels,
               min(label) AS label
        FROM revolt_votes WHERE team_id IN (SELECT id FROM teams) GROUP BY item_id, team_id
    ), given AS (
        SELECT item_id, team_id, concept_key, count(*) AS members, min(chosen_at) AS first_at
        FROM revolt_categories WHERE team_id IN (SELECT id FROM teams)
        GROUP BY item_id, team_id, concept_key
    ), team_concept AS (
        SELECT item_id, team_id, concept_key FROM (
            SELECT item_id, team_id, concept_key,
                   row_number() OVER (PARTITION BY item_id, team_id
                                      ORDER BY members DESC, first_at, concept_key) AS choice
            FROM given
        ) AS ranked WHERE choice = 1
    ), names AS (
        SELECT concept_key, mode() WITHIN GROUP (ORDER BY concept) AS concept
        FROM revolt_categories
        WHERE team_id IN (SELECT id FROM teams) GROUP BY concept_key
    )
    SELECT b.item_id, i.external_id, b.team_id, t.stage AS team_stage,
           coalesce(v.votes, 0) AS votes, b.conflict, tc.concept_key, n.concept,
           m.label AS mapped_label,
           CASE WHEN b.waiting IS NOT NULL OR b.conflict IS NULL
                     OR coalesce(v.votes, 0) = 0 THEN NULL
                WHEN NOT b.conflict THEN v.label ELSE m.label END AS final_label,
           CASE WHEN b.waiting IS NOT NULL THEN b.waiting
                WHEN b.conflict IS NULL THEN 'team still voting'
                WHEN coalesce(v.votes, 0) = 0 THEN 'no votes'
                WHEN NOT b.conflict THEN 'unanimous'
                WHEN m.label IS NOT NULL THEN CASE WHEN m.is_new THEN 'concept (new label)'
                                                   ELSE 'concept' END
                WHEN tc.concept_key IS NOT NULL THEN 'pending: concept not mapped'
                WHEN t.stage <> 'done' THEN 'pending: team still working'
                ELSE 'unresolved: no concept given' END AS label_source,
           b.waiting IS NOT NULL AS waiting
    FROM held b
    JOIN teams t ON t.id = b.team_id
    JOIN items i ON i.id = b.item_id
    LEFT JOIN votes v ON v.item_id = b.item_id AND v.team_id = b.team_id
    LEFT JOIN team_concept tc ON tc.item_id = b.item_id AND tc.team_id = b.team_id
    LEFT JOIN names n ON n.concept_key = tc.concept_key
    LEFT JOIN revolt_concept_labels m ON m.campaign_id = $campaign
                                     AND m.concept_key = tc.concept_key
""".replace("GIVEN_BACK", _GIVEN_BACK)

# The export: every team item with its votes, explanations and concepts (from the team on the
# row), its final label, and what earlier teams that gave it back had judged (history).
_EXPORT_SQL = """
    WITH final AS (FINAL),
    team_votes AS (
        SELECT v.item_id, v.team_id,
               to_json(array_agg(json_object('expert', u.username, 'label', v.label,
                                             'voted_at', v.voted_at) ORDER BY v.voted_at))
                   AS votes
        FROM revolt_votes v JOIN users u ON u.id = v.user_id
        WHERE v.team_id IN (SELECT id FROM revolt_teams WHERE campaign_id = $campaign)
        GROUP BY v.item_id, v.team_id
    ), team_explanations AS (
        SELECT e.item_id, e.team_id,
               to_json(array_agg(json_object('expert', u.username, 'explanation', e.explanation,
                                             'written_at', e.written_at) ORDER BY e.written_at))
                   AS explanations
        FROM revolt_explanations e JOIN users u ON u.id = e.user_id
        WHERE e.team_id IN (SELECT id FROM revolt_teams WHERE campaign_id = $campaign)
        GROUP BY e.item_id, e.team_id
    ), team_concepts AS (
        SELECT c.item_id, c.team_id,
               to_json(array_agg(json_object('expert', u.username, 'concept', c.concept,
                                             'concept_key', c.concept_key) ORDER BY c.chosen_at))
                   AS concepts
        FROM revolt_categories c JOIN users u ON u.id = c.user_id
        WHERE c.team_id IN (SELECT id FROM revolt_teams WHERE campaign_id = $campaign)
        GROUP BY c.item_id, c.team_id
    ), earlier AS (
        SELECT r.item_id, to_json(array_agg(json_object(
                   'team_id', r.team_id, 'ended_during', r.stage,
                   'reason', GIVEN_BACK,
                   'votes', tv.votes, 'explanations', te.explanations)
                   ORDER BY r.released_at, r.team_id)) AS teams
        FROM final f JOIN revolt_released r ON r.item_id = f.item_id AND r.team_id <> f.team_id
        LEFT JOIN team_votes tv ON tv.item_id = r.item_id AND tv.team_id = r.team_id
        LEFT JOIN team_explanations te ON te.item_id = r.item_id AND te.team_id = r.team_id
        GROUP BY r.item_id
    )
    SELECT f.item_id, f.external_id, $campaign AS campaign_id, f.team_id, f.team_stage,
           i.payload::JSONTYPE AS payload, f.conflict,
           tv.votes::JSONTYPE AS votes,
           te.explanations::JSONTYPE AS explanations,
           tc.concepts::JSONTYPE AS concepts,
           f.concept AS team_concept, f.mapped_label, f.final_label, f.label_source,
           ea.teams::JSONTYPE AS earlier_teams
    FROM final f JOIN items i ON i.id = f.item_id
    LEFT JOIN team_votes tv ON tv.item_id = f.item_id AND tv.team_id = f.team_id
    LEFT JOIN team_explanations te ON te.item_id = f.item_id AND te.team_id = f.team_id
    LEFT JOIN team_concepts tc ON tc.item_id = f.item_id AND tc.team_id = f.team_id
    LEFT JOIN earlier ea ON ea.item_id = f.item_id
    ORDER BY f.team_id, f.item_id
"""


def export_sql(json_type: str) -> str:
    """The export query ($campaign): JSON columns as `json_type` (JSON, or VARCHAR for text)."""
    if json_type not in ("JSON", "VARCHAR"):
        raise ValueError(json_type)
    return (_EXPORT_SQL.replace("FINAL", FINAL_LABELS_SQL).replace("GIVEN_BACK", _GIVEN_BACK)
            .replace("JSONTYPE", json_type))


def _owned(conn: Connection, actor: User, campaign_id: int) -> campaigns.Campaign:
    campaign = campaigns.get(conn, campaign_id)
    campaigns.require_owner(actor, campaign)
    revolt.require_team_campaign(campaign)
    return campaign


def label_options(conn: Connection, campaign_id: int) -> list[str]:
    """The labels a concept can be mapped to: the options of the form's voted question."""
    campaign = campaigns.get(conn, campaign_id)
    spec = campaigns.spec(conn, campaign_id, campaign.spec_version)
    return [str(o) for o in revolt.label_question(spec)["options"]]


def concepts(conn: Connection, actor: User, campaign_id: int) -> pd.DataFrame:
    """Concepts discovered across all teams, grouped by normalized name, most items first."""
    _owned(conn, actor, campaign_id)
    with reading(conn) as cur:
        return cur.execute(
            f"""
            WITH final AS ({FINAL_LABELS_SQL})
            SELECT c.concept_key, mode() WITHIN GROUP (ORDER BY c.concept) AS concept,
                   array_agg(DISTINCT c.concept ORDER BY c.concept) AS spellings,
                   count(DISTINCT c.team_id) AS teams, count(DISTINCT c.item_id) AS items,
                   count(*) AS uses,
                   (SELECT count(*) FROM final f WHERE f.concept_key = c.concept_key
                      AND f.conflict) AS items_decided,
                   max(m.label) AS label, bool_or(m.is_new) AS is_new
            FROM revolt_categories c
            JOIN revolt_teams t ON t.id = c.team_id AND t.campaign_id = $campaign
            LEFT JOIN revolt_concept_labels m ON m.campaign_id = $campaign
                                             AND m.concept_key = c.concept_key
            GROUP BY c.concept_key
            ORDER BY items DESC, uses DESC, concept
            """, {"campaign": campaign_id}).df()


def concept_examples(conn: Connection, actor: User, campaign_id: int,
                     key: str, limit: int = 5) -> pd.DataFrame:
    """Items given a concept, with every explanation written about them and the votes."""
    _owned(conn, actor, campaign_id)
    with reading(conn) as cur:
        return cur.execute(
            """
            SELECT i.id AS item_id, i.external_id, i.payload::VARCHAR AS payload, c.team_id,
                   count(*) AS members,
                   (SELECT array_agg(e.explanation ORDER BY e.written_at)
                    FROM revolt_explanations e
                    WHERE e.item_id = i.id AND e.team_id = c.team_id) AS explanations,
                   (SELECT array_agg(v.label ORDER BY v.label) FROM revolt_votes v
                    WHERE v.item_id = i.id AND v.team_id = c.team_id) AS votes
            FROM revolt_categories c
            JOIN revolt_teams t ON t.id = c.team_id AND t.campaign_id = $campaign
            JOIN items i ON i.id = c.item_id
            WHERE c.concept_key = $key
            GROUP BY i.id, i.external_id, i.payload::VARCHAR, c.team_id
            ORDER BY members DESC, i.id LIMIT $limit
            """, {"campaign": campaign_id, "key": key, "limit": limit}).df()


def map_concept(conn: Connection, actor: User, campaign_id: int, key: str,
                label: str | None, now: datetime, *, as_new: bool = False) -> None:
    """Map a concept to one of the labels, keep it as a new label, or (label None) unmap it."""
    _owned(conn, actor, campaign_id)
    with reading(conn) as cur:
        name = cur.execute(
            "SELECT mode() WITHIN GROUP (ORDER BY c.concept) FROM revolt_categories c "
            "JOIN revolt_teams t "
            "ON t.id = c.team_id WHERE t.campaign_id = ? AND c.concept_key = ?",
            [campaign_id, key]).fetchone()[0]
    if name is None:
        raise NotFound("No team gave that concept in this campaign.")
    if as_new:
        label = name
    elif label is not None and label not in label_options(conn, campaign_id):
        raise Invalid(f"“{label}” is not one of this campaign's labels.",
                      {"label": "pick a label, or keep the concept as a new label"})

    def work(cur: Cursor) -> None:
        if label is None:
            cur.execute("DELETE FROM revolt_concept_labels WHERE campaign_id = ? "
                        "AND concept_key = ?", [campaign_id, key])
            return
        cur.execute("INSERT INTO revolt_concept_labels VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (campaign_id, concept_key) DO UPDATE SET label = excluded.label,"
                    " is_new = excluded.is_new, mapped_by = excluded.mapped_by, "
                    "mapped_at = excluded.mapped_at",
                    [campaign_id, key, label, as_new, actor.id, now])
        emit(cur, campaign_id, "concepts.mapped", {"concept_key": key, "label": label}, now)

    writing(conn, work)


def final_labels(conn: Connection, actor: User, campaign_id: int) -> pd.DataFrame:
    """Every item given to a team, with its final label (or why it has none yet)."""
    _owned(conn, actor, campaign_id)
    with reading(conn) as cur:
        return cur.execute(FINAL_LABELS_SQL + " ORDER BY b.team_id, b.position",
                           {"campaign": campaign_id}).df()


def waiting(conn: Connection, actor: User, campaign_id: int) -> pd.DataFrame:
    """Items an ended team gave back that no team has yet, with the team and why."""
    _owned(conn, actor, campaign_id)
    with reading(conn) as cur:
        return cur.execute(f"SELECT item_id, external_id, team_id, votes, label_source AS reason "
                           f"FROM ({FINAL_LABELS_SQL}) AS final WHERE waiting ORDER BY item_id",
                           {"campaign": campaign_id}).df()


def label_summary(conn: Connection, actor: User, campaign_id: int) -> pd.DataFrame:
    """How many items got their final label from where: unanimous, concept, pending, …"""
    _owned(conn, actor, campaign_id)
    with reading(conn) as cur:
        return cur.execute(f"SELECT label_source, count(*) AS items FROM ({FINAL_LABELS_SQL}) "
                           "AS final GROUP BY label_source ORDER BY items DESC, label_source",
                           {"campaign": campaign_id}).df()


# --- monitoring ------------------------------------------------------------------------------

def teams(conn: Connection, actor: User, campaign_id: int,
          now: datetime) -> pd.DataFrame:
    """Every team of the campaign: stage, members still in and gone, items kept and given
    back, time in its stage."""
    _owned(conn, actor, campaign_id)
    with reading(conn) as cur:
        return cur.execute(
            """
            SELECT t.id AS team, t.stage, t.formed_at, t.size,
                   count(*) FILTER (WHERE m.status = 'active') AS active,
                   count(*) FILTER (WHERE m.status = 'dropped') AS dropped,
                   count(*) FILTER (WHERE m.status = 'left') AS left_early,
                   (SELECT count(*) FROM revolt_batch b WHERE b.team_id = t.id) AS items,
                   (SELECT count(*) FILTER (WHERE conflict) FROM revolt_batch b
                    WHERE b.team_id = t.id) AS conflicts,
                   (SELECT count(*) FROM revolt_released r WHERE r.team_id = t.id)
                       AS given_back,
                   CASE WHEN t.stage = 'done' THEN NULL
                        ELSE extract(epoch FROM ($now::TIMESTAMP - t.stage_started_at)) / 60
                   END
                       AS minutes_in_stage,
                   t.finished_at
            FROM revolt_teams t JOIN revolt_members m ON m.team_id = t.id
            WHERE t.campaign_id = $campaign
            GROUP BY t.id, t.stage, t.formed_at, t.size, t.stage_started_at, t.finished_at
            ORDER BY t.id DESC
            """, {"campaign": campaign_id, "now": now}).df()


def teams_by_stage(conn: Connection, actor: User, campaign_id: int
                   ) -> dict[str, int]:
    """How many teams are in each stage, in stage order."""
    _owned(conn, actor, campaign_id)
    with reading(conn) as cur:
        found = dict(cur.execute("SELECT stage, count(*) FROM revolt_teams WHERE campaign_id = ? "
                                 "GROUP BY stage", [campaign_id]).fetchall())
    return {stage: found.get(stage, 0) for stage in revolt.STAGES}


def stage_times(conn: Connection, actor: User, campaign_id: int,
                now: datetime) -> pd.DataFrame:
    """Per stage: teams that went through it and the median and longest minutes it took."""
    _owned(conn, actor, campaign_id)
    with reading(conn) as cur:
        return cur.execute(
            """
            WITH spans AS (
                SELECT to_stage AS stage, happened_at AS entered,
                       lead(happened_at) OVER (PARTITION BY team_id ORDER BY version) AS ended
                FROM revolt_events WHERE campaign_id = $campaign
            )
            SELECT stage, count(ended) AS teams_finished, count(*) - count(ended) AS teams_in_it,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY minutes) AS median_minutes,
                   max(minutes) AS longest_minutes
            FROM (SELECT *, extract(epoch FROM (ended - entered)) / 60 AS minutes FROM spans)
                 AS timed
            WHERE stage <> 'done'
            GROUP BY stage ORDER BY array_position(ARRAY['vote', 'explain', 'categorize'], stage)
            """, {"campaign": campaign_id}).df()


def dropouts(conn: Connection, actor: User, campaign_id: int) -> pd.DataFrame:
    """Members who stopped polling (dropped) or pressed Leave, by the stage they were in."""
    _owned(conn, actor, campaign_id)
    with reading(conn) as cur:
        return cur.execute(
            "SELECT dropped_stage AS stage, count(*) FILTER (WHERE status = 'dropped') AS dropped,"
            " count(*) FILTER (WHERE status = 'left') AS left_early FROM revolt_members "
            "WHERE campaign_id = ? AND status <> 'active' GROUP BY dropped_stage "
            "ORDER BY array_position(ARRAY['vote', 'explain', 'categorize'], dropped_stage)",
            [campaign_id]).df()


def transitions(conn: Connection, actor: User, campaign_id: int,
                limit: int = 200) -> pd.DataFrame:
    """The latest stage changes of the campaign's teams, with their reasons."""
    _owned(conn, actor, campaign_id)
    with reading(conn) as cur:
        return cur.execute(
            "SELECT happened_at, team_id AS team, from_stage, to_stage, reason "
            "FROM revolt_events WHERE campaign_id = ? "
            "ORDER BY happened_at DESC, team_id DESC, version DESC LIMIT ?",
            [campaign_id, limit]).df()
