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
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from core.errors import Invalid

DISPLAY_TYPES = ("text", "markdown", "code", "image")
QUESTION_TYPES = ("single_choice", "multiple_choice", "free_text", "rating", "code_answer")
_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_COMMON_KEYS = {"type"}
_ALLOWED_KEYS = {
    "text": {"value", "field"},
    "markdown": {"value", "field"},
    "code": {"value", "field", "language"},
    "image": {"value", "field", "caption"},
    "single_choice": {"id", "prompt", "help", "required", "options"},
    "multiple_choice": {"id", "prompt", "help", "required", "options", "min_selected",
                        "max_selected"},
    "free_text": {"id", "prompt", "help", "required", "min_length", "max_length", "multiline"},
    "rating": {"id", "prompt", "help", "required", "min", "max", "labels"},
    "code_answer": {"id", "prompt", "help", "required", "language", "min_length", "max_length"},
}


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
    for index, block in enumerate(blocks):
        where = f"blocks[{index}]"
        if not isinstance(block, dict):
            problems[where] = "must be a mapping with a `type`"
            continue
        kind = block.get("type")
        if kind not in _ALLOWED_KEYS:
            problems[f"{where}.type"] = (
                f"unknown type {kind!r}; use one of {', '.join(DISPLAY_TYPES + QUESTION_TYPES)}")
            continue
        extra = set(block) - _ALLOWED_KEYS[kind] - _COMMON_KEYS
        if extra:
            problems[where] = f"unknown key(s) for {kind}: {', '.join(sorted(map(str, extra)))}"
        checker = _check_display if kind in DISPLAY_TYPES else _check_question
        problems.update(checker(block, where, seen_ids))
    if not any(isinstance(b, dict) and b.get("type") in QUESTION_TYPES for b in blocks):
        problems.setdefault("blocks", "needs at least one question")
    return problems


def _check_display(block: dict, where: str, _seen: set[str]) -> dict[str, str]:
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
    """The item payload keys the spec's display blocks read."""
    return [b["field"] for b in spec["blocks"] if b["type"] in DISPLAY_TYPES and "field" in b]


def answer_problems(spec: dict, answer: dict[str, Any]) -> dict[str, str]:
    """What is wrong with an answer, keyed by question id (empty when it is acceptable)."""
    problems = {}
    for question in questions(spec):
        value = answer.get(question["id"])
        problem = _answer_problem(question, value)
        if problem:
            problems[question["id"]] = problem
    return problems


def clean_answer(spec: dict, answer: dict[str, Any]) -> dict[str, Any]:
    """Validate an answer and keep only the spec's questions; raise Invalid otherwise."""
    problems = answer_problems(spec, answer)
    if problems:
        raise Invalid("Some answers need fixing before you can submit.", problems)
    return {q["id"]: _normalize(answer.get(q["id"])) for q in questions(spec)}


def _normalize(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list) and len(value) == 0) or (
        isinstance(value, str) and not value.strip())


def _answer_problem(question: dict, value: Any) -> str | None:
    if _is_empty(value):
        return "This question needs an answer." if question.get("required", True) else None
    kind = question["type"]
    if kind == "single_choice":
        if str(value) not in map(str, question["options"]):
            return "Pick one of the listed options."
    elif kind == "multiple_choice":
        if not isinstance(value, list) or not set(map(str, value)) <= set(
                map(str, question["options"])):
            return "Pick from the listed options."
        low, high = question.get("min_selected"), question.get("max_selected")
        if low is not None and len(value) < low:
            return f"Pick at least {low}."
        if high is not None and len(value) > high:
            return f"Pick at most {high}."
    elif kind in ("free_text", "code_answer"):
        if not isinstance(value, str):
            return "Write your answer as text."
        length = len(value.strip())
        low, high = question.get("min_length"), question.get("max_length")
        if low is not None and length < low:
            return f"Write at least {low} characters (you have {length})."
        if high is not None and length > high:
            return f"Keep it to {high} characters (you have {length})."
    elif kind == "rating":
        if not _is_int(value) or not question["min"] <= value <= question["max"]:
            return f"Choose a rating from {question['min']} to {question['max']}."
    return None


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
}
