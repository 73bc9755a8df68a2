"""Turn an old/new pair of file texts into minimal search/replace `Edit`s.

One edit per changed hunk (line-based diff). Each SEARCH text starts as the hunk's old lines and grows by one
surrounding line at a time (before, then after) until it occurs exactly once — both as an exact substring and
line-for-line with whitespace stripped, since appliers may normalise whitespace — in the original file and in
the file as it stands after the earlier edits, so the edits apply in order. Hunks whose context would overlap are
merged.
"""

from __future__ import annotations

import difflib

from agent.errors import SutureError
from agent.models import Edit


class EditBuildError(SutureError):
    """No unique search text exists for a change (cannot happen for a real change to a non-empty file)."""


def _count_exact(text: str, needle: str) -> int:
    count, start = 0, 0
    while (index := text.find(needle, start)) != -1:
        count, start = count + 1, index + 1
    return count


def _count_normalised(lines: list[str], needle: list[str]) -> int:
    wanted = [line.strip() for line in needle]
    stripped = [line.strip() for line in lines]
    n = len(wanted)
    return sum(1 for i in range(len(stripped) - n + 1) if stripped[i:i + n] == wanted)


def _unique(texts: list[str], needle_lines: list[str]) -> bool:
    needle = "".join(needle_lines)
    if not needle.strip():
        return False
    return all(
        _count_exact(text, needle) == 1 and _count_normalised(text.splitlines(keepends=True), needle_lines) == 1
        for text in texts
    )


def _hunks(old_lines: list[str], new_lines: list[str]) -> list[tuple[int, int, int, int]]:
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    return [(i1, i2, j1, j2) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def edits_between(path: str, old: str, new: str) -> list[Edit]:
    """Search/replace edits that turn `old` into `new` when applied in order, each matching exactly once."""
    if old == new:
        return []
    if not old:
        raise EditBuildError(f"{path}: cannot anchor an edit in an empty file")
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    hunks = _hunks(old_lines, new_lines)
    edits: list[Edit] = []
    current = old
    applied_until = 0  # old-line index up to which earlier edits reach
    index = 0
    while index < len(hunks):
        i1, i2, j1, j2 = hunks[index]
        index += 1
        grow_before = True
        while not _unique([old, current], old_lines[i1:i2]):
            can_before, can_after = i1 > applied_until, i2 < len(old_lines)
            if not (can_before or can_after):
                raise EditBuildError(f"{path}: no unique search text for the change at line {i1 + 1}")
            if (grow_before and can_before) or not can_after:
                i1, j1 = i1 - 1, j1 - 1
            else:
                i2, j2 = i2 + 1, j2 + 1
            grow_before = not grow_before
            if index < len(hunks) and i2 >= hunks[index][0]:  # context reached the next hunk: merge them
                _, ni2, _, nj2 = hunks[index]
                i2, j2 = ni2, nj2
                index += 1
        search, replace = "".join(old_lines[i1:i2]), "".join(new_lines[j1:j2])
        edits.append(Edit(path=path, search=search, replace=replace))
        current = current.replace(search, replace, 1)
        applied_until = i2
    if current != new:
        raise EditBuildError(f"{path}: the edits do not reproduce the fixed file")
    return edits
