"""The workflow spec: a campaign's form as data, its validation, and answer validation.

A spec is a mapping with one key, `blocks`: an ordered list of display blocks and questions.

Display blocks show content; each takes either `value` (fixed text) or `field` (a key of the
item's payload):  text, markdown, code (optional `language`), image (optional `caption`).

Questions collect the answer; each has a unique `id`, a `prompt`, optional `help` and
`required` (default true):
  single_choice    options: [..] (two or more)
  multiple_choice  options: [..], optional min_selected / max_selected
  free_text        optional min_length / max_length, optional `multiline` (default true)
  rating           min, max (integers, min < max), optional labels {value: text}
  code_answer      optional language, min_length / max_length
  ranking          order the model responses, best first (answer: a list of slot letters)
  pairwise         prefer one of two responses, optional `pair` (default [A, B]) and
                   `allow_tie` (default true); answer: a slot letter or "tie"

Model-in-the-loop: at most one `model_responses` block calls the registered models named in
`models` (1 to 6, shown to experts as responses A, B, … in that order) with a prompt taken from
the item (`prompt_field: KEY`) or written by the expert (`prompt_from: expert`, with optional
`prompt_label` and `max_prompt_length`), and an optional `system` message. Questions after it
may be about one response (`response: A`); in such a form, choice options named A, B, … stand
for the responses. A question about a response that failed is skipped, and so is a ranking with
fewer than two responses or a pairwise whose pair is incomplete.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from core.errors import Invalid

DISPLAY_TYPES = ("text", "markdown", "code", "image")
MODEL_TYPES = ("model_responses",)
QUESTION_TYPES = ("single_choice", "multiple_choice", "free_text", "rating", "code_answer",
                  "ranking", "pairwise")
SLOTS = "ABCDEF"  # how experts see the responses of a model step, in the order of `models`
MAX_MODELS = len(SLOTS)
MAX_PROMPT_LENGTH = 8000
# The answer's record of the model step, and the key of its problems; question ids start with a
# letter, so it cannot clash with one.
MODEL_STEP = "_model_responses"
TIE = "tie"
# Text and code answers without a `max_length` still have a bound, so the form can show a
# character count against it and nothing unbounded is stored.
TEXT_LIMIT = 20_000
_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
_COMMON_KEYS = {"type"}
_ABOUT = {"response"}  # a question may be about one model response
_ALLOWED_KEYS = {
    "text": {"value", "field"},
    "markdown": {"value", "field"},
    "code": {"value", "field", "language"},
    "image": {"value", "field", "caption"},
    "model_responses": {"models", "prompt_field", "prompt_from", "prompt_label", "system",
                        "max_prompt_length"},
    "single_choice": {"id", "prompt", "help", "required", "options"} | _ABOUT,
    "multiple_choice": {"id", "prompt", "help", "required", "options", "min_selected",
                        "max_selected"} | _ABOUT,
    "free_text": {"id", "prompt", "help", "required", "min_length", "max_length",
                  "multiline"} | _ABOUT,
    "rating": {"id", "prompt", "help", "required", "min", "max", "labels"} | _ABOUT,
    "code_answer": {"id", "prompt", "help", "required", "language", "min_length",
                    "max_length"} | _ABOUT,
    "ranking": {"id", "prompt", "help", "required"},
    "pairwise": {"id", "prompt", "help", "required", "pair", "allow_tie"},
}
_ALL_TYPES = DISPLAY_TYPES + MODEL_TYPES + QUESTION_TYPES


def parse_spec(text: str) -> dict[str, Any]:
    """Parse a spec written in YAML or JSON and validate it; raise Invalid naming each problem."""
    try:
        spec = yaml.safe_load(text) if text and text.strip() else None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise Invalid(f"The spec is not valid YAML or JSON{where}.", {"spec": str(error)}) from None
    problems = spec_problems(spec)
    if problems:
        raise Invalid("The workflow spec has problems: " + "; ".join(
            f"{field}: {what}" for field, what in problems.items()), problems)
    for block in spec["blocks"]:
        if "labels" in block:  # as JSON will store them, so a spec reads back equal
            block["labels"] = {str(k): v for k, v in block["labels"].items()}
    return spec


def spec_problems(spec: Any) -> dict[str, str]:
    """Every problem in a spec, keyed by the path of the bad field (empty when valid)."""
    if not isinstance(spec, dict):
        return {"spec": "must be a mapping with a `blocks` list"}
    problems: dict[str, str] = {}
    unknown = set(spec) - {"blocks"}
    if unknown:
        problems["spec"] = f"unknown key(s) {', '.join(sorted(map(str, unknown)))}"
    blocks = spec.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        problems["blocks"] = "must be a non-empty list of display blocks and questions"
        return problems
    seen_ids: set[str] = set()
    step: tuple[int, dict] | None = None  # the model step seen so far, if any
    for index, block in enumerate(blocks):
        where = f"blocks[{index}]"
        if not isinstance(block, dict):
            problems[where] = "must be a mapping with a `type`"
            continue
        kind = block.get("type")
        if kind not in _ALLOWED_KEYS:
            problems[f"{where}.type"] = (
                f"unknown type {kind!r}; use one of {', '.join(_ALL_TYPES)}")
            continue
        extra = set(block) - _ALLOWED_KEYS[kind] - _COMMON_KEYS
        if extra:
            problems[where] = f"unknown key(s) for {kind}: {', '.join(sorted(map(str, extra)))}"
        if kind in DISPLAY_TYPES:
            problems.update(_check_display(block, where))
        elif kind in MODEL_TYPES:
            problems.update(_check_model_step(block, where, step))
            step = step or (index, block)
        else:
            problems.update(_check_question(block, where, seen_ids))
            problems.update(_check_about_responses(block, where, step))
    if not any(isinstance(b, dict) and b.get("type") in QUESTION_TYPES for b in blocks):
        problems.setdefault("blocks", "needs at least one question")
    return problems


def _check_display(block: dict, where: str) -> dict[str, str]:
    has_value, has_field = "value" in block, "field" in block
    if has_value == has_field:
        return {where: "give exactly one of `value` (fixed content) or `field` (item payload key)"}
    key = "value" if has_value else "field"
    if not isinstance(block[key], str) or not block[key].strip():
        return {f"{where}.{key}": "must be non-empty text"}
    return {}


def _check_question(block: dict, where: str, seen: set[str]) -> dict[str, str]:
    problems: dict[str, str] = {}
    qid = block.get("id")
    if not isinstance(qid, str) or not _ID.match(qid):
        problems[f"{where}.id"] = ("must be lowercase letters, digits or _ starting with a letter"
                                   " (at most 40 characters)")
    elif qid in seen:
        problems[f"{where}.id"] = f"{qid!r} is used by another question"
    else:
        seen.add(qid)
    if not isinstance(block.get("prompt"), str) or not block["prompt"].strip():
        problems[f"{where}.prompt"] = "must be non-empty text"
    if "required" in block and not isinstance(block["required"], bool):
        problems[f"{where}.required"] = "must be true or false"
    if "help" in block and not isinstance(block["help"], str):
        problems[f"{where}.help"] = "must be text"
    kind = block["type"]
    if kind in ("single_choice", "multiple_choice"):
        problems.update(_check_options(block, where))
    if kind == "multiple_choice":
        problems.update(_check_bounds(block, where, "min_selected", "max_selected", minimum=0))
        count = len(block.get("options") or [])
        if _is_int(block.get("max_selected")) and block["max_selected"] > count:
            problems[f"{where}.max_selected"] = f"cannot exceed the {count} options"
    if kind in ("free_text", "code_answer"):
        problems.update(_check_bounds(block, where, "min_length", "max_length", minimum=0))
    if kind == "free_text" and "multiline" in block and not isinstance(block["multiline"], bool):
        problems[f"{where}.multiline"] = "must be true or false"
    if kind == "rating":
        problems.update(_check_rating(block, where))
    return problems


def _check_model_step(block: dict, where: str, earlier: tuple[int, dict] | None
                      ) -> dict[str, str]:
    if earlier is not None:
        return {where: f"a form has at most one model_responses block (blocks[{earlier[0]}] "
                       "is one already)"}
    problems: dict[str, str] = {}
    models = block.get("models")
    if (not isinstance(models, list) or not 1 <= len(models) <= MAX_MODELS
            or not all(isinstance(m, str) for m in models)):
        problems[f"{where}.models"] = (f"needs a list of 1 to {MAX_MODELS} model names from the "
                                       "model registry")
    elif not all(MODEL_NAME.match(m) for m in models):
        problems[f"{where}.models"] = ("model names are lowercase letters, digits, '.', '_' or "
                                       "'-', as in the model registry")
    elif len(set(models)) != len(models):
        problems[f"{where}.models"] = "each model can be listed only once"
    has_field, has_from = "prompt_field" in block, "prompt_from" in block
    if has_field == has_from:
        problems[where] = ("give exactly one of `prompt_field` (the item payload key holding the "
                           "prompt) or `prompt_from: expert` (the expert writes it)")
    elif has_field and (not isinstance(block["prompt_field"], str)
                        or not block["prompt_field"].strip()):
        problems[f"{where}.prompt_field"] = "must be the name of an item payload field"
    elif has_from and block["prompt_from"] != "expert":
        problems[f"{where}.prompt_from"] = "the only value is `expert`"
    for key in ("prompt_label", "system"):
        if key in block and (not isinstance(block[key], str) or not block[key].strip()):
            problems[f"{where}.{key}"] = "must be non-empty text"
    if "max_prompt_length" in block and (
            not _is_int(block["max_prompt_length"])
            or not 1 <= block["max_prompt_length"] <= MAX_PROMPT_LENGTH):
        problems[f"{where}.max_prompt_length"] = (f"must be a whole number from 1 to "
                                                  f"{MAX_PROMPT_LENGTH}")
    if has_field and "prompt_label" in block:
        problems[f"{where}.prompt_label"] = "only a prompt the expert writes has a label"
    return problems


def _step_slots(step: tuple[int, dict] | None) -> str:
    models = step[1].get("models") if step else None
    return SLOTS[:len(models)] if isinstance(models, list) and models else ""


def _check_about_responses(block: dict, where: str, step: tuple[int, dict] | None
                           ) -> dict[str, str]:
    """Questions about model responses need a model step above them, naming real slots."""
    kind = block["type"]
    if kind not in ("ranking", "pairwise") and "response" not in block:
        return {}
    if step is None:
        return {where: f"a {kind} question is about model responses: put it after a "
                       "model_responses block" if kind in ("ranking", "pairwise") else
                       "`response` needs a model_responses block above this question"}
    slots = _step_slots(step)
    if not slots:
        return {}  # the step's own problem is reported already
    problems: dict[str, str] = {}
    if "response" in block and block["response"] not in list(slots):
        problems[f"{where}.response"] = f"must be one of {', '.join(slots)}"
    if kind == "ranking" and len(slots) < 2:
        problems[where] = "ranking needs a model_responses block with at least two models"
    if kind == "pairwise":
        pair = block.get("pair", ["A", "B"])
        if len(slots) < 2:
            problems[where] = "pairwise needs a model_responses block with at least two models"
        elif (not isinstance(pair, list) or len(pair) != 2 or pair[0] == pair[1]
              or not all(p in list(slots) for p in pair)):
            problems[f"{where}.pair"] = f"must be two different responses of {', '.join(slots)}"
        if "allow_tie" in block and not isinstance(block["allow_tie"], bool):
            problems[f"{where}.allow_tie"] = "must be true or false"
    return problems


def _check_options(block: dict, where: str) -> dict[str, str]:
    options = block.get("options")
    if not isinstance(options, list) or len(options) < 2:
        return {f"{where}.options": "needs a list of at least two options"}
    if not all(isinstance(o, str | int | float) and not isinstance(o, bool) for o in options):
        return {f"{where}.options": "options must be plain text or numbers"}
    labels = [str(o) for o in options]
    if len(set(labels)) != len(labels):
        return {f"{where}.options": "options must be distinct"}
    return {}


def _check_bounds(block: dict, where: str, low: str, high: str, minimum: int) -> dict[str, str]:
    problems = {}
    for key in (low, high):
        if key in block and (not _is_int(block[key]) or block[key] < minimum):
            problems[f"{where}.{key}"] = f"must be a whole number ≥ {minimum}"
    if not problems and _is_int(block.get(low)) and _is_int(block.get(high)):
        if block[low] > block[high]:
            problems[f"{where}.{low}"] = f"cannot be greater than {high} ({block[high]})"
    return problems


def _check_rating(block: dict, where: str) -> dict[str, str]:
    low, high = block.get("min"), block.get("max")
    if not _is_int(low) or not _is_int(high):
        return {f"{where}.min": "a rating needs whole-number `min` and `max`"}
    if low >= high:
        return {f"{where}.max": f"must be greater than min ({low})"}
    if high - low > 10:
        return {f"{where}.max": "a rating scale has at most 11 points"}
    labels = block.get("labels", {})
    # JSON turns the keys into strings, so "3" counts as 3.
    if not isinstance(labels, dict) or not all(
            _as_int(k) is not None and low <= _as_int(k) <= high and isinstance(v, str)
            for k, v in labels.items()):
        return {f"{where}.labels": f"must map whole numbers between {low} and {high} to text"}
    return {}


def _as_int(value: Any) -> int | None:
    if _is_int(value):
        return value
    return int(value) if isinstance(value, str) and value.lstrip("-").isdigit() else None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def questions(spec: dict) -> list[dict]:
    """The question blocks of a valid spec, in order."""
    return [b for b in spec["blocks"] if b["type"] in QUESTION_TYPES]


def payload_fields(spec: dict) -> list[str]:
    """The item payload keys the spec's display blocks and model step read."""
    return [b["field"] if "field" in b else b["prompt_field"] for b in spec["blocks"]
            if (b["type"] in DISPLAY_TYPES and "field" in b)
            or (b["type"] in MODEL_TYPES and "prompt_field" in b)]


def model_step(spec: dict) -> dict | None:
    """The spec's model_responses block, or None when it calls no model."""
    return next((b for b in spec["blocks"] if b["type"] in MODEL_TYPES), None)


def slots(step: dict) -> list[str]:
    """The letters experts see the step's responses under: A for the first model, …"""
    return list(SLOTS[:len(step["models"])])


def about_responses(question: dict, step: dict | None) -> bool:
    """Whether a question is about the model step's responses (so it waits for them)."""
    if step is None:
        return False
    if question["type"] in ("ranking", "pairwise") or "response" in question:
        return True
    return any(str(o) in slots(step) for o in question.get("options", []))


def skipped_because(question: dict, available: list[str] | None) -> str | None:
    """Why a question about model responses is skipped given the responses that came, or None.

    `available` lists the slot letters with a response; None means the form calls no model.
    """
    if available is None:
        return None
    kind = question["type"]
    if "response" in question and question["response"] not in available:
        return f"Response {question['response']} did not come, so this question is skipped."
    if kind == "ranking" and len(available) < 2:
        return "Fewer than two responses came, so there is nothing to rank."
    if kind == "pairwise":
        missing = [p for p in question.get("pair", ["A", "B"]) if p not in available]
        if missing:
            return (f"Response {' and '.join(missing)} did not come, so there is nothing to "
                    "compare.")
    return None


def answer_problems(spec: dict, answer: dict[str, Any],
                    available: list[str] | None = None) -> dict[str, str]:
    """What is wrong with an answer, keyed by question id (empty when it is acceptable).

    In a form with a model step, `available` lists the responses that came (see
    `skipped_because`); questions about missing ones must be left empty.
    """
    if available is None and model_step(spec) is not None:
        available = slots(model_step(spec))
    problems = {}
    for question in questions(spec):
        value = answer.get(question["id"])
        if skipped_because(question, available):
            problem = None if _is_empty(value) else "This question is skipped; leave it empty."
        else:
            problem = _answer_problem(question, value, available)
        if problem:
            problems[question["id"]] = problem
    return problems


def text_limit(question: dict) -> int:
    """The most characters a text or code answer may have: its `max_length`, else TEXT_LIMIT."""
    return question.get("max_length") or TEXT_LIMIT


def clean_answer(spec: dict, answer: dict[str, Any],
                 available: list[str] | None = None) -> dict[str, Any]:
    """Validate an answer and keep only the spec's questions; raise Invalid otherwise."""
    problems = answer_problems(spec, answer, available)
    if problems:
        raise Invalid("Some answers need fixing before you can submit.", problems)
    return {q["id"]: _normalize(answer.get(q["id"])) for q in questions(spec)}


def _normalize(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list) and len(value) == 0) or (
        isinstance(value, str) and not value.strip())


def _answer_problem(question: dict, value: Any, available: list[str] | None) -> str | None:
    if _is_empty(value):
        return "This question needs an answer." if question.get("required", True) else None
    kind = question["type"]
    if kind == "single_choice":
        if str(value) not in map(str, question["options"]):
            return "Pick one of the listed options."
        if available is not None and _missing_responses([value], available):
            return f"Response {value} did not come; pick among the responses shown."
    elif kind == "multiple_choice":
        if not isinstance(value, list) or not set(map(str, value)) <= set(
                map(str, question["options"])):
            return "Pick from the listed options."
        if available is not None and _missing_responses(value, available):
            return "Pick only among the responses shown."
        low, high = question.get("min_selected"), question.get("max_selected")
        if low is not None and len(value) < low:
            return f"Pick at least {low}."
        if high is not None and len(value) > high:
            return f"Pick at most {high}."
    elif kind in ("free_text", "code_answer"):
        if not isinstance(value, str):
            return "Write your answer as text."
        length = len(value.strip())
        low, high = question.get("min_length"), text_limit(question)
        if low is not None and length < low:
            return f"Write at least {low} characters (you have {length})."
        if high is not None and length > high:
            return f"Keep it to {high} characters (you have {length})."
    elif kind == "rating":
        if not _is_int(value) or not question["min"] <= value <= question["max"]:
            return f"Choose a rating from {question['min']} to {question['max']}."
    elif kind == "ranking":
        shown = available or []
        if not isinstance(value, list) or sorted(map(str, value)) != sorted(shown):
            return ("Rank every response shown, best first: "
                    f"{', '.join(shown)} each once.")
    elif kind == "pairwise":
        pair = question.get("pair", ["A", "B"])
        allowed = pair + ([TIE] if question.get("allow_tie", True) else [])
        if value not in allowed:
            return (f"Prefer response {pair[0]} or {pair[1]}"
                    + (", or call it a tie." if question.get("allow_tie", True) else "."))
    return None


def _missing_responses(values: list, available: list[str]) -> list[str]:
    """Chosen options that name a response slot which did not come."""
    return [v for v in map(str, values) if v in set(SLOTS) and v not in available]


def dumps(spec: dict) -> str:
    """The canonical JSON text stored for a spec."""
    return json.dumps(spec, ensure_ascii=False, sort_keys=False)


TEMPLATES: dict[str, str] = {
    "Classification": """\
blocks:
  - type: markdown
    value: Read the text and choose the label that fits best.
  - type: text
    field: text
  - type: single_choice
    id: label
    prompt: Which label fits this text?
    options: [positive, negative, neutral]
""",
    "Free-text demonstration": """\
blocks:
  - type: markdown
    value: Write the answer an excellent assistant would give to this request.
  - type: text
    field: prompt
  - type: free_text
    id: response
    prompt: Your answer
    help: Be accurate, complete and concise.
    min_length: 50
    max_length: 4000
""",
    "Evaluation with a rating": """\
blocks:
  - type: text
    field: prompt
  - type: markdown
    field: response
  - type: rating
    id: quality
    prompt: How good is this response?
    min: 1
    max: 5
    labels: {1: Unusable, 3: Acceptable, 5: Excellent}
  - type: free_text
    id: reason
    prompt: Why this rating?
    required: false
    max_length: 1000
""",
    "Code answer": """\
blocks:
  - type: markdown
    field: task
  - type: code_answer
    id: solution
    prompt: Your solution
    language: python
    min_length: 20
    max_length: 8000
""",
    "Compare model responses (expert prompts)": """\
blocks:
  - type: markdown
    value: Ask the assistants something from your field, read both responses, then judge them.
  - type: model_responses
    models: [model-a, model-b]
    prompt_from: expert
    prompt_label: Your request to the assistants
    max_prompt_length: 4000
  - type: rating
    id: quality_a
    response: A
    prompt: How good is response A?
    min: 1
    max: 5
    labels: {1: Unusable, 3: Acceptable, 5: Excellent}
  - type: rating
    id: quality_b
    response: B
    prompt: How good is response B?
    min: 1
    max: 5
    labels: {1: Unusable, 3: Acceptable, 5: Excellent}
  - type: pairwise
    id: preference
    prompt: Which response is better?
  - type: free_text
    id: rewrite
    prompt: Rewrite the better response so that it would be excellent
    required: false
    max_length: 8000
""",
    "Rank model responses (item prompts)": """\
blocks:
  - type: model_responses
    models: [model-a, model-b, model-c]
    prompt_field: prompt
  - type: ranking
    id: ranking
    prompt: Rank the responses, best first
  - type: single_choice
    id: best_acceptable
    prompt: Is the best response acceptable as it is?
    options: [acceptable as it is, needs a rewrite]
  - type: free_text
    id: rewrite
    prompt: If not, rewrite it
    required: false
    max_length: 8000
""",
}
