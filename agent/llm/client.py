"""One chat completion against any litellm-supported model, with retries, timeouts, caching and cost.

`complete(ModelRequest) -> ModelReply` is the only way suture calls a model. It always passes a timeout, turns
off the retries of litellm and the openai SDK and retries itself (exponential backoff with jitter on 429, 5xx,
timeouts, dropped connections and malformed bodies, honouring a capped Retry-After), retries once with a doubled
max_tokens when a reply is cut off, and limits how many calls run at once across threads. Failures become one
`ModelError` line naming the endpoint and what happened.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from agent.llm import _litellm
from agent.llm.cache import ResponseCache, cache_key
from agent.llm.errors import ModelError, ModelTruncatedError, ModelUnavailableError
from agent.models import Usage

JSON_OBJECT = {"type": "json_object"}
DEFAULT_CONCURRENCY = 4
CONCURRENCY_ENV = "SUTURE_LLM_CONCURRENCY"


@dataclass(frozen=True)
class ModelRequest:
    """A chat completion request. `model` is any litellm model string, e.g. "openai/gpt-4.1" or "ollama/qwen2.5".

    `api_key=None` lets litellm read the provider's usual environment variable. `response_format` is a wish:
    it is only sent when litellm says the provider accepts it (see `_litellm.supports_json_mode`).
    `backoff_base`, `backoff_max` and `retry_after_max` (seconds) shape the waits between retries.
    """

    model: str
    messages: list[dict[str, Any]]
    temperature: float = 0.0
    max_tokens: int = 2048
    n: int = 1
    response_format: dict[str, Any] | None = None
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 60.0
    max_retries: int = 2
    backoff_base: float = 1.0
    backoff_max: float = 30.0
    retry_after_max: float = 60.0
    sample: int = 0  # which of several independent samples this is (k > 1); keys the cache, never sent

    def cache_params(self) -> dict[str, Any]:
        """Everything besides model and messages that shapes the answer (never the API key)."""
        params = {
            "api_base": self.api_base,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "n": self.n,
            "response_format": self.response_format,
        }
        if self.sample:
            params["sample"] = self.sample
        return params


@dataclass
class ModelReply:
    """The model's answer: one text per choice, why each stopped, what it cost, and what was actually sent."""

    texts: list[str]
    finish_reasons: list[str]
    usage: Usage
    cached: bool = False
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.texts[0] if self.texts else ""


# concurrency -------------------------------------------------------------------------------------------------
_slots_lock = threading.Lock()
_slots: threading.BoundedSemaphore | None = None
_slots_size = 0


def _concurrency_from_env() -> int:
    raw = os.environ.get(CONCURRENCY_ENV, "").strip()
    if not raw:
        return DEFAULT_CONCURRENCY
    if not raw.isdigit() or int(raw) < 1:
        raise ModelError(f"{CONCURRENCY_ENV} must be a whole number of at least 1, got {raw!r}")
    return int(raw)


def set_concurrency(limit: int) -> None:
    """How many model calls may run at once in this process (a setting; default 4 or $SUTURE_LLM_CONCURRENCY)."""
    global _slots, _slots_size
    if limit < 1:
        raise ModelError(f"model concurrency must be at least 1, got {limit}")
    with _slots_lock:
        _slots, _slots_size = threading.BoundedSemaphore(limit), limit


def concurrency() -> int:
    """The current limit on simultaneous model calls."""
    return _call_slots()[1]


def _call_slots() -> tuple[threading.BoundedSemaphore, int]:
    if _slots is None:
        set_concurrency(_concurrency_from_env())
    assert _slots is not None
    return _slots, _slots_size


# the call ----------------------------------------------------------------------------------------------------
BeforeCall = Callable[[ModelRequest], object]


def complete(
    request: ModelRequest, cache: ResponseCache | None = None, before_call: BeforeCall | None = None
) -> ModelReply:
    """Ask the model; serve from `cache` when an identical request was answered before (costing nothing).

    `before_call(request)` runs before every request that really goes out (not on cache hits), e.g. a budget
    check that raises to stop the call.
    """
    _check(request)
    key = cache_key(request.model, request.messages, request.cache_params()) if cache is not None else None
    if cache is not None and key is not None:
        hit = _from_cache(cache.get(key))
        if hit is not None:
            return hit
    reply = _complete_uncached(request, before_call)
    if cache is not None and key is not None:
        cache.put(key, {"texts": reply.texts, "finish_reasons": reply.finish_reasons, "params": reply.params})
    return reply


def _check(request: ModelRequest) -> None:
    if not request.model.strip():
        raise ModelError("no model configured: set a litellm model string such as 'openai/gpt-4.1'")
    if request.timeout <= 0 or request.max_tokens < 1 or request.n < 1 or request.max_retries < 0:
        raise ModelError(
            f"invalid model request: timeout={request.timeout}, max_tokens={request.max_tokens}, "
            f"n={request.n}, max_retries={request.max_retries}"
        )


def _from_cache(value: dict | None) -> ModelReply | None:
    if not value or not isinstance(value.get("texts"), list):
        return None
    texts = [str(t) for t in value["texts"]]
    reasons = [str(r) for r in value.get("finish_reasons") or ["stop"] * len(texts)]
    return ModelReply(
        texts=texts,
        finish_reasons=reasons,
        usage=Usage(cached_calls=1, cost_usd=0.0),
        cached=True,
        params=dict(value.get("params") or {}),
    )


def _complete_uncached(request: ModelRequest, before_call: BeforeCall | None = None) -> ModelReply:
    if before_call is not None:
        before_call(request)
    reply = _call_with_retries(request)
    if "length" not in reply.finish_reasons:
        return reply
    bigger = replace(request, max_tokens=request.max_tokens * 2)
    if before_call is not None:
        try:
            before_call(bigger)
        except ModelError as exc:  # e.g. the budget: keep its type, account for the call already made
            exc.usage = reply.usage.add(exc.usage)
            raise
    try:
        second = _call_with_retries(bigger)
    except ModelError as exc:  # keep the error's type (an unreachable endpoint must still stop the run)
        exc.usage = reply.usage.add(exc.usage)
        raise
    second.usage = reply.usage.add(second.usage)
    if "length" in second.finish_reasons:
        raise ModelTruncatedError(
            f"model reply was cut off at max_tokens={bigger.max_tokens} even after doubling it from "
            f"{request.max_tokens}; raise max_tokens or send less context",
            partial_text=second.text,
            usage=second.usage,
        )
    return second


def _litellm_kwargs(request: ModelRequest) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "model": request.model,
        "messages": request.messages,
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
        "timeout": request.timeout,
        "max_retries": 0,  # the openai SDK's own retries
        "num_retries": 0,  # litellm's retry wrapper
    }
    if request.n != 1:
        kwargs["n"] = request.n
    if request.api_base:
        kwargs["api_base"] = request.api_base
    if request.api_key:
        kwargs["api_key"] = request.api_key
    if request.response_format and _litellm.supports_json_mode(request.model, request.api_base):
        kwargs["response_format"] = request.response_format
    return kwargs


def _call_with_retries(request: ModelRequest) -> ModelReply:
    litellm = _litellm.load_litellm()
    if not _litellm.provider_of(request.model, request.api_base)[1]:
        raise ModelError(
            f"litellm cannot tell which provider serves model {request.model!r}: write it as "
            "'<provider>/<model>', e.g. 'openai/gpt-4.1' or 'ollama/qwen2.5-coder'"
        )
    kwargs = _litellm_kwargs(request)
    attempts = request.max_retries + 1
    attempt = 0
    while True:
        attempt += 1
        slots, _size = _call_slots()
        try:
            with slots:
                response = litellm.completion(**kwargs)
        except Exception as exc:  # classified below; anything unrecognised is re-raised untouched
            failure = _litellm.classify_exception(exc)
            if failure is None:
                raise
            if _rejects_json_mode(failure, kwargs):
                kwargs.pop("response_format")  # the server refused JSON mode: ask again in plain text
                attempt -= 1
                continue
            if not failure.retryable or attempt >= attempts:
                unusable = failure.kind in ("connection", "setup") or failure.status in (401, 403, 404)
                error_class = ModelUnavailableError if unusable else ModelError
                raise error_class(_failure_message(request, failure, attempt)) from exc
            time.sleep(_backoff(request, attempt - 1, failure.retry_after))
            continue
        sent = {
            k: v for k, v in kwargs.items() if k not in ("messages", "api_key", "max_retries", "num_retries")
        }
        return _to_reply(request, response, sent)


def _rejects_json_mode(failure: _litellm.CallFailure, kwargs: dict[str, Any]) -> bool:
    """A 400/422 that names response_format, after we sent one: the endpoint does not do JSON mode."""
    return (
        "response_format" in kwargs
        and failure.kind == "client"
        and failure.status in (400, 422)
        and "response_format" in failure.detail.lower().replace(" ", "_")
    )


def _backoff(request: ModelRequest, attempt: int, retry_after: float | None) -> float:
    """Retry-After when the server gave one (capped), else exponential backoff with 'equal jitter'."""
    if retry_after is not None:
        return min(retry_after, request.retry_after_max)
    ceiling = min(request.backoff_max, request.backoff_base * (2**attempt))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _to_reply(request: ModelRequest, response: Any, sent: dict[str, Any]) -> ModelReply:
    choices = list(getattr(response, "choices", None) or [])
    if not choices:
        raise ModelError(f"model {request.model} returned a reply with no choices ({_where(request)})")
    texts = [str(getattr(c.message, "content", None) or "") for c in choices]
    reasons = [str(c.finish_reason or "stop") for c in choices]
    usage_in = getattr(response, "usage", None)
    cost, known = _litellm.cost_of(response)
    usage = Usage(
        prompt_tokens=int(getattr(usage_in, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage_in, "completion_tokens", 0) or 0),
        cost_usd=cost,
        cost_known=known,
        calls=1,
    )
    return ModelReply(texts=texts, finish_reasons=reasons, usage=usage, cached=False, params=dict(sent))


# messages ----------------------------------------------------------------------------------------------------
_TIMES = {1: "once", 2: "twice", 3: "three times", 4: "four times", 5: "five times"}


def _times(count: int) -> str:
    return _TIMES.get(count, f"{count} times")


def _where(request: ModelRequest) -> str:
    if request.api_base:
        return request.api_base
    _name, provider = _litellm.provider_of(request.model, None)
    return f"the {provider or 'default'} endpoint"


def _failure_message(request: ModelRequest, failure: _litellm.CallFailure, attempts: int) -> str:
    where = _where(request)
    tries = "" if attempts == 1 else f" ({_times(attempts)})"
    if failure.kind == "timeout":
        return f"model {request.model} at {where} timed out after {request.timeout:g} s{tries}"
    if failure.kind == "connection":
        return f"model endpoint {where} is unreachable: {failure.detail}{tries}"
    if failure.kind == "malformed":
        return f"model endpoint {where} sent a malformed reply: {failure.detail}{tries}"
    if failure.kind == "rate_limit":
        return f"model {request.model} was rate-limited (HTTP 429) {_times(attempts)} at {where}: {failure.detail}"
    if failure.kind == "setup":
        return f"model {request.model} could not be called: {failure.detail}"
    if failure.kind == "server":
        return f"model returned HTTP {failure.status} {_times(attempts)} ({where}): {failure.detail}"
    hint = {
        401: "; check the API key",
        403: "; check the API key",
        404: "; check the model name and api_base",
    }
    return (
        f"model endpoint {where} rejected the request with HTTP {failure.status}: {failure.detail}"
        f"{hint.get(failure.status or 0, '')}"
    )
