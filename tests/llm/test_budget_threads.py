"""The spend guard under parallel workers: calls in flight reserve their estimate against the budget."""

import threading

import pytest

from agent.llm.budget import BudgetExceededError, SpendGuard
from agent.models import Usage

MESSAGES = [{"role": "user", "content": "fix this " * 50}]


def test_in_flight_calls_reserve_budget_across_threads():
    guard = SpendGuard(budget_usd=1.0)
    estimate = guard.check("openai/gpt-4o", MESSAGES, 1000)
    assert estimate is not None and estimate.cost_known
    budget = estimate.cost_usd * 1.5  # room for one call in flight, not two
    guard = SpendGuard(budget_usd=budget)
    guard.check("openai/gpt-4o", MESSAGES, 1000)  # this thread's call is now in flight
    errors: list[Exception] = []

    def other_worker():
        try:
            guard.check("openai/gpt-4o", MESSAGES, 1000)
        except BudgetExceededError as exc:
            errors.append(exc)

    t = threading.Thread(target=other_worker)
    t.start()
    t.join()
    assert len(errors) == 1, "a second call in flight would cross the budget"
    guard.record(Usage(cost_usd=0.0, calls=1))  # the first call turned out free (e.g. cached upstream)
    t2 = threading.Thread(target=other_worker)
    t2.start()
    t2.join()
    assert len(errors) == 1, "once the first call is recorded its reservation is released"


def test_same_thread_retry_does_not_double_reserve():
    one = SpendGuard(budget_usd=1.0).check("openai/gpt-4o", MESSAGES, 1000).cost_usd
    guard = SpendGuard(budget_usd=one * 1.2)
    guard.check("openai/gpt-4o", MESSAGES, 1000)
    guard.check("openai/gpt-4o", MESSAGES, 1000)  # a retry of the same call, same thread: no second reservation
    guard.record(Usage(cost_usd=one, calls=1))
    with pytest.raises(BudgetExceededError, match="budget"):
        guard.check("openai/gpt-4o", MESSAGES, 1000)  # spent one, another would cross 1.2 × one
