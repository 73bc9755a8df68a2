"""Engines by name: the one place `suture fix`, `suture classify` and `suture eval` build an engine.

`build_engine(name, **options)` calls the builder registered for `name` with keyword options; a builder takes the
options it needs and ignores the rest, so a caller passes what it has (the eval harness passes the case to every
engine: only the oracle uses it). Builders import their engine when called, so naming an engine never imports
litellm. Adding an engine is one module (a `BaseEngine` subclass, agent/engines/base.py) and one entry here: a
builder that imports it and a line in `_BUILDERS`.

Options by engine:
- builtin, null, saboteur: none;
- oracle: `case` (an agent.evals.cases.EvalCase);
- llm: `model` (required), `api_base`, `temperature`, `max_tokens`, `timeout`, `cache` (any ResponseCache),
  `spend` (a SpendGuard shared by the run), and the client's `api_key`, `max_retries`, `backoff_base`,
  `retry_after_max`, `prompts_root`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.engines.base import Engine
from agent.errors import SutureError

_LLM_OPTIONS = ("api_base", "temperature", "max_tokens", "timeout", "cache", "api_key", "max_retries",
                "backoff_base", "retry_after_max", "prompts_root", "spend")


def _builtin(**_unused: Any) -> Engine:
    from agent.engines.builtin.engine import BuiltinEngine

    return BuiltinEngine()


def _llm(*, model: str | None = None, **options: Any) -> Engine:
    if not model:
        raise SutureError("the llm engine needs a model (a litellm model string, e.g. openai/gpt-4.1)")
    from agent.engines.llm import LLMEngine

    return LLMEngine(model, **{k: v for k, v in options.items() if k in _LLM_OPTIONS and v is not None})


def _oracle(*, case: Any = None, **_unused: Any) -> Engine:
    if case is None:
        raise SutureError("the oracle engine answers with an eval case's label and reference fix: it needs the case")
    from agent.evals.engines import OracleEngine

    return OracleEngine(case)


def _null(**_unused: Any) -> Engine:
    from agent.evals.engines import NullEngine

    return NullEngine()


def _saboteur(**_unused: Any) -> Engine:
    from agent.evals.engines import SaboteurEngine

    return SaboteurEngine()


_BUILDERS: dict[str, Callable[..., Engine]] = {
    "builtin": _builtin,
    "llm": _llm,
    "oracle": _oracle,
    "null": _null,
    "saboteur": _saboteur,
}
ENGINE_NAMES: tuple[str, ...] = tuple(_BUILDERS)


def build_engine(name: str, **options: Any) -> Engine:
    """The engine called `name`, built with `options` (see the module docstring); a SutureError for an unknown
    name, naming the known ones."""
    try:
        builder = _BUILDERS[name]
    except KeyError:
        raise SutureError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINE_NAMES)}") from None
    return builder(**options)
