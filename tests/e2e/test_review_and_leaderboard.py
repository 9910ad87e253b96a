"""Two experts answer too fast to score; the requester rejects one answer and accepts the other.

The rejected expert sees the pay reversed and stays off the leaderboard; the accepted one is
ranked there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .conftest import change_page, log_in, pick_option, settle
from .test_requester_journey import (
    grid,
    grid_rows,
    metric,
    new_page,  # noqa: F401  (a fixture)
    open_page,
    row_with,
    select,
    snapshot,
)

CAMPAIGN = "Answer general-knowledge questions with a short explanation"
IN_PICKER = re.compile(rf"^#\d+ · {re.escape(CAMPAIGN)} \(live\)$")
REASON = "The answer does not explain why; please give the reason, not only the fact."
ANSWERS = {
    "ada": "Light travels about a million times faster than sound, so the flash reaches us "
           "first and the thunder arrives seconds later.",
    "noor": "Because it just does, I think.  It is the way things are, nothing more to say.",
}


def choose(page: Page, multiselect: str, option: str) -> None:
    """Pick one option of a multiselect, then close its dropdown."""
    page.get_by_label(multiselect, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")


def sign_up_generalist(page: Page, server: str) -> None:
    """Noor creates an expert account for general knowledge in US English."""
    page.goto(server)
    settle(page)
    change_page(page, page.get_by_role("link", name="New here? Create an account"),
                page.get_by_label("Full name", exact=True))
    page.get_by_label("Full name", exact=True).fill("Noor Haddad")
    page.get_by_label("Username", exact=True).fill("noor")
    page.get_by_label("Work e-mail", exact=True).fill("noor@example.com")
    page.get_by_label("Password", exact=True).fill("curious-mind-9")
    page.get_by_label("Repeat password", exact=True).fill("curious-mind-9")
    choose(page, "Your skills", "General knowledge")
    choose(page, "Languages you work in", "English (United States) (en-US)")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Hello, Noor")).to_be_visible()
    settle(page)


def answer_one(page: Page, answer: str) -> None:
    """Start the campaign from its card on My campaigns and answer the item it gives."""
    card = page.get_by_test_id("stVerticalBlock").filter(
        has=page.get_by_role("heading", name=CAMPAIGN, exact=True)).filter(
        has=page.get_by_role("button", name="Start")).last
    change_page(page, card.get_by_role("button", name="Start"),
                metric(page, "Your answers here"))
    expect(page.get_by_role("heading", name=CAMPAIGN, exact=True)).to_be_visible()
    form = page.get_by_test_id("stForm")
    form.get_by_label("Your answer", exact=True).fill(answer)
    pick_option(form, "4")
    form.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Answer saved")).to_be_visible()


def review(page: Page, expert: str, decision: str, reason: str = "",
           shot: Path | None = None) -> None:
    """Show only the expert's answers, select the one row, and accept or reject it."""
    select(page, "Status", "Any status")
    select(page, "Expert", expert)
    rows = grid_rows(page, "Answer #")
    expect(rows).to_have_count(1)
    expect(row_with(rows, expert, "Waiting for review")).to_have_count(1)
    select_first_row(page, grid(page, "Answer #"),
                     page.get_by_role("heading", name=re.compile(rf"^Answer #\d+ by {expert}$")))
    if reason:
        page.get_by_label("Reason", exact=True).fill(reason)
    if shot:
        snapshot(page, shot)
    page.get_by_role("button", name=decision, exact=True).click()
    status = {"Accept": "Accepted", "Reject": "Rejected"}[decision]
    expect(row_with(grid_rows(page, "Answer #"), expert, status)).to_have_count(1)


def select_first_row(page: Page, grid: Locator, landmark: Locator) -> None:
    """Tick the checkbox drawn at the start of the grid's first row, until `landmark` shows.

    The grid is a canvas, so the click goes to where the checkbox is drawn. A click that lands
    while the script reruns can be lost; a second one only after the page is quiet, since a
    click on a selected row's checkbox clears it.
    """
    row_height = header_height = 35  # Streamlit's data grid rows and header
    for _ in range(3):
        settle(page)
        if landmark.count():
            return
        grid.get_by_test_id("stDataFrameResizable").click(
            position={"x": 16, "y": header_height + row_height / 2})
        try:
            landmark.wait_for(timeout=5_000)
            return
        except PlaywrightTimeoutError:
            continue
    expect(landmark).to_be_visible()


def choose_radio(page: Page, group: str, option: str) -> None:
    """Click a radio option's label and wait until it is the checked one."""
    radios = page.get_by_role("radiogroup", name=group)
    radios.get_by_text(option, exact=True).click()
    expect(radios.get_by_role("radio", name=option, exact=True)).to_be_checked()


def campaign_board(page: Page) -> None:
    """On the Leaderboard, show this campaign's board of all time."""
    choose_radio(page, "Board", "By campaign")
    select(page, "Campaign", CAMPAIGN)
    choose_radio(page, "Period", "All time")


def earnings(page: Page) -> Locator:
    """The rows of Earnings history on the Profile.

    Its accessible table holds the raw amount (-1) where the canvas draws it formatted ($-1.00).
    """
    return grid_rows(page, "Kind")


def test_rejected_answer_is_reversed_and_scores_nothing(server: str, page: Page,
                                                        new_page: Callable[[str], Page],  # noqa: F811
                                                        tmp_path: Path) -> None:
    ada = new_page("ada")
    log_in(ada, server, "ada")
    answer_one(ada, ANSWERS["ada"])
    noor = new_page("noor")
    sign_up_generalist(noor, server)
    answer_one(noor, ANSWERS["noor"])

    open_page(ada, "Leaderboard", "Leaderboard")
    campaign_board(ada)
    expect(ada.get_by_text("You have no points on this board yet")).to_be_visible()
    expect(ada.get_by_text("Nobody has points here yet.")).to_be_visible()

    log_in(page, server, "admin")
    open_page(page, "Review", "Review answers")
    select(page, "Campaign", IN_PICKER)
    expect(grid_rows(page, "Answer #")).to_have_count(2)  # both waiting for review
    review(page, "noor", "Reject", REASON, shot=tmp_path / "review-selected.png")
    review(page, "ada", "Accept")
    select(page, "Expert", "Everyone")
    answers = grid_rows(page, "Answer #")
    expect(answers).to_have_count(2)
    expect(row_with(answers, "noor", "Rejected")).to_have_count(1)
    expect(row_with(answers, "ada", "Accepted")).to_have_count(1)
    snapshot(page, tmp_path / "review.png")

    open_page(noor, "Profile", "Noor Haddad")
    history = earnings(noor)
    expect(history).to_have_count(2)
    reversal = row_with(history, "Reversal", "-1", CAMPAIGN)
    expect(reversal).to_have_count(1)
    expect(reversal).to_contain_text(REASON)
    expect(row_with(history, "Answer", "1", CAMPAIGN)).to_have_count(1)
    expect(metric(noor, "Total earnings")).to_have_text("$0.00")
    snapshot(noor, tmp_path / "profile-rejected.png")

    open_page(ada, "Profile", "Ada Nakamura")
    expect(earnings(ada)).to_have_count(1)
    expect(row_with(earnings(ada), "Answer", "1", CAMPAIGN)).to_have_count(1)
    expect(row_with(earnings(ada), "Reversal")).to_have_count(0)

    for expert in (ada, noor):
        open_page(expert, "Leaderboard", "Leaderboard")
        choose_radio(expert, "Period", "All time")
    expect(metric(ada, "Your rank")).to_have_text(re.compile(r"^\d+ of \d+$"))
    expect(noor.get_by_text("You have no points on this board yet")).to_be_visible()
    expect(row_with(grid_rows(noor, "Expert"), "Noor Haddad")).to_have_count(0)

    for expert in (ada, noor):
        campaign_board(expert)
        board = grid_rows(expert, "Expert")
        expect(board).to_have_count(1)
        expect(row_with(board, "1", "Ada Nakamura")).to_have_count(1)
    expect(metric(ada, "Your rank")).to_have_text("1 of 1")
    expect(noor.get_by_text("You have no points on this board yet")).to_be_visible()
    snapshot(noor, tmp_path / "leaderboard-rejected.png")
    print(f"screenshots in {tmp_path}")
