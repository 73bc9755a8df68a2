"""The LLM engine through the eval harness, against the scripted OpenAI-compatible server on loopback: answers
are scored like any engine's, every answer lands in the run's cache, and a re-run with the same folder calls no
model at all."""

from __future__ import annotations

import json

import pytest

from agent.evals.cases import load_cases
from agent.evals.harness import EvalSpec, run_eval
from tests.fakes.openai_server import ScriptedOpenAIServer, reply, respond_with

pytestmark = pytest.mark.slow

SQL_FIX = """The name must be a bound parameter.

userdb/store.py
<<<<<<< SEARCH
    return conn.execute(f"SELECT id, name, email FROM users WHERE name = '{name}'").fetchone()
=======
    return conn.execute("SELECT id, name, email FROM users WHERE name = ?", (name,)).fetchone()
>>>>>>> REPLACE
"""

BAD_FIX = """Escape quotes.

calc/engine.py
<<<<<<< SEARCH
    return eval(expression)
=======
    return eval(expression.replace("'", ""))
>>>>>>> REPLACE
"""


def _answer(request):
    text = "\\n".join(m.get("content", "") for m in request.messages)
    if request.json.get("response_format"):
        real = "shop/discounts.py" not in text
        verdict = {"verdict": "true_positive" if real else "false_positive", "confidence": 0.9 if real else 0.8,
                   "rationale": "reachable user input" if real else "the eval is in an if False: branch"}
        return reply(json.dumps(verdict), usage={"prompt_tokens": 100, "completion_tokens": 20})
    return reply(SQL_FIX if "userdb/store.py" in text else BAD_FIX,
                 usage={"prompt_tokens": 200, "completion_tokens": 60})


def test_llm_engine_is_scored_cached_and_replayed(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    cases = load_cases(only=["cwe89-fstring-lookup", "cwe94-eval-calculator", "fp-dead-debug-eval"])
    out = tmp_path / "run"
    with ScriptedOpenAIServer() as server:
        server.enqueue(*[respond_with(_answer) for _ in range(12)])
        spec = EvalSpec(engine="llm", model="openai/test-model", api_base=server.base_url, workers=1,
                        max_attempts=2)
        metrics = run_eval(cases, spec, out)
        first_calls = len(server.requests)
        lines = (out / "outcomes.jsonl").read_text().splitlines()
        outcomes = {o["case_id"]: o for o in map(json.loads, lines)}
        assert outcomes["cwe89-fstring-lookup"]["fixed"]
        calc = outcomes["cwe94-eval-calculator"]
        assert not calc["fixed"] and calc["gates"]["G0"] and not calc["gates"]["G4"]  # eval is still there
        assert calc["attempts"] == 2  # the repair round ran
        assert outcomes["fp-dead-debug-eval"]["dismissed"]
        m = metrics["overall"]
        assert m["tokens"]["prompt"] > 0 and m["tokens"]["calls"] == first_calls
        # every model call the orchestrator made is timed and its tokens counted (classify and draft apart)
        assert m["calls"]["all"]["n"] == first_calls and m["calls"]["classify"]["n"] == 3
        assert m["calls"]["classify"]["prompt_tokens"] == 300 and m["calls"]["draft"]["prompt_tokens"] > 0
        assert m["classification"]["brier"] == pytest.approx(((0.9 - 1) ** 2 * 2 + 0.2 ** 2) / 3)
        assert outcomes["cwe89-fstring-lookup"]["context_recall"] == 1.0  # the changed line was shown
        assert 0 < calc["context_recall"] < 1  # the reference adds helpers outside the function shown
        assert server.unexpected == 0

        again = run_eval(cases, spec, out)  # same folder: every answer comes from llm-cache.db
        assert len(server.requests) == first_calls
    assert again["overall"]["fix_rate"] == m["fix_rate"]
    assert again["overall"]["tokens"]["cached_calls"] == first_calls
    assert again["overall"]["calls"]["all"]["cached"] == first_calls
    assert again["overall"]["cost_usd"]["original"] == m["cost_usd"]["original"]
