"""Quality: aggregated labels, agreement, and each expert's quality score, per campaign.

`refresh` recomputes everything for one campaign from its kept (not rejected) answers and
stores it, so pages, the leaderboard and exports read plain tables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from core import agreement, campaigns, workflow
from core.db import Connection, Cursor, frame_table, reading, writing

# The level of measurement Krippendorff's alpha uses for each question type.
ALPHA_LEVELS = {"single_choice": "nominal", "multiple_choice": "nominal", "rating": "ordinal"}


def key_question(spec: dict) -> dict | None:
    """The question labels are aggregated on: the form's first single-choice or rating one."""
    for question in workflow.questions(spec):
        if question["type"] in ("single_choice", "rating"):
            return question
    return None


def refresh(conn: Connection, campaign_id: int, now: datetime) -> None:
    """Recompute and store the campaign's item labels, agreement and expert quality."""
    campaign = campaigns.get(conn, campaign_id)
    spec = campaigns.spec(conn, campaign_id, campaign.spec_version)
    question = key_question(spec)
    answers = {q["id"]: _answers(conn, campaign_id, q) for q in workflow.questions(spec)
               if q["type"] in ALPHA_LEVELS}
    alphas = _agreement(campaign_id, spec, answers, now)
    labels = experts = None
    if question:
        labels = _item_labels(campaign_id, question, answers[question["id"]], now)
        experts = _expert_quality(campaign_id, answers[question["id"]], labels, now)

    def work(cur: Cursor) -> None:
        for table in ("campaign_agreement", "item_labels", "expert_quality"):
            cur.execute(f"DELETE FROM {table} WHERE campaign_id = ?", [campaign_id])
        for table, frame in (("campaign_agreement", alphas), ("item_labels", labels),
                             ("expert_quality", experts)):
            if frame is not None and not frame.empty:
                columns = ", ".join(frame.columns)  # our own frames' names, never input
                with frame_table(cur, "fresh", frame, like=table):
                    cur.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM fresh")

    writing(conn, work)


def _answers(conn, campaign_id: int, question: dict) -> pd.DataFrame:
    """Kept answers to one question as (item, worker, label, gold) rows, labels comparable."""
    with reading(conn) as cur:
        answers = cur.execute(
            "SELECT r.item_id AS item, r.user_id AS worker, r.answer->>$q AS label, "
            "g.gold FROM responses r LEFT JOIN (SELECT id, gold->>$q AS gold FROM items "
            "WHERE campaign_id = $c AND gold IS NOT NULL) g ON g.id = r.item_id "
            "WHERE r.campaign_id = $c AND r.status <> 'rejected' AND r.answer->>$q IS NOT NULL",
            {"c": campaign_id, "q": question["id"]}).df()
    if question["type"] == "multiple_choice":
        answers["label"] = answers["label"].map(_as_set)
    return answers


def _as_set(choices: str) -> str:
    """A multiple-choice answer as a set: its options sorted and deduplicated, so the order
    they were clicked in does not count."""
    return json.dumps(sorted(set(json.loads(choices))), ensure_ascii=False, separators=(",", ":"))


def _agreement(campaign_id: int, spec: dict, by_question: dict[str, pd.DataFrame],
               now: datetime) -> pd.DataFrame:
    rows = []
    for question in workflow.questions(spec):
        level = ALPHA_LEVELS.get(question["type"])
        if level is None:
            continue
        answers = by_question[question["id"]].copy()
        if question["type"] == "rating":
            answers["label"] = pd.to_numeric(answers["label"], errors="coerce")
        pairable = answers.groupby("item")["label"].transform("size") >= 2
        alpha = agreement.krippendorff_alpha(answers, level, unit="item", value="label")
        rows.append({"campaign_id": campaign_id, "question_id": question["id"], "level": level,
                     "alpha": alpha, "units": int(answers[pairable]["item"].nunique()),
                     "computed_at": now})
    return pd.DataFrame(rows)


def _item_labels(campaign_id: int, question: dict, answers: pd.DataFrame,
                 now: datetime) -> pd.DataFrame:
    if answers.empty:
        return answers
    votes = agreement.majority_vote(answers).set_index("item")
    ds = agreement.dawid_skene(answers).set_index("item")
    counts = answers.groupby("item").size()
    return pd.DataFrame({
        "item_id": votes.index, "campaign_id": campaign_id, "question_id": question["id"],
        "majority_label": votes["label"].where(~votes["tie"], None).values,
        "majority_share": votes["confidence"].values,
        "ds_label": ds["label"].where(~ds["tie"], None).reindex(votes.index).values,
        "ds_confidence": ds["confidence"].reindex(votes.index).values,
        "answers": counts.reindex(votes.index).values, "computed_at": now})


def _expert_quality(campaign_id: int, answers: pd.DataFrame, labels: pd.DataFrame,
                    now: datetime) -> pd.DataFrame:
    """Each expert's checks: gold items answered right, and answers on items others answered
    too that match the item's stored (shown) Dawid-Skene label; a tie checks nothing."""
    if answers.empty:
        return answers
    stored = labels.set_index("item_id")
    decided = stored["ds_label"][(stored["answers"] >= 2) & stored["ds_label"].notna()]
    on_gold = answers["gold"].notna().to_numpy()
    checked = ~on_gold & answers["item"].isin(decided.index).to_numpy()
    consensus = decided.reindex(answers["item"]).to_numpy()
    label = answers["label"].to_numpy()
    per_expert = pd.DataFrame({
        "gold_answers": on_gold,
        "gold_correct": on_gold & (label == answers["gold"].to_numpy()),
        "consensus_answers": checked,
        "consensus_agreed": checked & (label == consensus),
    }).groupby(answers["worker"].to_numpy()).sum().astype(int)
    checks = per_expert["gold_answers"] + per_expert["consensus_answers"]
    passed = per_expert["gold_correct"] + per_expert["consensus_agreed"]
    per_expert["score"] = (passed / checks.where(checks > 0)).astype(float)
    per_expert["campaign_id"] = campaign_id
    per_expert["computed_at"] = now
    return per_expert.rename_axis("user_id").reset_index()


@dataclass(frozen=True)
class Quality:
    """An expert's quality in one campaign and the evidence behind it."""
    campaign_id: int
    title: str
    score: float | None
    gold_answers: int
    gold_correct: int
    consensus_answers: int
    consensus_agreed: int

    def explanation(self) -> str:
        """The score's reasons in plain words."""
        parts = []
        if self.gold_answers:
            parts.append(f"{self.gold_correct / self.gold_answers:.0%} right on "
                         f"{self.gold_answers} gold item{'s' * (self.gold_answers != 1)}")
        if self.consensus_answers:
            parts.append(f"agrees with the consensus on "
                         f"{self.consensus_agreed / self.consensus_answers:.0%} of "
                         f"{self.consensus_answers} item{'s' * (self.consensus_answers != 1)}")
        if not parts:
            return ("Nothing to check against yet: no gold items, and no items answered by "
                    "others too. Your answers count in full until then.")
        return "; ".join(parts).capitalize() + "."


def for_expert(conn: Connection, user_id: int) -> list[Quality]:
    """The expert's stored quality in each campaign, newest campaign first."""
    with reading(conn) as cur:
        rows = cur.execute(
            "SELECT q.campaign_id, c.title, q.score, q.gold_answers, q.gold_correct, "
            "q.consensus_answers, q.consensus_agreed FROM expert_quality q "
            "JOIN campaigns c ON c.id = q.campaign_id WHERE q.user_id = ? "
            "ORDER BY c.created_at DESC", [user_id]).fetchall()
    return [Quality(*row) for row in rows]


def agreement_table(conn: Connection, campaign_id: int) -> pd.DataFrame:
    """Krippendorff's alpha per question, as last computed."""
    with reading(conn) as cur:
        return cur.execute("SELECT question_id, level, alpha, units, computed_at FROM "
                           "campaign_agreement WHERE campaign_id = ? ORDER BY question_id",
                           [campaign_id]).df()


def labels_table(conn: Connection, campaign_id: int,
                 limit: int = 1000) -> pd.DataFrame:
    """Aggregated labels per item (majority vote and Dawid-Skene), least certain first."""
    with reading(conn) as cur:
        return cur.execute(
            "SELECT l.item_id, i.external_id, l.answers, l.majority_label, l.majority_share, "
            "l.ds_label, l.ds_confidence FROM item_labels l JOIN items i ON i.id = l.item_id "
            "WHERE l.campaign_id = ? ORDER BY l.ds_confidence, l.item_id LIMIT ?",
            [campaign_id, limit]).df()


def campaign_scores(conn: Connection, campaign_id: int) -> pd.DataFrame:
    """Each expert's stored quality score in the campaign, by username."""
    with reading(conn) as cur:
        return cur.execute("SELECT u.username AS expert, q.score AS quality FROM expert_quality q"
                           " JOIN users u ON u.id = q.user_id WHERE q.campaign_id = ?",
                           [campaign_id]).df()
