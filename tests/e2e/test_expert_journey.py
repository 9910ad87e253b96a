"""A new expert signs up, sees only the campaigns that fit them, answers two items, reloads."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from .conftest import change_page, settle

MATCHING = "Classify commercial contract clauses"
NOT_MATCHING = ["Spot the bug in short Python functions",
                "Resumir cláusulas de contratos de arrendamiento"]


def choose(page: Page, multiselect: str, option: str) -> None:
    """Pick one option of a multiselect, then close its dropdown."""
    page.get_by_label(multiselect, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")


def sign_up(page: Page, name: str, username: str, password: str) -> None:
    page.get_by_label("Full name", exact=True).fill(name)
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Work e-mail", exact=True).fill(f"{username}@example.com")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Repeat password", exact=True).fill(password)
    choose(page, "Your skills", "Law and legal")
    choose(page, "Languages you work in", "English (United States) (en-US)")
    page.get_by_role("button", name="Create account").click()


def pick(form: Locator, question: str, option: str) -> None:
    """Choose a radio option by clicking its label, as a user does (Streamlit covers the input)."""
    group = form.get_by_role("radiogroup", name=question)
    group.get_by_text(option, exact=True).click()
    expect(group.get_by_role("radio", name=option, exact=True)).to_be_checked()


def answer_item(page: Page, clause_type: str, rating: str) -> None:
    form = page.get_by_test_id("stForm")
    pick(form, "What type of clause is this?", clause_type)
    pick(form, "How standard is the wording?", rating)
    form.get_by_role("button", name="Submit").click()


def metric(page: Page, label: str) -> Locator:
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")


def test_new_expert_signs_up_and_labels(server: str, page: Page, tmp_path: Path) -> None:
    page.goto(server)
    settle(page)
    change_page(page, page.get_by_role("link", name="New here? Create an account"),
                page.get_by_label("Full name", exact=True))
    sign_up(page, "Grace Hopper", "grace", "contracts-2026")

    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("link", name="My campaigns")).to_have_attribute("aria-current",
                                                                               "page")
    expect(page.get_by_role("heading", name="Hello, Grace")).to_be_visible()
    expect(page.get_by_role("heading", name=MATCHING)).to_be_visible()
    expect(metric(page, "Open campaigns for you")).to_have_text("1")
    for title in NOT_MATCHING:
        expect(page.get_by_text(title)).to_have_count(0)
    page.screenshot(path=tmp_path / "landing.png", full_page=True)

    change_page(page, page.get_by_role("button", name="Start"), metric(page, "Your answers here"))
    expect(metric(page, "Your answers here")).to_have_text("0")
    answer_item(page, "Limitation of liability", "3")
    expect(page.get_by_text("Answer saved")).to_be_visible()
    expect(metric(page, "Your answers here")).to_have_text("1")
    answer_item(page, "Governing law", "5 · Boilerplate")
    expect(page.get_by_text("answered 2 items in this campaign")).to_be_visible()
    expect(metric(page, "Your answers here")).to_have_text("2")
    page.screenshot(path=tmp_path / "label.png", full_page=True)

    page.reload()
    expect(sidebar.get_by_text("Grace Hopper")).to_be_visible()
    expect(sidebar.get_by_role("button", name="Log out")).to_be_visible()
    expect(metric(page, "Your answers here")).to_have_text("2")
    print(f"screenshots in {tmp_path}")


def test_deep_link_before_any_visit_goes_through_the_app(start_server, page: Page) -> None:
    url = start_server()
    page.goto(f"{url}/signup")
    expect(page.get_by_role("heading", name="Create your Quorum account")).to_be_visible()
    nav = page.get_by_test_id("stSidebarNav").get_by_role("link")
    expect(nav).to_have_count(2)
    expect(nav).to_contain_text(["Log in", "Sign up"], timeout=2_000)  # drawn with the heading
