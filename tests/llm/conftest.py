"""Fixtures for LLM tests: the scripted server and a request builder with short timeouts and backoffs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agent.llm import client
from agent.llm.client import ModelRequest
from tests.fakes.openai_server import (
    ScriptedOpenAIServer,
    openai_server,  # noqa: F401  (fixture re-exported for this folder)
)

TEST_MODEL = "openai/test-model"
TEST_KEY = "sk-test"


@pytest.fixture
def make_request(openai_server: ScriptedOpenAIServer) -> Callable[..., ModelRequest]:  # noqa: F811
    """ModelRequest aimed at the scripted server, with test-sized timeouts and waits; override any field."""

    def build(**overrides: Any) -> ModelRequest:
        fields: dict[str, Any] = {
            "model": TEST_MODEL,
            "messages": [{"role": "user", "content": "Say something in json."}],
            "api_base": openai_server.base_url,
            "api_key": TEST_KEY,
            "timeout": 2.0,
            "max_tokens": 64,
            "backoff_base": 0.01,
            "backoff_max": 0.05,
            "retry_after_max": 2.0,
        }
        fields.update(overrides)
        return ModelRequest(**fields)

    return build


@pytest.fixture
def concurrency_reset() -> Iterator[None]:
    """Restore the process-wide concurrency limit after a test changes it."""
    before = client.concurrency()
    yield
    client.set_concurrency(before)
