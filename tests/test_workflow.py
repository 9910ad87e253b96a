"""The workflow spec: every question type, every kind of mistake, answer validation."""

import pytest

from core import workflow
from core.errors import Invalid


def problems_of(text: str) -> dict[str, str]:
    with pytest.raises(Invalid) as refused:
        workflow.parse_spec(text)
    return refused.value.problems


FULL = """
blocks:
  - {type: markdown, value: "Read **carefully**."}
  - {type: text, field: passage}
  - {type: code, field: snippet, language: python}
  - {type: image, field: picture, caption: A picture}
  - {type: single_choice, id: label, prompt: "Label?", options: [a, b]}
  - type: multiple_choice
    id: tags
    prompt: Tags?
    options: [x, y, z]
    min_selected: 1
    max_selected: 2
  - {type: free_text, id: why, prompt: "Why?", min_length: 5, max_length: 50, required: false}
  - {type: rating, id: score, prompt: "Score?", min: 1, max: 5, labels: {1: bad, 5: good}}
  - {type: code_answer, id: fix, prompt: Fix it, language: python, max_length: 200}
"""


def test_a_spec_with_every_block_type_is_valid_in_yaml_and_json():
    spec = workflow.parse_spec(FULL)
    assert [q["id"] for q in workflow.questions(spec)] == ["label", "tags", "why", "score", "fix"]
    assert workflow.payload_fields(spec) == ["passage", "snippet", "picture"]
    assert workflow.parse_spec(workflow.dumps(spec)) == spec


@pytest.mark.parametrize("name", list(workflow.TEMPLATES))
def test_templates_are_valid(name):
    assert workflow.questions(workflow.parse_spec(workflow.TEMPLATES[name]))


@pytest.mark.parametrize("text, field, fragment", [
    ("", "spec", "mapping"),
    ("blocks: [", "spec", ""),
    ("- just a list", "spec", "mapping"),
    ("blocks: []", "blocks", "non-empty"),
    ("blocks: [{type: markdown, value: hi}]", "blocks", "at least one question"),
    ("blocks: [{type: slider, id: a, prompt: p}]", "blocks[0].type", "unknown type"),
    ("blocks: [{type: text}, {type: single_choice, id: a, prompt: p, options: [x, y]}]",
     "blocks[0]", "exactly one of"),
    ("blocks: [{type: text, value: a, field: b}, {type: free_text, id: a, prompt: p}]",
     "blocks[0]", "exactly one of"),
    ("blocks: [{type: single_choice, id: 1a, prompt: p, options: [x, y]}]", "blocks[0].id",
     "lowercase"),
    ("blocks: [{type: free_text, id: a, prompt: p}, {type: free_text, id: a, prompt: q}]",
     "blocks[1].id", "used by another"),
    ("blocks: [{type: free_text, id: a, prompt: ''}]", "blocks[0].prompt", "non-empty"),
    ("blocks: [{type: free_text, id: a, prompt: p, required: maybe}]", "blocks[0].required",
     "true or false"),
    ("blocks: [{type: single_choice, id: a, prompt: p, options: [x]}]", "blocks[0].options",
     "at least two"),
    ("blocks: [{type: single_choice, id: a, prompt: p, options: [x, x]}]", "blocks[0].options",
     "distinct"),
    ("blocks: [{type: multiple_choice, id: a, prompt: p, options: [x, y], max_selected: 3}]",
     "blocks[0].max_selected", "cannot exceed"),
    ("blocks: [{type: free_text, id: a, prompt: p, min_length: 10, max_length: 5}]",
     "blocks[0].min_length", "greater than"),
    ("blocks: [{type: free_text, id: a, prompt: p, max_length: -1}]", "blocks[0].max_length",
     "whole number"),
    ("blocks: [{type: rating, id: a, prompt: p, min: 5, max: 1}]", "blocks[0].max",
     "greater than min"),
    ("blocks: [{type: rating, id: a, prompt: p}]", "blocks[0].min", "whole-number"),
    ("blocks: [{type: rating, id: a, prompt: p, min: 1, max: 5, labels: {9: x}}]",
     "blocks[0].labels", "between 1 and 5"),
    ("blocks: [{type: code_answer, id: a, prompt: p, colour: red}]", "blocks[0]",
     "unknown key"),
])
def test_mistakes_are_named_by_field(text, field, fragment):
    problems = problems_of(text)
    assert field in problems, problems
    assert fragment in problems[field]


def test_yaml_syntax_errors_give_the_line():
    with pytest.raises(Invalid, match="line 3, column 4"):
        workflow.parse_spec("blocks:\n  - type: text\n   value: x\n")


@pytest.fixture
def spec():
    return workflow.parse_spec(FULL)


GOOD = {"label": "a", "tags": ["x"], "why": "", "score": 4, "fix": "print(1)"}


def test_a_good_answer_is_cleaned(spec):
    assert workflow.clean_answer(spec, {**GOOD, "extra": 1, "fix": "  print(1)  "}) == {
        "label": "a", "tags": ["x"], "why": "", "score": 4, "fix": "print(1)"}


@pytest.mark.parametrize("change, field, fragment", [
    ({"label": None}, "label", "needs an answer"),
    ({"label": "c"}, "label", "listed options"),
    ({"tags": []}, "tags", "needs an answer"),
    ({"tags": ["x", "y", "z"]}, "tags", "at most 2"),
    ({"tags": ["q"]}, "tags", "listed options"),
    ({"why": "abc"}, "why", "at least 5"),
    ({"why": "a" * 51}, "why", "to 50"),
    ({"score": 0}, "score", "from 1 to 5"),
    ({"score": True}, "score", "from 1 to 5"),
    ({"fix": "   "}, "fix", "needs an answer"),
])
def test_bad_answers_are_refused_by_question(spec, change, field, fragment):
    problems = workflow.answer_problems(spec, {**GOOD, **change})
    assert list(problems) == [field]
    assert fragment in problems[field]
