"""Reading Retry-After in the forms servers send: seconds, HTTP dates, and OpenAI's retry-after-ms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx

from agent.llm._litellm import _retry_after


def _response(**headers: str) -> httpx.Response:
    return httpx.Response(429, headers=headers)


def test_seconds_milliseconds_and_absent():
    assert _retry_after(_response(**{"retry-after": "7"})) == 7.0
    assert _retry_after(_response(**{"retry-after-ms": "1500", "retry-after": "9"})) == 1.5
    assert _retry_after(_response()) is None
    assert _retry_after(None) is None


def test_http_date_becomes_seconds_from_now():
    when = datetime.now(UTC) + timedelta(seconds=30)
    seconds = _retry_after(_response(**{"retry-after": format_datetime(when, usegmt=True)}))
    assert seconds is not None and 25 <= seconds <= 31


def test_past_dates_and_garbage_do_not_wait():
    past = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert _retry_after(_response(**{"retry-after": past})) == 0.0
    assert _retry_after(_response(**{"retry-after": "soon-ish"})) is None
