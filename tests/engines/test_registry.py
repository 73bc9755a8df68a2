"""The engine registry builds every engine `fix`, `classify` and `eval` use, and each one answers the whole
Engine protocol, so the orchestrator never probes an engine or tests its name."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.engines.base import BaseEngine, Draft, Engine
from agent.engines.registry import ENGINE_NAMES, build_engine
from agent.errors import SutureError
from agent.evals.cases import load_cases
from agent.models import Context, Finding, Location

CASES = Path(__file__).resolve().parents[2] / "evals" / "cases"


def _finding() -> Finding:
    return Finding(id="f1", tool="bandit", rule_id="B101", message="assert", severity="low",
                   location=Location(path="app.py", start_line=1))


def test_every_registered_engine_is_built_and_answers_the_whole_protocol() -> None:
    case = load_cases(CASES)[0]
    for name in ENGINE_NAMES:
        engine = build_engine(name, case=case, model="openai/test-model", api_base="http://127.0.0.1:9/v1")
        assert isinstance(engine, Engine), name
        assert engine.fingerprint()["engine"] == engine.name
        assert engine.calls_model == (name == "llm")
        assert engine.repeats_itself() == (name != "llm")  # no response cache given: a model answers anew


def test_the_model_engine_repeats_itself_only_with_a_cache() -> None:
    engine = build_engine("llm", model="openai/test-model", cache={})
    assert engine.repeats_itself()
    assert engine.fingerprint()["model"] == "openai/test-model"


def test_unknown_or_incomplete_engines_are_refused_with_the_known_names() -> None:
    with pytest.raises(SutureError, match="unknown engine 'nope'; choose one of: builtin, llm"):
        build_engine("nope")
    with pytest.raises(SutureError, match="needs a model"):
        build_engine("llm")
    with pytest.raises(SutureError, match="needs the case"):
        build_engine("oracle")


def test_base_engine_defaults_are_those_of_an_engine_without_a_model(tmp_path: Path) -> None:
    class Quiet(BaseEngine):
        name = "quiet"

    engine, finding = Quiet(), _finding()
    context = Context(finding_id=finding.id)
    assert engine.classify_with_usage(finding, context, tmp_path) == (None, None, None)
    drafts = engine.draft_candidates(finding, context, tmp_path, k=3)
    assert len(drafts) == 1 and drafts[0].error  # one deterministic answer, however many are asked for
    reply = engine.regression_test(finding, context, "", "tests/test_x.py", tmp_path, Draft())
    assert reply.reason == "the engine quiet writes no regression tests" and reply.edits is None
    assert engine.spend_notes() == [] and engine.model is None
    assert engine.fingerprint()["instructions"].startswith("code:")
