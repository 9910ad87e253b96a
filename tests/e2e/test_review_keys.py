"""Reviewing by keyboard in a real browser: Alt+A accepts, Alt+R rejects, Alt+↓/↑ move, and
after each action the next answer is the one selected."""

from __future__ import annotations

import re
import statistics
import time

from playwright.sync_api import Page, expect

from .conftest import log_in, settle
from .test_requester_journey import select

CAMPAIGN = 14  # a demo campaign of rita's with 180 answers waiting for review
HEADING = re.compile(r"^Answer #(\d+) by ")


def shown_answer(page: Page) -> str:
    heading = page.get_by_role("heading", name=HEADING)
    expect(heading).to_have_count(1)
    return HEADING.match(heading.inner_text()).group(1)


def wait_for_other(page: Page, before: str) -> str:
    """Wait until another answer than `before` is shown; return its number."""
    expect(page.get_by_role("heading", name=HEADING)).not_to_have_text(
        re.compile(rf"^Answer #{before} by "))
    return shown_answer(page)


def keys_ready(page: Page) -> None:
    page.wait_for_function("() => window.__streamlitShortcutsInitialized === true")


def test_review_by_keyboard_moves_to_the_next_answer(server: str, page: Page) -> None:
    log_in(page, server, "rita")
    page.goto(f"{server}/review?campaign={CAMPAIGN}")
    settle(page)
    keys_ready(page)
    expect(page.get_by_text("180 answers, newest first")).to_be_visible()
    first = shown_answer(page)

    page.keyboard.press("Alt+ArrowDown")
    second = wait_for_other(page, first)
    page.keyboard.press("Alt+ArrowUp")
    assert wait_for_other(page, second) == first

    timings = []
    current = first
    for n in range(5):  # accept: the answer leaves "Waiting for review", the next one shows
        settle(page)
        started = time.perf_counter()
        page.keyboard.press("Alt+a")
        following = wait_for_other(page, current)
        timings.append(time.perf_counter() - started)
        expect(page.get_by_text(f"{179 - n} answers, newest first")).to_be_visible()
        current = following
    assert current == second or int(current) != int(first)
    print(f"accept → next answer: median {statistics.median(timings) * 1000:.0f} ms, "
          f"max {max(timings) * 1000:.0f} ms")

    settle(page)
    page.keyboard.press("Alt+r")  # no reason yet: refused, the answer stays
    expect(page.get_by_text("Give a reason: the expert sees it.")).to_be_visible()
    assert shown_answer(page) == current
    page.get_by_label("Reason", exact=True).fill("Ignores the guidelines")
    page.get_by_label("Reason", exact=True).press("Enter")
    settle(page)
    page.keyboard.press("Alt+r")
    expect(page.get_by_text(f"Rejected answer #{current}; its pay was reversed.")).to_be_visible()
    wait_for_other(page, current)
    expect(page.get_by_text("174 answers, newest first")).to_be_visible()

    select(page, "Status", "Any status")
    expect(page.get_by_text("180 answers, newest first")).to_be_visible()
