"""Talking to models: the only package that imports litellm (lazily, on the first call).

Public surface: `complete(ModelRequest) -> ModelReply` (retries, timeouts, cost, cache), the `ResponseCache`
protocol with `MemoryCache` and `cache_key`, prompt rendering (`render`, `prompt_hash`, `prompts_dir`),
verdict parsing (`parse_verdict`) and the errors `ModelError`, `ModelTruncatedError`, `PromptError`.
Importing this package is cheap: litellm loads only when a request is actually sent.
"""

from agent.llm.cache import MemoryCache, ResponseCache, cache_key
from agent.llm.client import JSON_OBJECT, ModelReply, ModelRequest, complete, concurrency, set_concurrency
from agent.llm.errors import ModelError, ModelTruncatedError, ModelUnavailableError, PromptError
from agent.llm.prompts import prompt_hash, prompts_dir, render
from agent.llm.verdict import parse_verdict

__all__ = [
    "JSON_OBJECT",
    "MemoryCache",
    "ModelError",
    "ModelReply",
    "ModelRequest",
    "ModelTruncatedError",
    "ModelUnavailableError",
    "PromptError",
    "ResponseCache",
    "cache_key",
    "complete",
    "concurrency",
    "parse_verdict",
    "prompt_hash",
    "prompts_dir",
    "render",
    "set_concurrency",
]
