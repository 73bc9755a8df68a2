"""The real split through the LLM engine and the scripted OpenAI-compatible server on loopback: the model's
answer is a search/replace edit to the project at its vulnerable version, scored by the same gates as any engine.

The first test uses a real-format case built offline (local pinned sdist). The second runs the published case
mistune-cve-2017-16876 itself; it needs that sdist, so it runs when the eval cache already holds it or when
SUTURE_EVAL_REAL=1 allows fetching it from PyPI (the real split runs on demand, not in CI)."""

from __future__ import annotations

import json
import os

import pytest

from agent.evals.cases import SPLITS, load_case, load_cases
from agent.evals.harness import EvalSpec, run_eval
from agent.evals.real import _spec, cache_dir, find_sdist, prepare_case
from tests.evals.real_fixture import make_real_case
from tests.fakes.openai_server import ScriptedOpenAIServer, reply, respond_with

pytestmark = pytest.mark.slow

DEMO_FIX = """Escape the name before it is put into HTML.

src/demolib/__init__.py
<<<<<<< SEARCH
def greet(name):
    return "<b>" + name + "</b>"
=======
import html


def greet(name):
    return "<b>" + html.escape(name) + "</b>"
>>>>>>> REPLACE
"""

MISTUNE_FIX = """Escape footnote keys, which end up in id and href attributes.

mistune.py
<<<<<<< SEARCH
    return _key_pattern.sub(' ', key.lower())
=======
    return _key_pattern.sub(' ', escape(key.lower(), quote=True))
>>>>>>> REPLACE
"""


def _scripted(fix: str):
    def answer(request):
        if request.json.get("response_format"):
            verdict = {"verdict": "true_positive", "confidence": 0.9, "rationale": "user text reaches HTML"}
            return reply(json.dumps(verdict), usage={"prompt_tokens": 100, "completion_tokens": 20})
        return reply(fix, usage={"prompt_tokens": 300, "completion_tokens": 80})
    return answer


def _run(case, fix, out, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with ScriptedOpenAIServer() as server:
        server.enqueue(*[respond_with(_scripted(fix)) for _ in range(8)])
        spec = EvalSpec(engine="llm", model="openai/test-model", api_base=server.base_url, workers=1,
                        max_attempts=1, split="real")
        metrics = run_eval([case], spec, out)
        assert server.requests and server.unexpected == 0
    outcome = json.loads((out / "outcomes.jsonl").read_text().splitlines()[0])
    return outcome, metrics


def test_llm_engine_fixes_a_real_format_case(tmp_path, monkeypatch):
    folder, cache = make_real_case(tmp_path)
    case = prepare_case(load_case(folder), cache, fetch=False)
    outcome, metrics = _run(case, DEMO_FIX, tmp_path / "run", monkeypatch)
    assert outcome["invalid_case"] is None and outcome["fixed"], outcome["gate_details"]
    assert outcome["predicted"] == "true_positive"
    assert metrics["overall"]["tokens"]["prompt"] > 0


def test_llm_engine_on_the_published_mistune_case(tmp_path, monkeypatch):
    case = next(c for c in load_cases(SPLITS["real"], ["mistune-cve-2017-16876"]))
    _, _, sha = _spec(case)
    if find_sdist(cache_dir() / "sdists", sha) is None and os.environ.get("SUTURE_EVAL_REAL") != "1":
        pytest.skip("the mistune 0.8 sdist is not cached; SUTURE_EVAL_REAL=1 fetches it from PyPI")
    case = prepare_case(case)
    outcome, _ = _run(case, MISTUNE_FIX, tmp_path / "run", monkeypatch)
    assert outcome["invalid_case"] is None and outcome["fixed"], outcome["gate_details"]
    assert all(outcome["gates"].values())
