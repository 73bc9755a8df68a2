"""LLMEngine end to end over the scripted server: prompts -> real client stack -> verdicts and drafts."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest

from agent.engines.base import Engine, Feedback
from agent.engines.llm import LLMEngine, prose_outside_edits
from agent.llm.cache import MemoryCache
from agent.llm.errors import ModelError
from agent.llm.prompts import prompt_hash
from agent.models import CodeSnippet, Context, Finding, Location
from tests.fakes.openai_server import reply, truncated

SHARED = Path(__file__).resolve().parents[1] / "data" / "shared"
CODE = (
    "def lookup(db, user_id):\n"
    "    query = \"SELECT * FROM accounts WHERE id = '%s'\" % user_id\n"
    "    return db.execute(query).fetchall()\n"
)
FINDING = Finding(
    id="fp-1",
    tool="bandit",
    rule_id="B608",
    message="Possible SQL injection vector through string-based query construction.",
    cwe=[89],
    location=Location(path="bank/store.py", start_line=2),
)
CONTEXT = Context(
    finding_id="fp-1",
    snippets=[
        CodeSnippet(label="enclosing function", path="bank/store.py", start_line=1, end_line=3, text=CODE)
    ],
    hints=["user_id comes from the URL path"],
)
FIX_REPLY = (
    "The query interpolates user_id into SQL; binding it as a parameter removes the injection.\n\n"
    "bank/store.py\n"
    "<<<<<<< SEARCH\n"
    "    query = \"SELECT * FROM accounts WHERE id = '%s'\" % user_id\n"
    "    return db.execute(query).fetchall()\n"
    "=======\n"
    '    return db.execute("SELECT * FROM accounts WHERE id = ?", (user_id,)).fetchall()\n'
    ">>>>>>> REPLACE\n"
)


@pytest.fixture
def engine(openai_server) -> LLMEngine:
    return LLMEngine(
        "openai/test-model", api_base=openai_server.base_url, api_key="sk-test", timeout=2, backoff_base=0.01
    )


def test_engine_meets_the_protocol(engine):
    assert isinstance(engine, Engine)
    assert engine.name == "llm:openai/test-model"


def test_classify_sends_the_finding_in_json_mode_and_reads_the_verdict(engine, openai_server, tmp_path):
    answer = {"verdict": "true_positive", "confidence": 0.9, "rationale": "user_id reaches the SQL string."}
    openai_server.enqueue(reply(f"Sure, here it is:\n```json\n{json.dumps(answer)}\n```"))
    verdict = engine.classify(FINDING, CONTEXT, tmp_path)

    assert (verdict.verdict, verdict.confidence, verdict.source) == ("true_positive", 0.9, engine.name)
    sent = openai_server.requests[0].json
    assert sent["response_format"] == {"type": "json_object"}
    user = sent["messages"][1]["content"]
    assert "B608" in user and CODE in user and "user_id comes from the URL path" in user
    assert engine.last_classify is not None and engine.last_classify[0] == prompt_hash("classify")


def test_classify_without_a_verdict_raises(engine, openai_server, tmp_path):
    openai_server.enqueue(reply("I am not sure what you mean."))
    with pytest.raises(ModelError, match="no JSON object with a verdict"):
        engine.classify(FINDING, CONTEXT, tmp_path)


def test_draft_returns_edits_rationale_and_provenance(engine, openai_server, tmp_path):
    openai_server.enqueue(reply(FIX_REPLY, usage={"prompt_tokens": 300, "completion_tokens": 60}))
    draft = engine.draft(FINDING, CONTEXT, tmp_path)

    assert draft.error is None
    assert [(e.path, e.create) for e in draft.edits] == [("bank/store.py", False)]
    assert draft.edits[0].search in CODE and "?" in draft.edits[0].replace
    assert draft.rationale == FIX_REPLY.split("\n\n")[0]
    assert draft.raw_reply == FIX_REPLY
    assert draft.prompt_hash == prompt_hash("draft")
    assert (draft.usage.prompt_tokens, draft.usage.completion_tokens) == (300, 60)
    assert draft.model_params["model"] == "openai/test-model" and draft.model_params["temperature"] == 0.0
    assert "response_format" not in openai_server.requests[0].json  # edits are plain text


def test_reply_without_edit_blocks_is_a_draft_error_with_the_reply_kept(engine, openai_server, tmp_path):
    openai_server.enqueue(reply("You should use parameterised queries here."))
    draft = engine.draft(FINDING, CONTEXT, tmp_path)
    assert draft.edits == [] and draft.error and "SEARCH" in draft.error
    assert draft.raw_reply == "You should use parameterised queries here."
    assert draft.prompt_hash == prompt_hash("draft")


def test_repair_round_sends_failure_and_previous_reply_with_secrets_redacted(engine, openai_server, tmp_path):
    secret = "Zq8vN3kP0wLx7rT2mY5bC9dF"
    failure = f'test_lookup failed: AssertionError\n    db_password = "{secret}"\n'
    feedback = Feedback(attempt=1, previous_reply="my earlier answer", failure=failure)
    openai_server.enqueue(reply(FIX_REPLY))
    draft = engine.draft(FINDING, CONTEXT, tmp_path, feedback=feedback)

    assert draft.prompt_hash == prompt_hash("repair") and len(draft.edits) == 1
    body = openai_server.requests[0].body
    assert secret.encode() not in body
    user = openai_server.requests[0].json["messages"][1]["content"]
    assert "test_lookup failed: AssertionError" in user and "my earlier answer" in user


def test_reply_cut_off_twice_is_a_draft_error(engine, openai_server, tmp_path):
    openai_server.enqueue(
        truncated("bank/store.py\n<<<<<<< SEARCH\n"), truncated("bank/store.py\n<<<<<<< SEA")
    )
    small = LLMEngine("openai/test-model", api_base=openai_server.base_url, api_key="sk-test", max_tokens=100)
    draft = small.draft(FINDING, CONTEXT, tmp_path)
    assert draft.edits == [] and "max_tokens=200" in (draft.error or "")
    assert draft.raw_reply == "bank/store.py\n<<<<<<< SEA"
    assert draft.usage.calls == 2


def test_cached_engine_repeats_an_answer_for_free(openai_server, tmp_path):
    cache = MemoryCache()
    engine = LLMEngine("openai/test-model", api_base=openai_server.base_url, api_key="sk-test", cache=cache)
    openai_server.enqueue(reply(FIX_REPLY))
    first = engine.draft(FINDING, CONTEXT, tmp_path)
    second = engine.draft(FINDING, CONTEXT, tmp_path)
    assert second.edits == first.edits and len(openai_server.requests) == 1
    assert second.usage.cached_calls == 1 and second.usage.cost_usd == 0.0
    assert engine.usage.calls == 1 and engine.usage.cached_calls == 1


def test_endpoint_down_raises_one_line(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    engine = LLMEngine(
        "openai/test-model", api_base=f"http://127.0.0.1:{port}/v1", api_key="k", max_retries=0
    )
    with pytest.raises(
        ModelError, match=rf"^model endpoint http://127.0.0.1:{port}/v1 is unreachable: connection"
    ):
        engine.draft(FINDING, CONTEXT, tmp_path)


def test_real_recorded_reply_yields_its_edits_and_its_prose(engine, openai_server, tmp_path):
    sample = SHARED / "model-edit-samples" / "aider-transcript-semantic-search-replace.md"
    if not sample.is_file():
        pytest.skip("../shared/model-edit-samples is not beside the checkout")
    text = sample.read_text(encoding="utf-8")
    blocks = len(re.findall(r"^<<<<<<< ORIGINAL$", text, re.MULTILINE))
    context = Context(
        finding_id="fp-1",
        snippets=[CodeSnippet(label="file", path="aider/coder.py", start_line=1, end_line=2, text="x = 1\n")],
    )
    openai_server.enqueue(reply(text))
    draft = engine.draft(FINDING, context, tmp_path)

    assert draft.error is None and len(draft.edits) == blocks > 0
    assert {e.path for e in draft.edits} == {"aider/coder.py"}
    assert (
        "<<<<<<<" not in draft.rationale
        and ">>>>>>>" not in draft.rationale
        and "=======" not in draft.rationale
    )
    last_prose = text.rsplit(">>>>>>> UPDATED\n```\n", 1)[1].strip().split("\n")[0]
    assert last_prose in draft.rationale


def test_prose_outside_edits_drops_fenced_blocks_and_their_paths():
    reply_text = (
        "Intro line.\n\n```python\napp/x.py\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n```\n\nOutro."
    )
    assert prose_outside_edits(reply_text) == "Intro line.\n\nOutro."


def test_prose_before_a_unified_diff_is_kept_without_the_fence():
    reply_text = "Use a bound parameter.\n```diff\n--- a/app/x.py\n+++ b/app/x.py\n@@ -1 +1 @@\n-a\n+b\n```\n"
    assert prose_outside_edits(reply_text) == "Use a bound parameter."
