"""Keyboard shortcuts of the labeling page, through streamlit-shortcuts, and their legend.

streamlit-shortcuts clicks the element whose container has a given key when a key is pressed,
so a number key picks a choice and a key submits the form with whatever is in it, in the
browser, without a round trip. It listens on the whole page and swallows the keys it knows
wherever the focus is, and it keeps what it was told until told otherwise. Hence:

- bare keys (1–9, Enter, S) are bound only on a form with nothing to type in; on a form with
  text, Streamlit's own Ctrl+Enter (Enter in a one-line box) submits, and Skip takes
  Ctrl+Shift+S, which types nothing;
- every binding names the same fixed set of targets, each an empty list when it is off, so a
  binding from an earlier item or mode never lingers; `release()` turns them all off on pages
  that have none (or while the page shows a box to type in, such as a flag's note).
"""

from __future__ import annotations

from dataclasses import dataclass

from streamlit_shortcuts import add_shortcuts

from core import workflow

SUBMIT, SKIP, CHOICE = "label-submit", "label-skip", "label-choice"
MAX_CHOICES = 9
_RADIO_TYPES = ("single_choice", "rating", "pairwise")
_TYPING_TYPES = ("free_text", "code_answer", "multiple_choice", "ranking")


@dataclass(frozen=True)
class Keys:
    """Which shortcuts a form gets: `question` is the id of the question number keys answer."""
    quick: bool
    question: str | None
    prompt: str
    choices: int


def for_spec(spec: dict) -> Keys:
    """The shortcuts for a form: bare keys when nothing in it takes typing, else safe ones."""
    blocks = spec["blocks"]
    typing = any(b["type"] in _TYPING_TYPES or b["type"] in workflow.MODEL_TYPES for b in blocks)
    radio = next((b for b in blocks if b["type"] in _RADIO_TYPES), None)
    if typing or radio is None:
        return Keys(False, None, "", 0)
    return Keys(True, radio["id"], radio["prompt"], min(_choice_count(radio), MAX_CHOICES))


def _choice_count(block: dict) -> int:
    if block["type"] == "rating":
        return block["max"] - block["min"] + 1
    if block["type"] == "pairwise":
        return 2 + (1 if block.get("allow_tie", True) else 0)
    return len(block["options"])


def _choice_target(number: int) -> str:
    # streamlit-shortcuts looks for `.st-key-<target> input`: the number-th option's radio.
    return f"{CHOICE} [role=radiogroup] > label:nth-child({number})"


def _bindings(keys: Keys | None) -> dict[str, list[str]]:
    bindings: dict[str, list[str]] = {SUBMIT: [], SKIP: []}
    bindings.update({_choice_target(n): [] for n in range(1, MAX_CHOICES + 1)})
    if keys is None:
        return bindings
    if keys.quick:
        bindings[SUBMIT] = ["enter", "ctrl+enter", "meta+enter"]
        bindings[SKIP] = ["s"]
        bindings.update({_choice_target(n): [str(n)] for n in range(1, keys.choices + 1)})
    else:
        bindings[SKIP] = ["ctrl+shift+s"]
    return bindings


def bind(keys: Keys) -> None:
    """Turn on the form's shortcuts (and every other one off)."""
    add_shortcuts(**_bindings(keys))


def release() -> None:
    """Turn every labeling shortcut off, so keys type as usual."""
    add_shortcuts(**_bindings(None))


def legend(keys: Keys) -> str:
    """The shortcuts in words, for the caption under the form (Markdown of our own)."""
    if keys.quick:
        last = keys.choices
        return (f"Keyboard: `1`–`{last}` choose, `Enter` submits, `S` skips."
                if last > 1 else "Keyboard: `1` chooses, `Enter` submits, `S` skips.")
    return ("Keyboard: `Ctrl`+`Enter` in a text box submits, `Ctrl`+`Shift`+`S` skips. "
            "Number keys stay off on forms you type in, so digits go into your text.")


def option_hint(keys: Keys, question_id: str, position: int) -> str:
    """The key shown before an option of the question number keys answer ("" for none)."""
    if keys.quick and question_id == keys.question and position < keys.choices:
        return f"`{position + 1}` "
    return ""
