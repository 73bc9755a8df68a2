"""`FactsIndex.prepare` with worker processes answers exactly what it answers in one process: the same facts for
every file (line queries, the caller's questions, entry points, call edges), the same counts, the same shared
counters; no worker outlives the prepare; and without fork (or with other threads running) it runs in-process."""

from __future__ import annotations

import json
import multiprocessing
from collections import Counter
from pathlib import Path

import pytest

import agent.code.file_facts as ff
from agent.code.file_facts import FactsIndex, FileFacts

TEMPLATE = '''import os
import subprocess
from flask import Flask
app = Flask(__name__)
CMD = ["ls", "-l"]


@app.route("/r{i}")
def handler_{i}(name):
    subprocess.run(CMD)
    os.system("echo " + name)
    if False:
        os.system(name)
    return helper_{i}(name)


def helper_{i}(value):
    query = f"SELECT * FROM t{i} WHERE id = {{value}}"
    return query.format()
'''
COUNTS: Counter[str] = Counter()


def write(root: Path, n: int) -> list[str]:
    paths = []
    for i in range(n):
        path = f"pkg{i % 3}/mod_{i}.py"
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(TEMPLATE.format(i=i) if i % 17 else "def broken(:\n", encoding="utf-8")
        paths.append(path)
    (root / "pkg0/latin1.py").write_bytes(b"x = '\xe9'\n")
    return [*paths, "pkg0/latin1.py", "missing.py"]


def ask_length(facts: FileFacts, line: int) -> None:
    def compute(text: str) -> int | None:
        COUNTS["computed"] += 1  # as `quick_win.QUICK_WIN_STATS` counts the answers it computes
        return len(text.splitlines()[line - 1]) if line <= len(text.splitlines()) else None

    facts.answer(f"len:{line}", compute)


def prepared(root: Path, paths: list[str], pool: bool, monkeypatch) -> tuple[dict, tuple, Counter]:
    monkeypatch.setattr(ff, "POOL_MIN_FILES", 1 if pool else 10**9)
    monkeypatch.setattr(ff, "POOL_MIN_BATCH", 1)
    monkeypatch.setattr(ff, "_fork_safe", lambda: True)  # the test runner may run threads of its own
    monkeypatch.setattr(ff, "SHARED_COUNTERS", [COUNTS])
    COUNTS.clear()
    index = FactsIndex(root)
    queries = [(p, line, line + (line % 2)) for p in paths for line in range(1, 22)]
    extra = {p: [lambda facts, line=line: ask_length(facts, line) for line in (2, 11, 19)] for p in paths}
    index.prepare(queries, extra=extra)
    facts = {p: index.facts(p).to_json() if index.facts(p).source_known else None for p in paths}
    return facts, (index.reads, index.parses, index.cached), Counter(COUNTS)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork here")
def test_workers_answer_what_one_process_answers(tmp_path, monkeypatch):
    paths = write(tmp_path, 60)
    alone = prepared(tmp_path, paths, False, monkeypatch)
    started = []
    start = ff._WorkerPool._start

    def spy(self):
        started.append(start(self))
        return started[-1]

    monkeypatch.setattr(ff._WorkerPool, "_start", spy)
    pooled = prepared(tmp_path, paths, True, monkeypatch)
    assert started == [True]  # the workers did run, started once
    assert pooled == alone
    assert alone[2]["computed"] == 3 * (len(paths) - 2)  # 3 answers per file with text
    assert not multiprocessing.active_children()


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork here")
def test_batches_queued_behind_one_another_answer_what_one_process_answers(tmp_path, monkeypatch):
    """Several read-ahead batches, two in the workers' queue at a time (the last one short), each handed over
    largest file first in small tasks: the same facts, counts and counters as in one process."""
    paths = write(tmp_path, 60)
    (tmp_path / "pkg1/big.py").write_text("\n".join(TEMPLATE.format(i=100 + i) for i in range(20)))
    paths.insert(5, "pkg1/big.py")
    monkeypatch.setattr(ff, "READ_AHEAD", 7)
    alone = prepared(tmp_path, paths, False, monkeypatch)
    sent: list[list[str]] = []
    send = ff._WorkerPool.send

    def spy(self, files):
        sent.append([path for path, *_ in files])
        return send(self, files)

    monkeypatch.setattr(ff._WorkerPool, "send", spy)
    assert prepared(tmp_path, paths, True, monkeypatch) == alone
    assert len(sent) == 9 and sent[0][0] == "pkg1/big.py"  # (63 paths, 7 a batch)
    assert sorted(path for batch in sent for path in batch) == sorted(p for p in paths if p != "missing.py")
    assert not multiprocessing.active_children()


class EncodingCache:
    """A facts cache that encodes facts itself (as the store's does), so the workers encode what they prepare."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, int], str] = {}
        self.encoded_elsewhere = 0

    def get_file_facts(self, path: str, digest: str, version: int) -> None:
        return None

    def get_many(self, keys: list, version: int) -> dict:
        return {}

    @staticmethod
    def encode_file_facts(facts: dict) -> str:
        return json.dumps(facts, separators=(",", ":"))

    def put_file_facts(self, path: str, digest: str, version: int, facts: dict) -> None:
        self.rows[(path, digest, version)] = self.encode_file_facts(facts)

    def put_file_facts_encoded(self, path: str, digest: str, version: int, text: str) -> None:
        self.encoded_elsewhere += 1
        self.rows[(path, digest, version)] = text


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork here")
def test_facts_the_workers_encode_are_stored_as_the_caller_would_store_them(tmp_path, monkeypatch):
    paths = write(tmp_path, 50)
    stored = []
    for pool in (False, True):
        monkeypatch.setattr(ff, "POOL_MIN_FILES", 1 if pool else 10**9)
        monkeypatch.setattr(ff, "POOL_MIN_BATCH", 1)
        monkeypatch.setattr(ff, "_fork_safe", lambda: True)
        cache = EncodingCache()
        FactsIndex(tmp_path, cache).prepare([(p, line, line) for p in paths for line in (3, 10, 13)],
                                            extra={p: [lambda facts: facts.answer("n", len)] for p in paths})
        stored.append((cache.rows, cache.encoded_elsewhere))
    (alone, none_encoded), (pooled, encoded) = stored
    assert pooled == alone and none_encoded == 0
    assert encoded == 50  # every file a worker answered (those that do not parse too; not latin1 nor missing)


def test_no_fork_means_one_process(tmp_path, monkeypatch):
    paths = write(tmp_path, 20)
    alone = prepared(tmp_path, paths, False, monkeypatch)

    def no_fork(method=None):
        raise ValueError("cannot find context for 'fork'")

    monkeypatch.setattr(multiprocessing, "get_context", no_fork)
    assert prepared(tmp_path, paths, True, monkeypatch) == alone


def test_facts_prepared_by_a_worker_answer_later_questions(tmp_path, monkeypatch):
    """A line nobody asked about during the prepare is answered by parsing the file again, as for cached facts."""
    paths = write(tmp_path, 40)
    prepared(tmp_path, paths, True, monkeypatch)
    monkeypatch.setattr(ff, "POOL_MIN_FILES", 1)
    index = FactsIndex(tmp_path)
    index.prepare([(p, 1, 1) for p in paths])
    fresh = FactsIndex(tmp_path)
    for path in paths[:5]:
        assert index.facts(path).sink(10, 10) == fresh.facts(path).sink(10, 10)
        assert index.facts(path).answer("text", len) == fresh.facts(path).answer("text", len)


def test_a_second_prepare_asks_its_own_questions(tmp_path, monkeypatch):
    """Files a worker prepared in one prepare get the next prepare's questions (asked here, on a new parse)."""
    paths = write(tmp_path, 40)
    monkeypatch.setattr(ff, "POOL_MIN_FILES", 1)
    monkeypatch.setattr(ff, "POOL_MIN_BATCH", 1)
    monkeypatch.setattr(ff, "_fork_safe", lambda: True)
    index = FactsIndex(tmp_path)
    index.prepare([(p, 1, 1) for p in paths])
    index.prepare([(p, 10, 10) for p in paths], extra={p: [lambda facts: facts.answer("n", len)] for p in paths})
    fresh = FactsIndex(tmp_path)
    for path in paths[:-2]:
        assert (10, 10) in index.facts(path).sinks and "n" in index.facts(path).answers
        assert index.facts(path).sinks[(10, 10)] == fresh.facts(path).sink(10, 10)


def test_a_worker_collects_its_garbage_every_few_megabytes_of_source(tmp_path, monkeypatch):
    """A parsed module's indexes refer back to it, so without the cyclic GC (off in the workers) every tree a
    worker parsed would stay in memory: `_work` collects once WORKER_GC_BYTES of source were parsed since."""
    import ast
    import gc

    paths = write(tmp_path, 24)[:-2]
    sources = {p: (tmp_path / p).read_bytes() for p in paths}
    monkeypatch.setattr(ff, "WORKER_GC_BYTES", 3 * max(len(data) for data in sources.values()))
    monkeypatch.setattr(ff, "_source_since_collect", 0)
    monkeypatch.setattr(ff, "_JOB", ff._Job({p: [(10, 10)] for p in paths}, {}, None, True, False))

    def trees_alive() -> int:
        return sum(isinstance(o, ast.Module) for o in gc.get_objects())

    was_enabled = gc.isenabled()
    gc.disable()  # as in a worker
    try:
        gc.collect()
        before = trees_alive()
        most = 0
        for path, data in sources.items():
            assert ff._work((path, data, "digest", None)) is not None
            most = max(most, trees_alive() - before)
        assert 1 <= most <= 4  # never more than the files since the last collection (+ the one at hand)
        monkeypatch.setattr(ff, "WORKER_GC_BYTES", 10**12)
        for path, data in sources.items():
            ff._work((path, data, "digest", None))
        assert trees_alive() - before >= len(sources) - 4  # without collections they pile up
    finally:
        gc.collect()
        if was_enabled:
            gc.enable()
