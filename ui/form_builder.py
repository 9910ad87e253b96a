"""A form builder over the campaign's spec: add, reorder and remove blocks, pick a type, edit
prompts, options and bounds. It edits the same YAML the spec editor shows (kept in that text
area's session state), so the builder, the YAML and the preview are always one spec."""

from __future__ import annotations

import hashlib
from typing import Any

import streamlit as st
import yaml

from core import workflow

NAMES = {"text": "Text", "markdown": "Markdown", "code": "Code", "image": "Image",
         "single_choice": "Single choice", "multiple_choice": "Multiple choice",
         "free_text": "Free text", "rating": "Rating scale", "code_answer": "Code answer",
         "ranking": "Ranking of model responses", "pairwise": "Pairwise preference",
         "model_responses": "Model responses"}
# What the builder edits field by field; model steps and questions about their responses are
# edited in YAML (the builder still moves and removes them).
EDITABLE = workflow.DISPLAY_TYPES + ("single_choice", "multiple_choice", "free_text", "rating",
                                     "code_answer")
NEW_BLOCK = {
    "text": {"type": "text", "field": "text"},
    "markdown": {"type": "markdown", "value": "Instructions for the expert."},
    "code": {"type": "code", "field": "code", "language": "python"},
    "image": {"type": "image", "field": "image"},
    "single_choice": {"type": "single_choice", "prompt": "Which label fits?",
                      "options": ["Yes", "No"]},
    "multiple_choice": {"type": "multiple_choice", "prompt": "Which apply?",
                        "options": ["First", "Second", "Third"]},
    "free_text": {"type": "free_text", "prompt": "Explain your answer.", "max_length": 2000},
    "rating": {"type": "rating", "prompt": "How good is it?", "min": 1, "max": 5},
    "code_answer": {"type": "code_answer", "prompt": "Write the code.", "language": "python"},
}


def load(text: str) -> dict | None:
    """The spec as the builder edits it: any mapping with a list of blocks, even one that does
    not validate yet (the preview says what is wrong); None when the text is not that."""
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if not isinstance(spec, dict) or not isinstance(spec.get("blocks"), list) or not all(
            isinstance(b, dict) for b in spec["blocks"]):
        return None
    return spec


def dump(spec: dict) -> str:
    """The spec as YAML, block keys in the order the builder writes them."""
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)


def builder(editor_key: str, disabled: bool = False) -> None:
    """Draw the builder for the spec held in st.session_state[editor_key]."""
    text = st.session_state[editor_key]
    spec = load(text)
    if spec is None:
        st.warning("The builder needs a form with a list of `blocks`; fix the YAML, or start "
                   "from a template.", icon=":material/construction:")
        return
    digest = hashlib.sha1(text.encode()).hexdigest()[:10]
    blocks = spec["blocks"]
    for index, block in enumerate(blocks):
        with st.container(border=True):
            _block(editor_key, spec, index, block, f"fb-{editor_key}-{digest}-{index}", disabled)
    a, b = st.columns([3, 1], vertical_alignment="bottom")
    kind = a.selectbox("Add a block", list(NEW_BLOCK), format_func=NAMES.get,
                       key=f"fb-{editor_key}-new-type", disabled=disabled)
    b.button("Add", key=f"fb-{editor_key}-{digest}-add", width="stretch", disabled=disabled,
             icon=":material/add:", on_click=_add, args=(editor_key, spec, kind))


def _block(editor_key: str, spec: dict, index: int, block: dict, key: str,
           disabled: bool) -> None:
    kind = block.get("type")
    count = len(spec["blocks"])
    head, up, down, remove = st.columns([4, 1, 1, 1], vertical_alignment="bottom")
    types = list(NAMES) if kind in NAMES else [kind, *NAMES]
    head.selectbox(f"Block {index + 1}", types, index=types.index(kind),
                   format_func=lambda t: NAMES.get(t, str(t)), key=f"{key}-type",
                   disabled=disabled or kind not in EDITABLE,
                   on_change=_retype, args=(editor_key, spec, index, f"{key}-type"))
    up.button(":material/arrow_upward:", key=f"{key}-up", disabled=disabled or index == 0,
              help="Move up", on_click=_swap, args=(editor_key, spec, index, index - 1),
              width="stretch")
    down.button(":material/arrow_downward:", key=f"{key}-down",
                disabled=disabled or index == count - 1, help="Move down", on_click=_swap,
                args=(editor_key, spec, index, index + 1), width="stretch")
    remove.button(":material/delete:", key=f"{key}-remove", disabled=disabled,
                  help="Remove this block", on_click=_remove, args=(editor_key, spec, index),
                  width="stretch")
    if kind not in EDITABLE:
        st.caption("Edit this block in the YAML tab.")
        return
    if kind in workflow.DISPLAY_TYPES:
        _display_fields(editor_key, spec, index, block, key, disabled)
    else:
        _question_fields(editor_key, spec, index, block, key, disabled)


def _display_fields(editor_key: str, spec: dict, index: int, block: dict, key: str,
                    disabled: bool) -> None:
    a, b = st.columns([1, 2])
    source = "field" if "field" in block else "value"
    a.radio("Shows", ["field", "value"], index=["field", "value"].index(source),
            format_func={"field": "A field of the item", "value": "Fixed content"}.get,
            key=f"{key}-source", disabled=disabled,
            on_change=_set_source, args=(editor_key, spec, index, f"{key}-source"))
    if source == "field":
        _text(b, "Item field", editor_key, spec, index, "field", key, disabled)
    else:
        _text(b, "Content", editor_key, spec, index, "value", key, disabled, area=True)
    if block["type"] == "code":
        _text(st, "Language", editor_key, spec, index, "language", key, disabled)
    if block["type"] == "image":
        _text(st, "Caption (optional)", editor_key, spec, index, "caption", key, disabled)


def _question_fields(editor_key: str, spec: dict, index: int, block: dict, key: str,
                     disabled: bool) -> None:
    kind = block["type"]
    a, b = st.columns([1, 2])
    _text(a, "Id (in exports)", editor_key, spec, index, "id", key, disabled)
    _text(b, "Prompt", editor_key, spec, index, "prompt", key, disabled)
    a, b = st.columns([2, 1], vertical_alignment="bottom")
    _text(a, "Help (optional)", editor_key, spec, index, "help", key, disabled)
    b.checkbox("Required", value=block.get("required", True), key=f"{key}-required",
               disabled=disabled, on_change=_set,
               args=(editor_key, spec, index, "required", f"{key}-required", True))
    if kind in ("single_choice", "multiple_choice"):
        st.text_area("Options, one per line", "\n".join(map(str, block.get("options", []))),
                     key=f"{key}-options", disabled=disabled, height=100,
                     on_change=_set_options, args=(editor_key, spec, index, f"{key}-options"))
    bounds = {"multiple_choice": (("min_selected", "At least (0 = none)"),
                                  ("max_selected", "At most (0 = no limit)")),
              "free_text": (("min_length", "Minimum characters"),
                            ("max_length", "Maximum characters (0 = no limit)")),
              "code_answer": (("min_length", "Minimum characters"),
                              ("max_length", "Maximum characters (0 = no limit)")),
              "rating": (("min", "Lowest value"), ("max", "Highest value"))}.get(kind, ())
    for column, (name, label) in zip(st.columns(3), bounds, strict=False):
        optional = kind != "rating"
        value = block.get(name, 0 if optional else (1 if name == "min" else 5))
        column.number_input(label, value=int(value) if isinstance(value, int) else 0, step=1,
                            min_value=0 if optional else None, key=f"{key}-{name}",
                            disabled=disabled, on_change=_set_number,
                            args=(editor_key, spec, index, name, f"{key}-{name}", optional))
    if kind == "free_text":
        st.checkbox("Several lines", value=block.get("multiline", True), key=f"{key}-multiline",
                    disabled=disabled, on_change=_set,
                    args=(editor_key, spec, index, "multiline", f"{key}-multiline", True))
    if kind == "code_answer":
        _text(st, "Language", editor_key, spec, index, "language", key, disabled)


def _text(where: Any, label: str, editor_key: str, spec: dict, index: int, name: str, key: str,
          disabled: bool, area: bool = False) -> None:
    widget = where.text_area if area else where.text_input
    widget(label, str(spec["blocks"][index].get(name, "")), key=f"{key}-{name}",
           disabled=disabled, on_change=_set_text,
           args=(editor_key, spec, index, name, f"{key}-{name}"))


# --- callbacks: change the spec, write it back as the YAML the editor shows -------------------

def _write(editor_key: str, spec: dict) -> None:
    st.session_state[editor_key] = dump(spec)


def _set(editor_key: str, spec: dict, index: int, name: str, widget: str,
         default: Any = None) -> None:
    value = st.session_state[widget]
    block = spec["blocks"][index]
    if value == default:
        block.pop(name, None)
    else:
        block[name] = value
    _write(editor_key, spec)


def _set_text(editor_key: str, spec: dict, index: int, name: str, widget: str) -> None:
    value = st.session_state[widget]
    block = spec["blocks"][index]
    if value.strip() or name in ("id", "prompt", "field", "value"):
        block[name] = value.strip() if name != "value" else value
    else:
        block.pop(name, None)
    _write(editor_key, spec)


def _set_number(editor_key: str, spec: dict, index: int, name: str, widget: str,
                optional: bool) -> None:
    value = int(st.session_state[widget])
    block = spec["blocks"][index]
    if optional and value == 0:
        block.pop(name, None)
    else:
        block[name] = value
    _write(editor_key, spec)


def _set_options(editor_key: str, spec: dict, index: int, widget: str) -> None:
    options = [line.strip() for line in st.session_state[widget].splitlines() if line.strip()]
    spec["blocks"][index]["options"] = options
    _write(editor_key, spec)


def _set_source(editor_key: str, spec: dict, index: int, widget: str) -> None:
    block = spec["blocks"][index]
    old, new = ("value", "field") if st.session_state[widget] == "field" else ("field", "value")
    content = block.pop(old, "")
    block[new] = content if new == "value" else "text"
    _write(editor_key, spec)


def _retype(editor_key: str, spec: dict, index: int, widget: str) -> None:
    kind = st.session_state[widget]
    old = spec["blocks"][index]
    new = dict(NEW_BLOCK.get(kind, {"type": kind}))
    if "id" in old and kind not in workflow.DISPLAY_TYPES:
        new = {**new, "id": old["id"], "prompt": old.get("prompt", new.get("prompt"))}
    elif kind not in workflow.DISPLAY_TYPES:
        new["id"] = _free_id(spec)
    spec["blocks"][index] = _ordered(new)
    _write(editor_key, spec)


def _add(editor_key: str, spec: dict, kind: str) -> None:
    block = dict(NEW_BLOCK[kind])
    if kind not in workflow.DISPLAY_TYPES:
        block["id"] = _free_id(spec)
    spec["blocks"].append(_ordered(block))
    _write(editor_key, spec)


def _swap(editor_key: str, spec: dict, one: int, other: int) -> None:
    blocks = spec["blocks"]
    blocks[one], blocks[other] = blocks[other], blocks[one]
    _write(editor_key, spec)


def _remove(editor_key: str, spec: dict, index: int) -> None:
    del spec["blocks"][index]
    _write(editor_key, spec)


def _free_id(spec: dict) -> str:
    taken = {b.get("id") for b in spec["blocks"]}
    return next(f"question_{n}" for n in range(1, len(taken) + 2) if f"question_{n}" not in taken)


def _ordered(block: dict) -> dict:
    """type, id and prompt first, as people write them."""
    first = [k for k in ("type", "id", "prompt") if k in block]
    return {**{k: block[k] for k in first}, **{k: v for k, v in block.items() if k not in first}}
