"""A scientist's pipeline end to end: the client creates, imports and publishes; an expert
answers in a browser; the answers come back as a DataFrame equal to what was stored; a webhook
receiver that never answers does not hold up the expert's submit."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
from playwright.sync_api import Page, expect

from tests.api_helpers import PASSWORD, Receiver, seed

from quorum_client import Client  # isort: skip (path set by api_helpers)

from .conftest import change_page, log_in, pick_option, settle

FORM = {"blocks": [{"type": "text", "field": "text"},
                   {"type": "single_choice", "id": "verdict", "prompt": "Is the caption right?",
                    "options": ["Right", "Wrong"]},
                   {"type": "free_text", "id": "why", "prompt": "Why?", "required": False}]}
CHOICES = {"c1": "Right", "c2": "Wrong", "c3": "Right"}


def test_pipeline_journey_with_an_expert_in_a_browser(start_server, page: Page,
                                                      tmp_path: Path) -> None:
    made = seed(tmp_path / "quorum.duckdb", {"rita": "rita"})
    hung = Receiver(hang=30)  # holds every delivery without answering
    try:
        url = start_server(QUORUM_DB=str(tmp_path / "quorum.duckdb"),
                           QUORUM_WEBHOOK_HOSTS="127.0.0.1", QUORUM_WEBHOOK_TIMEOUT_SECONDS="20",
                           QUORUM_WEBHOOK_EVERY_SECONDS="0.1")
        q = Client(url, made["rita"])
        now = datetime.now(UTC)
        campaign = q.create_campaign({
            "title": "Caption check (API)", "skill": "arts", "language": "de-DE",
            "minutes_per_item": 0.1, "pay_per_item": 0.4, "overlap": 1,
            "opens_at": now - timedelta(hours=1), "expires_at": now + timedelta(days=3),
            "spec": FORM})
        items = pd.DataFrame({"key": list(CHOICES),
                              "text": ["A cat on a mat", "A dog in the snow", "Two birds"]})
        assert q.import_items(campaign, items, id="key")["imported"] == 3
        q.add_webhook(campaign, hung.url, ["answer.submitted"])
        q.publish(campaign)

        log_in(page, url, "zoe", PASSWORD)
        expect(page.get_by_role("heading", name="Caption check (API)")).to_be_visible()
        change_page(page, page.get_by_role("button", name="Start"),
                    page.get_by_text("Is the caption right?"))
        submit_seconds = []
        for n in range(len(CHOICES)):
            form = page.get_by_test_id("stForm")
            shown = next(text for key, text in zip(CHOICES, items["text"], strict=True)
                         if form.get_by_text(text, exact=True).count())
            key = items.set_index("text").loc[shown, "key"]
            pick_option(form, CHOICES[key])
            form.get_by_label("Why?").fill(f"Because of item {key}")
            started = time.monotonic()
            form.get_by_role("button", name="Submit").click()
            if n < len(CHOICES) - 1:
                expect(page.get_by_text("Answer saved")).to_be_visible()
                expect(page.get_by_test_id("stForm").get_by_text(shown, exact=True)) \
                    .to_have_count(0)
            else:
                expect(page.get_by_text("answered 3 items in this campaign")).to_be_visible()
            submit_seconds.append(time.monotonic() - started)
            settle(page)
        page.screenshot(path=tmp_path / "answered.png", full_page=True)
        hung.wait_for(1)  # the receiver holds a delivery open while the expert goes on
        # A receiver that never answers holds each delivery for 20 s; the expert never waited.
        assert max(submit_seconds) < 8, submit_seconds

        answers = q.answers(campaign)
        assert len(answers) == 3 and set(answers["expert"]) == {"zoe"}
        lines = tmp_path / "answers.jsonl"
        assert q.export(campaign, "answers", lines, "jsonl") == 3
        stored = pd.read_json(lines, lines=True)
        assert list(answers["response_id"]) == list(stored["response_id"])
        assert [json.loads(a) for a in answers["answer"]] == list(stored["answer"])
        by_key = dict(zip(answers["external_id"], answers["answer"].map(json.loads), strict=True))
        assert by_key == {k: {"verdict": v, "why": f"Because of item {k}"}
                          for k, v in CHOICES.items()}
        progress = q.progress(campaign)
        assert progress["answers"] == 3 and progress["completion"] == 1.0
        shown = q.deliveries(campaign)
        assert len(shown) == 3 and set(shown["event"]) == {"answer.submitted"}
    finally:
        hung.close()
