"""Spend control for model calls: estimate what the next call could cost, and stop before a budget is crossed.

A `SpendGuard` is shared by every call of one run. The client asks it before each request that actually leaves
the machine (cache hits are free and never checked): the estimate is the prompt's tokens (counted offline with
tiktoken, plus a small per-message overhead) priced at the model's input rate, plus `max_tokens × n` at its
output rate, from litellm's local cost map. When spent + estimate would exceed the budget, `BudgetExceededError`
stops the run *before* the call. Models litellm has no price for cannot be limited; the guard says so once.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from agent.llm.errors import ModelUnavailableError
from agent.models import Usage

log = logging.getLogger("suture.llm")
MESSAGE_OVERHEAD_TOKENS = 4  # role and framing tokens per chat message (OpenAI's documented rule of thumb)


class BudgetExceededError(ModelUnavailableError):
    """The next model call could cross the spending budget: the run stops here, before the call."""


@dataclass(frozen=True)
class CallEstimate:
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    cost_known: bool


def estimate_call(model: str, messages: list[dict], max_tokens: int, n: int = 1) -> CallEstimate:
    """The most a call could cost: every prompt token plus `max_tokens` per choice, at litellm's local prices."""
    from agent.context.budget import count_tokens
    from agent.llm import _litellm

    prompt = sum(count_tokens(str(m.get("content") or ""), model) + MESSAGE_OVERHEAD_TOKENS for m in messages)
    completion = max_tokens * max(1, n)
    cost, known = _litellm.estimate_cost(model, prompt, completion)
    return CallEstimate(prompt, completion, cost, known)


@dataclass
class SpendGuard:
    """Running spend of one run against an optional budget in USD (None = no limit, spend is still counted)."""

    budget_usd: float | None = None
    spent_usd: float = 0.0
    calls: int = 0
    notes: list[str] = field(default_factory=list)  # things to tell the user once (e.g. unknown prices)
    _unpriced: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # calls in flight (one per thread): their estimated cost counts against the budget until they are recorded,
    # so parallel workers cannot all pass the check on the same remaining dollars
    _reserved: dict[int, float] = field(default_factory=dict, repr=False)

    def check(self, model: str, messages: list[dict], max_tokens: int, n: int = 1) -> CallEstimate | None:
        """Raise BudgetExceededError if this call could push the spend over the budget; else return the estimate."""
        if self.budget_usd is None:
            return None
        estimate = estimate_call(model, messages, max_tokens, n)
        with self._lock:
            if not estimate.cost_known:
                self._note_unpriced(model)
                return estimate
            me = threading.get_ident()
            in_flight = sum(cost for thread, cost in self._reserved.items() if thread != me)
            if self.spent_usd + in_flight + estimate.cost_usd > self.budget_usd:
                raise BudgetExceededError(
                    f"budget of ${self.budget_usd:g} reached: ${self.spent_usd:.4f} spent in {self.calls} "
                    f"call(s), and the next call to {model} could cost up to ${estimate.cost_usd:.4f} "
                    f"({estimate.prompt_tokens} prompt + {estimate.completion_tokens} completion tokens); "
                    "stopped before it. Raise --budget-usd to go on (answers so far are cached)"
                )
            self._reserved[me] = estimate.cost_usd
        return estimate

    def record(self, usage: Usage) -> None:
        """Count what a finished call (or a failed one that still billed tokens) actually cost."""
        with self._lock:
            self._reserved.pop(threading.get_ident(), None)
            self.spent_usd += usage.cost_usd
            self.calls += usage.calls

    def _note_unpriced(self, model: str) -> None:
        if model in self._unpriced:
            return
        self._unpriced.add(model)
        note = (f"litellm has no price for {model}: its calls are counted as $0 and --budget-usd cannot "
                "limit them")
        self.notes.append(note)
        log.warning(note)
