"""`shell_command.argv_fits`: whether `argv_code` writes an argument list (for either quote) or raises, without
writing it (the quick-win check only needs the yes/no)."""

from __future__ import annotations

import random

from agent.engines.builtin.fixers.shell_command import argv_fits, with_end_of_options
from agent.engines.builtin.fixers.shell_split import UnsupportedCommand, Value, argv_code

CODES = ["name", "a.b", "d['k']", 'd["k"]', "f('x')", "s.replace('\"', '')", "x\\y", "(a\nb)", "{1: 2}[1]", "n"]
TEXTS = ["", "-", "--out=", "a b", "'", '"', "{", "}", "\\", "x"]


def _value(rng: random.Random) -> Value:
    return Value(rng.choice(CODES), rng.random() < 0.5, rng.choice([None, None, "r", "s"]),
                 rng.choice([None, None, ">10"]), rng.random() < 0.5)


def _fits(words) -> bool:
    results = []
    for quote in ('"', "'"):
        try:
            argv_code(words, quote)
            results.append(True)
        except UnsupportedCommand:
            results.append(False)
    assert results[0] == results[1]  # either quote: the other is tried inside
    return results[0]


def test_argv_fits_is_whether_argv_code_writes_the_list() -> None:
    rng = random.Random(3)
    seen = set()
    for _ in range(4000):
        words = [["ls"]] + [[rng.choice(TEXTS) if rng.random() < 0.5 else _value(rng) for _ in range(rng.randint(1, 3))]
                            for _ in range(rng.randint(1, 3))]
        expected = _fits(words)
        assert argv_fits(words) == expected, words
        assert argv_fits(with_end_of_options(words)) == _fits(with_end_of_options(words)) == expected
        seen.add(expected)
    assert seen == {True, False}
    for code in CODES:  # a lone value without conversion always fits; with text around it, the quotes decide
        assert argv_fits([["echo"], [Value(code, True)]])
        assert argv_fits([["echo"], ["-", Value(code, True)]]) == _fits([["echo"], ["-", Value(code, True)]])
