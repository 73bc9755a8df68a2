"""Bandit and Semgrep run for real on a copy of examples/billing; each full scan happens once per module."""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from agent import scanners
from agent.errors import SutureError
from agent.scanners import (
    ScannerNotInstalled,
    ScanRun,
    ScanTargetError,
    available_scanners,
    run_bandit,
    run_scanner,
    run_semgrep,
)
from tests.examples.billing_truth import copy_example, planted_issues

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "shared" / "schemas" / "sarif-schema-2.1.0.json"
HAS_SEMGREP = available_scanners()["semgrep"] is not None
needs_semgrep = pytest.mark.skipif(not HAS_SEMGREP, reason="semgrep is not installed")
VULNERABLE = 'import os\n\n\ndef run(cmd):\n    os.system("ls " + cmd)\n'


def results(run: ScanRun) -> list[tuple[str, str, int]]:
    """(rule id, path, start line) of every result in the run's SARIF."""
    log = json.loads(run.sarif_path.read_text(encoding="utf-8"))
    found = []
    for sarif_run in log["runs"]:
        for result in sarif_run["results"]:
            location = result["locations"][0]["physicalLocation"]
            found.append((result["ruleId"], location["artifactLocation"]["uri"], location["region"]["startLine"]))
    return found


def rule_cwes(run: ScanRun) -> dict[str, set[int]]:
    """CWE numbers per rule, from SARIF rule tags (Bandit: external/cwe/cwe-78; Semgrep: "CWE-78: ...")."""
    log = json.loads(run.sarif_path.read_text(encoding="utf-8"))
    cwes: dict[str, set[int]] = {}
    for rule in log["runs"][0]["tool"]["driver"]["rules"]:
        tags = rule.get("properties", {}).get("tags", [])
        cwes[rule["id"]] = {int(m) for tag in tags for m in re.findall(r"(?i)cwe[-/](\d+)", tag)}
    return cwes


class StallingProxy:
    """A loopback 'proxy' that accepts connections and never answers: any network use by a scanner stalls
    here and is recorded."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.connections: list[bytes] = []
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            client.settimeout(1)
            try:
                self.connections.append(client.recv(200))
            except OSError:
                self.connections.append(b"")

    def close(self) -> None:
        self.server.close()


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = copy_example(tmp_path_factory.mktemp("scan") / "billing")
    # code in folders a scan must skip, at the top and nested
    for folder in ("node_modules/pkg", ".venv/lib", "build", "billing/dist"):
        (root / folder).mkdir(parents=True)
        (root / folder / "vendored.py").write_text(VULNERABLE)
    return root


@pytest.fixture(scope="module")
def bandit_run(project, tmp_path_factory) -> ScanRun:
    return run_bandit(project, tmp_path_factory.mktemp("out") / "bandit.sarif")


@pytest.fixture(scope="module")
def semgrep_run(project, tmp_path_factory):
    if not HAS_SEMGREP:
        pytest.skip("semgrep is not installed")
    proxy = StallingProxy()
    with pytest.MonkeyPatch.context() as env:
        for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY"):
            env.setenv(name, proxy.url)
        env.delenv("NO_PROXY", raising=False)
        env.delenv("no_proxy", raising=False)
        run = run_semgrep(project, tmp_path_factory.mktemp("out") / "semgrep.sarif", timeout=120)
    proxy.close()
    return run, proxy.connections


def test_available_scanners_reports_installed_versions():
    found = available_scanners()
    assert set(found) == {"bandit", "semgrep"}
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", found["bandit"])
    if HAS_SEMGREP:
        assert re.fullmatch(r"\d+\.\d+\.\d+.*", found["semgrep"])


def test_bandit_full_scan_reports_every_planted_issue(bandit_run):
    assert bandit_run.ok, bandit_run.error
    assert bandit_run.exit_code == 1  # bandit's "issues found", not a failure
    assert bandit_run.files_scanned is None
    found = results(bandit_run)
    cwes = rule_cwes(bandit_run)
    for issue in planted_issues():
        hits = [line for rule, path, line in found if rule == issue.bandit_rule and path == issue.path]
        assert hits, f"bandit missed #{issue.number} {issue.name} ({issue.bandit_rule} in {issue.path})"
        assert all(issue.first_line <= line <= issue.last_line for line in hits), (issue, hits)
        assert cwes[issue.bandit_rule], f"{issue.bandit_rule} carries no CWE"
    # test-code noise is there too (asserts, a hard-coded test secret)
    assert any(rule == "B101" and path.startswith("tests/") for rule, path, _ in found)
    assert any(rule == "B105" and path == "tests/test_links.py" for rule, path, _ in found)


@needs_semgrep
def test_semgrep_full_scan_reports_exactly_the_planted_issues(semgrep_run):
    run, _ = semgrep_run
    assert run.ok, run.error
    found = results(run)
    cwes = rule_cwes(run)
    expected = [issue for issue in planted_issues() if issue.semgrep_rule]
    for issue in expected:
        hits = [line for rule, path, line in found if rule == issue.semgrep_rule and path == issue.path]
        assert hits, f"semgrep missed #{issue.number} {issue.name} ({issue.semgrep_rule} in {issue.path})"
        assert all(issue.first_line <= line <= issue.last_line for line in hits), (issue, hits)
        assert issue.cwe in cwes[issue.semgrep_rule]
    # our pack does not flag the constant shell command (the planted false positive), nor anything else
    assert len(found) == len(expected), found
    assert not any(path == "billing/buildinfo.py" for _, path, _ in found)


@needs_semgrep
def test_semgrep_never_touches_the_network(semgrep_run):
    run, connections = semgrep_run
    assert run.ok, run.error
    assert connections == []


def test_sarif_paths_are_relative_and_exist(project, bandit_run, semgrep_run):
    runs = [bandit_run] + ([semgrep_run[0]] if HAS_SEMGREP else [])
    for run in runs:
        paths = {path for _, path, _ in results(run)}
        assert paths
        for path in paths:
            assert not path.startswith(("/", "./", "file:")), (run.tool, path)
            assert (project / path).is_file(), (run.tool, path)


def test_full_scans_skip_excluded_folders(bandit_run, semgrep_run):
    runs = [bandit_run] + ([semgrep_run[0]] if HAS_SEMGREP else [])
    for run in runs:
        assert not [path for _, path, _ in results(run) if path.endswith("vendored.py")], run.tool


def test_bandit_partial_scan_reports_only_the_given_file(project, tmp_path):
    run = run_bandit(project, tmp_path / "partial.sarif", files=["./billing/exports.py", "billing/gone.py"])
    assert run.ok, run.error
    assert run.files_scanned == ["billing/exports.py"]
    found = results(run)
    assert {path for _, path, _ in found} == {"billing/exports.py"}
    assert ("B602", "billing/exports.py", 36) in found


@needs_semgrep
def test_semgrep_partial_scan_reports_only_the_given_file(project, tmp_path):
    run = run_scanner("semgrep", project, tmp_path / "partial.sarif", files=["billing/settings.py"])
    assert run.ok, run.error
    assert run.files_scanned == ["billing/settings.py"]
    assert results(run) == [("python-yaml-unsafe-load", "billing/settings.py", 28)]


def test_partial_scan_with_nothing_to_scan_writes_an_empty_valid_log(project, tmp_path):
    run = run_bandit(project, tmp_path / "empty.sarif", files=["README.md", "billing/gone.py"])
    assert run.ok and run.files_scanned == [] and run.exit_code is None
    log = json.loads(run.sarif_path.read_text())
    assert log["runs"][0]["results"] == [] and log["runs"][0]["tool"]["driver"]["name"] == "Bandit"
    if not SCHEMA.is_file():
        pytest.skip("shared SARIF schema not available")
    import jsonschema

    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(log)


@pytest.mark.parametrize("target", ["../outside.py", "/etc/passwd", "billing/../../x.py", ""])
def test_partial_scan_refuses_targets_outside_the_project(project, tmp_path, target):
    with pytest.raises(ScanTargetError):
        run_bandit(project, tmp_path / "x.sarif", files=[target])


def test_partial_scan_refuses_symlinks_out_of_the_project(project, tmp_path):
    outside = tmp_path / "elsewhere.py"
    outside.write_text(VULNERABLE)
    (project / "link.py").symlink_to(outside)
    try:
        with pytest.raises(ScanTargetError, match="symlink"):
            run_bandit(project, tmp_path / "x.sarif", files=["link.py"])
    finally:
        (project / "link.py").unlink()


def test_missing_semgrep_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert available_scanners()["semgrep"] is None
    with pytest.raises(ScannerNotInstalled) as caught:
        run_semgrep(tmp_path, tmp_path / "out.sarif")
    assert str(caught.value) == "semgrep is not installed; pip install 'suture[semgrep]'"
    assert isinstance(caught.value, SutureError)


def test_unknown_scanner_is_refused(tmp_path):
    with pytest.raises(SutureError, match="unknown scanner 'eslint'"):
        run_scanner("eslint", tmp_path, tmp_path / "out.sarif")


@needs_semgrep
def test_semgrep_failure_is_reported_not_raised(project, tmp_path):
    bad_rules = tmp_path / "bad.yml"
    bad_rules.write_text("rules:\n  - id: broken\n    pattern: eval(\n")
    run = run_semgrep(project, tmp_path / "bad.sarif", files=["billing/db.py"], rules=bad_rules)
    assert not run.ok
    assert run.exit_code not in (0, 1)
    assert run.error.startswith("semgrep exited with code") and "\n" not in run.error


@needs_semgrep
def test_semgrep_timeout_is_reported(project, tmp_path):
    run = run_semgrep(project, tmp_path / "slow.sarif", timeout=0.05)
    assert run.error is not None and "timed out after 0.05 s" in run.error
    assert run.exit_code is None


def test_timeout_kills_the_whole_process_group(tmp_path):
    pid_file = tmp_path / "child.pid"
    command = ["sh", "-c", f"sleep 30 & echo $! > {pid_file}; wait"]
    out = tmp_path / "never.sarif"
    run = scanners.base.execute(scanners.get("bandit"), command, tmp_path, out, None, 1.0, ok_codes={0})
    assert run.error is not None and "timed out" in run.error
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the scanner's child process survived the timeout"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.is_file() and "\nState:\tZ" in status.read_text())
