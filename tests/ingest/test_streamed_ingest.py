"""A streamed log (sarif_stream, over the size threshold) ingests into the same store state as the same log loaded
whole, and in bounded memory: its parsed results wait in a temporary file (sarif_spill), `Store.record_scan`
reads the findings from an iterator a batch at a time, and the dedupe key is the sha256 of the file's bytes plus
"#runN" as before, hashed in chunks. Real SQLite stores, real git repositories, the real logs of shared/."""

from __future__ import annotations

import hashlib
import json
import weakref
from pathlib import Path

import pytest
import sqlalchemy as sa

from agent import app
from agent.ingest import sarif_stream
from agent.ingest.sarif import load_sarif, parse_sarif, parse_sarif_file
from agent.ingest.sarif_spill import SpilledFindings
from agent.store import Store
from agent.store import scans as store  # SCAN_BATCH lives here
from agent.store.schema import scans_t
from tests.conftest import SHARED, git
from tests.test_e2e import suture

LOGS = sorted([*SHARED.glob("sarif-samples/*.sarif"), *SHARED.glob("sarif-conformance/*.sarif")]) \
    if SHARED.is_dir() else []


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "README").write_text("a project\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


def tree_for(log: Path, tree: Path) -> None:
    """Files at every relative path the log names, long enough for its lines, with repeated lines (so identical
    findings get occurrence numbers), so that most results are placed and fingerprinted from disk text."""
    lines: dict[str, int] = {}
    for run in parse_sarif(load_sarif(log)).runs:
        for finding in [*run.findings, *run.suppressed]:
            for loc in [finding.location, *(step.location for step in finding.flow)]:
                lines[loc.path] = max(lines.get(loc.path, 0), loc.last_line)
    for rel, count in lines.items():
        target = tree / rel
        if Path(rel).is_absolute() or ".." in Path(rel).parts or not target.resolve().is_relative_to(tree):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(f"call(arg{n % 3})\n" for n in range(count + 2)))


def halved(log: Path, out: Path) -> Path:
    """The log with every other result of each run left out: a later full scan that no longer reports them."""
    data = json.loads(log.read_bytes().decode("utf-8-sig"))
    for run in data.get("runs") or []:
        if isinstance(run, dict) and isinstance(run.get("results"), list):
            run["results"] = run["results"][::2]
    out.write_text(json.dumps(data))
    return out


def store_state(session) -> tuple:
    findings = session.store.list_findings(None)
    events = [(e["finding_id"], e["from_status"], e["to_status"], e["actor"], e["comment"])
              for f in findings for e in session.store.finding_events(f.id)]
    with session.store.engine.connect() as conn:
        scans = [tuple(row) for row in conn.execute(sa.select(
            scans_t.c.tool, scans_t.c.scope, scans_t.c.source, scans_t.c.content_hash, scans_t.c.full,
            scans_t.c.summary).order_by(scans_t.c.id))]
    return [f.model_dump(mode="json", exclude={"first_seen", "last_seen", "fixed_at"}) for f in findings], events, scans


def report_facts(reports) -> list[tuple]:
    return [(r.tool, r.new, r.updated, r.reopened, r.fixed, [s.model_dump() for s in r.skipped], r.closed_nothing,
             r.duplicate, r.suppressed, [w for w in r.warnings if not w.startswith("schema:")]) for r in reports]


@pytest.mark.skipif(len(LOGS) < 25, reason="shared/sarif-samples and sarif-conformance are not present")
@pytest.mark.parametrize("log", LOGS, ids=lambda p: p.name)
def test_streamed_ingest_leaves_the_store_as_the_whole_log_does(log: Path, repo: Path, tmp_path: Path, monkeypatch):
    tree = tmp_path / "tree"
    tree.mkdir()
    tree_for(log, tree)
    later = halved(log, tmp_path / "later.sarif")
    outcomes = []
    for name, threshold, batch in (("whole", sarif_stream.STREAM_THRESHOLD, store.SCAN_BATCH), ("streamed", 0, 2)):
        with monkeypatch.context() as patch:
            patch.setattr(sarif_stream, "STREAM_THRESHOLD", threshold)
            patch.setattr(store, "SCAN_BATCH", batch)  # the streamed store merges two findings at a time
            session = app.open_session(repo, db=tmp_path / f"{name}.db")
            try:  # a scan, a later scan that closes half of it, then the first log again (it re-opens them)
                reports = [app.ingest_file(session, path, tree=tree) for path in (log, later, log)]
                outcomes.append(([report_facts(r) for r in reports], store_state(session)))
            finally:
                session.close()
    assert outcomes[1] == outcomes[0]
    first_scan = outcomes[1][1][2][:1]
    if first_scan:  # the dedupe key of existing stores: sha256 of the log's bytes + "#run0"
        assert first_scan[0][3] == hashlib.sha256(log.read_bytes() + b"#run0").hexdigest()
    parsed = parse_sarif_file(log, tree)
    assert all(isinstance(run.findings, SpilledFindings) and isinstance(run.suppressed, SpilledFindings)
               for run in parsed.runs if run.result_count)  # a streamed run's findings are not held in memory


def generated_log(repo: Path, path: Path, results: int) -> Path:
    """A few MB of results on committed files: repeated lines, several results on one line, flows, suppressions."""
    for i in range(20):
        (repo / "src" / f"m{i}.py").parent.mkdir(exist_ok=True)
        (repo / "src" / f"m{i}.py").write_text("".join(f"    run(cmd{n % 4})\n" for n in range(60)))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "code")
    out = []
    for k in range(results):
        uri, line = f"src/m{k % 20}.py", (k * 7) % 60 + 1
        loc = {"physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": line}}}
        item = {"ruleId": f"R{k % 3}", "message": {"text": f"result {k} " + "x" * 500}, "locations": [loc]}
        if k % 5 == 0:
            item["codeFlows"] = [{"threadFlows": [{"locations": [{"location": loc}]}]}]
        if k % 50 == 0:
            item["suppressions"] = [{"kind": "inSource", "justification": "reviewed"}]
        out.append(item)
    path.write_text(json.dumps({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Gen"}}, "results": out}]}))
    return path


class LiveFindings:
    """Wraps the findings record_scan reads and counts how many of them are alive at once (weak references)."""

    def __init__(self) -> None:
        self.live = self.peak = self.total = 0

    def _gone(self) -> None:
        self.live -= 1

    def wrap(self, findings):
        for finding in findings:
            self.live += 1
            self.total += 1
            self.peak = max(self.peak, self.live)
            weakref.finalize(finding, self._gone)
            yield finding
            del finding


def test_a_large_log_is_merged_a_batch_at_a_time_from_an_iterator(repo: Path, tmp_path: Path, monkeypatch):
    log = generated_log(repo, tmp_path / "big.sarif", 4000)
    assert log.stat().st_size > 2 * 2**20
    whole = parse_sarif(json.loads(log.read_bytes()), repo)
    expected = {f.id for run in whole.runs for f in [*run.findings, *run.suppressed]}
    assert len(expected) == 4000
    monkeypatch.setattr(sarif_stream, "STREAM_THRESHOLD", 2**20)
    monkeypatch.setattr(store, "SCAN_BATCH", 100)
    calls: list[tuple[type, LiveFindings]] = []
    record_scan = Store.record_scan

    def spy(self, **kwargs):
        tracker = LiveFindings()
        calls.append((type(kwargs["findings"]), tracker))
        kwargs["findings"] = tracker.wrap(kwargs["findings"])
        return record_scan(self, **kwargs)

    monkeypatch.setattr(Store, "record_scan", spy)
    session = app.open_session(repo)
    try:
        [report] = app.ingest_file(session, log)
        [(kind, tracker)] = calls
        assert not issubclass(kind, list)  # an iterator over findings read back from disk, not a run's list
        assert tracker.total == 4000
        assert tracker.peak <= 100 + 2  # one batch (and the one being handed over), never the run
        assert report.new + report.suppressed == 4000 and report.suppressed == 80
        assert {f.id for f in session.store.list_findings(None)} == expected
    finally:
        session.close()
    rows = json.loads(suture(repo, "triage", "-n", "5", "--format", "json").stdout)
    assert len(rows) == 5
    assert suture(repo, "review", "list").returncode == 0
