"""Turn unified diffs written by models into search/replace edits located by content.

Handles git-style and plain unified diffs in any language, fenced (```diff) or bare, with the defects model
output really has: hunk headers whose counts are wrong, `+` lines placed before the `-` lines they replace,
blank context lines that lost their leading space, missing context, prose around and between diffs, and new
files from `--- /dev/null`. Line numbers in `@@` headers are ignored on purpose: each hunk becomes an `Edit`
whose `search` is its old side (context + removed lines) and whose `replace` is its new side (context + added
lines), so the same matcher applies it wherever that text is. A well-formed diff is read with `unidiff`; when
unidiff disagrees with the tolerant reader about where hunks end (it silently drops lines past a wrong count),
the tolerant reading wins.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from agent.models import Edit
from agent.patch.search_replace import EditParseError, clean_path

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})(.*)$")
_HUNK = re.compile(r"^@@+ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@+")
_HUNK_LOOSE = re.compile(r"^@@")
_GIT_HEADER = re.compile(
    r"^(diff --git |index |new file mode |deleted file mode |similarity |rename |old mode |new mode )"
)
DEV_NULL = "/dev/null"


@dataclass
class FilePatch:
    """The edits one `---`/`+++` section of a diff makes to one file."""

    path: str
    edits: list[Edit] = field(default_factory=list)
    is_new: bool = False


@dataclass
class _Hunk:
    lines: list[tuple[str, str]] = field(default_factory=list)  # (kind in " -+", text without newline)


@dataclass
class _Section:
    old_path: str
    new_path: str
    hunks: list[_Hunk] = field(default_factory=list)


def has_unified_diff(text: str) -> bool:
    """True when the text has a `---`/`+++` header pair or an `@@ ... @@` hunk header."""
    lines = text.replace("\r\n", "\n").split("\n")
    pairs = any(a.startswith("--- ") and b.startswith("+++ ") for a, b in itertools.pairwise(lines))
    return pairs or any(_HUNK.match(line) for line in lines)


def parse_unified_diff(text: str, known_paths: list[str] | None = None) -> list[FilePatch]:
    """Each file section of every diff in `text`, in order, with its hunks as content-located edits."""
    patches: list[FilePatch] = []
    hunk_number = 0
    for chunk in _diff_chunks(text):
        for section in _read_sections(chunk, known_paths):
            patch, hunk_number = _to_file_patch(section, hunk_number)
            if patch is not None:
                patches.append(patch)
    return patches


def _diff_chunks(text: str) -> list[list[str]]:
    """The fenced blocks that hold diff text; the whole text when no fenced block does (a bare diff)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    fenced: list[list[str]] = []
    index = 0
    while index < len(lines):
        opener = _FENCE.match(lines[index])
        if not opener:
            index += 1
            continue
        fence = opener.group(1)
        body: list[str] = []
        index += 1
        while index < len(lines) and not lines[index].strip().startswith(fence[0] * len(fence)):
            body.append(lines[index])
            index += 1
        index += 1
        if has_unified_diff("\n".join(body)):
            fenced.append(body)
    return fenced or [lines]


def _read_sections(lines: list[str], known_paths: list[str] | None) -> list[_Section]:
    tolerant = _read_tolerant(lines, known_paths)
    strict = _read_with_unidiff(lines)
    if strict is not None and _same_shape(strict, tolerant):
        return strict
    return tolerant


def _read_with_unidiff(lines: list[str]) -> list[_Section] | None:
    try:
        patch_set = PatchSet("\n".join(lines) + "\n")
    except (UnidiffParseError, ValueError, IndexError):
        return None
    sections: list[_Section] = []
    for patched in patch_set:
        section = _Section(old_path=patched.source_file or "", new_path=patched.target_file or "")
        for hunk in patched:
            section.hunks.append(_Hunk([(line.line_type, line.value.rstrip("\n")) for line in hunk]))
        sections.append(section)
    return sections


def _same_shape(strict: list[_Section], tolerant: list[_Section]) -> bool:
    def shape(sections: list[_Section]) -> list[list[int]]:
        return [[sum(kind in " -+" for kind, _ in hunk.lines) for hunk in s.hunks] for s in sections]

    return bool(strict) and shape(strict) == shape(tolerant)


def _read_tolerant(lines: list[str], known_paths: list[str] | None) -> list[_Section]:
    sections: list[_Section] = []
    hunk: _Hunk | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if line.startswith("--- ") and following.startswith("+++ "):
            _close(hunk)
            hunk = None
            sections.append(_Section(old_path=line[4:], new_path=following[4:]))
            index += 2
            continue
        if _HUNK_LOOSE.match(line):
            _close(hunk)
            if not sections:
                sections.append(_implicit_section(known_paths))
            hunk = _Hunk()
            sections[-1].hunks.append(hunk)
        elif hunk is not None and (line == "" or line[0] in " -+"):
            hunk.lines.append((line[0] if line else " ", line[1:]))
        elif hunk is not None and line.startswith("\\"):
            pass  # "\ No newline at end of file": matching is by whole lines, so nothing to do
        elif _GIT_HEADER.match(line):
            _close(hunk)
            hunk = None
        else:
            _close(hunk)
            hunk = None
        index += 1
    _close(hunk)
    return sections


def _close(hunk: _Hunk | None) -> None:
    """Blank lines that end a hunk are the gap before prose or a fence, not context."""
    while hunk is not None and hunk.lines and hunk.lines[-1] == (" ", ""):
        hunk.lines.pop()


def _implicit_section(known_paths: list[str] | None) -> _Section:
    if known_paths and len(known_paths) == 1:
        return _Section(old_path=known_paths[0], new_path=known_paths[0])
    raise EditParseError(
        "the diff has an `@@` hunk before any `--- a/path` / `+++ b/path` header, so it does not say which "
        "file it changes; add the two header lines"
    )


def _diff_path(raw: str) -> str:
    path = raw.split("\t", 1)[0].strip()
    if path.startswith('"') and path.endswith('"') and len(path) > 1:
        path = path[1:-1]
    return path


def _strip_prefix(old: str, new: str) -> tuple[str, str]:
    """Drop git's a/ b/ prefixes when the diff uses them (both sides, or one side against /dev/null)."""
    old_git = old.startswith("a/") or old == DEV_NULL
    new_git = new.startswith("b/") or new == DEV_NULL
    if old_git and new_git and not (old == DEV_NULL and new == DEV_NULL):
        old = old[2:] if old != DEV_NULL else old
        new = new[2:] if new != DEV_NULL else new
    return old, new


def _to_file_patch(section: _Section, hunk_number: int) -> tuple[FilePatch | None, int]:
    old_path, new_path = _strip_prefix(_diff_path(section.old_path), _diff_path(section.new_path))
    if new_path == DEV_NULL:
        raise EditParseError(
            f"the diff deletes {clean_path(old_path)}; suture does not delete files, change its content instead"
        )
    path = clean_path(new_path)
    if not path:
        raise EditParseError("a `+++` diff header names no file; write `+++ b/path/to/file`")
    if old_path == DEV_NULL:
        content = [text for hunk in section.hunks for kind, text in hunk.lines if kind in " +"]
        hunk_number += len(section.hunks)
        replace = "".join(text + "\n" for text in content)
        return FilePatch(
            path=path, edits=[Edit(path=path, search="", replace=replace, create=True)], is_new=True
        ), (hunk_number)
    patch = FilePatch(path=path)
    for hunk in section.hunks:
        hunk_number += 1
        old_side = [text for kind, text in hunk.lines if kind in " -"]
        new_side = [text for kind, text in hunk.lines if kind in " +"]
        if old_side == new_side:
            continue  # a hunk of context only changes nothing
        if not any(text.strip() for text in old_side):
            raise EditParseError(
                f"hunk {hunk_number} (in {path}) only adds lines and quotes no unchanged or removed lines, so "
                "there is nothing to find its place by; include a few unchanged lines around the addition"
            )
        patch.edits.append(
            Edit(
                path=path,
                search="".join(t + "\n" for t in old_side),
                replace="".join(t + "\n" for t in new_side),
            )
        )
    return (patch if patch.edits else None), hunk_number
