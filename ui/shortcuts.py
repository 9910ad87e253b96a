"""Keyboard shortcuts of the labeling page, and their legend.

Every shortcut is a button's own `shortcut=` (Streamlit 1.67): Streamlit shows the key on the
button, and it ignores a key pressed without Ctrl/Cmd/Alt while the focus is in a field (a text
box, a select, a radio), so typing an "s" or a "2" never skips or answers. In a text box,
Streamlit's Ctrl+Enter (Enter in a one-line box) submits the form.

- Enter submits, S skips, F flags the item.
- On a form with one choice question and nothing else to answer (classification, a rating, a
  preference), the options are buttons with the number keys 1–9: a key picks that option and
  submits at once, one key per item. A wrong key is undone under *Your recent answers*.

streamlit-shortcuts, which the issue suggested, was tried first: it swallows its keys wherever
the focus is (so digits could not be typed on forms with text), keeps its bindings across pages,
and renders through the `components.v1.html` Streamlit deprecates; Streamlit's own shortcuts do
all it did here without those faults.
"""

from __future__ import annotations

from dataclasses import dataclass

from core import workflow

SUBMIT_KEY, SKIP_KEY, FLAG_KEY = "Enter", "S", "F"
MAX_CHOICES = 9
_CHOICE_TYPES = ("single_choice", "rating", "pairwise")


@dataclass(frozen=True)
class Keys:
    """The shortcuts a form gets: `question` is the id of the question number keys answer."""
    quick: bool
    question: str | None
    choices: int


def for_spec(spec: dict) -> Keys:
    """Number keys for a form whose only question is a choice of at most nine options."""
    questions = workflow.questions(spec)
    has_model = any(b["type"] in workflow.MODEL_TYPES for b in spec["blocks"])
    if has_model or len(questions) != 1 or questions[0]["type"] not in _CHOICE_TYPES:
        return Keys(False, None, 0)
    count = choice_count(questions[0])
    if count > MAX_CHOICES:
        return Keys(False, None, 0)
    return Keys(True, questions[0]["id"], count)


def choice_count(block: dict) -> int:
    """How many options a choice question offers."""
    if block["type"] == "rating":
        return block["max"] - block["min"] + 1
    if block["type"] == "pairwise":
        return 2 + (1 if block.get("allow_tie", True) else 0)
    return len(block["options"])


def pick_key(form_key: str, position: int) -> str:
    """The widget key of the button that answers with the option at `position`."""
    return f"{form_key}:pick-{position}"


def legend(keys: Keys) -> str:
    """The shortcuts in words, for the caption beside the buttons (Markdown of our own)."""
    if keys.quick:
        picks = f"`1`–`{keys.choices}` answer" if keys.choices > 1 else "`1` answers"
        return (f"Keyboard: {picks} and move on, `S` skips, `F` flags. Pressed the wrong one? "
                "Change it under *Your recent answers*.")
    return ("Keyboard: `Enter` submits, `S` skips and `F` flags while you are not typing; "
            "in a text box `Ctrl`+`Enter` submits.")
