"""`FactsIndex.warm`: worker processes prepare, while the caller goes on, exactly the facts `prepare` would store
for the same questions, and put them in the cache, so `prepare` then parses nothing; with False the workers stop
and nothing is stored; where workers would not pay or cannot run, nothing starts and nothing is parsed here.
And ingest (agent.app) warms the facts of the files its logs flag, so the next triage parses none of them and
ranks exactly as it does from a cold cache."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

import agent.code.file_facts as ff
from agent import app
from agent.app.triage import triage
from agent.code.facts_store import StoreFactsCache, file_facts_t
from agent.code.file_facts import FactsIndex
from agent.errors import SutureError
from agent.triage import service
from agent.triage.reachability import ReachabilityIndex
from tests.conftest import git
from tests.triage.test_facts_pool import ask_length, write

FORK_SAFE = ff._fork_safe  # (the fixture below stands in for it)
pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork here")


def questions(paths: list[str]) -> tuple[list[tuple[str, int, int]], dict]:
    queries = [(p, line, line + (line % 2)) for p in paths for line in range(1, 22, 3)]
    extra = {p: [lambda facts, line=line: ask_length(facts, line) for line in (2, 11)] for p in paths}
    return queries, extra


def rows(cache: StoreFactsCache) -> dict[tuple[str, str], str]:
    with cache.engine.connect() as conn:
        return {(p, d): f for p, d, f in conn.execute(sa.select(file_facts_t.c.path, file_facts_t.c.digest,
                                                                 file_facts_t.c.facts))}


@pytest.fixture
def workers_allowed(monkeypatch):
    monkeypatch.setattr(ff, "POOL_MIN_FILES", 8)
    monkeypatch.setattr(ff, "POOL_MIN_BATCH", 1)
    monkeypatch.setattr(ff, "READ_AHEAD", 16)  # several batches
    monkeypatch.setattr(ff, "_fork_safe", lambda: True)  # the test runner may run threads of its own


def test_warmed_facts_are_those_prepare_stores_and_prepare_then_parses_none(tmp_path, workers_allowed):
    paths = write(tmp_path / "src", 40)
    queries, extra = questions(paths)
    cold = StoreFactsCache(sa.create_engine(f"sqlite:///{tmp_path}/cold.db"))
    FactsIndex(tmp_path / "src", cold).prepare(queries, extra=extra)

    cache = StoreFactsCache(sa.create_engine(f"sqlite:///{tmp_path}/warm.db"))
    finish = FactsIndex(tmp_path / "src", cache).warm(queries, extra)
    assert finish is not None and rows(cache) == {}  # started, nothing stored until asked
    assert finish(True) == 40  # every file with UTF-8 text (those that do not parse too)
    assert not multiprocessing.active_children()
    assert rows(cache) == rows(cold)  # the same facts, answers and encoding, byte for byte

    index = FactsIndex(tmp_path / "src", cache)
    index.prepare(queries, extra=extra)
    assert (index.parses, index.cached) == (0, 40)


def test_a_warm_stopped_with_false_stores_nothing(tmp_path, workers_allowed):
    paths = write(tmp_path, 30)
    cache = StoreFactsCache(sa.create_engine(f"sqlite:///{tmp_path}/warm.db"))
    finish = FactsIndex(tmp_path, cache).warm(*questions(paths))
    assert finish is not None
    assert finish(False) == 0
    assert rows(cache) == {} and not multiprocessing.active_children()


class PlainCache:
    """A cache that cannot take facts encoded elsewhere."""

    def get_file_facts(self, path: str, digest: str, version: int) -> None:
        return None

    def put_file_facts(self, path: str, digest: str, version: int, facts: dict) -> None:
        raise AssertionError("nothing is stored")


def test_nothing_starts_where_workers_do_not_pay_or_cannot_run(tmp_path, monkeypatch, workers_allowed):
    paths = write(tmp_path, 30)
    queries, extra = questions(paths)
    cache = StoreFactsCache(sa.create_engine(f"sqlite:///{tmp_path}/warm.db"))
    parsed: list[str] = []
    parse = ff.parse_module
    monkeypatch.setattr(ff, "parse_module", lambda source: parsed.append(source) or parse(source))

    assert FactsIndex(tmp_path, PlainCache()).warm(queries, extra) is None  # no cache to put them in
    assert FactsIndex(None, cache).warm(queries, extra) is None  # no folder: nothing to read
    few = [q for q in queries if q[0] in paths[:7]]
    assert FactsIndex(tmp_path, cache).warm(few, {}) is None  # fewer than POOL_MIN_FILES files

    finish = FactsIndex(tmp_path, cache).warm(queries, extra)
    assert finish is not None and finish(True) == 30
    monkeypatch.setattr(ff, "POOL_MIN_BATCH", 2)  # (the latin-1 file is read each time: it has no facts to keep)
    assert FactsIndex(tmp_path, cache).warm(queries, extra) is None  # all the others are in the cache now

    monkeypatch.setattr(ff, "_fork_safe", FORK_SAFE)
    other = tmp_path / "other"
    more = write(other, 30)
    stop = threading.Event()
    runner = threading.Thread(target=stop.wait)
    runner.start()
    try:  # another thread runs: no fork
        assert FactsIndex(other, cache).warm(*questions(more)) is None
    finally:
        stop.set()
        runner.join()
    assert parsed == [] and not multiprocessing.active_children()  # never parsed in this process


SOURCE = '''import subprocess
from flask import Flask, request

app = Flask(__name__)


@app.route("/run{i}")
def run_{i}():
    target = request.args["target"]
    subprocess.call("ls " + target, shell=True)
    return helper_{i}(target)


def helper_{i}(value):
    if False:
        subprocess.call(value, shell=True)
    return eval(value)
'''


def sarif(tool: str, spots: list[tuple[str, int, str]]) -> dict:
    results = [{"ruleId": rule, "level": "error", "message": {"text": f"{rule} here"},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": path},
                                                    "region": {"startLine": line}}}]}
               for path, line, rule in spots]
    return {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": tool, "rules": []}}, "results": results}]}


def app_repo(tmp_path: Path, count: int, tests: bool = False) -> tuple[Path, list[str]]:
    """A git repository of `count` Flask modules (SOURCE), and with `tests` a test module; their paths."""
    repo = tmp_path / "repo"
    names = [f"app/views_{i}.py" for i in range(count)]
    for i, name in enumerate(names):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(SOURCE.format(i=i))
    if tests:
        (repo / "tests").mkdir()
        (repo / "tests/test_views.py").write_text(SOURCE.format(i=99))
    git(repo.parent, "init", "-q", "-b", "main", str(repo))
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "app")
    return repo, names


def triage_json(repo: Path) -> str:
    session = app.open_session(repo)
    try:
        return json.dumps(triage(session).to_json(), sort_keys=True, default=str)
    finally:
        session.close()


def test_ingest_warms_what_the_next_triage_reads_and_the_ranking_is_the_cold_one(tmp_path, monkeypatch,
                                                                                   workers_allowed):
    """Two logs flag the same files at different lines (a file's facts must answer both) and some test files
    (ranked by path, not read): after the ingest, the store holds the facts of every flagged source file, triage
    parses none, and its rows are those of a triage that parsed every file itself."""
    repo, names = app_repo(tmp_path, 12, tests=True)
    first = tmp_path / "bandit.sarif"
    first.write_text(json.dumps(sarif("bandit", [(n, 10, "B602") for n in names] + [("tests/test_views.py", 10, "B602")])))
    second = tmp_path / "semgrep.sarif"
    second.write_text(json.dumps(sarif("semgrep", [(n, 17, "python.lang.security.audit.eval-detected")
                                                   for n in names[::2]] + [(n, 15, "subprocess-shell-true")
                                                                           for n in names[1::2]])))
    session = app.open_session(repo)
    try:
        reports = app.ingest_files(session, [first, second])
    finally:
        session.close()
    assert [r.new for r in reports] == [13, 12]
    assert not multiprocessing.active_children()
    engine = sa.create_engine(f"sqlite:///{repo}/.suture/suture.db")
    with engine.connect() as conn:
        warmed = sorted(conn.execute(sa.select(file_facts_t.c.path)).scalars())
    assert warmed == sorted(names)  # the test file is ranked by its path: not read

    made: list[ReachabilityIndex] = []

    class Counted(ReachabilityIndex):  # the index triage makes, kept to read its counters
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(service, "ReachabilityIndex", Counted)
    warm = triage_json(repo)
    assert (made[-1].files.parses, made[-1].files.cached) == (0, len(names))  # all answered in the ingest
    with engine.begin() as conn:
        conn.execute(file_facts_t.delete())
    cold = triage_json(repo)
    assert (made[-1].files.parses, made[-1].files.cached) == (len(names), 0)
    assert warm == cold


def test_a_log_that_cannot_be_read_stops_the_ingest_after_the_logs_before_it_are_stored(tmp_path, workers_allowed):
    """Logs are read ahead of storing them; one that cannot be read still leaves the ones before it stored (as
    when each was stored before the next was read) and the ones after it unread, and no worker is left."""
    repo, names = app_repo(tmp_path, 10)
    logs = [tmp_path / "good.sarif", tmp_path / "bad.sarif", tmp_path / "after.sarif"]
    logs[0].write_text(json.dumps(sarif("bandit", [(n, 10, "B602") for n in names])))
    logs[1].write_text('{"version": "2.1.0", "runs": [')
    logs[2].write_text(json.dumps(sarif("semgrep", [(n, 17, "eval-detected") for n in names])))
    session = app.open_session(repo)
    try:
        with pytest.raises(SutureError, match="bad.sarif"):
            app.ingest_files(session, logs)
        assert {f.tool for f in session.store.list_findings("open")} == {"bandit"}
        assert len(session.store.list_findings("open")) == len(names)
    finally:
        session.close()
    assert not multiprocessing.active_children()


def test_a_worker_that_dies_leaves_its_files_to_prepare_and_nothing_waits_forever(tmp_path, workers_allowed):
    """A worker killed mid-task (the OOM killer, say) never finishes its tasks: the wait gives up on them, no
    worker is left, and `prepare` then answers those files itself."""
    paths = write(tmp_path / "src", 60)
    queries = [(p, 5, 5) for p in paths]
    slow = {p: [lambda facts: time.sleep(0.03)] for p in paths}
    cache = StoreFactsCache(sa.create_engine(f"sqlite:///{tmp_path}/warm.db"))
    finish = FactsIndex(tmp_path / "src", cache).warm(queries, slow)
    assert finish is not None
    deadline = time.monotonic() + 10
    while not multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    os.kill(multiprocessing.active_children()[0].pid, signal.SIGKILL)
    done: list[int] = []
    waiting = threading.Thread(target=lambda: done.append(finish(True)), daemon=True)
    waiting.start()
    waiting.join(30)
    assert done and done[0] < 60  # it returned, without the dead worker's files
    assert not multiprocessing.active_children()

    index = FactsIndex(tmp_path / "src", cache)
    index.prepare(queries)
    fresh = FactsIndex(tmp_path / "src")
    assert all(index.facts(p).sink(5, 5) == fresh.facts(p).sink(5, 5) for p in paths)
    assert index.parses == 60 - done[0]  # what the workers did not store


def test_a_facts_cache_that_cannot_be_written_is_no_error(tmp_path, monkeypatch, workers_allowed):
    paths = write(tmp_path, 30)
    cache = StoreFactsCache(sa.create_engine(f"sqlite:///{tmp_path}/warm.db"))
    finish = FactsIndex(tmp_path, cache).warm(*questions(paths))
    assert finish is not None

    def locked() -> None:
        raise sa.exc.OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(cache, "flush", locked)
    assert finish(True) == 0
    assert not multiprocessing.active_children()


def test_a_warm_that_fails_while_handing_files_over_leaves_no_worker(tmp_path, monkeypatch, workers_allowed):
    paths = write(tmp_path, 60)
    cache = StoreFactsCache(sa.create_engine(f"sqlite:///{tmp_path}/warm.db"))
    calls: list[int] = []
    get_many = cache.get_many

    def failing(keys, version):  # the second batch's lookup fails, after the first batch went to the workers
        calls.append(len(keys))
        if len(calls) == 2:
            raise sa.exc.OperationalError("SELECT", {}, Exception("disk I/O error"))
        return get_many(keys, version)

    monkeypatch.setattr(cache, "get_many", failing)
    with pytest.raises(sa.exc.OperationalError):
        FactsIndex(tmp_path, cache).warm(*questions(paths))
    assert len(calls) == 2 and not multiprocessing.active_children()


@pytest.mark.parametrize("workers", [True, False])
def test_logs_are_read_ahead_only_where_workers_can_prepare_facts(tmp_path, monkeypatch, workers):
    """Reading logs ahead holds their findings in memory: worth it only where the workers can start."""
    import agent.app.ingest as ingesting

    repo, (name,) = app_repo(tmp_path, 1)
    logs = [tmp_path / "a.sarif", tmp_path / "b.sarif"]
    logs[0].write_text(json.dumps(sarif("bandit", [(name, 10, "B602")])))
    logs[1].write_text(json.dumps(sarif("semgrep", [(name, 17, "eval-detected")])))
    monkeypatch.setattr(ff, "_fork_safe", lambda: workers)
    order: list[str] = []
    parse_log, record_log = ingesting._parse_log, ingesting._record_log
    monkeypatch.setattr(ingesting, "_parse_log", lambda path, *a: order.append(f"read {path.name}") or
                        parse_log(path, *a))
    monkeypatch.setattr(ingesting, "_record_log", lambda s, log, *a: order.append(f"store {log.path.name}") or
                        record_log(s, log, *a))
    session = app.open_session(repo)
    try:
        assert [r.new for r in app.ingest_files(session, logs)] == [1, 1]
    finally:
        session.close()
    assert order == (["read a.sarif", "read b.sarif", "store a.sarif", "store b.sarif"] if workers else
                     ["read a.sarif", "store a.sarif", "read b.sarif", "store b.sarif"])


def test_a_later_warm_adds_the_answers_cached_facts_lack(tmp_path, monkeypatch, workers_allowed):
    """Facts cached by an earlier run (one `suture ingest` per scanner, say) that lack the answers to the new
    findings' questions are handed over with what they hold: the worker keeps those answers and adds the new
    ones, so `prepare` then parses nothing."""
    paths = write(tmp_path / "src", 30)
    first = [(p, line, line) for p in paths for line in (3, 10)]
    later = [(p, line, line + 1) for p in paths for line in (13, 16)]
    ask_first = {p: [lambda facts: ask_length(facts, 2)] for p in paths}
    ask_later = {p: [lambda facts: ask_length(facts, 11)] for p in paths}
    cache = StoreFactsCache(sa.create_engine(f"sqlite:///{tmp_path}/warm.db"))
    finish = FactsIndex(tmp_path / "src", cache).warm(first, ask_first)
    assert finish is not None and finish(True) == 30
    finish = FactsIndex(tmp_path / "src", cache).warm(later, ask_later)
    assert finish is not None and finish(True) == 30
    monkeypatch.setattr(ff, "POOL_MIN_BATCH", 2)  # (the latin-1 file is read each time: it has no facts to keep)
    assert FactsIndex(tmp_path / "src", cache).warm(first + later, {}) is None  # all answered now

    both = {p: ask_first[p] + ask_later[p] for p in paths}
    index = FactsIndex(tmp_path / "src", cache)
    index.prepare(first + later, extra=both)
    assert (index.parses, index.cached) == (0, 30)
    cold = StoreFactsCache(sa.create_engine(f"sqlite:///{tmp_path}/cold.db"))
    FactsIndex(tmp_path / "src", cold).prepare(first + later, extra=both)
    assert {k: json.loads(v) for k, v in rows(cache).items()} == {k: json.loads(v) for k, v in rows(cold).items()}


def test_separate_ingests_leave_the_triage_nothing_to_parse(tmp_path, monkeypatch, workers_allowed):
    repo, names = app_repo(tmp_path, 12)
    logs = [tmp_path / "bandit.sarif", tmp_path / "semgrep.sarif"]
    logs[0].write_text(json.dumps(sarif("bandit", [(n, 10, "B602") for n in names])))
    logs[1].write_text(json.dumps(sarif("semgrep", [(n, 17, "python.lang.security.audit.eval-detected")
                                                    for n in names])))
    for log in logs:  # one `suture ingest` each
        session = app.open_session(repo)
        try:
            app.ingest_files(session, [log])
        finally:
            session.close()
    made: list[ReachabilityIndex] = []

    class Counted(ReachabilityIndex):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(service, "ReachabilityIndex", Counted)
    warm = triage_json(repo)
    assert (made[-1].files.parses, made[-1].files.cached) == (0, len(names))
    engine = sa.create_engine(f"sqlite:///{repo}/.suture/suture.db")
    with engine.begin() as conn:
        conn.execute(file_facts_t.delete())
    assert triage_json(repo) == warm


def test_facts_another_python_stored_are_not_read(tmp_path):
    """`ast` differs between Python versions, and machines sharing a store may run different ones: stored facts
    are kept under the Python that parsed them (`STORE_VERSION`)."""
    (tmp_path / "a.py").write_text(SOURCE.format(i=1))
    cache = StoreFactsCache(sa.create_engine(f"sqlite:///{tmp_path}/facts.db"))
    index = FactsIndex(tmp_path, cache)
    index.prepare([("a.py", 10, 10)])
    index.save()
    assert len(rows(cache)) == 1
    assert ff.STORE_VERSION % 10_000 == sys.version_info.major * 100 + sys.version_info.minor
    with cache.engine.begin() as conn:  # the row as another Python would have stored it
        conn.execute(file_facts_t.update().values(version=ff.STORE_VERSION + 1))
    again = FactsIndex(tmp_path, cache)
    again.prepare([("a.py", 10, 10)])
    assert (again.parses, again.cached) == (1, 0)
