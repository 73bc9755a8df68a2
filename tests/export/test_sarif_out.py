"""`suture sarif` (issue 18): the log validates against the OASIS SARIF 2.1.0 schema (Draft 4), carries what GitHub
code scanning reads (rule name and descriptions, help, `security-severity` with the `security` tag, repository-root
URIs for a project in a sub-folder, suppressions all-or-none per run, fixes whose deleted region ends inside the
file), and survives a round trip: ingest → sarif → ingest into a fresh clone keeps ids, severities, CWEs, rule and
tool names, columns, tags, suppressions and their justifications. Real git repositories, SQLite stores and the real
`suture` entry point."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest

from agent import app
from agent.export.sarif_out import build_sarif
from agent.models import Proposal, Validation, utcnow
from agent.patch.diff import unified_diff
from tests.conftest import EXAMPLE, git

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "shared" / "schemas" / "sarif-schema-2.1.0.json"
PROJECT = "services/billing"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose project (examples/billing) lives in services/billing, one commit."""
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLE, root / PROJECT, ignore=shutil.ignore_patterns(".suture", "__pycache__", ".pytest_cache"))
    (root / "README.md").write_text("monorepo\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


def location(uri: str, line: int, start: int | None = None, end: int | None = None) -> dict:
    region = {"startLine": line, **({"startColumn": start} if start else {}), **({"endColumn": end} if end else {})}
    return {"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}


def scanner_log(tmp_path: Path) -> Path:
    """A scanner's log in the shapes the corpus shows: a mixed-case tool name, named rules with CWE and other tags,
    security-severity on one rule, columns, and results the log suppresses (inSource and external)."""
    rules = [
        {"id": "PY-YAML", "name": "UnsafeYamlLoad", "properties": {
            "tags": ["security", "external/cwe/cwe-502", "deserialization"], "security-severity": "8.1"}},
        {"id": "CWE-89/string-concat-query", "name": "SqlConcat", "properties": {"tags": ["sql"]}},
        {"id": "PY-EVAL", "properties": {"tags": ["maintainability"]}},
    ]
    results = [
        {"ruleId": "PY-YAML", "ruleIndex": 0, "level": "error", "message": {"text": "yaml.load with Loader"},
         "locations": [location("billing/settings.py", 28, 12, 47)]},
        {"ruleId": "CWE-89/string-concat-query", "ruleIndex": 1, "level": "warning",
         "message": {"text": "query built by string formatting"}, "locations": [location("billing/db.py", 40, 5)]},
        {"ruleId": "PY-EVAL", "ruleIndex": 2, "level": "note", "message": {"text": "review this"},
         "locations": [location("billing/render.py", 10)],
         "suppressions": [{"kind": "external", "status": "accepted", "justification": "Tracked in SEC-1234"}]},
        {"ruleId": "PY-EVAL", "ruleIndex": 2, "level": "note", "message": {"text": "review that"},
         "locations": [location("billing/links.py", 12)], "suppressions": [{"kind": "inSource"}]},
    ]
    log = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "CodeScanner Pro", "rules": rules}},
                                         "results": results}]}
    path = tmp_path / "scanner.sarif"
    path.write_text(json.dumps(log))
    return path


def ingest(project: Path, log: Path) -> list[app.IngestReport]:
    session = app.open_session(project)
    try:
        return app.ingest_files(session, [log])
    finally:
        session.close()


def decide(project: Path) -> tuple[str, str]:
    """A person accepts the risk of the SQL finding; an approved patch rewrites the last lines of settings.py.
    Returns (accepted finding id, patched finding id)."""
    session = app.open_session(project)
    try:
        store = session.store
        by_rule = {f.rule_id: f for f in store.list_findings(None)}
        sql, yaml_finding = by_rule["CWE-89/string-concat-query"], by_rule["PY-YAML"]
        store.accept_risk(sql.id, utcnow() + timedelta(days=30), "internal admin tool only", "Ann Lee <ann@x.io>")
        path = "billing/settings.py"
        old = (project / path).read_text()
        lines = old.splitlines(keepends=True)
        new = "".join(lines[:-2]) + "    return settings  # checked\n"
        proposal = Proposal(id="p" * 16, finding_id=yaml_finding.id, kind="patch", engine="builtin:test",
                            diff=unified_diff({path: (old, new)}), rationale="tidy the end")
        store.add_proposal(proposal)
        store.update_proposal(proposal.model_copy(update={"validation": Validation(applied=True, passed=True)}))
        store.transition(proposal.id, "validated", "suture")
        store.transition(proposal.id, "approved", "Bo Reviewer")
        return sql.id, yaml_finding.id
    finally:
        session.close()


def suture_sarif(project: Path, out: Path) -> dict:
    proc = subprocess.run([sys.executable, "-m", "agent", "sarif", "--out", str(out)], cwd=project,
                          capture_output=True, text=True, check=False, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text())


@pytest.fixture
def exported(repo: Path, tmp_path: Path) -> tuple[dict, Path, tuple[str, str]]:
    project = repo / PROJECT
    ingest(project, scanner_log(tmp_path))
    ids = decide(project)
    return suture_sarif(project, tmp_path / "out.sarif"), repo, ids


@pytest.mark.skipif(not SCHEMA.is_file(), reason="../shared/schemas is not beside the checkout")
def test_suture_sarif_validates_against_the_sarif_schema(exported):
    """The whole log, with every field issue 18 added (rule help and descriptions, security-severity, suppressions
    arrays, columns, fixes), is valid SARIF 2.1.0."""
    log, _, _ = exported
    [run] = log["runs"]
    assert all({"name", "shortDescription", "fullDescription", "help"} <= set(r) for r in run["tool"]["driver"]["rules"])
    assert all("suppressions" in r for r in run["results"]) and any("fixes" in r for r in run["results"])
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(log)


def test_the_fields_github_code_scanning_reads(exported):
    log, repo, (accepted_id, patched_id) = exported
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "CodeScanner Pro"  # as the scanner wrote it, not lower-cased
    rules = {r["id"]: r for r in driver["rules"]}
    for rule in rules.values():
        assert rule["name"] and rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert "security" in rule["properties"]["tags"]
        assert 0 <= float(rule["properties"]["security-severity"]) <= 10
    assert rules["PY-YAML"]["properties"]["security-severity"] == "8.1"
    assert rules["PY-YAML"]["name"] == "UnsafeYamlLoad" and "CWE-502" in rules["PY-YAML"]["fullDescription"]["text"]
    assert "deserialization" in rules["PY-YAML"]["properties"]["tags"]
    assert "external/cwe/cwe-089" in rules["CWE-89/string-concat-query"]["properties"]["tags"]
    results = {r["partialFingerprints"]["suture/v1"]: r for r in run["results"]}
    for result in run["results"]:
        assert rules[result["ruleId"]] is driver["rules"][result["ruleIndex"]]
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri.startswith(PROJECT + "/") and (repo / uri).is_file()  # repository-root-relative
        assert isinstance(result["suppressions"], list)  # all or none within the run: here all
    region = results[patched_id]["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"], region["endColumn"]) == (28, 12, 47)  # columns kept
    [acceptance] = results[accepted_id]["suppressions"]
    assert acceptance["kind"] == "external" and acceptance["status"] == "accepted"
    assert "internal admin tool only" in acceptance["justification"] and "Ann Lee" in acceptance["justification"]
    assert results[patched_id]["suppressions"] == []
    [fix] = results[patched_id]["fixes"]
    assert fix["properties"]["suture/approvedBy"] == "Bo Reviewer" and fix["properties"]["suture/override"] is False
    [change] = fix["artifactChanges"]
    uri = change["artifactLocation"]["uri"]
    assert uri == f"{PROJECT}/billing/settings.py"
    file_lines = (repo / uri).read_text().splitlines()
    for replacement in change["replacements"]:
        region = replacement["deletedRegion"]
        assert region["endLine"] <= len(file_lines)  # never past the end of the file
        assert region["endColumn"] <= len(file_lines[region["endLine"] - 1]) + 1


def test_a_run_without_suppressions_writes_none(repo: Path, tmp_path: Path):
    log_path = tmp_path / "plain.sarif"
    log_path.write_text(json.dumps({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Bandit"}}, "results": [
        {"ruleId": "B506", "message": {"text": "yaml"}, "locations": [location("billing/settings.py", 28)]}]}]}))
    ingest(repo / PROJECT, log_path)
    session = app.open_session(repo / PROJECT)
    try:
        [run] = build_sarif(session.store, repo_prefix=PROJECT)["runs"]
    finally:
        session.close()
    assert all("suppressions" not in r for r in run["results"]) and run["tool"]["driver"]["name"] == "Bandit"


def test_the_fix_region_ends_inside_the_file_when_a_hunk_reaches_its_end():
    from agent.export.sarif_out import diff_to_fix

    old = "a\nb\nc\n"
    proposal = Proposal(id="q" * 16, finding_id="f" * 16, kind="patch", engine="builtin:test",
                        diff=unified_diff({"x.py": (old, "a\nb\nC\n")}))
    [replacement] = diff_to_fix(proposal)["artifactChanges"][0]["replacements"]
    assert replacement["deletedRegion"] == {"startLine": 1, "startColumn": 1, "endLine": 3, "endColumn": 2}
    assert replacement["insertedContent"]["text"] == "a\nb\nC"
    # applying it as SARIF says (a region of whole characters) gives the new file
    lines = old.splitlines(keepends=True)
    before = "".join(lines[:0])
    after = old[len("".join(lines[:2])) + 1:]
    assert before + replacement["insertedContent"]["text"] + after == "a\nb\nC\n"


def comparable(project: Path) -> dict[str, dict]:
    session = app.open_session(project)
    try:
        findings = session.store.list_findings(None)
        return {f.id: {
            "tool": f.tool, "tool_name": f.tool_name, "rule_id": f.rule_id, "rule_name": f.rule_name,
            "severity": f.severity, "security_severity": f.security_severity, "confidence": f.confidence,
            "cwe": f.cwe, "path": f.location.path, "lines": (f.location.start_line, f.location.last_line),
            "columns": (f.location.start_column, f.location.end_column), "status": f.status,
            "tags": [t for t in f.tags if "cwe" not in t.lower()],
        } for f in findings}
    finally:
        session.close()


def suppressions_by_id(log: dict) -> dict[str, list]:
    return {r["partialFingerprints"]["suture/v1"]: [{k: s.get(k) for k in ("kind", "status", "justification")}
                                                     for s in r.get("suppressions", [])]
            for run in log["runs"] for r in run["results"]}


def test_round_trip_into_a_fresh_clone_keeps_what_was_found_and_decided(exported, tmp_path: Path):
    first_log, repo, _ = exported
    before = comparable(repo / PROJECT)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    [report] = ingest(clone / PROJECT, tmp_path / "out.sarif")
    assert report.skipped == [] or all(s.reason.startswith("suppressed") for s in report.skipped)
    after = comparable(clone / PROJECT)
    for data in after.values():  # suture adds the `security` tag GitHub needs; every other tag is kept
        data["tags"] = [t for t in data["tags"] if t != "security"]
    for data in before.values():
        data["tags"] = [t for t in data["tags"] if t != "security"]
    for key in before:
        assert after.get(key) == before[key], key
    assert after == before
    assert {d["status"] for d in after.values()} == {"open", "risk_accepted", "dismissed"}
    second_log = suture_sarif(clone / PROJECT, tmp_path / "again.sarif")
    assert suppressions_by_id(second_log) == suppressions_by_id(first_log)
    justifications = [s["justification"] for ss in suppressions_by_id(second_log).values() for s in ss]
    assert "Tracked in SEC-1234" in justifications
    assert any("internal admin tool only" in (j or "") for j in justifications)
