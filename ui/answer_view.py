"""An answer drawn read-only with the form it was given through, beside the item as its expert
saw it: the same spec ui/workflow_form.py renders for labeling, without a widget to change."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core import workflow
from ui.text import literal
from ui.workflow_form import display_block

TIE_WORDS = "About the same"


def show_item(spec: dict, payload: dict[str, Any], responses: dict | None) -> None:
    """The item's display blocks in order, and the model responses the expert judged."""
    for block in spec["blocks"]:
        if block["type"] in workflow.MODEL_TYPES:
            show_model_responses(block, responses)
        elif "id" not in block:
            display_block(block, payload)


def show_answer(spec: dict, answer: dict[str, Any]) -> None:
    """Each question's prompt and the expert's answer to it, in the form's order."""
    for question in workflow.questions(spec):
        value = answer.get(question["id"])
        st.markdown(f"**{literal(question['prompt'])}**")
        text = answer_text(question, value)
        if text is None:
            st.caption("Not answered")
        elif question["type"] == "code_answer":
            st.code(text, language=question.get("language"))
        elif question["type"] == "free_text":
            with st.container(border=True):
                st.markdown(literal(text))
        else:
            st.markdown(literal(text))


def answer_text(question: dict, value: Any) -> str | None:
    """An answer as a reader says it: choices by name, ratings with their label, rankings in
    order; None when the question was left out."""
    if value is None or value == "" or value == []:
        return None
    kind = question["type"]
    if kind == "rating":
        labels = {int(k): v for k, v in question.get("labels", {}).items()}
        low, high = question["min"], question["max"]
        word = labels.get(int(value))
        return f"{value} of {low}–{high}" + (f" · {word}" if word else "")
    if kind == "ranking":
        return " > ".join(f"Response {v}" for v in value)
    if kind == "pairwise":
        return TIE_WORDS if value == workflow.TIE else f"Response {value} is better"
    if kind == "multiple_choice":
        return ", ".join(_option(v) for v in value)
    if kind == "single_choice":
        return _option(value)
    return str(value)


def _option(value: Any) -> str:
    return f"Response {value}" if str(value) in workflow.SLOTS else str(value)


def show_model_responses(block: dict, responses: dict | None) -> None:
    """The prompt and each model's response as the expert had them, with the model's name."""
    if not responses:
        st.caption("No model responses were stored with this answer.")
        return
    if responses.get("prompt"):
        st.markdown("**Prompt**")
        with st.container(border=True):
            st.markdown(literal(responses["prompt"]))
    shown = responses.get("responses") or []
    for reply, column in zip(shown, st.columns(max(len(shown), 1)), strict=False):
        column.markdown(f"**Response {literal(reply.get('slot', ''))}**")
        column.caption(f"Model “{literal(reply.get('model') or 'unknown')}”")
        if reply.get("status") == "ok":
            with column.container(border=True):
                st.markdown(literal(reply.get("text") or ""))
        else:
            column.warning(f"This response failed ({literal(reply.get('error_type') or 'error')}"
                           "); the expert did not judge it.", icon=":material/cloud_off:")


