"""Findings are closed only by evidence (DESIGN.md rule 9): a successful, whole, fully placed scan. Failed runs,
runs with results that could not be placed, sibling runs of one tool and `runs: null` close nothing and say why;
a log ingested again re-opens what it reports. Real SQLite stores in real git repositories; the failure cases
are the real logs of shared/sarif-conformance (see its MANIFEST.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent import app
from agent.ingest.sarif import load_sarif, parse_sarif
from tests.conftest import git

CODE = "const a = eval(input);\nconst b = eval(other);\nconst c = 3;\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose committed files the hand-written logs below point at."""
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.ts").write_text(CODE)
    (root / "file.cs").write_text("class A {}\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


@pytest.fixture
def session(repo: Path):
    session = app.open_session(repo)
    yield session
    session.close()


def result(line: int, uri: str = "src/app.ts", rule: str = "R1") -> dict:
    location = {"physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": line}}}
    return {"ruleId": rule, "message": {"text": "eval of input"}, "locations": [location]}


def run(results: list | None, tool: str = "CodeScanner", **fields) -> dict:
    body = {"tool": {"driver": {"name": tool}}, **fields}
    if results is not None:
        body["results"] = results
    return body


def write_log(tmp_path: Path, name: str, *runs: dict) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"version": "2.1.0", "runs": list(runs)}))
    return path


def statuses(session) -> dict[int, str]:
    return {f.location.start_line: f.status for f in session.store.list_findings(None)}


def ingest(session, path: Path, **kwargs) -> list[app.IngestReport]:
    return app.ingest_file(session, path, **kwargs)


def test_a_good_full_scan_still_closes_what_it_no_longer_reports(session, tmp_path: Path):
    ingest(session, write_log(tmp_path, "one.sarif", run([result(1), result(2)])))
    [report] = ingest(session, write_log(tmp_path, "two.sarif", run([result(1)])))
    assert (report.fixed, report.closed_nothing) == (1, None)
    assert statuses(session) == {1: "open", 2: "fixed"}


@pytest.mark.parametrize("name", ["failed-run-execution-error.sarif", "failed-run-configuration-error.sarif"])
def test_a_failed_run_closes_nothing_and_says_so(session, tmp_path: Path, shared_dir: Path, name: str):
    ingest(session, write_log(tmp_path, "good.sarif", run([result(1), result(2)])))
    [report] = ingest(session, shared_dir / "sarif-conformance" / name)
    assert report.tool == "codescanner" and report.fixed == 0
    assert report.closed_nothing == "run 1 of codescanner failed (executionSuccessful false)"
    assert statuses(session) == {1: "open", 2: "open"}


@pytest.mark.parametrize("failed", [
    run([], invocations=[{"executionSuccessful": False, "exitCode": 3}]),  # results empty
    run(None),  # results missing: the tool did not run
    run([result(1)], invocations=[{"executionSuccessful": False}]),  # some results, but the run failed
])
def test_a_failed_run_with_empty_missing_or_some_results_closes_nothing(session, tmp_path: Path, failed: dict):
    ingest(session, write_log(tmp_path, "good.sarif", run([result(1), result(2)])))
    [report] = ingest(session, write_log(tmp_path, "failed.sarif", failed))
    assert report.fixed == 0 and report.closed_nothing.startswith("run 1 of codescanner ")
    assert statuses(session) == {1: "open", 2: "open"}


def test_ci_absolute_paths_all_skipped_close_nothing(session, tmp_path: Path, shared_dir: Path):
    """The real TSLint log of a Windows CI agent: 501 results, none in this repository."""
    ingest(session, write_log(tmp_path, "good.sarif", run([result(1)], tool="TSLint")))
    [report] = ingest(session, shared_dir / "sarif-conformance" / "windows-absolute-paths.sarif")
    assert report.tool == "tslint" and len(report.skipped) == 501 and report.fixed == 0
    assert report.closed_nothing.startswith("501 of 501 results of run 1 (tslint) could not be placed")
    assert statuses(session) == {1: "open"}


def test_one_unplaced_result_is_enough_to_close_nothing(session, tmp_path: Path):
    ingest(session, write_log(tmp_path, "good.sarif", run([result(1), result(2)])))
    no_location = {"ruleId": "R1", "message": {"text": "somewhere"}}
    [report] = ingest(session, write_log(tmp_path, "partly.sarif", run([result(1), no_location])))
    assert report.fixed == 0 and "1 of 2 results" in report.closed_nothing
    assert statuses(session) == {1: "open", 2: "open"}


def test_a_line_past_the_end_of_its_file_closes_nothing(session, tmp_path: Path):
    ingest(session, write_log(tmp_path, "good.sarif", run([result(1), result(2)])))
    [report] = ingest(session, write_log(tmp_path, "other-tree.sarif", run([result(1), result(40)])))
    assert report.fixed == 0 and "past the end of their file" in report.closed_nothing
    assert statuses(session)[2] == "open"


def test_results_the_tool_says_are_not_problems_do_not_stop_closing(session, tmp_path: Path):
    ingest(session, write_log(tmp_path, "good.sarif", run([result(1), result(2)])))
    suppressed = {**result(2), "suppressions": [{"kind": "inSource"}]}
    gone_for_good = {**result(3), "kind": "pass"}
    [report] = ingest(session, write_log(tmp_path, "suppressed.sarif", run([suppressed, gone_for_good])))
    assert (report.fixed, report.closed_nothing, len(report.skipped)) == (1, None, 2)
    # the suppressed finding is still reported (suppressed), so it is not "fixed"; a log's suppression does not
    # close it either: that takes a person (issue 18)
    assert statuses(session) == {1: "fixed", 2: "open"}
    assert any("1 open finding(s) are suppressed by this log" in w for w in report.warnings)


def test_two_runs_of_one_tool_close_nothing_for_each_other(session, tmp_path: Path):
    ingest(session, write_log(tmp_path, "good.sarif", run([result(1), result(2), result(3)])))
    reports = ingest(session, write_log(tmp_path, "split.sarif", run([result(1)]), run([result(2)])))
    assert [r.fixed for r in reports] == [0, 0]
    assert [r.closed_nothing for r in reports] == [
        "run 1 is one of 2 runs of codescanner in this log (none of them is the whole scan)",
        "run 2 is one of 2 runs of codescanner in this log (none of them is the whole scan)",
    ]
    assert statuses(session) == {1: "open", 2: "open", 3: "open"}
    assert all(not e for f in session.store.list_findings(None) for e in session.store.finding_events(f.id))


def test_two_runs_same_tool_conformance_log_keeps_the_first_runs_finding(session, shared_dir: Path):
    reports = ingest(session, shared_dir / "sarif-conformance" / "two-runs-same-tool.sarif")
    assert [(r.new, r.fixed) for r in reports] == [(1, 0), (0, 0)]  # run 2 (no results) closes nothing
    assert "one of 2 runs" in reports[1].closed_nothing
    assert [f.status for f in session.store.list_findings(None)] == ["open"]


def test_runs_null_is_a_failed_log_not_a_refusal(session, shared_dir: Path):
    path = shared_dir / "sarif-conformance" / "runs-null.sarif"
    parsed = parse_sarif(load_sarif(path))
    assert parsed.runs == [] and parsed.runs_null
    [report] = ingest(session, path)
    assert report.fixed == 0 and "runs: null" in report.closed_nothing
    [empty] = ingest(session, shared_dir / "sarif-conformance" / "runs-empty.sarif")
    assert empty.closed_nothing == "the log has no runs"


def test_a_log_ingested_again_reopens_what_was_closed_without_evidence(session, tmp_path: Path):
    good = write_log(tmp_path, "good.sarif", run([result(1), result(2)]))
    ingest(session, good)
    # what older versions did with a failed log: a "full" scan reporting nothing, closing everything
    session.store.record_scan(tool="codescanner", scope="codescanner", source="bad.sarif#run0", content=b"bad",
                              findings=[], full=True)
    assert statuses(session) == {1: "fixed", 2: "fixed"}
    [report] = ingest(session, good)
    assert report.duplicate and report.reopened == 2 and report.fixed == 0
    assert statuses(session) == {1: "open", 2: "open"}
    assert "a log ingested before" in session.store.finding_events(
        session.store.list_findings()[0].id)[-1]["comment"]
    [again] = ingest(session, good)  # consistent now: nothing changes
    assert (again.duplicate, again.reopened, again.new, again.fixed) == (True, 0, 0, 0)


def test_an_old_log_ingested_again_closes_nothing(session, tmp_path: Path):
    """Replaying an old full log must not close what a newer scan found."""
    old = write_log(tmp_path, "old.sarif", run([result(1)]))
    ingest(session, old)
    ingest(session, write_log(tmp_path, "new.sarif", run([result(1), result(2)])))
    [report] = ingest(session, old)
    assert statuses(session) == {1: "open", 2: "open"}
    assert report.fixed == 0 and "ingested before" in report.closed_nothing


def test_partial_scan_says_it_closed_nothing(session, tmp_path: Path):
    ingest(session, write_log(tmp_path, "good.sarif", run([result(1), result(2)])))
    [report] = ingest(session, write_log(tmp_path, "part.sarif", run([result(1)])), full=False)
    assert report.fixed == 0 and report.closed_nothing.startswith("--partial")


def test_cli_bad_then_good_log_leaves_findings_open_and_says_why(repo: Path, tmp_path: Path, shared_dir: Path):
    from tests.test_e2e import suture

    good = write_log(tmp_path, "good.sarif", run([result(1), result(2, rule="R2")]))
    failed = shared_dir / "sarif-conformance" / "failed-run-execution-error.sarif"
    runs_null = shared_dir / "sarif-conformance" / "runs-null.sarif"
    suture(repo, "ingest", str(good))
    out = suture(repo, "ingest", str(failed), str(runs_null)).stdout
    assert "0 marked fixed" in out
    assert "closed nothing: run 1 of codescanner failed (executionSuccessful false)" in out
    assert "closed nothing: the log has runs: null" in out
    assert "already ingested; nothing changed" in suture(repo, "ingest", str(good)).stdout
    rows = json.loads(suture(repo, "triage", "--format", "json").stdout)  # triage lists open findings only
    assert sorted(row["rule_id"] for row in rows) == ["R1", "R2"]
