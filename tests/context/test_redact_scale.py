"""Redaction works in time linear in the text on hostile shapes: a 200,000-character unbroken word of each kind
that used to make a pattern re-scan the word from every start position (quadratic: 10k characters took 4.7 s,
100k more than 300 s). The timeout below is a generous bound the old code could not meet at this size, not a
performance target; evals/perf/redaction_scale.py measures the real times and their ratio."""

from __future__ import annotations

import pytest

from agent.context.redact import Redactor

SIZE = 200_000
SHAPES = ["a", "_", "a1", "a.", "a-", "a$", "eyJ-", "eyJabcde.", "a://", "x: b, ", "aaaa='",
          "-----BEGIN PRIVATE KEY-----", "sk_live_a-"]
SECRET = "S3cr3t-" + "Vq9Lm2Xw"  # assembled at run time: this file does not look like it leaks a password


@pytest.mark.timeout(60)
def test_long_unbroken_words_redact_in_bounded_time_and_secrets_around_them_are_still_found():
    for unit in SHAPES:
        word = (unit * (SIZE // len(unit) + 1))[:SIZE]
        text = f'{word}\npassword = "{SECRET}"\n--db-password="{SECRET}x"\n{word}'
        for path in (None, "settings.env"):
            result = Redactor().redact(text, path)
            assert SECRET not in result.text, unit
            assert result.text.count(":password»") == 2, unit


def test_an_assignment_on_the_line_after_a_colon_is_still_found():
    """`if x:` followed by `password = "..."` on the next line: the type-annotation part of the pattern used to
    run across the newline, match `x: password = "..."` as one assignment to `x`, and leak the password."""
    text = f'def f(x):\n    if x:\n        password = "{SECRET}"\n    else:\n        token = "{SECRET}y"\n'
    result = Redactor().redact(text)
    assert SECRET not in result.text and result.count == 2
