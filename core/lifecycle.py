"""A campaign's lifecycle: draft → live ⇄ paused → closed, with who moved it and when."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from core import campaigns, pay, quality
from core.db import Connection, Cursor, reading, writing
from core.errors import Conflict
from core.events import campaign_completed
from core.users import User

# to-status → the statuses it may be reached from, and the verb shown for it
MOVES = {
    "live": (("draft", "paused"), "Publish"),
    "paused": (("live",), "Pause"),
    "closed": (("draft", "live", "paused"), "Close"),
}


def allowed_moves(status: str) -> list[str]:
    """The statuses a campaign in `status` may move to."""
    return [to for to, (sources, _) in MOVES.items() if status in sources]


def move(conn: Connection, actor: User, campaign_id: int, to_status: str,
         now: datetime, note: str = "") -> campaigns.Campaign:
    """Move a campaign to a new status (owner or admin), recording who did it and when.

    Closing first brings quality up to date, then pays the quality bonus and challenge
    rewards in the same transaction as the status change.
    """
    if to_status == "closed":
        campaigns.require_owner(actor, campaigns.get(conn, campaign_id))
        quality.refresh(conn, campaign_id, now)

    def work(cur: Cursor) -> None:
        campaign = campaigns.fetch(cur, campaign_id)
        campaigns.require_owner(actor, campaign)
        if to_status not in allowed_moves(campaign.status):
            raise Conflict(f"A {campaign.status} campaign cannot become {to_status}.")
        if to_status == "live":
            _check_publishable(cur, campaign, now)
        cur.execute("UPDATE campaigns SET status = ? WHERE id = ?", [to_status, campaign_id])
        cur.execute("INSERT INTO campaign_events VALUES (?, ?, ?, ?, ?, ?)",
                    [campaign_id, campaign.status, to_status, actor.id, now, note.strip()])
        if to_status == "closed":  # nobody may keep working on a closed campaign
            cur.execute("DELETE FROM leases WHERE campaign_id = ?", [campaign_id])
            pay.pay_on_close(cur, campaign, now)
            campaign_completed(cur, campaign_id, "closed", now)  # for webhooks

    writing(conn, work)
    return campaigns.get(conn, campaign_id)


def _check_publishable(cur: Cursor, campaign: campaigns.Campaign,
                       now: datetime) -> None:
    if campaign.expires_at <= now:
        raise Conflict(f"The campaign expired on {campaign.expires_at:%Y-%m-%d %H:%M} UTC; move "
                       "its expiry date later before publishing.")
    items = cur.execute("SELECT count(*) FROM items WHERE campaign_id = ?",
                        [campaign.id]).fetchone()[0]
    if items == 0:
        raise Conflict("The campaign has no items yet; import some before publishing.")


def history(conn: Connection, campaign_id: int) -> pd.DataFrame:
    """The campaign's status changes, newest first."""
    with reading(conn) as cur:
        return cur.execute(
            "SELECT e.changed_at, e.from_status, e.to_status, u.username AS by, e.note "
            "FROM campaign_events e JOIN users u ON u.id = e.actor_id "
            "WHERE e.campaign_id = ? ORDER BY e.changed_at DESC", [campaign_id]).df()
