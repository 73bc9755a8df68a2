"""`suture ingest` through the real entry point (issue 18): a log with `runs: []` says "no runs"; summary, skip and
error lines stay one line each when stdout/stderr are not a terminal (pipes here, at the default 80 columns), and
every path mapping is printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import git

DATA = Path(__file__).resolve().parents[1] / "data" / "shared" / "sarif-conformance"


def suture(cwd: Path, *args: str, expect: int = 0) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.run([sys.executable, "-m", "agent", *args], cwd=cwd, capture_output=True, text=True,
                          check=False, env=env, timeout=600)
    assert proc.returncode == expect, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def make_repo(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


def test_runs_empty_says_no_runs(tmp_path: Path):
    repo = make_repo(tmp_path / "repo", {"a.py": "x = 1\n"})
    proc = suture(repo, "ingest", str(DATA / "runs-empty.sarif"))
    assert proc.stdout.splitlines() == [f"{DATA / 'runs-empty.sarif'}: no runs: nothing ingested",
                                        "  closed nothing: the log has no runs"]


LONG = "a_rather_long_folder_name_that_goes_on/" * 3


def test_lines_are_not_wrapped_when_not_a_terminal(tmp_path: Path):
    files = {f"{LONG}module.py": "import os\nx = eval(input())\n"}
    repo = make_repo(tmp_path / "repo", files)
    results = [
        {"ruleId": "R1", "message": {"text": "eval"}, "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": f"/ci/build/workspace/{LONG}module.py"}, "region": {"startLine": 2}}}]},
        {"ruleId": "R2", "message": {"text": "gone"}, "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": f"{LONG}a_file_that_is_not_in_the_repository_at_all.py"},
            "region": {"startLine": 1}}}]},
    ]
    log = tmp_path / ("a-log-with-a-name-long-enough-to-need-wrapping-at-eighty-columns" * 2 + ".sarif")
    log.write_text(json.dumps({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Scanner"}},
                                                              "results": results}]}))
    out = suture(repo, "ingest", str(log)).stdout.splitlines()
    assert out[0] == f"{log}: paths mapped: /ci/build/workspace/ → (project root) (automatic: a unique suffix " \
                     "matched a project file, 1 path)"
    assert out[1] == f"{log}: scanner: 1 new, 0 seen again, 0 re-opened, 0 marked fixed, 1 skipped"
    assert out[2].startswith("  closed nothing: 1 of 2 results of run 1 (scanner) could not be placed")
    assert out[3] == (f"  skipped result 1 (R2): file does not exist in the project: "
                      f"{LONG}a_file_that_is_not_in_the_repository_at_all.py")
    assert len(out) == 4

    error = suture(repo, "ingest", str(log), "--map", "/ci/build/workspace", expect=2).stderr.splitlines()
    assert len(error) == 1 and error[0].startswith("error: --map '/ci/build/workspace': expected FROM=TO")


def test_map_option_from_the_command_line(tmp_path: Path):
    repo = make_repo(tmp_path / "repo", {"pkg/app.js": "a\nb\n", "other/app.js": "a\nb\n"})
    results = [{"ruleId": "R1", "message": {"text": "m"}, "locations": [{"physicalLocation": {
        "artifactLocation": {"uri": "file:///home/runner/work/x/x/app.js"}, "region": {"startLine": 2}}}]}]
    log = tmp_path / "x.sarif"
    log.write_text(json.dumps({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "ESLint"}},
                                                              "results": results}]}))
    proc = suture(repo, "ingest", str(log), "--map", "/home/runner/work/x/x=pkg", "--format", "json")
    [report] = json.loads(proc.stdout)
    assert report["new"] == 1 and report["path_mappings"] == [
        "/home/runner/work/x/x → pkg (--path-prefix/--map, 1 path)"]


def test_a_usage_error_is_one_line_not_a_box(tmp_path: Path):
    repo = make_repo(tmp_path / "repo", {"a.py": "x = 1\n"})
    proc = suture(repo, "ingest", "x.sarif", "--map", expect=2)
    assert proc.stderr.splitlines() == ["error: Option '--map' requires an argument. (see --help)"]
    proc = suture(repo, "ingest", "x.sarif", "--path-prefx", "/ci", expect=2)
    [line] = proc.stderr.splitlines()
    assert line.startswith("error: No such option: --path-prefx") and "Traceback" not in proc.stderr
