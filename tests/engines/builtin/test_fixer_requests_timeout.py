"""requests_timeout: module-level requests calls get timeout=30; explicit timeouts and **kwargs are declined."""

from __future__ import annotations

import textwrap

import pytest

from agent.engines.builtin.fixers.requests_timeout import RequestsTimeoutFixer
from tests.engines.builtin.helpers import line_of, make_finding

FIXER = RequestsTimeoutFixer()


def fix_at(source: str, needle: str):
    source = textwrap.dedent(source)
    result = FIXER.fix(source, make_finding(line_of(source, needle), "B113", (400,)))
    if result.new_source is not None:
        compile(result.new_source, "fixed.py", "exec")
    return source, result


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("requests.get(url)", "requests.get(url, timeout=30)"),
        ("requests.post(url, json=body, headers=h)", "requests.post(url, json=body, headers=h, timeout=30)"),
        ("requests.request('DELETE', url)", "requests.request('DELETE', url, timeout=30)"),
    ],
)
def test_calls_get_a_timeout(before: str, after: str) -> None:
    source, result = fix_at(f"import requests\n\n\ndef call(url, body, h):\n    return {before}.json()\n", "return")
    assert result.new_source == source.replace(before, after)


def test_multiline_call_in_a_class_method_with_from_import() -> None:
    source, result = fix_at('''\
        from requests import post


        class Webhook:
            def send(self, payload):
                response = post(
                    self.url,
                    json=payload,
                )
                response.raise_for_status()
        ''', "post(")
    assert result.new_source == source.replace("json=payload,\n", "json=payload,\n            timeout=30,\n")


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        ("requests.get(url, timeout=None)", "timeout=None explicitly"),
        ("requests.get(url, timeout=(3, 10))", "already passes timeout=(3, 10)"),
        ("requests.get(url, **opts)", "*args or **kwargs"),
        ("session.get(url)", "no requests.get/post/put/patch/delete/head/options/request call"),
    ],
)
def test_declines(call: str, reason: str) -> None:
    _, result = fix_at(f"import requests\nr = {call}\n", "r =")
    assert result.new_source is None and reason in result.reason
