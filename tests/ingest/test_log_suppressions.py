"""Results a SARIF log suppresses (issue 18): kept as findings with their suppressions, so `suture sarif` can say them
again; a new one is recorded as dismissed by the log, an open one stays open, and a later log that reports it
without a suppression re-opens what only a log had closed (never what a person decided). Real git repositories
and SQLite stores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent import app
from agent.export.sarif_out import build_sarif
from tests.conftest import git


@pytest.fixture
def session(tmp_path: Path):
    root = tmp_path / "repo"
    root.mkdir()
    (root / "app.py").write_text("import os\nx = eval(input())\ny = eval(other)\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    session = app.open_session(root)
    yield session
    session.close()


def log(tmp_path: Path, name: str, *results: dict) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Linter"}},
                                                              "results": list(results)}]}))
    return path


def result(line: int, **fields) -> dict:
    return {"ruleId": "EVAL", "message": {"text": "eval"}, "locations": [{"physicalLocation": {
        "artifactLocation": {"uri": "app.py"}, "region": {"startLine": line}}}], **fields}


EXTERNAL = {"suppressions": [{"kind": "external", "status": "accepted", "justification": "Tracked in SEC-9"}]}


def by_line(session) -> dict[int, str]:
    return {f.location.start_line: f.status for f in session.store.list_findings(None)}


def test_a_new_suppressed_result_is_recorded_as_dismissed_by_the_log(session, tmp_path: Path):
    [report] = app.ingest_file(session, log(tmp_path, "a.sarif", result(2), result(3, **EXTERNAL)))
    assert (report.new, report.suppressed) == (1, 1)
    assert by_line(session) == {2: "open", 3: "dismissed"}
    [dismissed] = session.store.list_findings("dismissed")
    assert dismissed.suppressions == [{"kind": "external", "status": "accepted", "justification": "Tracked in SEC-9"}]
    [event] = session.store.finding_events(dismissed.id)
    assert event["actor"] == "SARIF log" and "Tracked in SEC-9" in event["comment"]
    [run] = build_sarif(session.store)["runs"]
    assert sorted(len(r["suppressions"]) for r in run["results"]) == [0, 1]  # all or none: an empty array
    assert run["tool"]["driver"]["name"] == "Linter"


def test_a_later_log_without_the_suppression_reopens_it(session, tmp_path: Path):
    app.ingest_file(session, log(tmp_path, "a.sarif", result(2), result(3, **EXTERNAL)))
    [report] = app.ingest_file(session, log(tmp_path, "b.sarif", result(2), result(3)))
    assert by_line(session) == {2: "open", 3: "open"}
    assert any("re-opened" in w for w in report.warnings)
    [run] = build_sarif(session.store)["runs"]
    assert all("suppressions" not in r for r in run["results"])  # an open finding is not written as suppressed


def test_a_persons_dismissal_is_not_reopened_by_a_log(session, tmp_path: Path):
    app.ingest_file(session, log(tmp_path, "a.sarif", result(2), result(3, **EXTERNAL)))
    [finding] = session.store.list_findings("dismissed")
    session.store.set_finding_status(finding.id, "open", "Ann Lee", "look again")
    session.store.set_finding_status(finding.id, "dismissed", "Ann Lee", "false positive: constant input")
    app.ingest_file(session, log(tmp_path, "b.sarif", result(2), result(3)))
    assert by_line(session) == {2: "open", 3: "dismissed"}
