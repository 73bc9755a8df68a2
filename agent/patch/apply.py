"""Apply search/replace edits to a checkout: all of them or none, with errors written for the model.

Works on UTF-8 text files of any language. Every edit is first applied in memory, in order (later edits to a
file see earlier ones); guards run before anything is read and again on the result; files are written only
when every edit succeeded, each through a temporary file and an atomic rename. A file's line endings (LF,
CRLF, even mixed), its byte-order mark and whether it ends with a newline are kept. An edit whose SEARCH text
matches nothing gets an `ApplyError` that quotes the closest lines with their numbers; one that matches several
places gets one listing them. Identical blocks repeated in one reply are resolved by count: if a block appears
k times and its SEARCH matches exactly k places, each place is changed once; if it matches once, the repeats
are dropped as duplicates. Both cases are reported in `ApplyResult.flags`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from agent.errors import SutureError
from agent.models import Edit
from agent.patch import guards as guard_rules
from agent.patch.diff import diff_stats, unified_diff
from agent.patch.guards import GuardConfig, GuardError
from agent.patch.matching import Match, closest_lines, find_matches, split_block

BOM = "\ufeff"


class ApplyError(SutureError):
    """An edit could not be applied; nothing was written. `str()` is the full text for the repair prompt."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message + (("\n" + details) if details else ""))
        self.summary = message
        self.details = details


@dataclass
class ApplyResult:
    changed: dict[str, tuple[str, str]]  # path -> (old text, new text); old is "" for a new file
    diff: str
    flags: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)  # paths in `changed` that did not exist before


@dataclass
class _TextFile:
    path: str
    original: str | None  # None: the file does not exist yet
    bodies: list[str] = field(default_factory=list)
    endings: list[str] = field(default_factory=list)
    bom: bool = False
    final_newline: bool = True

    @property
    def newline(self) -> str:
        crlf = sum(ending == "\r\n" for ending in self.endings)
        return "\r\n" if crlf > len(self.endings) - crlf else "\n"

    def text(self) -> str:
        if self.bodies:
            self.endings[-1] = (self.endings[-1] or self.newline) if self.final_newline else ""
        body = "".join(line + ending for line, ending in zip(self.bodies, self.endings))
        return (BOM if self.bom else "") + body


def apply_edits(
    root: Path, edits: list[Edit], guards: GuardConfig | None = None, *, write: bool = True
) -> ApplyResult:
    """Apply `edits` under `root` (all or nothing); `write=False` computes the result without touching disk."""
    config = guards or GuardConfig()
    root = Path(root)
    flags = guard_rules.check_edits(root, edits, config)
    files: dict[str, _TextFile] = {}
    done: set[int] = set()
    for index, edit in enumerate(edits):
        if index in done:
            continue
        state = files.get(edit.path) or _load(root, edit.path, config)
        files[edit.path] = state
        if edit.create or not edit.search:
            _create(state, edit, index + 1, config, flags)
            for later in _repeats(edits, index, done):
                done.add(later)
                flags.append(f"edit {later + 1} repeats edit {index + 1} and was applied once")
        else:
            _replace(state, edits, index, done, flags)
        done.add(index)
    changed: dict[str, tuple[str, str]] = {}
    for path, state in files.items():
        new = state.text()
        if new != state.original:
            changed[path] = (state.original or "", new)
    flags += guard_rules.check_changed_files(changed, config)
    created = [path for path in changed if files[path].original is None]
    diff = unified_diff({path: (files[path].original, new) for path, (_, new) in changed.items()})
    _, added, removed = diff_stats(diff)
    guard_rules.check_changed_lines(added, removed, config)
    if write:
        _write_all(root, changed)
    return ApplyResult(changed=changed, diff=diff, flags=flags, created=created)


def _load(root: Path, path: str, config: GuardConfig) -> _TextFile:
    full = guard_rules.check_path(root, path, config)
    if not full.exists():
        return _TextFile(path=path, original=None)
    try:
        data = full.read_bytes()
    except OSError as exc:
        raise ApplyError(f"{path} could not be read ({exc.strerror or exc}); nothing was changed") from exc
    guard_rules.check_file_bytes(path, data, config)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApplyError(
            f"{path} is not UTF-8 text (invalid byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "suture only edits UTF-8 text files, so it was left untouched"
        ) from exc
    state = _TextFile(path=path, original=text)
    _set_text(state, text)
    return state


def _set_text(state: _TextFile, text: str) -> None:
    state.bom = text.startswith(BOM)
    if state.bom:
        text = text[1:]
    pieces = text.split("\n")
    state.final_newline = pieces[-1] == "" and len(pieces) > 1
    if pieces[-1] == "":
        pieces.pop()
    state.bodies, state.endings = [], []
    for number, piece in enumerate(pieces):
        last_without_newline = number == len(pieces) - 1 and not state.final_newline
        if last_without_newline:
            state.bodies.append(piece)
            state.endings.append("")
        elif piece.endswith("\r"):
            state.bodies.append(piece[:-1])
            state.endings.append("\r\n")
        else:
            state.bodies.append(piece)
            state.endings.append("\n")
    if not text:
        state.final_newline = True


def _create(state: _TextFile, edit: Edit, number: int, config: GuardConfig, flags: list[str]) -> None:
    if state.original is None and not state.bodies:
        if not config.allow_new_files:
            raise GuardError(
                f"edit {number} creates {edit.path}; creating new files is not allowed for this run"
            )
        flags.append(f"creates new file {edit.path}")
    elif state.bodies:
        raise ApplyError(
            f"edit {number} ({edit.path}): SEARCH is empty, which means 'create this file', but {edit.path} "
            "already exists and is not empty; put the exact lines to change in SEARCH"
        )
    bom = state.bom
    _set_text(state, edit.replace.replace("\r\n", "\n"))
    state.bom = state.bom or bom


def _replace(state: _TextFile, edits: list[Edit], index: int, done: set[int], flags: list[str]) -> None:
    edit = edits[index]
    number = index + 1
    if state.original is None and not state.bodies:
        raise ApplyError(
            f"edit {number}: {edit.path} does not exist; to create a new file leave SEARCH empty, otherwise "
            "use the path of an existing file"
        )
    search, replace = split_block(edit.search), split_block(edit.replace)
    matches = find_matches(state.bodies, search, replace)
    repeats = _repeats(edits, index, done)
    if len(matches) == 1:
        _splice(state, matches[0])
        if matches[0].tier != "exact":
            flags.append(f"edit {number} ({edit.path}) matched after allowing for {matches[0].tier}")
        for later in repeats:
            done.add(later)
            flags.append(f"edit {later + 1} repeats edit {number} and was applied once")
        return
    if matches and len(matches) == len(repeats) + 1:
        for match in sorted(matches, key=lambda m: m.start, reverse=True):
            _splice(state, match)
        done.update(repeats)
        flags.append(f"edit {number} and its {len(repeats)} identical repeats changed {len(matches)} places")
        return
    if matches:
        starts = ", ".join(str(m.start + 1) for m in matches[:12]) + (", ..." if len(matches) > 12 else "")
        raise ApplyError(
            f"edit {number} ({edit.path}): the SEARCH text matches {len(matches)} places in {edit.path} "
            f"(starting at lines {starts}); add unchanged lines around it so it matches exactly one place"
        )
    raise _no_match_error(state, edit, number, search, replace)


def _repeats(edits: list[Edit], index: int, done: set[int]) -> list[int]:
    """Indexes of later edits identical to edits[index] that have not been handled yet."""
    return [
        later for later in range(index + 1, len(edits)) if later not in done and edits[later] == edits[index]
    ]


def _splice(state: _TextFile, match: Match) -> None:
    newline = state.newline
    touches_end = match.end == len(state.bodies)
    state.bodies[match.start : match.end] = match.replacement
    state.endings[match.start : match.end] = [newline] * len(match.replacement)
    if touches_end and state.bodies and not state.final_newline:
        state.endings[-1] = ""


def _no_match_error(
    state: _TextFile, edit: Edit, number: int, search: list[str], replace: list[str]
) -> ApplyError:
    summary = f"edit {number} ({edit.path}): the SEARCH text does not match any lines in {edit.path}"
    details: list[str] = []
    if replace and find_matches(state.bodies, replace, replace):
        details.append("The REPLACE text is already in the file: this edit may already be applied; drop it.")
    nearest = closest_lines(state.bodies, search)
    if nearest is not None and nearest[2] >= 0.3:
        start, end, _ = nearest
        width = len(str(end))
        details.append(f"The closest lines in {edit.path} are {start + 1}-{end}:")
        details.extend(f"{n + 1:>{width}} | {state.bodies[n]}" for n in range(start, end))
    details.append(
        "Copy the lines to change exactly as they are in the file (every character and the indentation) "
        "into SEARCH and send the block again."
    )
    return ApplyError(summary, "\n".join(details))


def _write_all(root: Path, changed: dict[str, tuple[str, str]]) -> None:
    """Write every changed file through a temp file + rename; on failure restore the files already replaced."""
    staged: list[tuple[Path, Path]] = []
    replaced: list[tuple[Path, bytes | None]] = []
    try:
        for path, (_, new) in changed.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".suture-", suffix=".tmp")
            with os.fdopen(handle, "wb") as out:
                out.write(new.encode("utf-8"))
            if target.exists():
                shutil.copymode(target, temp_name)
            else:
                os.chmod(temp_name, 0o644)
            staged.append((Path(temp_name), target))
        for temp, target in staged:
            previous = target.read_bytes() if target.exists() else None
            os.replace(temp, target)
            replaced.append((target, previous))
    except OSError as exc:
        for target, previous in reversed(replaced):
            if previous is None:
                target.unlink(missing_ok=True)
            else:
                target.write_bytes(previous)
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        raise ApplyError(f"could not write the edited files ({exc}); nothing was changed") from exc
