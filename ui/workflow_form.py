"""Draws a workflow spec for an item: the same renderer for labeling and for previews."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import streamlit as st

from core import egress, workflow
from server import settings
from server.settings import ROOT
from ui import shortcuts
from ui.text import literal, safe_markdown

_DATA_DIR = (ROOT / "data").resolve()
# Code answers are typed in the theme's code font; a style of our own, no user content in it.
_CODE_STYLE = ("<style>[class*='st-key-code-answer'] textarea {font-family: 'Source Code Pro', "
               "ui-monospace, monospace; font-size: 0.9rem; tab-size: 4;}</style>")
# The hidden first Submit of a form whose options are buttons (_enter_submits).
_HIDDEN_STYLE = ("<style>[data-testid='stLayoutWrapper']:has(> [class*='st-key-enter-submits']) "
                 "{display: none;}</style>")


# Draws a model step and returns the response slots that came (None before the first ask).
ModelStepDrawer = Callable[[dict, dict[str, Any], str], list[str] | None]


def render(spec: dict, payload: dict[str, Any], key: str,
           errors: dict[str, str] | None = None,
           model_step: ModelStepDrawer | None = None,
           values: dict[str, Any] | None = None,
           keys: shortcuts.Keys | None = None) -> dict[str, Any]:
    """Draw the spec's blocks for one item and return the answer as entered so far.

    A model step is drawn by `model_step` (the labeling page's, which calls the models); without
    one, as in previews, it is drawn as placeholders and every response counts as shown.
    `values` fills the questions in (an answer being edited); `keys` marks the question that
    number keys answer, and its options with their keys.
    """
    errors, values = errors or {}, values or {}
    if any(b["type"] == "code_answer" for b in spec["blocks"]):
        st.html(_CODE_STYLE)
    if keys is not None and keys.picks:
        _enter_submits(key)
    answer: dict[str, Any] = {}
    step = workflow.model_step(spec)
    available: list[str] | None = None
    for block in spec["blocks"]:
        if block["type"] in workflow.MODEL_TYPES:
            available = (model_step or _preview_step)(block, payload, f"{key}:models")
            if workflow.MODEL_STEP in errors:
                st.error(literal(errors[workflow.MODEL_STEP]), icon=":material/error:")
        elif keys is not None and "id" in block and block["id"] == keys.question:
            answer[block["id"]] = _pick_buttons(block, key, keys.quick)
            if block["id"] in errors:
                st.error(literal(errors[block["id"]]), icon=":material/error:")
        elif "id" in block:
            answer[block["id"]] = _question_or_note(block, f"{key}:{block['id']}", step,
                                                    available, values.get(block["id"]))
            if block["id"] in errors:
                st.error(literal(errors[block["id"]]), icon=":material/error:")
        else:
            display_block(block, payload)
    return answer


def pressed_answer(spec: dict, key: str, keys: shortcuts.Keys) -> dict[str, Any] | None:
    """The answer an option button gave on a one-question form, read from the session before
    the form is drawn (None: no option was pressed on this run), so a press can be saved and
    the next item drawn without drawing this one's form first."""
    if not keys.quick:
        return None
    position = next((n for n in range(keys.choices)
                     if st.session_state.get(shortcuts.pick_key(key, n))), None)
    if position is None:
        return None
    block = next(q for q in workflow.questions(spec) if q["id"] == keys.question)
    return {keys.question: _choices(block)[0][position]}


def _enter_submits(form_key: str) -> None:
    """A hidden Submit first in the form: Enter (Ctrl+Enter) in a text box presses a form's
    first button, which on a form whose options are buttons would otherwise be option 1.
    Pressed, it reads as `shortcuts.enter_key(form_key)` in the session state."""
    st.html(_HIDDEN_STYLE)
    with st.container(key=f"enter-submits-{form_key.replace(':', '-')}"):
        st.form_submit_button("Submit", key=shortcuts.enter_key(form_key))


def _preview_step(block: dict, payload: dict[str, Any], key: str) -> list[str]:
    """The model step as the requester's preview shows it: where each response will appear."""
    if "prompt_field" in block:
        st.markdown("**Prompt**")
        with st.container(border=True):
            text = payload.get(block["prompt_field"])
            st.markdown(literal(text) if text else "_The item's prompt._")
    else:
        st.text_area(literal(block.get("prompt_label", "Your prompt")), key=f"{key}:prompt",
                     disabled=True, placeholder="The expert writes a prompt here.")
    slots = workflow.slots(block)
    for slot, name, column in zip(slots, block["models"], st.columns(len(slots)), strict=True):
        column.markdown(f"**Response {slot}**")
        column.caption(f"From the model “{literal(name)}”; experts see only the letter.")
    return slots


def _question_or_note(block: dict, key: str, step: dict | None,
                      available: list[str] | None, value: Any = None) -> Any:
    """The question's widget, or a note when it waits for or does without model responses."""
    if workflow.about_responses(block, step):
        if available is None:
            st.caption(f"**{literal(block['prompt'])}** · appears once the models have answered.")
            return None
        reason = workflow.skipped_because(block, available)
        if reason:
            st.caption(f"**{literal(block['prompt'])}** · {literal(reason)}")
            return None
    return _question(block, key, available, value)


def display_block(block: dict, payload: dict[str, Any]) -> None:
    """One display block of a form (text, markdown, code, picture) with the item's value."""
    if "field" in block and block["field"] not in payload:
        st.warning(f"This item has no “{literal(block['field'])}” field to show here.")
        return
    value = str(block["value"] if "value" in block else payload[block["field"]])
    kind = block["type"]
    if kind == "text":
        with st.container(border=True):
            st.markdown(literal(value))
    elif kind == "markdown":
        with st.container(border=True):
            st.markdown(safe_markdown(value))
    elif kind == "code":
        st.code(value, language=block.get("language"))
    elif kind == "image":
        source = image_source(value, settings.load().image_hosts)
        if source is None:
            st.warning(literal(image_refusal(value)), icon=":material/hide_image:")
        else:
            st.image(source, caption=literal(block["caption"]) if block.get("caption") else None)


def image_source(value: str, hosts: egress.EgressPolicy) -> str | None:
    """A picture the browser may load: a data URI, a file inside data/, or a web address on a
    host the operator allows (QUORUM_IMAGE_HOSTS); anything else is refused (None).

    A web address elsewhere would make every expert's browser tell that host who looks at the
    item and when, so pictures from the web load only from hosts the company trusts.
    """
    if value.startswith("data:image/"):
        return value
    if value.startswith(("http://", "https://")):
        return value if hosts.hosts is not None and egress.allows_url(hosts, value) else None
    path = (ROOT / value).resolve()
    if path.is_relative_to(_DATA_DIR) and path.is_file():
        return str(path)
    return None


def image_refusal(value: str) -> str:
    """Why a picture is not shown, in words the requester can act on."""
    if value.startswith(("http://", "https://")):
        host = urlsplit(value).hostname or value
        return (f"This item's picture is not shown: it is on {host}, which is not a host "
                "pictures may load from here (the operator lists them in QUORUM_IMAGE_HOSTS).")
    return ("This item's picture cannot be shown: it is neither a web address nor a file in "
            "Quorum's data folder.")


def _label(block: dict) -> str:
    required = block.get("required", True)
    return literal(block["prompt"]) + ("" if required else " (optional)")


def _response_label(option: Any) -> str:
    """An option as a select box shows it: plain text, never Markdown."""
    return f"Response {option}" if str(option) in workflow.SLOTS else str(option)


def _radio_label(option: Any) -> str:
    """An option as a radio button shows it: radio options are read as Markdown."""
    return literal(_response_label(option))


def _shown_options(options: list, available: list[str] | None) -> list:
    """Choice options, less the ones naming a response that did not come."""
    if available is None:
        return options
    return [o for o in options if str(o) not in workflow.SLOTS or str(o) in available]


def _index(options: list, value: Any) -> int | None:
    """Where a stored answer stands among the options (None: not among them, or no answer)."""
    return next((i for i, o in enumerate(options) if str(o) == str(value)), None) \
        if value is not None else None


def _choices(block: dict) -> tuple[list, Callable[[Any], str]]:
    """A choice question's options and how each reads on a radio or a button (Markdown)."""
    if block["type"] == "pairwise":
        pair = block.get("pair", ["A", "B"])
        names = {pair[0]: f"Response {pair[0]} is better", pair[1]: f"Response {pair[1]} is better",
                 workflow.TIE: "About the same"}
        return pair + ([workflow.TIE] if block.get("allow_tie", True) else []), names.get
    if block["type"] == "rating":
        labels = {int(k): v for k, v in block.get("labels", {}).items()}
        return (list(range(block["min"], block["max"] + 1)),
                lambda v: f"{v} · {literal(labels[v])}" if v in labels else str(v))
    return list(block["options"]), lambda o: literal(str(o))


def _pick_buttons(block: dict, form_key: str, submits: bool) -> Any:
    """A choice question as one button per option, keyed 1–9. With `submits` a press answers
    and submits; otherwise it picks: the press sends the form (so the text typed so far is
    kept), its callback remembers the option, and this run draws it as chosen."""
    options, name = _choices(block)
    st.markdown(_label(block), help=literal(block["help"]) if block.get("help") else None)
    chosen_key = shortcuts.chosen_key(form_key)
    chosen = None if submits else st.session_state.get(chosen_key)
    pressed = None
    with st.container(horizontal=True):
        for position, option in enumerate(options):
            picking = {} if submits else {"on_click": _choose, "args": (chosen_key, position)}
            if st.form_submit_button(name(option), key=shortcuts.pick_key(form_key, position),
                                     shortcut=str(position + 1),
                                     type="primary" if position == chosen else "secondary",
                                     icon=":material/check:" if position == chosen else None,
                                     **picking):
                pressed = option
    if submits:
        return pressed
    return options[chosen] if chosen is not None and chosen < len(options) else None


def _choose(chosen_key: str, position: int) -> None:
    st.session_state[chosen_key] = position


def _question(block: dict, key: str, available: list[str] | None = None,
              value: Any = None) -> Any:
    kind, label = block["type"], _label(block)
    help_ = literal(block["help"]) if block.get("help") else None
    about = available is not None
    if kind == "single_choice":
        options = _shown_options(block["options"], available)
        return st.radio(label, options, index=_index(options, value), key=key, help=help_,
                        format_func=_radio_label if about else literal)
    if kind == "multiple_choice":
        options = _shown_options(block["options"], available)
        return st.multiselect(label, options, key=key, help=help_,
                              default=[o for o in options if str(o) in map(str, value or [])],
                              max_selections=block.get("max_selected"),
                              placeholder="Choose one or more",
                              format_func=_response_label if about else str)
    if kind == "ranking":
        return st.multiselect(label, available, key=key, max_selections=len(available),
                              default=[o for o in (value or []) if o in available],
                              format_func=_response_label, placeholder="Best first, then the next…",
                              help=help_ or "Choose the responses in order, best first, until "
                                            "all of them are ranked.")
    if kind in ("pairwise", "rating"):
        choices, name = _choices(block)
        return st.radio(label, choices, index=_index(choices, value), horizontal=True, key=key,
                        help=help_, format_func=name)
    limits = _length_hint(block)
    text = value if isinstance(value, str) else ""
    # A bound on every text answer lets Streamlit show a live count of characters against it.
    limit = workflow.text_limit(block)
    if kind == "free_text" and not block.get("multiline", True):
        return st.text_input(label, value=text, key=key, help=help_, max_chars=limit,
                             placeholder=limits)
    if kind == "code_answer":
        with st.container(key=f"code-answer-{key.replace(':', '-')}"):
            return st.text_area(label, value=text, key=key,
                                help=help_ or f"Write {block.get('language', '')} code; "
                                "indentation is kept.", max_chars=limit, height=300,
                                placeholder=limits)
    return st.text_area(label, value=text, key=key, help=help_, max_chars=limit,
                        height=160, placeholder=limits)


def _length_hint(block: dict) -> str:
    low, high = block.get("min_length"), block.get("max_length")
    if low and high:
        return f"{low}–{high} characters"
    if low:
        return f"At least {low} characters"
    return f"Up to {high} characters" if high else ""
