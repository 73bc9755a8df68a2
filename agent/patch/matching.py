"""Find where a SEARCH block sits in a file, forgiving the ways models misquote code.

Works on lines of any text file. Tiers run from strict to loose and stop at the first tier that finds anything:
exact lines; lines equal after dropping trailing whitespace; the whole block indented by a different amount
(the replacement is re-indented by the same offset); lines equal after collapsing all runs of whitespace.
If none match and the block starts or ends with blank lines, those are dropped and the tiers run again (models
add stray blank lines at block edges). Callers decide what to do with zero or several matches; this module
also finds the lines most similar to a SEARCH block that matched nothing, for the model's repair prompt.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

TIERS = ("exact", "trailing whitespace", "indentation", "whitespace")  # strict to loose


@dataclass(frozen=True)
class Match:
    start: int  # first matched file line, 0-based
    end: int  # one past the last matched file line
    replacement: list[str]
    tier: str


def split_block(text: str) -> list[str]:
    """The lines of a SEARCH/REPLACE text (LF or CRLF), without their endings."""
    if not text:
        return []
    lines = text.replace("\r\n", "\n").split("\n")
    return lines[:-1] if lines[-1] == "" else lines


def find_matches(file_lines: list[str], search: list[str], replace: list[str]) -> list[Match]:
    """All places `search` matches, from the strictest tier that finds any; [] when nothing matches."""
    matches = _run_tiers(file_lines, search, replace)
    if matches:
        return matches
    trimmed_search, trimmed_replace = _trim_blank_edges(search, replace)
    if trimmed_search and trimmed_search != search:
        return [
            Match(m.start, m.end, m.replacement, m.tier + ", stray blank lines")
            for m in _run_tiers(file_lines, trimmed_search, trimmed_replace)
        ]
    return []


def _run_tiers(file_lines: list[str], search: list[str], replace: list[str]) -> list[Match]:
    if not search:
        return []
    for tier, key in (("exact", _same), ("trailing whitespace", str.rstrip), ("whitespace", _collapse)):
        if tier == "whitespace":
            reindented = _reindented_matches(file_lines, search, replace)
            if reindented:
                return reindented
        starts = _keyed_starts(file_lines, search, key)
        if starts:
            return [
                Match(s, s + len(search), _shifted(replace, search, file_lines[s:]), tier) for s in starts
            ]
    return []


def _shifted(replace: list[str], search: list[str], file_from_match: list[str]) -> list[str]:
    """The replacement moved by the indentation the file has and the SEARCH block lacked (or had extra)."""
    pairs = [(s, f) for s, f in zip(search, file_from_match) if s.strip()]
    if not pairs:
        return list(replace)
    have, wanted = _leading(pairs[0][1]), _leading(pairs[0][0])
    if have == wanted:
        return list(replace)
    if have.startswith(wanted):
        extra = have[len(wanted) :]
        return [extra + line if line.strip() else line for line in replace]
    if wanted.startswith(have):
        surplus = wanted[len(have) :]
        return [line.removeprefix(surplus) for line in replace]
    return list(replace)


def _same(line: str) -> str:
    return line


def _collapse(line: str) -> str:
    return " ".join(line.split())


def _keyed_starts(file_lines: list[str], search: list[str], key: Callable[[str], str]) -> list[int]:
    keyed_file = [key(line) for line in file_lines]
    keyed_search = [key(line) for line in search]
    size = len(keyed_search)
    first = keyed_search[0]
    return [
        start
        for start in range(len(keyed_file) - size + 1)
        if keyed_file[start] == first and keyed_file[start : start + size] == keyed_search
    ]


def _leading(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _reindented_matches(file_lines: list[str], search: list[str], replace: list[str]) -> list[Match]:
    """The block matches once a common indentation prefix is swapped for the file's own."""
    solid = [line for line in search + replace if line.strip()]
    if not any(line.strip() for line in search):
        return []
    depth = min(len(_leading(line)) for line in solid)
    ded_search = [line[depth:].rstrip() if line.strip() else "" for line in search]
    ded_replace = [line[depth:].rstrip() if line.strip() else "" for line in replace]
    matches: list[Match] = []
    for start in range(len(file_lines) - len(search) + 1):
        prefix = _common_prefix(file_lines[start : start + len(search)], ded_search)
        if prefix is None:
            continue
        replacement = [prefix + line if line else "" for line in ded_replace]
        matches.append(Match(start, start + len(search), replacement, "indentation"))
    return matches


def _common_prefix(window: list[str], dedented: list[str]) -> str | None:
    prefix: str | None = None
    for file_line, wanted in zip(window, dedented):
        have = file_line.rstrip()
        if not wanted:
            if have.strip():
                return None
            continue
        if not have.endswith(wanted):
            return None
        head = have[: len(have) - len(wanted)]
        if head.strip() or (prefix is not None and head != prefix):
            return None
        prefix = head
    return prefix


def _trim_blank_edges(search: list[str], replace: list[str]) -> tuple[list[str], list[str]]:
    def leading_blanks(lines: list[str]) -> int:
        count = 0
        while count < len(lines) and not lines[count].strip():
            count += 1
        return count

    head = leading_blanks(search)
    tail = leading_blanks(search[::-1]) if head < len(search) else 0
    new_search = search[head : len(search) - tail]
    head_r = min(head, leading_blanks(replace))
    tail_r = min(tail, leading_blanks(replace[::-1]))
    new_replace = replace[head_r : len(replace) - tail_r] if head_r + tail_r < len(replace) else []
    return new_search, new_replace


def closest_lines(
    file_lines: list[str], search: list[str], window_limit: int = 5
) -> tuple[int, int, float] | None:
    """(start, end, similarity) of the file window most like `search`; None for an empty file or block."""
    size = len(search)
    if not file_lines or not search:
        return None
    size = min(size, len(file_lines))
    wanted = {line.strip() for line in search if line.strip()}
    hits = [1 if line.strip() in wanted else 0 for line in file_lines]
    prefix = [0]
    for hit in hits:
        prefix.append(prefix[-1] + hit)
    starts = range(len(file_lines) - size + 1)
    scored = sorted(starts, key=lambda s: (-(prefix[s + size] - prefix[s]), s))
    if prefix[-1] == 0 and len(file_lines) * size > 20_000:
        return None  # no line in common and too big to compare every window
    candidates = scored[:window_limit] if prefix[-1] else list(starts)
    target = "\n".join(line.strip() for line in search)
    best: tuple[int, int, float] | None = None
    for start in candidates:
        window = "\n".join(line.strip() for line in file_lines[start : start + size])
        ratio = difflib.SequenceMatcher(None, target, window, autojunk=False).ratio()
        if best is None or ratio > best[2]:
            best = (start, start + size, ratio)
    return best
