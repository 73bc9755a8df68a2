"""Render file changes as one canonical git-style unified diff, and count what a diff changes.

Works for any text file: CRLF lines keep their CR (git treats it as content), a missing final newline gets
git's `\\ No newline at end of file` marker, new files diff from `/dev/null` with `new file mode`. Files are
emitted in path order so the same changes always give the same diff (proposals are compared and hashed by it).
"""

from __future__ import annotations

import difflib

from unidiff import PatchSet

NO_NEWLINE = "\\ No newline at end of file\n"


def unified_diff(changed: dict[str, tuple[str | None, str]], context: int = 3) -> str:
    """A git-style diff of `path -> (old text, new text)`; old text None means the file is new."""
    parts: list[str] = []
    for path in sorted(changed):
        old, new = changed[path]
        if old == new:
            continue
        parts.append(_file_diff(path, old, new, context))
    return "".join(parts)


def diff_stats(diff: str) -> tuple[int, int, int]:
    """(files, added lines, removed lines) of a unified diff."""
    if not diff.strip():
        return 0, 0, 0
    patch_set = PatchSet(diff)
    return len(patch_set), sum(f.added for f in patch_set), sum(f.removed for f in patch_set)


def _file_diff(path: str, old: str | None, new: str, context: int) -> str:
    header = [f"diff --git a/{path} b/{path}\n"]
    if old is None:
        header.append("new file mode 100644\n")
        if not new:
            return "".join(header)
    old_lines = _split_lines(old or "")
    new_lines = _split_lines(new)
    from_name = "/dev/null" if old is None else f"a/{path}"
    body = difflib.unified_diff(old_lines, new_lines, from_name, f"b/{path}", n=context)
    out = header
    for line in body:
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n" + NO_NEWLINE)
    return "".join(out)


def _split_lines(text: str) -> list[str]:
    """Lines with their endings, split on LF only (str.splitlines would also split on form feeds etc.)."""
    if not text:
        return []
    pieces = text.split("\n")
    lines = [piece + "\n" for piece in pieces[:-1]]
    if pieces[-1]:
        lines.append(pieces[-1])
    return lines
