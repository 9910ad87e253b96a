"""A requester designs, fills and publishes a campaign; an expert answers; the requester exports."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from .conftest import WATCH_JS, change_page, log_in, settle

TITLE = "Label the tone of customer messages"
QUESTION = "Which label fits this text?"
ROWS = [
    ("msg-1", "The new dashboard is fast and the export finally works. Thank you!"),
    ("msg-2", "My order arrived two weeks late and support never answered my e-mails."),
    ("msg-3", "I changed my delivery address on Tuesday; please confirm it was updated."),
]


@pytest.fixture
def new_page(browser: Browser, request: pytest.FixtureRequest,
             tmp_path: Path) -> Iterator[Callable[[str], Page]]:
    """A factory of pages, each in a browser context of its own (another person's browser).

    On failure each page's screenshot goes to tmp_path, named after the person.
    """
    pages: dict[str, Page] = {}

    def make(who: str) -> Page:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(15_000)
        context.add_init_script(WATCH_JS)
        pages[who] = context.new_page()
        return pages[who]

    yield make
    report = getattr(request.node, "report_call", None)
    for who, page in pages.items():
        if report is not None and report.failed:
            page.screenshot(path=tmp_path / f"failure-{who}.png")
        page.context.close()


def snapshot(page: Page, path: Path) -> None:
    """A screenshot of the whole page: Streamlit scrolls inside its main area, not the window."""
    settle(page)
    size = page.viewport_size
    height = page.get_by_test_id("stMain").evaluate("main => main.scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": max(height, size["height"])})
    try:
        page.screenshot(path=path)
    finally:
        page.set_viewport_size(size)



def open_page(page: Page, link: str, heading: str) -> None:
    """Follow a sidebar link until the page's heading shows."""
    change_page(page, page.get_by_test_id("stSidebarNav").get_by_role("link", name=link,
                                                                      exact=True),
                page.get_by_role("heading", name=heading, exact=True))


def select(page: Page, label: str, option: str | re.Pattern[str]) -> None:
    """Pick an option of a select box by its visible text."""
    box = page.get_by_label(label, exact=True)
    for _ in range(3):  # a click that scrolls the box into view may only focus it
        box.click()
        try:
            expect(box).to_have_attribute("aria-expanded", "true", timeout=2_000)
            break
        except AssertionError:
            continue
    page.get_by_role("option", name=option, exact=True).click()
    expect(box).to_have_value(option)


def pick(form: Locator | Page, question: str, option: str) -> None:
    """Choose a radio option by clicking its label, as a user does (Streamlit covers the input)."""
    group = form.get_by_role("radiogroup", name=question)
    group.get_by_text(option, exact=True).click()
    expect(group.get_by_role("radio", name=option, exact=True)).to_be_checked()


def metric(page: Page, label: str) -> Locator:
    """The value of the metric whose label is exactly `label`."""
    return (page.get_by_test_id("stMetric")
            .filter(has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
            .get_by_test_id("stMetricValue"))


def grid(page: Page, column: str) -> Locator:
    """The data grid that has a column headed `column`."""
    return page.get_by_test_id("stDataFrame").filter(
        has=page.get_by_role("columnheader", name=column, exact=True, include_hidden=True))


def grid_rows(page: Page, column: str) -> Locator:
    """The body rows of the data grid that has a column headed `column`.

    The grid is drawn on a canvas; what a user reads there is also in the accessible table
    inside it, which a browser does not render, so these rows are attached but never visible.
    """
    return grid(page, column).locator("tbody").get_by_role("row", include_hidden=True)


def row_with(rows: Locator, *cells: str) -> Locator:
    """The rows holding a cell with each of these exact texts."""
    for text in cells:
        rows = rows.filter(has=rows.page.get_by_role("gridcell", name=text, exact=True,
                                                     include_hidden=True))
    return rows


def test_requester_designs_publishes_and_exports(server: str, page: Page,
                                                 new_page: Callable[[str], Page],
                                                 tmp_path: Path) -> None:
    log_in(page, server, "rita")
    open_page(page, "Design", "Design a campaign")
    expect(page.get_by_label("Campaign", exact=True)).to_have_value("+ New campaign")

    select(page, "Start from a template", "Classification")
    page.get_by_label("Title", exact=True).fill(TITLE)
    select(page, "Skill", "General knowledge")
    select(page, "Language", "English (United States) (en-US)")
    preview = page.get_by_test_id("stColumn").filter(
        has_text="Live preview, drawn exactly as experts will see it")
    expect(preview.get_by_text(QUESTION)).to_be_visible()  # its options: buttons with keys
    expect(preview.get_by_role("button", name="negative")).to_contain_text("2")
    snapshot(page, tmp_path / "design-new.png")
    page.get_by_role("button", name="Create draft", exact=True).click()

    expect(page.get_by_text("This campaign has 0 items.")).to_be_visible()
    campaign_id = int(parse_qs(urlparse(page.url).query)["campaign"][0])
    expect(page.get_by_label("Campaign", exact=True)).to_have_value(
        f"#{campaign_id} · {TITLE} (draft)")

    items = tmp_path / "messages.csv"
    with items.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "text"])
        writer.writerows(ROWS)
    uploader = page.get_by_test_id("stFileUploader").filter(
        has_text="Import items from CSV, JSON Lines or Parquet")
    uploader.locator("input[type=file]").set_input_files(items)
    mapping = page.get_by_test_id("stForm")
    expect(mapping.get_by_label("Field “text” comes from column", exact=True)).to_have_value(
        "text")
    snapshot(page, tmp_path / "design-import.png")
    mapping.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("Imported 3 items.")).to_be_visible()
    expect(page.get_by_text("This campaign has 3 items.")).to_be_visible()

    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_text("The campaign is live: experts can answer it.")).to_be_visible()
    snapshot(page, tmp_path / "design-live.png")

    expert = new_page("ada")
    log_in(expert, server, "ada")
    card = expert.get_by_test_id("stVerticalBlock").filter(
        has=expert.get_by_role("heading", name=TITLE, exact=True)).filter(
        has=expert.get_by_role("button", name="Start")).last
    change_page(expert, card.get_by_role("button", name="Start"),
                metric(expert, "Your answers here"))
    expect(expert.get_by_role("heading", name=TITLE, exact=True)).to_be_visible()
    form = expert.get_by_test_id("stForm")
    expect(form.get_by_text(re.compile("|".join(re.escape(t) for _, t in ROWS)))
           ).to_be_visible()
    # A one-question choice form: each option is a button (keyed 1–3) that answers at once.
    form.get_by_role("button", name="positive").click()
    expect(expert.get_by_text("Answer saved")).to_be_visible()
    expect(metric(expert, "Your answers here")).to_have_text("1")

    open_page(page, "Monitor", "Monitor")
    select(page, "Campaign", f"#{campaign_id} · {TITLE} (live)")
    expect(metric(page, "Answers")).to_have_text("1")
    expect(metric(page, "Items complete")).to_have_text("0 / 3")
    experts = grid_rows(page, "Median time")
    expect(experts).to_have_count(1)
    expect(row_with(experts, "ada")).to_have_count(1)
    snapshot(page, tmp_path / "monitor.png")

    pick(page, "Data", "Answers")
    pick(page, "Format", "CSV")
    page.get_by_role("button", name="Prepare download").click()
    download_button = page.get_by_role("button", name=re.compile(r"^Download 1 answers? \(csv\)$"))
    with page.expect_download() as event:
        download_button.click()
    download = event.value
    assert download.suggested_filename == f"campaign-{campaign_id}-answers.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with saved.open(newline="") as data:
        rows = list(csv.DictReader(data))
    assert len(rows) == 1
    assert rows[0]["expert"] == "ada"
    assert "positive" in rows[0]["answer"]
    assert dict(ROWS)[rows[0]["external_id"]] in rows[0]["payload"]
    print(f"screenshots in {tmp_path}")
