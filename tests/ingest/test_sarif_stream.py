"""The streamed SARIF reader (sarif_stream.py) gives exactly what loading the whole log gives: the same runs,
findings (ids included), skipped results, warnings and closing facts, on every real log in shared/ and on odd
shapes; and `load_sarif` streams logs over the threshold, so `suture ingest` reads them in bounded memory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.errors import SutureError
from agent.ingest import sarif_stream
from agent.ingest.sarif import load_sarif, parse_sarif, parse_sarif_file, schema_problems
from agent.ingest.sarif_stream import StreamedResults
from tests.conftest import SHARED

LOGS = sorted([*SHARED.glob("sarif-samples/*.sarif"), *SHARED.glob("sarif-conformance/*.sarif")]) \
    if SHARED.is_dir() else []


def summary(parsed) -> tuple:
    return parsed.runs_null, [
        (r.run_index, r.tool, r.tool_version, r.scope, r.result_count, r.failure, r.unplaced, r.past_end, r.warnings,
         [f.model_dump(exclude={"first_seen", "last_seen"}) for f in r.findings],
         [f.model_dump(exclude={"first_seen", "last_seen"}) for f in r.suppressed],
         [s.model_dump() for s in r.skipped])
        for r in parsed.runs]


def outcome(read) -> tuple:
    try:
        return "ok", summary(read())
    except SutureError as error:
        return "error", type(error).__name__


@pytest.mark.skipif(len(LOGS) < 25, reason="shared/sarif-samples and sarif-conformance are not present")
@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.name)
def test_streamed_parse_equals_loaded_parse_on_every_shared_log(path: Path):
    loaded = outcome(lambda: parse_sarif(load_sarif(path), source_name=path.name))
    streamed = outcome(lambda: parse_sarif_file(path, source_name=path.name))
    assert streamed == loaded
    if loaded[0] == "ok":
        assert sum(run[4] for run in loaded[1][1]) >= 0


def test_odd_shapes_in_a_project(tmp_path: Path):
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "src" / "a.py").write_text("import os\nos.system(cmd)\nprint('x')\n")
    located = {"ruleId": "R1", "message": {"text": "m"}, "locations": [{"physicalLocation": {
        "artifactLocation": {"uri": "src/a.py"}, "region": {"startLine": 2}}}]}
    log = {"version": "2.1.0", "runs": [
        {"results": [located, 7, None, [located], {**located, "ruleId": "R2"}],  # results before the tool
         "tool": {"driver": {"name": "First", "rules": [{"id": "R1", "properties": {"tags": ["CWE-78"]}}]}},
         "invocations": [{"executionSuccessful": True}]},
        {"tool": {"driver": {"name": "second"}}, "results": None},
        "not a run",
        {"tool": {"driver": {"name": "third"}}},
        {"tool": {"driver": {"name": "fourth"}}, "results": [], "properties": {"results": [1, 2]}},
        {"tool": {"driver": {"name": "fifth"}}, "results": [located, located]},
    ]}
    path = tmp_path / "odd.sarif"
    path.write_text(json.dumps(log))
    loaded = summary(parse_sarif(load_sarif(path), project, source_name="odd"))
    streamed = summary(parse_sarif_file(path, project, source_name="odd"))
    assert streamed == loaded
    assert [run[4] for run in streamed[1]] == [5, 0, 0, 0, 0, 2]


def test_load_sarif_streams_large_logs_and_says_the_schema_check_skipped_results(tmp_path: Path, monkeypatch):
    path = tmp_path / "big.sarif"
    results = [{"ruleId": f"R{i}", "message": {"text": "m"}, "locations": [{"physicalLocation": {
        "artifactLocation": {"uri": f"f{i}.py"}, "region": {"startLine": 1}}}]} for i in range(50)]
    path.write_text(json.dumps({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}},
                                                              "results": results}]}))
    whole = load_sarif(path)
    monkeypatch.setattr(sarif_stream, "STREAM_THRESHOLD", 1)
    log = load_sarif(path)
    assert isinstance(log["runs"][0]["results"], StreamedResults) and len(log["runs"][0]["results"]) == 50
    assert list(log["runs"][0]["results"]) == whole["runs"][0]["results"]  # read again from the file
    assert summary(parse_sarif(log)) == summary(parse_sarif(whole))
    assert schema_problems(log)[0].startswith("results not checked")


@pytest.mark.slow  # end-to-end; CI runs it with -m slow
def test_streamed_reader_bounds_nesting_and_reports_bad_json_in_one_line(tmp_path: Path):
    deep = tmp_path / "deep.sarif"
    deep.write_text('{"version": "2.1.0", "runs": [{"results": [' + "[" * 100_000 + "]" * 100_000 + "]}]}")
    with pytest.raises(SutureError, match="nested deeper"):
        parse_sarif_file(deep)
    broken = tmp_path / "broken.sarif"
    broken.write_text('{"version": "2.1.0", "runs": [{"results": [{"ruleId": ')
    with pytest.raises(SutureError, match="invalid JSON") as error:
        parse_sarif_file(broken)
    assert "\n" not in str(error.value)
