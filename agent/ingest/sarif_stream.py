"""Read a SARIF 2.1.0 log of any size without holding its JSON in memory (ijson, with its C yajl2 backend).

`json.loads` of a 200 MB log builds several GB of Python objects. Here the file is read twice, as a stream:

1. the run skeletons: everything of each run except its `results` array (tool, rules, taxonomies,
   originalUriBaseIds, invocations, threadFlowLocations...), the number of results of each run, and the
   log's top-level fields; nesting deeper than json_limits.MAX_NESTING is refused on the way;
2. the results, one object at a time, in file order, handed to the same per-run code as a loaded log
   (`sarif.parse_sarif`): each run's `results` is a `StreamedResults`, a list whose length is known and whose
   iteration reads the next results from the file. Nothing about a result is parsed twice or differently.
   The parsed results go to a temporary file as they come (sarif_spill.py), so a run's findings are never all
   in memory: its RunParse.findings is then an iterable that reads them back.

Classes of input: any file; a log that is not UTF-8 JSON, not SARIF 2.1.0 or nested too deep gives a
SarifError. The schema is not checked (that needs the whole log); lone surrogate escapes come back as U+FFFD
or "?" (yajl's choice for a lone high surrogate), never as a str that cannot be encoded.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import ijson

from agent.ingest.json_limits import MAX_NESTING, scrub_surrogates
from agent.ingest.sarif_log import SarifError, check_log

STREAM_THRESHOLD = 64 * 1024 * 1024  # logs this large are streamed by ingest; smaller ones are loaded whole
_RESULT_PREFIX = "runs.item.results.item"
_BACKEND = ijson  # ijson picks its fastest backend: yajl2_c where its wheel has it
# yajl2_c never returns a lone surrogate (a lone high one becomes "?", a lone low one is a decoding error)
_NO_LONE_SURROGATES = ijson.backend == "yajl2_c"


class _Cursor:
    """The results of the whole log in file order, read lazily from one open file (runs are parsed in order)."""

    def __init__(self, path: Path, total: int) -> None:
        self.path, self.total = path, total
        self.position = 0  # results handed out so far
        self._file: BinaryIO | None = None
        self._items: Iterator[object] | None = None

    def take(self, start: int, count: int) -> Iterator[object]:
        if self._items is None or start < self.position:  # first use, or a run read twice: start over
            self.close()
            self._file = self.path.open("rb")
            self._items = iter(_BACKEND.items(self._file, _RESULT_PREFIX, use_float=True))
            self.position = 0
        if start > self.position:
            for _ in itertools.islice(self._items, start - self.position):
                pass
            self.position = start
        for _ in range(count):
            if self._items is None:
                return
            try:
                result = next(self._items)
            except StopIteration:
                return
            except (ijson.JSONError, UnicodeDecodeError, ValueError) as error:
                raise SarifError(f"{self.path}: cannot read result {self.position}: {_first_line(error)}") from None
            self.position += 1
            if self.position == self.total:
                self.close()  # the last result of the log: nothing more to read
            yield result if _NO_LONE_SURROGATES else scrub_surrogates(result)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file = self._items = None


class StreamedResults(list):
    """A run's `results`: `len()` is the count from the first pass; iterating reads them from the file.
    `streamed` tells parse_sarif to keep the run's parsed results in a temporary file (sarif_spill.py)."""

    streamed = True

    def __init__(self, cursor: _Cursor, start: int, count: int) -> None:
        super().__init__()
        self._cursor, self._start, self._count = cursor, start, count

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __iter__(self) -> Iterator[object]:
        return self._cursor.take(self._start, self._count)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def read_skeleton(path: Path) -> tuple[dict, list[int | None]]:
    """Pass 1: the log without results (each run's `results` left out) and each run's result count (None when
    the run has no results array). Raises SarifError for what cannot be a SARIF log."""
    counts: list[int | None] = []
    builder = ijson.ObjectBuilder()
    depth = 0
    skip_from: int | None = None  # depth of the results array being skipped
    try:
        with path.open("rb") as handle:
            for prefix, event, value in _BACKEND.parse(handle, use_float=True):
                opens = event in ("start_map", "start_array")
                if opens:
                    depth += 1
                    if depth > MAX_NESTING:
                        raise SarifError(f"{path}: JSON nested deeper than {MAX_NESTING} levels; suture reads at "
                                         f"most {MAX_NESTING}")
                elif event in ("end_map", "end_array"):
                    depth -= 1
                if skip_from is not None:
                    if depth < skip_from:  # the results array closed
                        skip_from = None
                    elif prefix == _RESULT_PREFIX and (depth == skip_from + 1 if opens else depth == skip_from
                                                        and event not in ("end_map", "end_array", "map_key")):
                        # skip_from is set only right after counts[-1] = 0, so the count is an int here
                        counts[-1] = (counts[-1] or 0) + 1  # a result starts (an object, or any other value: still a result)
                    continue
                # {"runs": [run, ...]}: a run is a value at depth 2, or a container opening depth 3
                if prefix == "runs.item" and (depth == 3 if opens else depth == 2 and event not in
                                              ("end_map", "end_array", "map_key")):
                    counts.append(None)
                if prefix == "runs.item.results" and event == "start_array" and depth == 4:
                    counts[-1] = 0
                    skip_from = depth
                    builder.event("start_array", None)  # an empty array in the skeleton, streamed later
                    builder.event("end_array", None)
                    continue
                builder.event(event, value)
    except (ijson.JSONError, UnicodeDecodeError, ValueError) as error:
        raise SarifError(f"invalid JSON in {path}: {_first_line(error)}") from None
    except OSError as error:
        raise SarifError(f"cannot read SARIF file {path}: {error.strerror or error}") from error
    if not hasattr(builder, "value"):
        raise SarifError(f"invalid JSON in {path}: the file is empty")
    log = builder.value if _NO_LONE_SURROGATES else scrub_surrogates(builder.value)
    return check_log(log, str(path)), counts


def load_streamed(path: Path) -> dict:
    """The log at `path` as `load_sarif` returns it, except that each run's `results` is a StreamedResults
    read from the file when iterated (so `parse_sarif` works on it unchanged, in bounded memory)."""
    path = Path(path)
    log, counts = read_skeleton(path)
    runs = log.get("runs")
    if isinstance(runs, list):
        cursor = _Cursor(path, total=sum(c for c in counts if c is not None))
        start = 0
        for run, count in zip(runs, counts, strict=False):
            if isinstance(run, dict) and count is not None:
                run["results"] = StreamedResults(cursor, start, count)
                start += count
    return log


def schema_view(log: dict) -> tuple[dict, bool]:
    """What `schema_problems` can check of `log`: the log itself, or for a streamed log a copy whose runs have
    empty `results` (checking every result would read the whole file into the validator); and whether results
    were left out."""
    runs = log.get("runs")
    if not isinstance(runs, list) or not any(isinstance(r, dict) and isinstance(r.get("results"), StreamedResults)
                                             for r in runs):
        return log, False
    copy = [{**r, "results": []} if isinstance(r, dict) and isinstance(r.get("results"), StreamedResults) else r
            for r in runs]
    return {**log, "runs": copy}, True
