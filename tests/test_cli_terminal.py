"""The command line off a terminal and with text from data (issue 16's frictions): nothing is wrapped at 80
columns when stdout is a pipe, square brackets are printed as they are (never eaten as markup), `--version`
exists, and `scan`/`run` take `--repo` like every other command (the positional still works)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from tests.conftest import git

DEEP = "src/" + "/".join(f"layer_{i:02d}_of_a_deeply_nested_package" for i in range(5)) + "/handlers_module.py"
BRACKETS = "src/app[v2].py"


def suture(cwd: Path, *args: str, expect: int = 0) -> subprocess.CompletedProcess:
    """`suture ARGS` in `cwd`, stdout and stderr pipes (not a terminal), a narrow COLUMNS that must not matter."""
    env = {**os.environ, "COLUMNS": "80"}
    proc = subprocess.run([sys.executable, "-m", "agent", *args], cwd=cwd, capture_output=True, text=True,
                          check=False, env=env, timeout=600)
    assert proc.returncode == expect, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def result(path: str, rule: str) -> dict:
    return {"ruleId": rule, "level": "error", "message": {"text": f"{rule} [CWE-78] at {path}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": path}, "region": {"startLine": 2}}}]}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A committed project with a file at a long path and one whose name has brackets, and a SARIF log with a
    finding in each (ingested)."""
    root = tmp_path / "proj"
    for path in (DEEP, BRACKETS):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("import os\nos.system(input())\n", encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    log = tmp_path / "scan.sarif"
    log.write_text(json.dumps({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Bandit"}},
                                                             "results": [result(DEEP, "B605"),
                                                                         result(BRACKETS, "B605")]}]}))
    suture(root, "ingest", str(log))
    return root


def test_version_prints_the_installed_version() -> None:
    out = suture(Path.cwd(), "--version").stdout
    assert out == f"suture {metadata.version('suture')}\n"


def test_help_prints_square_brackets_literally() -> None:
    assert "under [triage] in suture.toml" in " ".join(suture(Path.cwd(), "triage", "--help").stdout.split())


def test_tables_are_not_wrapped_off_a_terminal(repo: Path) -> None:
    out = suture(repo, "triage").stdout
    assert len(DEEP) > 200
    assert any(f"{DEEP}:2" in line for line in out.splitlines())  # the whole path on one line, not folded at 80
    assert any(f"{BRACKETS}:2" in line for line in out.splitlines())  # brackets from data kept


def test_errors_are_one_whole_line_off_a_terminal(repo: Path, tmp_path: Path) -> None:
    missing = tmp_path / ("results_of_the_nightly_scan_" * 6 + "[semgrep].sarif")
    err = suture(repo, "ingest", str(missing), expect=2).stderr
    assert err == f"error: {missing}: no such file\n"


def test_text_from_records_keeps_its_brackets(repo: Path) -> None:
    finding = next(r for r in json.loads(suture(repo, "triage", "--format", "json").stdout)
                   if r["path"] == BRACKETS)
    out = suture(repo, "accept", finding["id"], "--until", "2099-01-01", "--reason", "tolerated [for now]",
                 "--reviewer", "Ann [sec] <ann@example.com>").stdout
    assert f"({finding['rule_id']} {BRACKETS}:2) until 2099-01-01 as Ann [sec] <ann@example.com>" in out


def test_scan_takes_repo_as_an_option_or_a_positional(repo: Path, tmp_path: Path) -> None:
    by_option = suture(tmp_path, "scan", "--repo", str(repo), "--tool", "bandit", "--format", "json")
    by_position = suture(tmp_path, "scan", str(repo), "--tool", "bandit", "--format", "json")
    for proc in (by_option, by_position):
        [report] = json.loads(proc.stdout)
        assert report["tool"] == "bandit" and report["new"] + report["updated"] >= 2  # both placed files scanned
    err = suture(tmp_path, "scan", str(repo), "--repo", str(tmp_path), expect=2).stderr
    assert "given twice" in err and "\n" == err[-1] and err.count("\n") == 1


@pytest.mark.slow  # end-to-end; CI runs it with -m slow
def test_run_takes_repo_as_an_option(tmp_path: Path) -> None:
    """`run --repo` reaches the repository from another folder (nothing to scan: the queue is empty)."""
    root = tmp_path / "empty"
    root.mkdir()
    (root / "README").write_text("nothing here\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    proc = suture(tmp_path, "run", "--repo", str(root), "--format", "json")
    assert json.loads(proc.stdout) == []
    assert (root / ".suture" / "suture.db").is_file()
