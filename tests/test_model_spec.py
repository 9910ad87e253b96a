"""The model step, ranking and pairwise in the workflow spec: valid forms, each mistake named."""

import pytest

from core import workflow
from core.errors import Invalid
from tests.mitl import COMPARE, RANK

STEP = "{type: model_responses, models: [alpha, beta], prompt_from: expert}"


def problems_of(text: str) -> dict[str, str]:
    with pytest.raises(Invalid) as refused:
        workflow.parse_spec(text)
    return refused.value.problems


def test_model_forms_are_valid_and_read_back_equal():
    for text in (COMPARE, RANK):
        spec = workflow.parse_spec(text)
        assert workflow.parse_spec(workflow.dumps(spec)) == spec
    rank = workflow.parse_spec(RANK)
    assert workflow.slots(workflow.model_step(rank)) == ["A", "B", "C"]
    assert workflow.payload_fields(rank) == ["prompt"]  # imports must fill the prompt
    assert [q["id"] for q in workflow.questions(rank)] == ["order", "best"]


@pytest.mark.parametrize("blocks, field, fragment", [
    ("[{type: model_responses, prompt_from: expert}, {type: free_text, id: a, prompt: p}]",
     "blocks[0].models", "1 to 6 model names"),
    ("[{type: model_responses, models: [a, b, c, d, e, f, g], prompt_from: expert},"
     " {type: free_text, id: a, prompt: p}]", "blocks[0].models", "1 to 6"),
    ("[{type: model_responses, models: [alpha, alpha], prompt_from: expert},"
     " {type: free_text, id: a, prompt: p}]", "blocks[0].models", "only once"),
    ("[{type: model_responses, models: [Alpha Beta], prompt_from: expert},"
     " {type: free_text, id: a, prompt: p}]", "blocks[0].models", "lowercase"),
    ("[{type: model_responses, models: [alpha]}, {type: free_text, id: a, prompt: p}]",
     "blocks[0]", "exactly one of `prompt_field`"),
    ("[{type: model_responses, models: [alpha], prompt_from: expert, prompt_field: q},"
     " {type: free_text, id: a, prompt: p}]", "blocks[0]", "exactly one of"),
    ("[{type: model_responses, models: [alpha], prompt_from: item},"
     " {type: free_text, id: a, prompt: p}]", "blocks[0].prompt_from", "only value"),
    ("[{type: model_responses, models: [alpha], prompt_from: expert, max_prompt_length: 0},"
     " {type: free_text, id: a, prompt: p}]", "blocks[0].max_prompt_length", "from 1 to"),
    ("[{type: model_responses, models: [alpha], prompt_field: q, prompt_label: Ask},"
     " {type: free_text, id: a, prompt: p}]", "blocks[0].prompt_label", "expert writes"),
    (f"[{STEP}, {STEP}, {{type: free_text, id: a, prompt: p}}]", "blocks[1]",
     "at most one model_responses"),
    ("[{type: ranking, id: r, prompt: p}]", "blocks[0]", "put it after a model_responses"),
    (f"[{{type: pairwise, id: r, prompt: p}}, {STEP}]", "blocks[0]", "after a model_responses"),
    ("[{type: rating, id: r, prompt: p, min: 1, max: 5, response: A}]", "blocks[0]",
     "needs a model_responses block above"),
    (f"[{STEP}, {{type: rating, id: r, prompt: p, min: 1, max: 5, response: C}}]",
     "blocks[1].response", "one of A, B"),
    (f"[{STEP}, {{type: pairwise, id: r, prompt: p, pair: [A, A]}}]", "blocks[1].pair",
     "two different responses"),
    (f"[{STEP}, {{type: pairwise, id: r, prompt: p, pair: [A, C]}}]", "blocks[1].pair",
     "two different"),
    (f"[{STEP}, {{type: pairwise, id: r, prompt: p, allow_tie: maybe}}]",
     "blocks[1].allow_tie", "true or false"),
    ("[{type: model_responses, models: [alpha], prompt_from: expert},"
     " {type: ranking, id: r, prompt: p}]", "blocks[1]", "at least two models"),
    (f"[{STEP}, {{type: ranking, id: r, prompt: p, options: [A, B]}}]", "blocks[1]",
     "unknown key(s) for ranking: options"),
])
def test_each_mistake_in_a_model_form_is_named(blocks, field, fragment):
    problems = problems_of(f"blocks: {blocks}")
    assert field in problems, problems
    assert fragment in problems[field]


def test_answers_are_checked_against_the_responses_that_came():
    spec = workflow.parse_spec(RANK)
    both = {"order": ["C", "A", "B"], "best": "C"}
    assert workflow.answer_problems(spec, both, ["A", "B", "C"]) == {}
    assert workflow.answer_problems(spec, both) == {}  # without a state: every response
    assert set(workflow.answer_problems(spec, {"order": ["A", "A", "B"], "best": "A"},
                                        ["A", "B", "C"])) == {"order"}
    # C failed: it can be neither ranked nor picked
    problems = workflow.answer_problems(spec, both, ["A", "B"])
    assert "Rank every response shown" in problems["order"]
    assert "did not come" in problems["best"]
    # only A came: nothing to rank, and the ranking must be left empty
    assert workflow.clean_answer(spec, {"best": "A"}, ["A"]) == {"order": None, "best": "A"}
    assert "leave it empty" in workflow.answer_problems(spec, {"order": ["A"], "best": "A"},
                                                        ["A"])["order"]


def test_pairwise_takes_a_side_or_a_tie_when_allowed():
    spec = workflow.parse_spec(
        f"blocks: [{STEP}, {{type: pairwise, id: p, prompt: q}},"
        f" {{type: pairwise, id: strict, prompt: q, allow_tie: false}}]")
    assert workflow.answer_problems(spec, {"p": "tie", "strict": "B"}, ["A", "B"]) == {}
    problems = workflow.answer_problems(spec, {"p": "C", "strict": "tie"}, ["A", "B"])
    assert problems == {"p": "Prefer response A or B, or call it a tie.",
                        "strict": "Prefer response A or B."}
    assert workflow.skipped_because(workflow.questions(spec)[0], ["B"]) == (
        "Response A did not come, so there is nothing to compare.")


def test_questions_about_responses_are_known():
    spec = workflow.parse_spec(COMPARE)
    step = workflow.model_step(spec)
    about = [q["id"] for q in workflow.questions(spec) if workflow.about_responses(q, step)]
    assert about == ["rate_a", "rate_b", "better"]
    assert not workflow.about_responses({"type": "ranking"}, None)
