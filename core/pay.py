"""The pay ledger: history, and the payouts made when a campaign closes."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from core import campaigns, leaderboard, rollups
from core.db import Connection, Cursor, reading
from core.users import User


def history(conn: Connection, user: User, limit: int = 500) -> pd.DataFrame:
    """The expert's ledger rows, newest first."""
    with reading(conn) as cur:
        return cur.execute(
            "SELECT p.created_at, p.kind, p.amount, c.title AS campaign, p.note "
            "FROM pay_ledger p LEFT JOIN campaigns c ON c.id = p.campaign_id "
            "WHERE p.user_id = ? ORDER BY p.created_at DESC, p.id DESC LIMIT ?",
            [user.id, limit]).df()


def challenges_won(conn: Connection, user: User) -> pd.DataFrame:
    """The challenge rewards the expert won, newest first."""
    with reading(conn) as cur:
        return cur.execute(
            "SELECT c.title AS campaign, p.amount AS reward, p.note, p.created_at "
            "FROM pay_ledger p JOIN campaigns c ON c.id = p.campaign_id "
            "WHERE p.user_id = ? AND p.kind = 'reward' ORDER BY p.created_at DESC",
            [user.id]).df()


def reverse_answer(cur: Cursor, response_id: int, user_id: int, campaign_id: int, note: str,
                   now: datetime) -> None:
    """Take back what an answer earned (rejected or withdrawn) with a new ledger row."""
    paid = cur.execute("SELECT coalesce(sum(amount), 0) FROM pay_ledger WHERE response_id = ?",
                       [response_id]).fetchone()[0]
    if paid:
        cur.execute("INSERT INTO pay_ledger (user_id, campaign_id, response_id, kind, amount, note,"
                    " created_at) VALUES (?, ?, ?, 'reversal', ?, ?, ?)",
                    [user_id, campaign_id, response_id, -paid, note, now])
        rollups.paid(cur, now, campaign_id, user_id, -paid)


def pay_on_close(cur: Cursor, campaign: campaigns.Campaign,
                 now: datetime) -> None:
    """Inside the closing transaction: the quality bonus and challenge rewards, once each."""
    if campaign.bonus_min_quality is not None and campaign.bonus_per_item > 0:
        _once(cur, campaign.id, "bonus", now, lambda: _pay_bonus(cur, campaign, now))
    if campaign.challenge_rewards:
        _once(cur, campaign.id, "challenge", now, lambda: _pay_challenge(cur, campaign, now))


def _once(cur, campaign_id: int, kind: str, now: datetime, pay) -> None:
    done = cur.execute("SELECT 1 FROM campaign_payouts WHERE campaign_id = ? AND kind = ?",
                       [campaign_id, kind]).fetchone()
    if not done:
        pay()
        cur.execute("INSERT INTO campaign_payouts VALUES (?, ?, ?)", [campaign_id, kind, now])


def _pay_bonus(cur, campaign: campaigns.Campaign, now: datetime) -> None:
    cur.execute(
        """
        INSERT INTO pay_ledger (user_id, campaign_id, kind, amount, note, created_at)
        SELECT q.user_id, q.campaign_id, 'bonus', $per_item * count(r.id),
               'Quality bonus: score ' || round(q.score * 100)::INTEGER || '% on '
               || count(r.id) || ' answers', $now
        FROM expert_quality q
        JOIN responses r ON r.campaign_id = q.campaign_id AND r.user_id = q.user_id
                        AND r.status <> 'rejected'
        WHERE q.campaign_id = $c AND q.score >= $threshold
        GROUP BY q.user_id, q.campaign_id, q.score
        """, {"per_item": campaign.bonus_per_item, "c": campaign.id, "now": now,
              "threshold": campaign.bonus_min_quality})
    rollups.paid_where(cur, "campaign_id = ? AND kind = 'bonus' AND created_at = ?",
                       [campaign.id, now])


def _pay_challenge(cur, campaign: campaigns.Campaign, now: datetime) -> None:
    rewards = list(campaign.challenge_rewards)
    ranked = cur.execute(leaderboard.STANDINGS_SQL + " ORDER BY rank, user_id",
                         {"since": None, "full_days_from": None, "campaign": campaign.id,
                          "skill": None}).fetchall()
    for rank, user_id, _, _ in ranked:
        if rank > len(rewards):
            break
        cur.execute("INSERT INTO pay_ledger (user_id, campaign_id, kind, amount, note, "
                    "created_at) VALUES (?, ?, 'reward', ?, ?, ?)",
                    [user_id, campaign.id, rewards[rank - 1],
                     f"Challenge: rank {rank} in “{campaign.title}”", now])
    rollups.paid_where(cur, "campaign_id = ? AND kind = 'reward' AND created_at = ?",
                       [campaign.id, now])
