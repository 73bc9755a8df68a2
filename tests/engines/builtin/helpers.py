"""Helpers for the builtin engine tests: findings at a given line, as scanners report them."""

from __future__ import annotations

from agent.models import Finding, Location


def make_finding(line: int, rule_id: str = "B000", cwe: tuple[int, ...] = (), path: str = "app/module.py",
                 end_line: int | None = None, tool: str = "bandit") -> Finding:
    return Finding(
        id=f"{rule_id}-{line}",
        tool=tool,
        rule_id=rule_id,
        message="test finding",
        cwe=list(cwe),
        location=Location(path=path, start_line=line, end_line=end_line),
    )


def line_of(source: str, needle: str) -> int:
    """1-based line number of the first line containing `needle`."""
    for number, line in enumerate(source.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in source")


def load_function(source: str, name: str):
    """Run a module's source (a fixture or a fixer's output) and return one of its functions."""
    namespace: dict = {}
    exec(compile(source, f"<{name}>", "exec"), namespace)  # noqa: S102 - running the rewritten code is the test
    return namespace[name]
