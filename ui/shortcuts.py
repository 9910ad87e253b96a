"""Keyboard shortcuts of the labeling page, and their legend.

Every shortcut is a button's own `shortcut=` (Streamlit 1.67): Streamlit shows the key on the
button, and it ignores a key pressed without Ctrl/Cmd/Alt while the focus is in a field (a text
box, a select, a radio), so typing an "s" or a "2" never skips or answers. In a text box,
Streamlit's Ctrl+Enter (Enter in a one-line box) submits the form.

- Enter submits, S skips, F flags the item.
- A choice question of at most nine options (a label, a rating, a preference) is drawn as
  buttons with the number keys 1–9. On a form with nothing else to answer, a key picks that
  option and submits at once, one key per item; a wrong key is undone under *Your recent
  answers*. Beside other questions (a choice and its explanation), a key only picks: the press
  sends the form without saving, so the option is drawn as chosen and what was typed stays,
  and Submit saves the answer. A form with two choice questions or a model step keeps its
  radio buttons: which question a key answers would be a guess.

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
    """The shortcuts a form gets: `question` is the id of the choice question number keys
    answer (None: no number keys); `quick`, whether a key also submits (the form's only
    question) or only picks."""
    quick: bool
    question: str | None
    choices: int

    @property
    def picks(self) -> bool:
        """Number keys pick an option and Submit sends the form."""
        return self.question is not None and not self.quick


NO_KEYS = Keys(False, None, 0)


def for_spec(spec: dict) -> Keys:
    """Number keys for the form's one choice question of at most nine options."""
    if any(b["type"] in workflow.MODEL_TYPES for b in spec["blocks"]):
        return NO_KEYS
    questions = workflow.questions(spec)
    choices = [q for q in questions if q["type"] in _CHOICE_TYPES]
    if len(choices) != 1 or choice_count(choices[0]) > MAX_CHOICES:
        return NO_KEYS
    return Keys(len(questions) == 1, choices[0]["id"], choice_count(choices[0]))


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


def enter_key(form_key: str) -> str:
    """The widget key of the form's first, hidden Submit (see workflow_form.render)."""
    return f"{form_key}:enter"


def chosen_key(form_key: str) -> str:
    """Where the position of the option picked (not yet submitted) is kept."""
    return f"{form_key}:chosen"


def legend(keys: Keys) -> str:
    """The shortcuts in words, for the caption beside the buttons (Markdown of our own)."""
    if keys.quick:
        picks = f"`1`–`{keys.choices}` answer" if keys.choices > 1 else "`1` answers"
        return (f"Keyboard: {picks} and move on, `S` skips, `F` flags. Pressed the wrong one? "
                "Change it under *Your recent answers*.")
    if keys.picks:
        picks = f"`1`–`{keys.choices}` pick" if keys.choices > 1 else "`1` picks"
        return (f"Keyboard: {picks} an answer, `Enter` submits, `S` skips and `F` flags while "
                "you are not typing; in a text box `Ctrl`+`Enter` submits.")
    return ("Keyboard: `Enter` submits, `S` skips and `F` flags while you are not typing; "
            "in a text box `Ctrl`+`Enter` submits.")
