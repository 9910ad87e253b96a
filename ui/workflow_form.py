"""Draws a workflow spec for an item: the same renderer for labeling and for previews."""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from ui.settings import ROOT

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<$])")
_DATA_DIR = (ROOT / "data").resolve()


def render(spec: dict, payload: dict[str, Any], key: str,
           errors: dict[str, str] | None = None) -> dict[str, Any]:
    """Draw the spec's blocks for one item and return the answer as entered so far."""
    errors = errors or {}
    answer: dict[str, Any] = {}
    for index, block in enumerate(spec["blocks"]):
        if "id" in block:
            answer[block["id"]] = _question(block, f"{key}:{block['id']}")
            if block["id"] in errors:
                st.error(errors[block["id"]], icon=":material/error:")
        else:
            _display(block, payload, f"{key}:{index}")
    return answer


def _display(block: dict, payload: dict[str, Any], key: str) -> None:
    if "field" in block and block["field"] not in payload:
        st.warning(f"This item has no `{block['field']}` field to show here.")
        return
    value = str(block["value"] if "value" in block else payload[block["field"]])
    kind = block["type"]
    if kind == "text":
        with st.container(border=True):
            st.markdown(escape_markdown(value))
    elif kind == "markdown":
        with st.container(border=True):
            st.markdown(value)
    elif kind == "code":
        st.code(value, language=block.get("language"))
    elif kind == "image":
        source = image_source(value)
        if source is None:
            st.warning("This item's picture cannot be shown: it is neither a web address nor a "
                       "file in Quorum's data folder.")
        else:
            st.image(source, caption=block.get("caption"))


def escape_markdown(text: str) -> str:
    """Text shown literally: markdown characters escaped, line breaks kept."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text).replace("\n", "  \n")


def image_source(value: str) -> str | None:
    """A web address or data URI as is, or a file inside data/; anything else is refused."""
    if value.startswith(("http://", "https://", "data:image/")):
        return value
    path = (ROOT / value).resolve()
    if path.is_relative_to(_DATA_DIR) and path.is_file():
        return str(path)
    return None


def _label(block: dict) -> str:
    required = block.get("required", True)
    return block["prompt"] + ("" if required else " (optional)")


def _question(block: dict, key: str) -> Any:
    kind, label, help_ = block["type"], _label(block), block.get("help")
    if kind == "single_choice":
        return st.radio(label, block["options"], index=None, key=key, help=help_)
    if kind == "multiple_choice":
        return st.multiselect(label, block["options"], key=key, help=help_,
                              max_selections=block.get("max_selected"),
                              placeholder="Choose one or more")
    if kind == "rating":
        labels = {int(k): v for k, v in block.get("labels", {}).items()}
        return st.radio(label, list(range(block["min"], block["max"] + 1)), index=None,
                        horizontal=True, key=key, help=help_,
                        format_func=lambda v: f"{v} · {labels[v]}" if v in labels else str(v))
    limits = _length_hint(block)
    if kind == "free_text" and not block.get("multiline", True):
        return st.text_input(label, key=key, help=help_, max_chars=block.get("max_length"),
                             placeholder=limits)
    if kind == "code_answer":
        return st.text_area(label, key=key, help=help_ or f"Write {block.get('language', '')} "
                            "code; indentation is kept.", max_chars=block.get("max_length"),
                            height=260, placeholder=limits)
    return st.text_area(label, key=key, help=help_, max_chars=block.get("max_length"),
                        placeholder=limits)


def _length_hint(block: dict) -> str:
    low, high = block.get("min_length"), block.get("max_length")
    if low and high:
        return f"{low}–{high} characters"
    if low:
        return f"At least {low} characters"
    return f"Up to {high} characters" if high else ""
