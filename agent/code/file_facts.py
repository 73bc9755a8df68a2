"""Per-run facts about a project's Python files: each file is read once and parsed once (stdlib `ast`).

Handles any project folder and any relative path a finding names. A file that is missing, unreadable, not UTF-8,
outside the folder, or not Python (`.py` / `.pyw`) has no source facts; one that does not parse keeps its header
(for the "generated code" check) and nothing else. The facts of a file:

* its first lines (`header`), its entry points (`agent.code.entry_points`) by line span, and its script entry;
* answers to line queries the static evidence needs (`agent.code.sinks`): the dead-code detail at a line, the
  sink's input on a line range; the statement at a line (`agent.code.calls.statement_at`, for grouping);
* its functions and call edges (`agent.code.calls`, for reachability through helpers);
* answers that need the file's text rather than its tree (`FileFacts.answer(key, compute)`: e.g. whether a builtin
  fixer would rewrite a finding, which credential formats a line holds).

Answers are memoized; `FactsIndex.prepare(queries)` answers every query of a file with one parse and then lets
the tree go, so memory stays bounded by the facts, not the syntax trees.

Facts are plain data (`to_json` / `from_json`) keyed by the file's content digest (sha256 of its bytes), so a
`FactsCache` (e.g. the store) can hand back the facts of an unchanged file without parsing it again. libcst is
not used here: it is for rewriting code (the fixers), not for reading facts.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from agent.code.calls import CallFacts, call_facts, module_name
from agent.code.entry_points import EntryPoint, entry_points
from agent.code.pyparse import parse_python
from agent.code.sinks import ModuleFacts, SinkFacts
from agent.gc_pause import paused_gc

PYTHON_SUFFIXES = (".py", ".pyw")
READ_AHEAD = 256  # files read and looked up in the cache per batch
# worker processes (`_WorkerPool`): used when a prepare has at least POOL_MIN_FILES files and a read-ahead batch
# at least POOL_MIN_BATCH files to parse (starting two forked workers took 23-37 ms at 100k findings; parsing and
# querying a file takes ~3 ms)
POOL_WORKERS = 2
POOL_MIN_FILES = 128
POOL_MIN_BATCH = 32
CHUNKS = 8  # tasks per worker in a batch (a batch goes largest file first: its last tasks are short)
RECEIVE_POLL_SECONDS = 1.0  # how often a wait for the workers checks that none of them died
WORKER_GC_BYTES = 8 << 20  # source a worker parses between two collections of its garbage (`_collect_garbage`)
WARM_MAX_BYTES = 256 << 20  # source `FactsIndex.warm` hands to the workers at most (all of it is in flight at once)
FACTS_VERSION = 4  # bump when what a fact means changes: cached facts of another version are ignored
# the version stored facts are kept under: FACTS_VERSION and the Python that parsed them (`ast` differs between
# Python versions, and machines sharing a PostgreSQL store may run different ones)
STORE_VERSION = FACTS_VERSION * 10_000 + sys.version_info.major * 100 + sys.version_info.minor


class FactsCache(Protocol):
    """Stored facts by (path, content digest). A cache may also offer `get_many` (a batch of lookups), `flush`
    (write what was put), and `encode_file_facts(facts) -> str` with `put_file_facts_encoded(path, digest,
    version, text)`: then the worker processes encode the facts they prepare (`_WorkerPool`)."""

    def get_file_facts(self, path: str, digest: str, version: int) -> dict[str, Any] | None: ...

    def put_file_facts(self, path: str, digest: str, version: int, facts: dict[str, Any]) -> None: ...


@dataclass
class FileFacts:
    """What one file tells the stages. `module` is the parsed tree while a caller holds it (never cached)."""

    digest: str | None = None  # None: no readable source
    header: str = ""
    parsed: bool = False
    spans: list[tuple[int, int, EntryPoint]] = field(default_factory=list)
    script: EntryPoint | None = None
    dead: dict[int, str | None] = field(default_factory=dict)
    sinks: dict[tuple[int, int], SinkFacts | None] = field(default_factory=dict)
    statements: dict[int, tuple[int, int, int, int] | None] = field(default_factory=dict)
    calls: CallFacts = field(default_factory=CallFacts)
    answers: dict[str, Any] = field(default_factory=dict)  # JSON values, keyed by the asker's own key
    module: ModuleFacts | None = field(default=None, repr=False, compare=False)
    reparse: Callable[[], ModuleFacts | None] | None = field(default=None, repr=False, compare=False)
    text: Callable[[], str] | None = field(default=None, repr=False, compare=False)
    _lines: tuple[str, list[str]] | None = field(default=None, repr=False, compare=False)

    @property
    def source_known(self) -> bool:
        return self.digest is not None

    def entry_point_at(self, line: int) -> EntryPoint | None:
        inner = [(s, e, ep) for s, e, ep in self.spans if s <= line <= e]
        if inner:
            return max(inner, key=lambda t: t[0])[2]
        return self.script

    def _module(self) -> ModuleFacts | None:
        if self.module is None and self.reparse is not None:
            self.module = self.reparse()
        return self.module

    def parsed_module(self) -> ModuleFacts | None:
        """The parsed module (its `ast` tree and text) for a query made while the facts are prepared (parsed again
        if the tree was let go), None when the file did not parse."""
        return self._module() if self.parsed else None

    def dead_code(self, line: int) -> str | None:
        """The dead-code detail at `line`, or None (also when the file did not parse, or its code there nests too
        deep to analyse)."""
        if line not in self.dead:
            module = self._module() if self.parsed else None
            self.dead[line] = _deep_none(module.dead_code, line) if module is not None else None
        return self.dead[line]

    def sink(self, first: int, last: int) -> SinkFacts | None:
        key = (first, last)
        if key not in self.sinks:
            module = self._module() if self.parsed else None
            self.sinks[key] = _deep_none(module.sink, first, last) if module is not None else None
        return self.sinks[key]

    def statement(self, line: int) -> tuple[int, int, int, int] | None:
        """`agent.code.calls.statement_at` for this file (None also when the file did not parse)."""
        if line not in self.statements:
            module = self._module() if self.parsed else None
            self.statements[line] = _deep_none(module.statement_at, line) if module is not None else None
        return self.statements[line]

    def lines(self, text: str) -> list[str]:
        """`text.splitlines()`, split once per file while the caller holds it (`FactsIndex.prepare` lets it go
        with the tree)."""
        if self._lines is None or self._lines[0] is not text:
            self._lines = (text, text.splitlines())
        return self._lines[1]

    def answer(self, key: str, compute: Callable[[str], Any]) -> Any:
        """`compute(text of the file)`, memoized (and cached with the facts) under `key`; None without readable
        source. The key must name everything the answer depends on besides the file's content."""
        if key not in self.answers:
            text = self.text() if self.text is not None else None
            if text is None:
                return None
            self.answers[key] = compute(text)
        return self.answers[key]

    def to_json(self) -> dict[str, Any]:
        return {"header": self.header, "parsed": self.parsed,
                "spans": [[s, e, ep.kind, ep.name, ep.detail] for s, e, ep in self.spans],
                "script": [self.script.kind, self.script.name, self.script.detail] if self.script else None,
                "dead": [[line, detail] for line, detail in self.dead.items()],
                "sinks": [[f, la, None if s is None else _sink_json(s)] for (f, la), s in self.sinks.items()],
                "statements": [[line, None if s is None else list(s)] for line, s in self.statements.items()],
                "functions": [list(f) for f in self.calls.functions], "edges": [list(e) for e in self.calls.edges],
                "answers": self.answers}

    @classmethod
    def from_json(cls, digest: str, data: dict[str, Any]) -> FileFacts:
        return cls(digest=digest, header=data["header"], parsed=data["parsed"],
                   spans=[(s, e, EntryPoint(k, n, d)) for s, e, k, n, d in data["spans"]],
                   script=EntryPoint(*data["script"]) if data["script"] else None,
                   dead={line: detail for line, detail in data["dead"]},
                   sinks={(f, la): None if s is None else SinkFacts(*s) for f, la, s in data["sinks"]},
                   statements={line: None if s is None else tuple(s) for line, s in data["statements"]},
                   calls=CallFacts([tuple(f) for f in data["functions"]], [tuple(e) for e in data["edges"]]),
                   answers=dict(data["answers"]))


def _ask_all(facts: FileFacts, spans: Iterable[tuple[int, int]], asks: Iterable[Callable[[FileFacts], object]]
             ) -> None:
    """The questions `FactsIndex.prepare` asks of one file: its spans' line queries, then the caller's."""
    for first, last in spans:
        facts.dead_code(first)
        facts.sink(first, last)
        facts.statement(first)
    for ask in asks:
        ask(facts)


def _same(value: Any) -> Any:
    return value


def _sink_json(s: SinkFacts) -> list[Any]:
    """A sink's fields in declaration order (`astuple` without its deep copies), keywords as a list."""
    return [s.where, s.code, s.constant, s.no_fields, s.interpolated, s.callee, s.shell, s.safe, list(s.keywords)]


def _deep_none(query: Callable[..., Any], *args: Any) -> Any:
    """`query(*args)`, or None when the code nests deeper than the analysis recurses (a generated 1,000-term
    string concatenation): no fact rather than a failed run."""
    try:
        return query(*args)
    except RecursionError:
        return None


def _sizes(facts: FileFacts) -> tuple[int, ...]:
    return len(facts.dead), len(facts.sinks), len(facts.statements), len(facts.answers)


class _Unanswered(Exception):
    """A stored fact lacks the answer to a question (`_answers_all`)."""


def _unanswered(*args: object) -> Any:
    raise _Unanswered


def _answers_all(digest: str, stored: dict[str, Any], spans: Iterable[tuple[int, int]],
                 asks: Iterable[Callable[[FileFacts], object]]) -> bool:
    """Whether the stored facts answer every question `_ask_all` would ask (no parse, no text needed); False
    also for facts that do not read back."""
    try:
        facts = FileFacts.from_json(digest, stored)
        facts.reparse, facts.text = _unanswered, _unanswered
        _ask_all(facts, spans, asks)
    except _Unanswered:
        return False
    except (KeyError, TypeError, ValueError):
        return False
    return True


def _spans_by_path(queries: Iterable[tuple[str, int, int]],
                   extra: Mapping[str, object] | None) -> dict[str, list[tuple[int, int]]]:
    """Each file's distinct (first, last) spans in the order first asked (files with `extra` questions only:
    none), in the order the files were first named."""
    spans_of: dict[str, dict[tuple[int, int], None]] = {}
    for path, first, last in queries:
        spans_of.setdefault(path, {})[(first, last)] = None
    for path in extra or {}:
        spans_of.setdefault(path, {})
    return {path: list(spans) for path, spans in spans_of.items()}


def _largest_first(files: Mapping[str, tuple[bytes, str, dict[str, Any] | None]]) -> list[_Task]:
    """(path, bytes, digest, stored facts or None) of the files, the largest first (no worker left with a big
    file at the end of a batch while the other one waits)."""
    return [(path, *file) for path, file in sorted(files.items(), key=lambda item: -len(item[1][0]))]


def decode_source(data: bytes) -> str:
    """UTF-8 text with universal newlines (as `Path.read_text` gives it)."""
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def facts_from_source(source: str, digest: str | None = None, path: str = "") -> FileFacts:
    """Parse `source` once and keep the tree on the facts (for one-off callers such as the builtin engine)."""
    return _new_facts(source, digest or hashlib.sha256(source.encode("utf-8")).hexdigest(), parse_module(source),
                      path)


def _new_facts(source: str, digest: str, module: ModuleFacts | None, path: str) -> FileFacts:
    """The facts of a file just parsed into `module` (None: it does not parse), its text kept at hand."""
    facts = FileFacts(digest=digest, header="\n".join(source.splitlines()[:5]), text=partial(_same, source))
    _fill(facts, module, path)
    return facts


def _fill(facts: FileFacts, module: ModuleFacts | None, path: str) -> None:
    """The facts every parse yields: entry points and call edges."""
    if module is not None:
        facts.parsed, facts.module = True, module
        imports = module.imports()
        facts.spans, facts.script = entry_points(module.tree, imports)
        facts.calls = call_facts(module.tree, module_name(path), imports)


def parse_module(source: str) -> ModuleFacts | None:
    try:
        return ModuleFacts(source, parse_python(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


class FactsIndex:
    """The facts of a project folder's files for one run. `reads` and `parses` count the work done (a file is
    read at most once and parsed at most once per index, unless a query arrives that `prepare` did not see after
    its tree was let go); `cached` counts files whose facts came from the cache unchanged."""

    def __init__(self, root: Path | None, cache: FactsCache | None = None) -> None:
        self.root = root.resolve() if root is not None else None
        self.cache = cache
        self._facts: dict[str, FileFacts] = {}
        self._dirty: set[str] = set()
        self._asked: set[str] = set()  # files a worker prepared in this `prepare`: their questions were asked there
        # files read by `read_ahead`: path → (bytes or None, digest, stored facts or None, looked up)
        self._read_ahead: dict[str, tuple[bytes | None, str, dict[str, Any] | None, bool]] = {}
        self._folders: dict[str, Path] = {}  # a relative folder -> where it resolves to
        self._encoded: dict[str, tuple[str, tuple[int, ...]]] = {}  # a worker's encoding of facts it prepared,
        # with their `_sizes` then (facts that grew since are encoded again)
        self.reads = 0
        self.parses = 0
        self.cached = 0

    def facts(self, path: str) -> FileFacts:
        found = self._facts.get(path)
        if found is None:
            found = self._facts[path] = self._load(path)
        return found

    def prepare(self, queries: Iterable[tuple[str, int, int]],
                progress: Callable[[int, int], None] | None = None,
                extra: Mapping[str, list[Callable[[FileFacts], object]]] | None = None) -> None:
        """Answer every (path, first line, last line) query, one file at a time: one parse per file at most, and
        no tree kept once its file's queries are answered. `extra[path]`: more questions to ask the file's facts
        while its tree and text are at hand (e.g. `FileFacts.answer` calls). `progress(done, total)` is called
        per file. The cyclic GC is paused meanwhile (trees and facts make no cycles worth collecting here).

        With many files to parse, worker processes parse them and ask their questions (`_WorkerPool`), so an
        `extra` question must keep what it learns on the facts (`FileFacts.answer`): that is what comes back (and
        the increments of `SHARED_COUNTERS`); they are not asked again here."""
        with paused_gc():
            self._prepare(queries, progress, extra)

    def _prepare(self, queries: Iterable[tuple[str, int, int]], progress: Callable[[int, int], None] | None,
                 extra: Mapping[str, list[Callable[[FileFacts], object]]] | None) -> None:
        by_path = _spans_by_path(queries, extra)
        paths = list(by_path)
        asks = extra or {}
        pool = _WorkerPool(by_path, asks, self._encoder()) if len(paths) >= POOL_MIN_FILES else None
        self._asked.clear()  # (this prepare's questions; a later prepare asks its own)
        pending: _Pending | None = None
        try:
            for done, (path, spans) in enumerate(by_path.items(), 1):
                if done % READ_AHEAD == 1:
                    if pool is None:
                        self.read_ahead(paths[done - 1:done - 1 + READ_AHEAD])
                    else:  # the next batch is queued behind this one: the workers never wait for the caller
                        if pending is None:
                            pending = self._send(pool, paths[done - 1:done - 1 + READ_AHEAD])
                        following = self._send(pool, paths[done - 1 + READ_AHEAD:done - 1 + 2 * READ_AHEAD])
                        self._receive(pool, pending)
                        pending = following
                facts = self.facts(path)
                if path not in self._asked:
                    before = _sizes(facts)
                    _ask_all(facts, spans, asks.get(path, ()))
                    if facts.digest is not None and _sizes(facts) != before:
                        self._dirty.add(path)  # new answers for cached facts: store them too
                facts.module, facts._lines = None, None
                if progress is not None:
                    progress(done, len(by_path))
        finally:
            if pool is not None:
                pool.close()
        self.save()

    def _send(self, pool: _WorkerPool, batch: list[str]) -> _Pending:
        """Read `batch` ahead and hand its files that are not in the cache to the worker processes (when there
        are enough of them to be worth it)."""
        fresh = self._fresh(batch)
        if len(fresh) < POOL_MIN_BATCH:
            return fresh, None
        return fresh, pool.send(_largest_first({path: (*file, None) for path, file in fresh.items()}))

    def _fresh(self, batch: list[str]) -> dict[str, tuple[bytes, str]]:
        """`read_ahead(batch)`, then the files of `batch` it read that the cache lacks (path -> bytes, digest)."""
        return {path: (raw, digest) for path, raw, digest, stored in self._read_batch(batch) if stored is None}

    def _read_batch(self, batch: list[str]) -> list[tuple[str, bytes, str, dict[str, Any] | None]]:
        """`read_ahead(batch)`, then each file of `batch` it read and looked up in the cache: (path, bytes,
        digest, the stored facts or None)."""
        self.read_ahead(batch)
        found = []
        for path in batch:
            ahead = self._read_ahead.get(path)
            if ahead is not None and ahead[0] is not None and (ahead[3] or self.cache is None):
                found.append((path, ahead[0], ahead[1], ahead[2]))
        return found

    def _hand_over(self, pool: _WorkerPool, paths: list[str]) -> tuple[list[Any], dict[str, str]]:
        """`warm`'s reading: the files of `paths` whose facts the cache lacks, or holds without the answer to one
        of `pool`'s questions (those go with their stored facts, which the worker adds to), read a batch at a time
        and handed to `pool` (at least POOL_MIN_BATCH at a time, at most WARM_MAX_BYTES in all); (what `send`
        returned for each hand-over, the digest of every file handed over)."""
        spans_of, asks = pool.job.spans, pool.job.asks
        sent: list[Any] = []
        digests: dict[str, str] = {}
        waiting: dict[str, tuple[bytes, str, dict[str, Any] | None]] = {}  # not handed over yet
        size = 0
        for start in range(0, len(paths), READ_AHEAD):
            batch = paths[start:start + READ_AHEAD]
            for path, raw, digest, stored in self._read_batch(batch):
                if stored is None or not _answers_all(digest, stored, spans_of[path], asks.get(path, ())):
                    waiting[path] = (raw, digest, stored)
                    size += len(raw)
            for path in batch:
                self._read_ahead.pop(path, None)  # (the bytes go to the workers: this index keeps none)
            last = start + READ_AHEAD >= len(paths) or size >= WARM_MAX_BYTES
            if len(waiting) >= POOL_MIN_BATCH or (last and sent and waiting):
                handle = pool.send(_largest_first(waiting))
                if handle is None:
                    break
                sent.append(handle)
                digests.update((path, file[1]) for path, file in waiting.items())
                waiting = {}
            if last:
                break
        return sent, digests

    def _encoder(self) -> Callable[[dict[str, Any]], str] | None:
        """The cache's `encode_file_facts` when it also takes encoded facts (`put_file_facts_encoded`), else None."""
        if getattr(self.cache, "put_file_facts_encoded", None) is None:
            return None
        return getattr(self.cache, "encode_file_facts", None)

    def warm(self, queries: Iterable[tuple[str, int, int]],
             extra: Mapping[str, list[Callable[[FileFacts], object]]] | None = None
             ) -> Callable[[bool], int] | None:
        """Start preparing, in worker processes, the facts `prepare(queries, extra=extra)` would parse, and return
        at once, so the caller's own work runs meanwhile. Calling what this returns waits for the workers and puts
        their facts in the cache (with the answers to those questions, so `prepare` then parses none of these
        files) and says how many files it stored; called with False, it stops the workers and stores nothing.

        None: nothing started, where the workers would not pay for themselves or cannot run (no cache that takes
        encoded facts, fewer than POOL_MIN_FILES files or fewer than POOL_MIN_BATCH of them missing from the
        cache, one core, no fork, other threads running). Never parses in this process: what the workers do not
        answer is left to `prepare`, as are the files beyond the first WARM_MAX_BYTES of source handed over. The
        workers run at a lower priority than the caller (`_worker_start`)."""
        by_path = _spans_by_path(queries, extra)
        encode = self._encoder()
        if encode is None or len(by_path) < POOL_MIN_FILES:
            return None
        pool = _WorkerPool(by_path, extra or {}, encode, keep_data=False, background=True)
        try:
            sent, digests = self._hand_over(pool, list(by_path))
        except BaseException:  # (a cache read that fails, an interrupt: no worker outlives the call)
            pool.close()
            raise
        if not sent:
            pool.close()
            return None

        def finish(keep: bool = True) -> int:
            """Store the workers' facts (with True), then stop them. A facts cache that cannot be written
            stores nothing and is no error: the cache is never evidence, `prepare` parses what it lacks."""
            stored = 0
            try:
                for handle in sent if keep else ():
                    for path, (_, encoded) in pool.receive(handle).items():
                        if encoded is not None:
                            self.cache.put_file_facts_encoded(  # type: ignore[union-attr]
                                path, digests[path], STORE_VERSION, encoded)
                            stored += 1
                flush = getattr(self.cache, "flush", None)
                if stored and flush is not None:
                    flush()
            except Exception:  # noqa: BLE001 - see above (e.g. the store is locked, the disk is full)
                return 0
            finally:
                pool.close()
            return stored

        return finish

    def _receive(self, pool: _WorkerPool, pending: _Pending) -> None:
        """Take the workers' facts of a batch `_send` handed them, as if `_load` and the queries had run here (a
        file a worker did not answer is left to the loop)."""
        fresh, sent = pending
        if sent is None:
            return
        answered = pool.receive(sent)
        for path in fresh:  # (in the batch's order, not the workers')
            if path not in answered:
                continue
            data, encoded = answered[path]
            if data is None:
                continue
            try:
                source = decode_source(fresh[path][0])
            except UnicodeDecodeError:
                continue
            facts = FileFacts.from_json(fresh[path][1], data)
            facts.reparse = partial(self._parse, path, source)
            facts.text = partial(_same, source)
            del self._read_ahead[path]
            self._facts[path] = facts
            self._asked.add(path)
            self.parses += 1
            self._dirty.add(path)
            if encoded is not None:
                self._encoded[path] = (encoded, _sizes(facts))

    def save(self) -> None:
        """Store the facts of files parsed in this run (the cache keeps the answers to their queries too)."""
        if self.cache is None:
            return
        for path in sorted(self._dirty):
            facts = self._facts[path]
            encoded = self._encoded.pop(path, None)
            if facts.digest is None:
                continue
            if encoded is not None and encoded[1] == _sizes(facts):  # nothing learnt since the worker's encoding
                self.cache.put_file_facts_encoded(path, facts.digest, STORE_VERSION,  # type: ignore[attr-defined]
                                                  encoded[0])
            else:
                self.cache.put_file_facts(path, facts.digest, STORE_VERSION, facts.to_json())
        self._dirty.clear()
        self._encoded.clear()
        flush = getattr(self.cache, "flush", None)
        if flush is not None:
            flush()

    def read_ahead(self, paths: Iterable[str]) -> None:
        """Read the files at `paths` that are not loaded yet and look their facts up in the cache in one batch
        (`cache.get_many`, when the cache has it), for the `facts(path)` calls to come (which parse what the
        cache lacks, one file at a time)."""
        todo = [p for p in dict.fromkeys(paths) if p not in self._facts and p not in self._read_ahead]
        get_many = getattr(self.cache, "get_many", None)
        read = {path: self._read(path) for path in todo}
        digests = {path: hashlib.sha256(data).hexdigest() for path, data in read.items() if data is not None}
        stored = get_many(list(digests.items()), STORE_VERSION) if get_many is not None and digests else {}
        for path in todo:
            digest = digests.get(path, "")
            self._read_ahead[path] = (read[path], digest, stored.get((path, digest)), get_many is not None)

    def _read(self, path: str) -> bytes | None:
        if self.root is None or not path.endswith(PYTHON_SUFFIXES):
            return None
        file = self._resolve(path)
        if not file.is_relative_to(self.root):
            return None
        try:
            data = file.read_bytes()
        except OSError:
            return None
        self.reads += 1
        return data

    def _resolve(self, path: str) -> Path:
        """`(root / path).resolve()`, each folder resolved once per index: a plain relative path (no `.`, `..` or
        empty part) to a file that is not a symbolic link resolves to its resolved folder joined with its name."""
        assert self.root is not None
        folder, _, name = path.rpartition("/")
        parts = path.split("/")
        if path.startswith("/") or "\\" in path or "" in parts or "." in parts or ".." in parts or os.path.islink(
                self.root / path):
            return (self.root / path).resolve()
        found = self._folders.get(folder)
        if found is None:
            found = self._folders[folder] = (self.root / folder).resolve()
        return found / name

    def _load(self, path: str) -> FileFacts:
        ahead = self._read_ahead.pop(path, None)
        data = ahead[0] if ahead is not None else self._read(path)
        if data is None:
            return FileFacts()
        try:
            source = decode_source(data)
        except UnicodeDecodeError:
            return FileFacts()
        if ahead is not None and ahead[3]:
            digest, stored = ahead[1], ahead[2]
        else:
            digest = hashlib.sha256(data).hexdigest()
            stored = self.cache.get_file_facts(path, digest, STORE_VERSION) if self.cache is not None else None
        if stored is not None:
            self.cached += 1
            try:
                facts = FileFacts.from_json(digest, stored)
            except (KeyError, TypeError, ValueError):  # a row that does not read back: parse the file again
                facts = None
            if facts is not None:
                facts.reparse = lambda: self._parse(path, source)
                facts.text = lambda: source
                return facts
            self.cached -= 1
        return _new_facts(source, digest, self._parse(path, source), path)

    def _parse(self, path: str, source: str) -> ModuleFacts | None:
        self.parses += 1
        self._dirty.add(path)
        return parse_module(source)


# Counters that questions asked in a worker process update (e.g. `quick_win.QUICK_WIN_STATS`): a worker sends its
# increments back with the facts, so the parent's counts are those of answering in one process.
SHARED_COUNTERS: list[Counter[str]] = []
# a batch handed to the workers: its files to parse (path -> bytes, digest), and the workers' pending answer
_Pending = tuple[dict[str, tuple[bytes, str]], Any]


class _Job(NamedTuple):
    """What the forked workers of one `FactsIndex.prepare` or `warm` need."""

    spans: Mapping[str, list[tuple[int, int]]]  # by path
    asks: Mapping[str, Sequence[Callable[[FileFacts], object]]]  # the caller's questions, by path
    encode: Callable[[dict[str, Any]], str] | None  # the cache's encoding of facts, or None
    keep_data: bool  # the facts themselves come back too, not only their encoding
    background: bool  # the workers run at a lower priority (`warm`)


_JOB: _Job | None = None
# a file handed to a worker: path, bytes, digest, and the facts the cache holds of it (None: none; else the
# worker adds the answers they lack)
_Task = tuple[str, bytes, str, dict[str, Any] | None]


class _WorkerPool:
    """Worker processes that parse files and answer `FactsIndex.prepare`'s questions about them (the machine's
    other cores: parsing and the line queries are pure Python, one core per process). The workers are forked, so
    they share the questions (`_JOB`, closures included) without pickling them; only a file's path, bytes and
    digest go in and its facts (`FileFacts.to_json`) come back, with their stored text when the cache encodes
    facts (encoded here, in parallel, rather than by the caller when it saves them). Not used, and nothing changes, where fork is not
    available, with one core, or while other threads run (a lock one of them holds would stay held in a child);
    a file a worker cannot answer is answered by the caller as before. The workers end with the prepare."""

    def __init__(self, by_path: Mapping[str, list[tuple[int, int]]],
                 asks: Mapping[str, Sequence[Callable[[FileFacts], object]]],
                 encode: Callable[[dict[str, Any]], str] | None = None, keep_data: bool = True,
                 background: bool = False) -> None:
        self.job = _Job(by_path, asks, encode, keep_data, background)
        self.pool: Any = None  # started on the first batch that has enough files to parse
        self.processes: list[Any] = []
        self.workers = 0
        self.failed = False

    def _start(self) -> bool:
        global _JOB
        context = _fork_context()
        if context is None:
            return False
        workers = min(POOL_WORKERS, os.cpu_count() or 1)
        _JOB = self.job
        try:
            self.pool, self.workers = context.Pool(workers, _worker_start, (self.job.background,)), workers
            self.processes = list(self.pool._pool)  # (the started workers: one that exits before the pool
            # ends has died; `multiprocessing.Pool` has no public handle on them)
        except (OSError, ImportError):  # no processes to be had (limits, a sandbox without semaphores)
            return False
        finally:
            _JOB = None  # the workers have their copy
        return True

    def send(self, files: list[_Task]) -> Any:
        """Start preparing the (path, bytes, digest) files; None when no worker can be started."""
        if self.pool is None and (self.failed or not self._start()):
            self.failed = True
            return None
        try:
            return self.pool.map_async(_work, files, chunksize=max(1, len(files) // (self.workers * CHUNKS)))
        except Exception:  # noqa: BLE001 - e.g. a pool whose workers could not be replaced: the caller answers
            return None

    def receive(self, sent: Any) -> dict[str, tuple[dict[str, Any] | None, str | None]]:
        """The facts (`to_json`, None without `keep_data`; and their encoding or None) of the files of a `send`
        that the workers answered; none when a worker failed, or died (killed, out of memory: the pool would
        wait for its tasks forever), so the caller answers those files itself."""
        import multiprocessing

        while True:
            try:
                results = sent.get(timeout=RECEIVE_POLL_SECONDS)
                break
            except multiprocessing.TimeoutError:
                if any(process.exitcode is not None for process in self.processes):
                    return {}
            except Exception:  # noqa: BLE001 - a worker that failed: the caller answers those files itself
                return {}
        found: dict[str, tuple[dict[str, Any] | None, str | None]] = {}
        for result in results:
            if result is not None:
                path, data, encoded, counts = result
                found[path] = (data, encoded)
                for counter, delta in zip(SHARED_COUNTERS, counts):
                    counter.update(delta)
        return found

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None


def workers_can_run() -> bool:
    """Whether worker processes could start now (see `_WorkerPool`: fork, two cores, no other thread)."""
    return _fork_context() is not None


def _fork_context() -> Any:
    """The fork start method's context where workers can run now, else None."""
    if min(POOL_WORKERS, os.cpu_count() or 1) < 2 or not _fork_safe():
        return None
    try:
        import multiprocessing

        return multiprocessing.get_context("fork")
    except (ImportError, ValueError):
        return None


def _worker_start(background: bool) -> None:
    """In a new worker: Ctrl-C left to the caller, no automatic cyclic GC, and what the parent made frozen out of
    the collections `_work` runs (see WORKER_GC_BYTES); in a background one (`FactsIndex.warm`), a lower priority, so the caller's own
    work keeps its core."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # (Ctrl-C reaches the whole process group: the caller ends us)
    gc.disable()
    gc.freeze()
    if background:
        with contextlib.suppress(OSError):
            os.nice(10)


def _fork_safe() -> bool:
    """No other thread runs (a forked child gets only the forking thread: a lock another one holds, the parse
    lock say, would never be released there)."""
    return threading.active_count() == 1


_source_since_collect = 0  # bytes of source a worker parsed since its last collection


def _collect_garbage(size: int) -> None:
    """In a worker, before parsing `size` bytes of source: collect the garbage of the files parsed before once
    WORKER_GC_BYTES of source were parsed since the last collection. A parsed module's indexes refer back to it,
    so its tree is freed only by the cyclic GC, which the workers do not run on their own: collecting costs
    about a fifth more CPU, so it runs only where memory would otherwise grow with the size of the project."""
    global _source_since_collect
    _source_since_collect += size
    if _source_since_collect > WORKER_GC_BYTES:
        _source_since_collect = size
        gc.collect()


def _work(item: _Task) -> tuple[str, dict[str, Any] | None, str | None, list[Counter[str]]] | None:
    """In a worker: what `FactsIndex._load` and `_ask_all` make of one file that is not in the cache, as JSON
    facts (and their encoding for the cache, when it encodes), with the worker's increments to
    `SHARED_COUNTERS`; None when the file is left to the caller."""
    if _JOB is None:
        return None
    path, data, digest, stored = item
    _collect_garbage(len(data))
    before = [Counter(c) for c in SHARED_COUNTERS]
    try:
        source = decode_source(data)
        if stored is None:
            facts = _new_facts(source, digest, parse_module(source), path)
        else:  # facts stored by an earlier run: its answers are kept, the questions they lack answered
            facts = FileFacts.from_json(digest, stored)
            facts.text = partial(_same, source)
            facts.module = parse_module(source) if facts.parsed else None
        _ask_all(facts, _JOB.spans.get(path, ()), _JOB.asks.get(path, ()))
        result = facts.to_json()
        encoded = _JOB.encode(result) if _JOB.encode is not None else None
    except Exception:  # noqa: BLE001 - the caller answers it (and meets the same error there)
        return None
    return path, result if _JOB.keep_data else None, encoded, [c - b for c, b in zip(SHARED_COUNTERS, before)]
