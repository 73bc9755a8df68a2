"""A run's findings without holding the run: occurrence numbers from compact keys, drafts in a temporary file.

A finding's id counts the earlier findings of its run with the same (rule, path, text) in file order
(fingerprint.finding_fingerprint's `occurrence`), so no id is final before the run's last result is read.
Holding every result's Finding until then costs several KB per result (a 200 MB log: gigabytes). Here:

- `Numbering` keeps, per result, only what the count needs: a 16-byte digest of (rule, path, text) and the
  result's (line, column, index); `occurrences()` then gives each result its number (most are 0);
- `Spill` writes each parsed result (its fields as JSON) to an anonymous temporary file as it is parsed;
- `SpilledFindings` reads them back one at a time as Findings with their final ids, each time it is iterated.

So memory grows by about 250 bytes per result, not by the findings. Classes of input: any drafts the parser
makes (sarif._Draft); the file is private to the process (unlinked at once, 0600) and read only by this module.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

from pydantic_core import PydanticSerializationError, to_json

from agent.models import Finding

# (result_index, fingerprint context, suppressed by the log, (tool, rule_id, path), Finding fields without id
# and times: a dict, or once spilled the JSON of that dict)
Record = tuple[int, str, bool, tuple[str, str, str], dict[str, Any] | bytes]


class Numbering:
    """The occurrence number of every result whose (rule, path, text) another result of the run shares.

    `compact` (a streamed run): each (rule, path, text) is kept as a 16-byte digest, so memory stays flat whatever
    the texts; otherwise as itself (the run's findings hold those strings anyway), which is quicker to key."""

    def __init__(self, compact: bool = True) -> None:
        self._compact = compact
        self._groups: dict[object, tuple[int, int, int] | list[tuple[int, int, int]]] = {}

    def add(self, result_index: int, rule_id: str, path: str, context: str, line: int, column: int) -> None:
        # repr keeps the three parts apart whatever they contain; 16 bytes: a collision takes ~2**64 tries
        key = (hashlib.blake2b(repr((rule_id, path, context)).encode(), digest_size=16).digest() if self._compact
               else (rule_id, path, context))
        member = (line, column, result_index)
        held = self._groups.get(key)
        if held is None:
            self._groups[key] = member
        elif isinstance(held, list):
            held.append(member)
        else:
            self._groups[key] = [held, member]

    def occurrences(self) -> dict[int, int]:
        """{result index: occurrence} for the results numbered 1 or more (absent: 0), in file order: by line,
        column, then position in the log (findings sharing a key share the path)."""
        numbers: dict[int, int] = {}
        for held in self._groups.values():
            if isinstance(held, list):
                for occurrence, (_line, _column, index) in enumerate(sorted(held)):
                    if occurrence:
                        numbers[index] = occurrence
        return numbers


class _PositionalReader(io.RawIOBase):
    """Reads a file descriptor from its own offset (os.pread), so several readers of one spill never clash."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd, self._offset = fd, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = os.pread(self._fd, len(buffer), self._offset)
        buffer[: len(data)] = data
        self._offset += len(data)
        return len(data)


class Spill:
    """Parsed results of one run in an anonymous temporary file (gone when the Spill is closed or collected)."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="suture-run-")  # noqa: SIM115 - lives as long as the Spill
        self.records = 0

    def add(self, record: Record) -> None:
        """Keep one record. Its fields are kept as JSON (read back as a Finding twice as fast as unpickled
        models), or pickled as they are when JSON cannot hold them (a lone surrogate)."""
        *head, fields = record
        payload: dict[str, Any] | bytes
        try:
            payload = to_json(fields)
        except PydanticSerializationError:
            payload = fields
        # one pickle per record: a shared Pickler's memo would keep every record alive
        self._file.write(pickle.dumps((*head, payload), protocol=pickle.HIGHEST_PROTOCOL))
        self.records += 1

    def finish(self) -> None:
        """No more records: flush them so readers see them all."""
        self._file.flush()

    def read(self) -> Iterator[Record]:
        """Every record, in the order added (a new reader each call)."""
        with io.BufferedReader(_PositionalReader(self._file.fileno()), 1 << 20) as stream:
            for _ in range(self.records):
                yield pickle.load(stream)

    def close(self) -> None:
        self._file.close()


class SpilledFindings:
    """A run's findings (or the results its log suppresses) as an iterable read back from its Spill: `len()` is
    known, each iteration builds the Findings anew, one at a time. Not a list: no indexing, no `+`."""

    def __init__(self, spill: Spill, suppressed: bool, count: int, build: Callable[[Record], Finding]) -> None:
        self._spill, self._suppressed, self._count, self._build = spill, suppressed, count, build

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __iter__(self) -> Iterator[Finding]:
        if not self._count:
            return
        for record in self._spill.read():
            if record[2] == self._suppressed:
                yield self._build(record)

    def __repr__(self) -> str:
        return f"<SpilledFindings: {self._count}{' suppressed' if self._suppressed else ''}>"
