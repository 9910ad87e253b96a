"""The campaign follows the requester across Design, Monitor, Review and Concept review (in the
URL, so a link can be shared), and a form built in the builder is the YAML the editor shows."""

from __future__ import annotations

import re

import yaml
from playwright.sync_api import Page, expect

from .conftest import change_page, log_in, settle
from .test_requester_journey import select

CONTRACTS = "#3 · Classify commercial contract clauses (live)"
CATS = "#9 · Is it a cat? Team labeling of ambiguous pictures (live)"


def follow(page: Page, link: str, heading: str) -> None:
    """Follow one of the page's links to another page of the same campaign."""
    change_page(page, page.get_by_test_id("stMain").get_by_role("link", name=link),
                page.get_by_role("heading", name=heading, exact=True))


def test_the_campaign_is_kept_across_pages_and_in_shared_links(server: str, page: Page) -> None:
    log_in(page, server, "rita")
    page.goto(f"{server}/monitor?campaign=3")
    settle(page)
    expect(page.get_by_label("Campaign", exact=True)).to_have_value(CONTRACTS)
    follow(page, "Review", "Review answers")
    expect(page.get_by_label("Campaign", exact=True)).to_have_value(CONTRACTS)
    assert re.search(r"[?&]campaign=3\b", page.url)
    follow(page, "Design", "Design a campaign")
    expect(page.get_by_label("Campaign", exact=True)).to_have_value(CONTRACTS)
    assert re.search(r"[?&]campaign=3\b", page.url)
    follow(page, "Monitor", "Monitor")
    expect(page.get_by_label("Campaign", exact=True)).to_have_value(CONTRACTS)

    page.goto(f"{server}/concepts?campaign=9")  # a link someone shared
    settle(page)
    expect(page.get_by_label("Team campaign", exact=True)).to_have_value(CATS)
    follow(page, "Monitor", "Monitor")
    expect(page.get_by_label("Campaign", exact=True)).to_have_value(CATS)
    assert re.search(r"[?&]campaign=9\b", page.url)


def test_a_form_built_in_the_builder_is_the_yaml_shown(server: str, page: Page) -> None:
    log_in(page, server, "rita")
    page.goto(f"{server}/design?campaign=3")
    settle(page)
    select(page, "Add a block", "Rating scale")
    page.get_by_role("button", name="Add", exact=True).click()
    settle(page)
    prompt = page.get_by_label("Prompt", exact=True).last
    expect(prompt).to_have_value("How good is it?")
    prompt.fill("How sure are you?")
    prompt.press("Enter")
    settle(page)
    expect(page.get_by_role("radiogroup", name="How sure are you?")).to_be_visible()  # preview

    page.get_by_role("tab", name="YAML").click()
    editor = page.get_by_label("Form spec (YAML or JSON)", exact=True)
    spec = yaml.safe_load(editor.input_value())
    assert spec["blocks"][-1] == {"type": "rating", "id": "question_1",
                                  "prompt": "How sure are you?", "min": 1, "max": 5}

    # and the other way: YAML typed in the editor shows in the builder
    spec["blocks"][-1]["max"] = 7
    editor.fill(yaml.safe_dump(spec, sort_keys=False))
    editor.press("Control+Enter")
    settle(page)
    page.get_by_role("tab", name="Builder").click()
    expect(page.get_by_label("Highest value", exact=True).last).to_have_value("7")
