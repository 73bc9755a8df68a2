"""Everything that touches litellm: the lazy import, capability checks, cost, and reading its exceptions.

litellm is imported here and nowhere else in suture, on first use only (it takes seconds and would fetch its cost
map from the internet unless LITELLM_LOCAL_MODEL_COST_MAP is set first). Its own retries are switched off; the
client in `client.py` owns retrying. Exceptions are read by walking the cause chain, because litellm maps
connection failures and malformed bodies onto `InternalServerError` with a made-up status 500.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import ModuleType
from typing import Any

_import_lock = threading.Lock()
_litellm: ModuleType | None = None


def load_litellm() -> ModuleType:
    """Import and configure litellm once: offline cost map, no debug banners, no retries of its own."""
    global _litellm
    if _litellm is None:
        with _import_lock:
            if _litellm is None:
                os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
                import litellm

                litellm.suppress_debug_info = True
                litellm.num_retries = 0
                if hasattr(litellm, "telemetry"):
                    litellm.telemetry = False
                _litellm = litellm
    return _litellm


def provider_of(model: str, api_base: str | None) -> tuple[str, str]:
    """(model name without provider prefix, provider) as litellm resolves them; ("", "") when it cannot."""
    litellm = load_litellm()
    try:
        name, provider, _key, _base = litellm.get_llm_provider(model=model, api_base=api_base)
    except Exception:  # noqa: BLE001 - litellm raises BadRequestError/ValueError variants for unknown providers
        return "", ""
    return name, provider or ""


def supports_json_mode(model: str, api_base: str | None) -> bool:
    """Whether `response_format={"type": "json_object"}` may be sent to this model.

    litellm decides per provider with `get_supported_openai_params`: a provider whose config lists
    "response_format" accepts it (the openai provider does for any model name, including custom api_base
    servers). `supports_response_schema` is stricter (it is about JSON *schemas*, per model from the cost map) and
    is not what json_object mode needs.
    """
    litellm = load_litellm()
    name, provider = provider_of(model, api_base)
    if not provider:
        return False
    try:
        params = litellm.get_supported_openai_params(model=name, custom_llm_provider=provider)
    except Exception:  # noqa: BLE001 - unknown provider configs raise rather than return None
        return False
    return "response_format" in (params or [])


def cost_of(response: Any) -> tuple[float, bool]:
    """(USD cost, known?) from litellm's local cost map; a model it has never heard of costs (0.0, False)."""
    litellm = load_litellm()
    try:
        return float(litellm.completion_cost(completion_response=response)), True
    except Exception:  # noqa: BLE001 - ModelNotMappedError and friends: litellm has no price for this model
        return 0.0, False


@dataclass
class CallFailure:
    """What went wrong with one HTTP call, classified for the retry loop."""

    kind: str  # "timeout" | "connection" | "malformed" | "rate_limit" | "server" | "client" | "setup"
    status: int | None
    detail: str
    retry_after: float | None = None

    @property
    def retryable(self) -> bool:
        return self.kind not in ("client", "setup")


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def classify_exception(exc: BaseException) -> CallFailure | None:
    """Classify an exception raised by `litellm.completion`; None when it is not a model-call failure at all."""
    import httpx
    import openai

    chain = _chain(exc)
    if any(isinstance(e, (openai.APITimeoutError, httpx.TimeoutException, TimeoutError)) for e in chain):
        return CallFailure("timeout", None, "timed out")
    if any(isinstance(e, json.JSONDecodeError) for e in chain):
        decode = next(e for e in chain if isinstance(e, json.JSONDecodeError))
        return CallFailure(
            "malformed", None, f"reply body is not valid JSON ({decode.msg} at char {decode.pos})"
        )
    if any(isinstance(e, (openai.APIConnectionError, httpx.TransportError)) for e in chain):
        return CallFailure("connection", None, _connection_reason(chain))
    if isinstance(exc, openai.APIStatusError):
        status = int(getattr(exc, "status_code", 0) or 0)
        response = getattr(exc, "response", None)
        detail = _error_detail(exc, response)
        if not _got_http_answer(chain, response):
            return CallFailure(
                "setup", None, detail
            )  # e.g. missing API key: litellm reports it as "HTTP 500"
        if status == 429:
            return CallFailure("rate_limit", status, detail, _retry_after(response))
        if status >= 500 or status == 408:
            return CallFailure("server", status, detail, _retry_after(response))
        return CallFailure("client", status, detail)
    return None


def _got_http_answer(chain: list[BaseException], response: Any) -> bool:
    """Whether a server really answered. litellm dresses local failures (no API key, unknown provider) as HTTP
    errors with an invented status; a real answer leaves response headers or an HTTP-level exception behind."""
    import httpx
    import openai

    if getattr(response, "headers", None):
        return True
    return any(
        isinstance(e, httpx.HTTPStatusError)
        or (isinstance(e, openai.APIStatusError) and type(e).__module__.startswith("openai"))
        for e in chain
    )


def _connection_reason(chain: list[BaseException]) -> str:
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "connection refused"
    deepest = chain[-1]
    text = str(deepest).strip() or type(deepest).__name__
    return text[0].lower() + text[1:] if text else "connection failed"


def _error_detail(exc: BaseException, response: Any) -> str:
    """The server's own error message when it sent one, else litellm's, on one line."""
    message = None
    try:
        body = response.json() if response is not None else None
        if isinstance(body, dict):
            error = body.get("error")
            message = error.get("message") if isinstance(error, dict) else error or body.get("message")
    except (ValueError, AttributeError, TypeError):
        message = None
    if not message:
        message = str(getattr(exc, "message", "") or exc).rsplit(" - ", 1)[-1]
        message = re.sub(r"^(litellm\.)?\w+Error:\s*", "", message.strip())
    one_line = " ".join(str(message).split())
    return one_line[:200]


def _retry_after(response: Any) -> float | None:
    """Seconds from Retry-After (delta-seconds or HTTP date) or retry-after-ms; None when absent or unreadable."""
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def estimate_cost(model: str, prompt_tokens: int, completion_tokens: int) -> tuple[float, bool]:
    """(USD, known?) for a call of this size from litellm's local cost map, before it is made."""
    litellm = load_litellm()
    try:
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )
    except Exception:  # noqa: BLE001 - ModelNotMappedError and friends: no price for this model
        return 0.0, False
    return float(prompt_cost) + float(completion_cost), True
