"""The language seam of context gathering: what a language plugin must answer about a source file.

A plugin says which scopes enclose a line, which code to show for a finding (largest useful form first),
which imports and module-level names that code uses, who calls the enclosing function, and which tests
relate to it. Python is implemented with `ast` (python_code.py); every other file gets `LineWindowSupport`,
a window of lines around the finding. Plugins return line sets (`Excerpt`), never text: the gatherer renders
text from the file itself, so excerpts can be deduplicated against each other by line. Which plugin handles a
file is decided in language_registry.py, above every plugin.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from agent.context.repo_files import RepoFiles, split_lines


@dataclass(frozen=True)
class Scope:
    """A class or function that encloses a line. `start_line` includes decorators."""

    kind: str  # "class" | "function" | "async function"
    name: str
    qualname: str
    start_line: int
    end_line: int
    header_end_line: int  # last line of the signature (decorators + def/class line(s))


@dataclass(frozen=True)
class Excerpt:
    """Some lines of one file, with a label saying what they are."""

    label: str
    path: str
    lines: frozenset[int]

    @property
    def start_line(self) -> int:
        return min(self.lines)

    @property
    def end_line(self) -> int:
        return max(self.lines)

    def without(self, covered: Iterable[int]) -> Excerpt:
        return Excerpt(self.label, self.path, self.lines - frozenset(covered))


@dataclass
class Focus:
    """The code a finding sits in: `variants` are candidate primary excerpts, largest first."""

    path: str
    scopes: list[Scope]
    variants: list[Excerpt]
    class_context: Excerpt | None = None
    function: Scope | None = None  # the function whose callers and tests matter, if any
    notes: list[str] = field(default_factory=list)


@dataclass
class RelatedTests:
    paths: list[str] = field(default_factory=list)
    best: Excerpt | None = None


class LanguageSupport(Protocol):
    name: str

    def handles(self, path: str) -> bool: ...

    def enclosing_scopes(self, source: str, line: int) -> list[Scope]:
        """Scopes around `line`, outermost first ([] at module level)."""
        ...

    def focus(self, source: str, path: str, start_line: int, end_line: int) -> Focus: ...

    def imports_used(self, source: str, path: str, focus: Focus) -> Excerpt | None:
        """Import statements and module-level definitions the focused code refers to (only those)."""
        ...

    def find_callers(self, repo: RepoFiles, path: str, focus: Focus, limit: int) -> list[Excerpt]: ...

    def related_tests(self, repo: RepoFiles, path: str, focus: Focus, limit: int) -> RelatedTests: ...


def line_window(start: int, end: int, radius: int, total: int) -> frozenset[int]:
    """Lines start-radius .. end+radius, clipped to 1..total."""
    lo, hi = max(1, start - radius), min(total, end + radius)
    return frozenset(range(lo, hi + 1))


class LineWindowSupport:
    """Any text file: the finding's lines with `radius` lines either side; no scopes, callers or tests."""

    name = "text"

    def __init__(self, radius: int = 15) -> None:
        self.radius = radius

    def handles(self, path: str) -> bool:
        return True

    def enclosing_scopes(self, source: str, line: int) -> list[Scope]:
        return []

    def focus(self, source: str, path: str, start_line: int, end_line: int) -> Focus:
        total = max(1, len(split_lines(source)))
        wide = line_window(start_line, end_line, self.radius, total)
        narrow = line_window(start_line, end_line, min(self.radius, 5), total)
        label = f"lines around the finding (line {start_line})"
        return Focus(path, [], [Excerpt(label, path, wide), Excerpt(label, path, narrow)])

    def imports_used(self, source: str, path: str, focus: Focus) -> Excerpt | None:
        return None

    def find_callers(self, repo: RepoFiles, path: str, focus: Focus, limit: int) -> list[Excerpt]:
        return []

    def related_tests(self, repo: RepoFiles, path: str, focus: Focus, limit: int) -> RelatedTests:
        return RelatedTests()
