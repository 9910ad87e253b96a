"""A form's model step on the labeling page: the prompt, the ask, responses as each arrives.

Every button here is a form submit button whose callback only notes what was asked; the step
acts on it when it is drawn, so the responses stream into their places in the page while the
rest of the form waits below. What the models said is read back from the database on every
run, so a rerun or a reload loses nothing.
"""

from __future__ import annotations

import streamlit as st

from core import models, workflow
from core.db import Connection
from core.errors import DomainError
from core.users import User
from server import settings
from ui.feedback import show_error
from ui.models import clock, http_client, policy
from ui.text import literal, safe_markdown

SKIP_REQUEST = "model_skip_item"  # session key: the item whose expert chose the free skip


def _request(action_key: str, action: tuple) -> None:
    st.session_state[action_key] = action


def _skip(item_id: int) -> None:
    st.session_state[SKIP_REQUEST] = item_id


def take_skip_request(item_id: int) -> bool:
    """Whether the expert asked to skip this item after every model failed (asked once)."""
    return st.session_state.pop(SKIP_REQUEST, None) == item_id


class ModelStep:
    """Draws the model step of one item for one expert; call it as the renderer's model_step."""

    def __init__(self, conn: Connection, user: User, item_id: int,
                 keys: dict[str, str]):
        self.conn, self.user, self.item_id, self.keys = conn, user, item_id, keys
        self.state = models.state(conn, user, item_id)

    def __call__(self, block: dict, payload: dict, key: str) -> list[str] | None:
        """Draw the step; return the slots with a response (None before the first ask)."""
        action_key = f"{key}:action"
        action = st.session_state.pop(action_key, None)
        typed = self._prompt(block, payload, key)
        if self.state is None and "prompt_field" in block and action is None:
            action = ("generate",)  # the item gives the prompt: ask as soon as it is shown
        buttons = st.container()  # drawn after the ask below, so they fit its outcome
        slots = workflow.slots(block)
        columns = st.columns(len(slots), gap="medium")
        bodies, feet = {}, {}
        for slot, column in zip(slots, columns, strict=True):
            column.markdown(f"**Response {slot}**")
            bodies[slot], feet[slot] = column.empty(), column.container()
        problem = self._act(action, typed, bodies)
        with buttons:
            self._ask_buttons(block, action_key, key)
        for slot in slots:
            self._draw_result(slot, bodies[slot], asking=False)
        if problem is not None:
            show_error(problem)
        self._after(action_key, key, feet)
        return self.state.available if self.state else None

    def _prompt(self, block: dict, payload: dict, key: str) -> str | None:
        if "prompt_field" in block:
            text = payload.get(block["prompt_field"])
            st.markdown("**Prompt**")
            with st.container(border=True):
                st.markdown(literal(text) if text else "_This item has no prompt._")
            return None
        prompt_key = f"{key}:prompt"
        if prompt_key not in st.session_state and self.state is not None:
            st.session_state[prompt_key] = self.state.prompt  # after a reload, as last asked
        return st.text_area(literal(block.get("prompt_label", "Your prompt")), key=prompt_key,
                            height=140,
                            max_chars=block.get("max_prompt_length", workflow.MAX_PROMPT_LENGTH),
                            placeholder="Write what you want to ask the models…")

    def _ask_buttons(self, block: dict, action_key: str, key: str) -> None:
        if self.state is None:
            if "prompt_from" in block:
                st.form_submit_button("Ask the models", type="primary", key=f"{key}:ask",
                                      icon=":material/send:", on_click=_request,
                                      args=(action_key, ("generate",)))
            return
        left, right = st.columns([1, 3], vertical_alignment="center")
        left.form_submit_button(
            "Regenerate all", key=f"{key}:regenerate", icon=":material/refresh:",
            disabled=not self.state.can_regenerate, on_click=_request,
            args=(action_key, ("generate",)),
            help="Ask every model again" + (" with your edited prompt" if "prompt_from" in block
                                            else "") + ". Every attempt is kept with your answer.")
        right.caption(f"Ask {self.state.generation} of at most {models.MAX_GENERATIONS}. "
                      "Earlier asks are kept with your answer.")

    def _act(self, action: tuple | None, typed: str | None,
             bodies: dict) -> DomainError | None:
        """Run an asked-for generation or retry, each response shown as soon as it is stored."""
        if not action or action[0] not in ("generate", "retry"):
            return None
        asking = list(bodies) if action[0] == "generate" else list(action[1])
        for slot, body in bodies.items():
            self._draw_result(slot, body, asking=slot in asking)

        def show(result: models.SlotResult) -> None:
            _draw(bodies[result.slot], result)

        common = dict(keys=self.keys, now=settings.now(), clock=clock, client=http_client(),
                      on_result=show, policy=policy())
        try:
            if action[0] == "generate":
                self.state = models.generate(self.conn, self.user, self.item_id, prompt=typed,
                                             **common)
            else:
                self.state = models.retry(self.conn, self.user, self.item_id, asking, **common)
        except DomainError as problem:
            self.state = models.state(self.conn, self.user, self.item_id)
            return problem
        return None

    def _draw_result(self, slot: str, body, asking: bool) -> None:
        if asking:
            body.info(f"Waiting for response {slot}…", icon=":material/hourglass_top:")
            return
        result = next((r for r in self.state.results if r.slot == slot), None) \
            if self.state else None
        if result is None:
            body.caption("Appears here once you ask the models.")
        else:
            _draw(body, result)

    def _after(self, action_key: str, key: str, feet: dict) -> None:
        """Retry buttons under failed responses; what to do when they are alike or all failed."""
        state = self.state
        if state is None:
            return
        failed = [r.slot for r in state.results if not r.ok]
        for slot in failed:
            if state.can_retry(slot):
                feet[slot].form_submit_button(f"Retry {slot}", key=f"{key}:retry-{slot}",
                                              icon=":material/replay:", on_click=_request,
                                              args=(action_key, ("retry", (slot,))))
            else:
                feet[slot].caption(f"Retried {models.MAX_RETRIES} times; go on without it.")
        for a, b, ratio in state.similar:
            st.info(f"Responses {a} and {b} are nearly the same ({ratio:.0%} alike). If that is "
                    "no use for comparing, regenerate to ask again; this attempt is kept.",
                    icon=":material/content_copy:")
        if state.all_failed:
            st.error("None of the models answered, so there is nothing to judge yet. Retry "
                     "them, or skip this item: skipping it costs you nothing (no effect on your "
                     "pay or your quality score).", icon=":material/cloud_off:")
            retry_col, skip_col, _ = st.columns([1, 1, 2])
            retryable = [s for s in failed if state.can_retry(s)]
            if len(retryable) > 1:
                retry_col.form_submit_button("Retry all", key=f"{key}:retry-all",
                                             icon=":material/replay:", on_click=_request,
                                             args=(action_key, ("retry", tuple(retryable))))
            skip_col.form_submit_button("Skip this item, no penalty", key=f"{key}:skip-free",
                                        icon=":material/skip_next:", on_click=_skip,
                                        args=(self.item_id,))
        elif failed:
            st.caption(f"Response {', '.join(failed)} failed: you can retry it, or answer about "
                       "the responses that came; the failure is recorded, not held against you.")


def _draw(body, result: models.SlotResult) -> None:
    """One response in its place: the text, or what went wrong."""
    with body.container(border=True):
        if result.ok:
            st.markdown(safe_markdown(result.content))
            with st.expander("Plain text to copy"):
                st.code(result.content, language=None, wrap_lines=True)
        else:
            st.warning(literal(result.message), icon=":material/error:")
