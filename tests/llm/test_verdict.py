"""parse_verdict: the JSON verdict inside whatever a model wraps around it."""

from __future__ import annotations

import pytest

from agent.llm.errors import ModelError
from agent.llm.verdict import parse_verdict

PLAIN = '{"verdict": "false_positive", "confidence": 0.8, "rationale": "The value is a constant."}'


def test_bare_json():
    verdict = parse_verdict(PLAIN, source="llm:m")
    assert (verdict.verdict, verdict.confidence, verdict.rationale, verdict.source) == (
        "false_positive",
        0.8,
        "The value is a constant.",
        "llm:m",
    )


@pytest.mark.parametrize(
    "wrapped",
    [
        f"```json\n{PLAIN}\n```",
        f"Here is my assessment:\n\n{PLAIN}\n\nLet me know if you need more.",
        f"```\n{PLAIN}\n```\nThe {{braces}} in this note are not JSON.",
        f"Thinking about {{the flow}} first... {PLAIN}",
    ],
)
def test_json_wrapped_in_fences_or_prose(wrapped):
    assert parse_verdict(wrapped).verdict == "false_positive"


def test_label_spelling_and_percent_confidence_are_normalised():
    verdict = parse_verdict('{"verdict": "True Positive", "confidence": "85%", "rationale": "x"}')
    assert (verdict.verdict, verdict.confidence) == ("true_positive", 0.85)
    assert parse_verdict('{"verdict": "uncertain", "confidence": 40, "rationale": "x"}').confidence == 0.4


def test_echoed_schema_is_skipped_for_the_real_answer():
    reply = (
        'The format is {"verdict": "true_positive|false_positive|uncertain", "confidence": 0..1}. '
        'My answer: {"verdict": "true_positive", "confidence": 0.9, "rationale": "input reaches eval"}'
    )
    assert parse_verdict(reply).verdict == "true_positive"


def test_single_quoted_keys_are_not_accepted():
    with pytest.raises(
        ModelError, match=r"no JSON object with a verdict \(single-quoted keys are not JSON\)"
    ):
        parse_verdict("{'verdict': 'false_positive', 'confidence': 0.9, 'rationale': 'const'}")


def test_prose_only_reply_names_its_start():
    reply = "I believe this is a false positive because the argument is constant. " * 3
    with pytest.raises(ModelError) as caught:
        parse_verdict(reply)
    assert str(caught.value).startswith("model reply had no JSON object with a verdict: 'I believe this is")
    assert len(str(caught.value)) < 160


def test_invalid_label_or_confidence_is_an_error():
    with pytest.raises(ModelError, match="verdict 'maybe' is not one of"):
        parse_verdict('{"verdict": "maybe", "confidence": 0.5, "rationale": "x"}')
    with pytest.raises(ModelError, match="outside 0..1"):
        parse_verdict('{"verdict": "uncertain", "confidence": -2, "rationale": "x"}')
    with pytest.raises(ModelError, match="not a number"):
        parse_verdict('{"verdict": "uncertain", "confidence": "high", "rationale": "x"}')


def test_conflicting_verdicts_fail_closed():
    reply = (
        '{"verdict": "true_positive", "confidence": 0.6, "rationale": "a"}\n'
        'On reflection: {"verdict": "false_positive", "confidence": 0.7, "rationale": "b"}'
    )
    with pytest.raises(ModelError, match="conflicting verdicts"):
        parse_verdict(reply)


def test_missing_rationale_is_marked_not_invented():
    verdict = parse_verdict('{"verdict": "uncertain", "confidence": 0.5}')
    assert verdict.rationale == "(the model gave no rationale)"
