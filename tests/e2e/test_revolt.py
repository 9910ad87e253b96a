"""Three experts in three browsers meet in a team lobby and label pictures together (Revolt).

The server runs with short settings: batches of 2 items, and a member is dropped after 8 s
without a poll. The demo's "Is it a cat?" campaign asks for the arts in en-US, which only mei
declares, so two new experts sign up for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .conftest import ROOT, WATCH_JS, change_page, log_in, settle

if "views/lobby.py" not in (ROOT / "app.py").read_text():
    pytest.skip("app.py does not register the Team session page (views/lobby.py) yet",
                allow_module_level=True)

CAMPAIGN = "Is it a cat? Team labeling of ambiguous pictures"
QUESTION = "Is this a cat?"
DROPOUT_SECONDS = 8
WAIT = 15_000  # ms for what waits on teammates' pages (a stage change, a new concept)
# Records what the notification script does: system notifications shown and chimes played.
NOTICE_JS = """(() => {
  window.__shown = [];
  window.__chimes = 0;
  const Fake = function (title) { window.__shown.push(title); };
  Fake.permission = "granted";
  Fake.requestPermission = () => Promise.resolve("granted");
  window.Notification = Fake;
  HTMLMediaElement.prototype.play = function () { window.__chimes += 1; return Promise.resolve(); };
})();"""


@pytest.fixture(scope="module")
def team_server(start_server) -> str:
    return start_server(QUORUM_REVOLT_BATCH_SIZE="2",
                        QUORUM_REVOLT_DROPOUT_SECONDS=str(DROPOUT_SECONDS))


@pytest.fixture
def pages(browser: Browser, team_server: str, tmp_path: Path,
          request: pytest.FixtureRequest) -> Iterator[list[Page]]:
    """Three pages in three fresh contexts, with notifications allowed and recorded."""
    contexts = []
    for _ in range(3):
        context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                      permissions=["notifications"])
        context.set_default_timeout(20_000)
        context.add_init_script(WATCH_JS)
        context.add_init_script(NOTICE_JS)
        contexts.append(context)
    opened = [c.new_page() for c in contexts]
    yield opened
    report = getattr(request.node, "report_call", None)
    for n, page in enumerate(opened):
        if report is not None and report.failed and not page.is_closed():
            page.screenshot(path=tmp_path / f"failure-{n}.png", full_page=True)
    if report is not None and report.failed:
        print(f"screenshots of the failure in {tmp_path}")
    for context in contexts:
        context.close()



def choose(page: Page, multiselect: str, option: str) -> None:
    """Pick one option of a multiselect, then close its dropdown; again if a rerun undid it."""
    box = page.get_by_test_id("stMultiSelect").filter(
        has=page.get_by_label(multiselect, exact=True))
    chosen = box.get_by_role("button", name=f"Remove {option}", exact=True)
    for _ in range(3):
        page.get_by_label(multiselect, exact=True).click()
        page.get_by_role("option", name=option, exact=True).click()
        page.keyboard.press("Escape")
        try:
            expect(chosen).to_have_count(1, timeout=2_000)
            return
        except AssertionError:
            continue
    expect(chosen).to_have_count(1)


def sign_up(page: Page, server: str, name: str, username: str) -> None:
    page.goto(server)
    settle(page)
    change_page(page, page.get_by_role("link", name="New here? Create an account"),
                page.get_by_label("Full name", exact=True))
    page.get_by_label("Full name", exact=True).fill(name)
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Work e-mail", exact=True).fill(f"{username}@example.com")
    page.get_by_label("Password", exact=True).fill("pictures-2026")
    page.get_by_label("Repeat password", exact=True).fill("pictures-2026")
    choose(page, "Your skills", "The arts")
    choose(page, "Languages you work in", "English (United States) (en-US)")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name=f"Hello, {name.split()[0]}")).to_be_visible()
    settle(page)


def open_preview(page: Page) -> None:
    card = page.get_by_test_id("stVerticalBlock").filter(
        has=page.get_by_role("heading", name=CAMPAIGN, exact=True)).filter(
        has=page.get_by_role("button", name="Preview")).last
    change_page(page, card.get_by_role("button", name="Preview"),
                page.get_by_role("button", name="Join the lobby"))


def join(page: Page) -> None:
    expect(page.get_by_text("You will work with 2 other experts")).to_be_visible()
    page.get_by_role("button", name="Join the lobby").click()
    expect(page.get_by_role("heading", name=f"Lobby · {CAMPAIGN}")).to_be_visible()


def metric(page: Page, label: str) -> Locator:
    return (page.get_by_test_id("stMetric")
            .filter(has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
            .get_by_test_id("stMetricValue"))


def toast(page: Page, text: str) -> Locator:
    return page.get_by_test_id("stToast").filter(has_text=text)


def vote(page: Page, label: str, item: int) -> None:
    expect(page.get_by_role("heading", name=f"Item {item} of 2")).to_be_visible(timeout=WAIT)
    form = page.get_by_test_id("stForm")
    expect(form).to_have_count(1)  # the previous item's form is gone once the page redrew
    group = form.get_by_role("radiogroup", name=QUESTION)
    group.get_by_text(label, exact=True).click()
    expect(group.get_by_role("radio", name=label, exact=True)).to_be_checked()
    form.get_by_role("button", name="Submit vote").click()


def explain(page: Page, my_label: str, text: str) -> None:
    expect(page.get_by_text("Your team's labels conflicted on this item.")).to_be_visible(
        timeout=WAIT)
    expect(page.get_by_text(f"Your label: {my_label}")).to_be_visible()
    page.get_by_label("Your explanation", exact=True).fill(text)
    page.get_by_role("button", name="Submit explanation").click()


def categorize(page: Page, concept: str, new: bool) -> None:
    expect(page.get_by_text("What your team wrote about it")).to_be_visible()
    box = page.get_by_test_id("stSelectbox").filter(has_text="Concept")
    value = box.get_by_role("combobox", name="Concept")
    for _ in range(5):  # a click that lands while the fragment redraws may not open the list
        value.click()
        if new:
            page.keyboard.type(concept)
            page.keyboard.press("Enter")
        else:
            option = page.get_by_role("option", name=concept, exact=True)
            if not option.count():
                page.keyboard.press("ArrowDown")  # opens the list if the click only focused
            try:
                option.click(timeout=2_000)
            except PlaywrightTimeoutError:
                page.keyboard.press("Escape")
                continue
        if value.input_value() == concept:
            break
    expect(value).to_have_value(concept)
    page.get_by_role("button", name="Save concept").click()


def survey(page: Page, earned: str) -> None:
    expect(page.get_by_text(re.compile(f"earned {re.escape(earned)}"))).to_be_visible(
        timeout=WAIT)
    form = page.get_by_test_id("stForm")
    form.get_by_role("radiogroup", name="How clear was the task?").get_by_text(
        "4", exact=True).click()
    form.get_by_role("radiogroup", name="How much did your teammates' explanations help?"
                     ).get_by_text("5 · A lot", exact=True).click()
    form.get_by_role("button", name="Send").click()
    expect(toast(page, f"Thank you! You earned {earned}")).to_be_visible()
    expect(page.get_by_role("button", name="Join the lobby")).to_be_visible()


def page_name(page: Page) -> str:
    """The username shown in the page's sidebar."""
    expert = re.compile(r"· expert$", re.IGNORECASE)
    return page.get_by_test_id("stSidebar").get_by_text(expert).inner_text().split(" ·")[0]


def ready_all(pages: list[Page]) -> None:
    for page in pages:
        expect(metric(page, "Waiting in the lobby")).to_have_text("3", timeout=WAIT)
    for page in pages:
        page.get_by_role("button", name="Ready", exact=True).click()
    for page in pages:
        expect(page.get_by_text("Stage 1 of 3 · Vote")).to_be_visible(timeout=WAIT)


def test_three_experts_label_together_then_one_leaves(team_server: str, pages: list[Page],
                                                      tmp_path: Path) -> None:
    mei, ivy, jon = pages
    log_in(mei, team_server, "mei")
    sign_up(ivy, team_server, "Ivy Kerr", "ivy")
    sign_up(jon, team_server, "Jon Sato", "jon")

    # The lobby: each arrival is announced to those already there.
    open_preview(mei)
    expect(mei.get_by_text("Vote: $1.60")).to_be_visible()
    join(mei)
    expect(mei.get_by_role("button", name="Ready", exact=True)).to_be_disabled()
    settle(mei)
    mei.screenshot(path=tmp_path / "lobby-alone.png", full_page=True)
    open_preview(ivy)
    join(ivy)
    expect(toast(mei, "An expert joined the lobby")).to_be_visible(timeout=WAIT)
    open_preview(jon)
    join(jon)
    expect(toast(ivy, "An expert joined the lobby")).to_be_visible(timeout=WAIT)
    ready_all(pages)
    expect(toast(mei, "Your team is starting")).to_be_visible(timeout=WAIT)
    expect(toast(jon, "Your team is starting")).to_be_visible(timeout=WAIT)
    for page in (mei, ivy):
        assert page.evaluate("window.__shown").count("Your team is starting") == 1
        assert "An expert joined the lobby" in page.evaluate("window.__shown")
        assert page.evaluate("window.__chimes") >= 2
    mei.screenshot(path=tmp_path / "vote.png", full_page=True)

    # Vote: the second picture splits the team.
    for page, second in ((mei, "Yes"), (ivy, "No"), (jon, "No")):
        vote(page, "Yes", 1)
        vote(page, second, 2)
        if page is mei:
            expect(mei.get_by_text("Waiting for your teammates").first).to_be_visible()
            mei.screenshot(path=tmp_path / "waiting.png", full_page=True)

    # Explain: each sees the conflict and their own label only.
    for page, label in ((mei, "Yes"), (ivy, "No"), (jon, "No")):
        expect(page.get_by_text("Stage 2 of 3 · Explain")).to_be_visible(timeout=WAIT)
        explain(page, label, f"{page_name(page)} looked at the ears and the shape of the body.")

    # Categorize: a new concept appears in the others' lists as soon as it is added.
    for page in pages:
        expect(page.get_by_text("Stage 3 of 3 · Categorize")).to_be_visible(timeout=WAIT)
    expect(ivy.get_by_text("mei looked at the ears")).to_be_visible()
    categorize(mei, "Drawn cat", new=True)
    expect(ivy.get_by_text("Drawn cat (1)")).to_be_visible(timeout=WAIT)
    ivy.screenshot(path=tmp_path / "categorize.png", full_page=True)
    categorize(ivy, "Drawn cat", new=False)
    categorize(jon, "Drawn cat", new=False)

    # Each takes the exit survey on their own; all earned every stage.
    for page in pages:
        survey(page, "$3.20")

    # Second team: jon closes his page during Explain; mei and ivy finish without him.
    for page in pages:
        join(page)
    ready_all(pages)
    for page, second in ((mei, "Yes"), (ivy, "No"), (jon, "No")):
        vote(page, "Yes", 1)
        vote(page, second, 2)
    expect(jon.get_by_text("Stage 2 of 3 · Explain")).to_be_visible(timeout=WAIT)
    jon_context = jon.context
    jon.close()
    for page, label in ((mei, "Yes"), (ivy, "No")):
        explain(page, label, f"{page_name(page)}, second team: the ears give it away.")
    for page in (mei, ivy):  # after DROPOUT_SECONDS without jon's page polling
        expect(page.get_by_text("Stage 3 of 3 · Categorize")).to_be_visible(
            timeout=DROPOUT_SECONDS * 1000 + WAIT)
    categorize(mei, "Ears", new=True)
    categorize(ivy, "Ears", new=False)
    for page in (mei, ivy):
        survey(page, "$3.20")

    # jon comes back: he was dropped during Explain and paid for Vote.
    back = jon_context.new_page()
    back.goto(mei.url)
    expect(back.get_by_text("Your team went on without you")).to_be_visible()
    expect(back.get_by_text("You were paid $1.60 for the stages you finished: Vote.")
           ).to_be_visible()
    back.screenshot(path=tmp_path / "dropped.png", full_page=True)
    print(f"screenshots in {tmp_path}")
