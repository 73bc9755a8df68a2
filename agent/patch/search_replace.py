"""Parse SEARCH/REPLACE edit blocks out of a model's free-text reply.

Handles the conflict-marker edit format popularised by aider, in any language and any file type:

    path/to/file.py
    <<<<<<< SEARCH          (or the older `<<<<<<< ORIGINAL`)
    lines to find
    =======
    lines to put there
    >>>>>>> REPLACE         (or `>>>>>>> UPDATED`)

The reply is untrusted text, so the parser is tolerant of presentation (code fences around blocks, the path as
the fence's info string or as `# path`, `**path**`, `` `path` ``, `File: path` just above, CRLF, trailing
whitespace on marker lines, prose between blocks) and strict about structure: a block that is cut off, lacks its
divider or has no path it can be tied to raises `EditParseError` with a message written for the model.
Paths are returned as written (cleaned of decoration); guards.py decides whether they are acceptable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.errors import SutureError
from agent.models import Edit


class EditParseError(SutureError):
    """The model's reply could not be turned into edits; the message tells the model what to fix."""


_START = re.compile(r"^\s{0,3}<{5,9} ?(SEARCH|ORIGINAL)\b.*$", re.IGNORECASE)
_DIVIDER = re.compile(r"^\s{0,3}={5,9}\s*$")
_END = re.compile(r"^\s{0,3}>{5,9} ?(REPLACE|UPDATED)\b.*$", re.IGNORECASE)
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})\s*(\S*)\s*$")
_PATH_LABEL = re.compile(r"^(?:#+\s*)?(?:file(?:name)?|path)\s*:\s*", re.IGNORECASE)
_END_NAMES = {"SEARCH": "REPLACE", "ORIGINAL": "UPDATED"}


def has_search_replace_blocks(text: str) -> bool:
    """True when the text contains at least one SEARCH/ORIGINAL start marker line."""
    return any(_START.match(line) for line in _lines(text))


def looks_like_path(candidate: str, known_paths: list[str] | None = None) -> bool:
    """A plausible relative or absolute file path: no spaces, and a `.` or `/` in it (or a known path)."""
    if not candidate or candidate in (known_paths or []):
        return bool(candidate)
    if any(ch.isspace() for ch in candidate) or candidate.endswith((":", ",", ";")):
        return False
    return "." in candidate.strip(".") or "/" in candidate


def clean_path(raw: str) -> str:
    """Strip the decoration models put around a path: markdown emphasis, backticks, `#`, `File:`, quotes."""
    text, previous = raw.strip(), None
    while text != previous:
        previous = text
        text = _PATH_LABEL.sub("", text).lstrip("#").strip().strip("*`'\"").rstrip(":").strip()
    while text.startswith("./"):
        text = text[2:]
    return text


def resolve_known(path: str, known_paths: list[str] | None) -> str:
    """Map a bare file name to the one known path ending in it (models often drop directories)."""
    if not known_paths or path in known_paths or "/" in path:
        return path
    matches = [known for known in known_paths if known.rsplit("/", 1)[-1] == path]
    return matches[0] if len(matches) == 1 else path


@dataclass
class _Block:
    number: int
    start: int  # index of the start-marker line
    divider: int
    end: int
    marker: str  # SEARCH or ORIGINAL


def parse_search_replace(text: str, known_paths: list[str] | None = None) -> list[Edit]:
    """Every SEARCH/REPLACE block in `text`, in order, as `Edit`s; `EditParseError` if any block is malformed."""
    lines = _lines(text)
    blocks = _find_blocks(lines)
    edits: list[Edit] = []
    previous_end = -1
    previous_path: str | None = None
    for block in blocks:
        path = _path_above(lines, block.start, previous_end, known_paths)
        if path is None:
            path = _fallback_path(lines, block, previous_end, previous_path, known_paths)
        search = _join(lines[block.start + 1 : block.divider])
        replace = _join(lines[block.divider + 1 : block.end])
        if search.strip():
            path = resolve_known(path, known_paths)
        else:
            search = ""
        edits.append(Edit(path=path, search=search, replace=replace, create=not search))
        previous_end, previous_path = block.end, path
    return edits


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _join(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def _find_blocks(lines: list[str]) -> list[_Block]:
    blocks: list[_Block] = []
    index = 0
    while index < len(lines):
        start_match = _START.match(lines[index])
        if not start_match:
            index += 1
            continue
        number = len(blocks) + 1
        marker = start_match.group(1).upper()
        end_name = f"`>>>>>>> {_END_NAMES[marker]}`"
        divider: int | None = None
        cursor = index + 1
        while cursor < len(lines):
            line = lines[cursor]
            if _START.match(line):
                where = "before `=======`" if divider is None else f"before {end_name}"
                raise EditParseError(
                    f"block {number} was cut off {where} (truncated reply?): another block starts at line "
                    f"{cursor + 1} before it ends; resend every block complete"
                )
            if _DIVIDER.match(line):
                if divider is not None:
                    raise EditParseError(
                        f"block {number} has more than one `=======` divider (lines {divider + 1} and "
                        f"{cursor + 1}); split it into separate blocks"
                    )
                divider = cursor
            elif _END.match(line):
                if divider is None:
                    raise EditParseError(
                        f"block {number} has no `=======` divider between `<<<<<<< {marker}` and {end_name}"
                    )
                break
            cursor += 1
        else:
            where = "before `=======`" if divider is None else f"before {end_name}"
            raise EditParseError(f"block {number} was cut off {where} (truncated reply?); resend it complete")
        assert divider is not None
        blocks.append(_Block(number=number, start=index, divider=divider, end=cursor, marker=marker))
        index = cursor + 1
    return blocks


def _path_above(lines: list[str], start: int, floor: int, known_paths: list[str] | None) -> str | None:
    """The path written on the nearest non-blank line(s) above a block: a fence info string or a path line."""
    cursor = start - 1
    for _ in range(2):
        while cursor > floor and not lines[cursor].strip():
            cursor -= 1
        if cursor <= floor:
            return None
        fence = _FENCE.match(lines[cursor])
        if fence:
            info = clean_path(fence.group(2))
            if info and looks_like_path(info, known_paths):
                return info
            cursor -= 1
            continue
        candidate = clean_path(lines[cursor])
        return candidate if looks_like_path(candidate, known_paths) else None
    return None


def _fallback_path(
    lines: list[str],
    block: _Block,
    previous_end: int,
    previous_path: str | None,
    known_paths: list[str] | None,
) -> str:
    between = lines[previous_end + 1 : block.start] if previous_end >= 0 else []
    if previous_path is not None and all(not line.strip() or _FENCE.match(line) for line in between):
        return previous_path  # a continuation block right after the previous one, same file
    if known_paths and len(known_paths) == 1:
        return known_paths[0]
    if known_paths:
        listed = ", ".join(known_paths[:10]) + (", ..." if len(known_paths) > 10 else "")
        raise EditParseError(
            f"no file path before block {block.number} and several files are in context: {listed}; "
            "put the file path on its own line just above `<<<<<<< SEARCH`"
        )
    raise EditParseError(
        f"no file path before block {block.number}; put the file path on its own line just above "
        "`<<<<<<< SEARCH`"
    )
