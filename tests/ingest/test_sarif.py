"""SARIF ingestion against the 15 real logs in shared/sarif-samples, small hand-written logs over real
files in tmp projects, and real Bandit / Semgrep output."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent.errors import SutureError
from agent.ingest.sarif import load_sarif, normalize_tool_name, parse_sarif, schema_problems

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "shared" / "sarif-samples"
SAMPLE_FILES = sorted(SAMPLES.glob("*.sarif")) if SAMPLES.is_dir() else []
needs_samples = pytest.mark.skipif(not SAMPLE_FILES, reason="shared/sarif-samples is not present")


def sample(name: str):
    return parse_sarif(load_sarif(SAMPLES / name), source_name=name)


def one_run_log(results: list[dict], *, rules: list[dict] | None = None, **run_fields) -> dict:
    run = {"tool": {"driver": {"name": "Example Scanner", "rules": rules or []}}, "results": results, **run_fields}
    return {"version": "2.1.0", "runs": [run]}


def result_at(uri: str, line: int = 1, *, base: str | None = None, **fields) -> dict:
    artifact = {"uri": uri} if base is None else {"uri": uri, "uriBaseId": base}
    location = {"physicalLocation": {"artifactLocation": artifact, "region": {"startLine": line}}}
    return {"ruleId": "R1", "message": {"text": "problem"}, "locations": [location], **fields}


# ---- every real sample ---------------------------------------------------------------------------------


@needs_samples
def test_all_fifteen_samples_are_present():
    assert len(SAMPLE_FILES) == 15


@needs_samples
@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_every_result_becomes_a_finding_or_a_reasoned_skip(path: Path):
    log = load_sarif(path)
    parsed = parse_sarif(log, source_name=path.name)
    for run_index, run in enumerate(log["runs"]):
        run_parse = parsed.runs[run_index]
        assert len(run_parse.findings) + len(run_parse.skipped) == len(run.get("results", []))
        handled = sorted([s.result_index for s in run_parse.skipped])
        assert len(set(handled)) == len(handled)
        assert all(s.reason.strip() for s in run_parse.skipped)
        ids = [f.id for f in run_parse.findings]
        assert len(set(ids)) == len(ids), "two findings of one run share an id"
    for finding in parsed.findings:
        assert not finding.location.path.startswith("/") and "\\" not in finding.location.path
        assert finding.status == "open" and finding.message.strip()


@needs_samples
def test_codeql_srcroot_path_cwe_tags_rule_default_level_and_flow():
    parsed = sample("codeql-python-codeflows.sarif")
    assert (parsed.runs[0].tool, parsed.runs[0].tool_version, parsed.runs[0].scope) == ("codeql", "2.5.4", "codeql")
    finding = next(f for f in parsed.findings if f.rule_id == "py/path-injection")
    assert (finding.location.path, finding.location.start_line, finding.location.start_column) == (
        "bad/libapi.py", 22, 5)
    assert finding.cwe == [22, 23, 36, 73, 99]
    assert finding.severity == "high"  # no result level: the rule's defaultConfiguration "error"
    assert [(s.location.path, s.location.start_line) for s in finding.flow][:3] == [
        ("bad/mod_api.py", 32), ("bad/mod_api.py", 32), ("bad/mod_api.py", 39)]
    assert len(finding.flow) == 5 and finding.flow[0].message == "ControlFlowNode for request"
    assert "primaryLocationLineHash" in finding.partial_fingerprints
    empty_except = next(f for f in parsed.findings if f.rule_id == "py/empty-except")
    assert (empty_except.severity, empty_except.confidence, empty_except.rule_name) == ("low", "high", "Empty except")


@needs_samples
def test_codeql_security_severity_and_message_links():
    finding = sample("codeql-typescript-security-severity.sarif").findings[0]
    assert (finding.severity, finding.security_severity) == ("critical", 9.3)
    assert finding.cwe == [94, 95, 79, 116]
    assert finding.message == "Template, which may contain code, depends on a user-provided value."
    assert len(finding.flow) == 6


@needs_samples
def test_semgrep_cwe_from_strings_and_word_security_severity():
    parsed = sample("semgrep-oss-javascript-gitlab-rules.sarif")
    assert parsed.runs[0].tool == "semgrep"
    first = parsed.findings[0]
    assert first.rule_id.endswith("javascript_pathtraversal_rule-non-literal-fs-filename")
    assert first.cwe == [22]
    assert (first.severity, first.security_severity) == ("medium", None)  # "MEDIUM" is a word, not a score
    assert first.confidence == "medium"  # semgrep's constant precision "very-high" is not evidence
    assert first.location.snippet == "      const buffer = fs.readFileSync('dist/' + file)"


@needs_samples
def test_trivy_cve_ids_and_cvss_banding():
    parsed = sample("trivy-alpine-image-vulns.sarif")
    assert [f.cve for f in parsed.findings] == [["CVE-2019-1549"], ["CVE-2019-1551"]] * 2
    assert {(f.severity, f.security_severity) for f in parsed.findings} == {("medium", 5.3)}
    assert any("ROOTPATH" in w for w in parsed.warnings)


@needs_samples
def test_gosec_schema_violation_is_a_warning_and_cwe_comes_from_taxonomy():
    log = load_sarif(SAMPLES / "gosec-cwe-taxonomy-fixes.sarif")
    problems = schema_problems(log)
    assert any("fixes/0/artifactChanges" in p for p in problems)
    parsed = parse_sarif(log)
    assert len(parsed.findings) == 7
    by_rule = {f.rule_id: f for f in parsed.findings}
    assert by_rule["G304"].cwe == [22] and by_rule["G301"].cwe == [276] and by_rule["G104"].cwe == [703]
    assert by_rule["G304"].severity == "medium"  # gosec's severity tag beats its level "error"
    assert by_rule["G304"].location.snippet == "keyData, err := os.ReadFile(keyPath)"


@needs_samples
def test_eslint_inline_suppressions_are_skipped_with_reason():
    parsed = sample("eslint-inline-suppressions.sarif")
    assert parsed.findings == []
    assert {s.reason for s in parsed.skipped} == {"suppressed in source: inSource"}


@needs_samples
def test_non_file_uri_is_skipped():
    skipped = sample("axe-core-http-uris.sarif").skipped
    assert len(skipped) == 1 and "http://localhost/" in skipped[0].reason


@needs_samples
def test_shiftleft_absolute_uris_follow_the_working_directory(tmp_path: Path):
    parsed = sample("shiftleft-scan-python-baselinestate.sarif")
    assert parsed.findings[0].location.path == "dojo/tools/veracode/parser.py"
    assert parsed.findings[0].confidence == "high" and parsed.findings[0].severity == "high"
    target = tmp_path / "dojo" / "tools" / "veracode" / "parser.py"
    target.parent.mkdir(parents=True)
    target.write_text("".join(f"line {n}\n" for n in range(1, 41)))
    in_project = parse_sarif(load_sarif(SAMPLES / "shiftleft-scan-python-baselinestate.sarif"), tmp_path)
    assert [f.location.path for f in in_project.findings] == ["dojo/tools/veracode/parser.py"]
    assert in_project.findings[0].location.snippet == "line 35\n"
    assert sum("does not exist in the project" in s.reason for s in in_project.skipped) == 10


@needs_samples
def test_templated_messages_and_pass_results():
    spotbugs = sample("spotbugs-java-logical-locations.sarif")
    assert spotbugs.findings[0].message == "Hard coded reference to an absolute pathname in Boot.main(String[])."
    assert any("exit code 3" in w for w in spotbugs.warnings)
    binskim = sample("binskim-gcc-execstack.sarif")
    assert binskim.findings[0].message.startswith("PIE disabled on executable 'gcc.execstack'.")
    assert sorted(s.rule_id for s in binskim.skipped) == ["BA3003", "BA3010"]


@needs_samples
def test_osv_absolute_paths_without_root_and_snyk_flows_govulncheck_cves():
    osv = sample("osv-scanner-pip-default-valued-fields.sarif")
    assert len(osv.skipped) == 3 and all("no project root" in s.reason for s in osv.skipped)
    snyk = sample("snykcode-codeflows.sarif")
    assert len(snyk.findings[0].flow) == 18
    assert snyk.findings[0].location.path == "frontend/src/app/score-board/score-board.component.ts"
    govuln = sample("govulncheck-stacks-codeflows.sarif")
    assert [f.cve for f in govuln.findings] == [["CVE-2026-32282"], ["CVE-2026-32289"], ["CVE-2026-32288"]]
    assert [f.severity for f in govuln.findings] == ["medium", "high", "low"]


@needs_samples
def test_devskim_severity_words_and_sarif_default_level():
    devskim = sample("devskim-fixes-replacements.sarif")
    assert [f.severity for f in devskim.findings] == ["low", "critical", "high", "medium", "high", "high", "critical"]
    pylint = sample("pylint-via-sarif-multitool-converter.sarif")
    assert pylint.findings[0].rule_id == "C0301(line-too-long)" and pylint.findings[0].severity == "medium"


@needs_samples
def test_with_project_root_results_on_missing_files_are_skipped(tmp_path: Path):
    parsed = parse_sarif(load_sarif(SAMPLES / "codeql-python-codeflows.sarif"), tmp_path)
    assert parsed.findings == []
    assert all(s.reason.startswith("file does not exist in the project") for s in parsed.skipped)


# ---- paths, rules and skips on hand-written logs over real files ---------------------------------------


def test_uri_forms_resolve_to_project_relative_paths(tmp_path: Path):
    (tmp_path / "src" / "my dir").mkdir(parents=True)
    for name in ("src/a.py", "src/my dir/b.py"):
        (tmp_path / name).write_text("x = 1\n")
    root_uri = tmp_path.as_uri() + "/"
    results = [
        result_at("a.py", base="SRC"),
        result_at("src/my%20dir/b.py"),
        result_at("./src/a.py"),
        result_at("src\\my dir\\b.py"),
        result_at(tmp_path.as_uri() + "/src/a.py"),
        result_at(str(tmp_path / "src" / "a.py")),
        result_at("../outside.py"),
        result_at("file:///elsewhere/x.py"),
        result_at("src/missing.py"),
        result_at("pkg:pypi/requests@2.0"),
    ]
    log = one_run_log(results, originalUriBaseIds={"ROOT": {"uri": root_uri}, "SRC": {"uri": "src/", "uriBaseId": "ROOT"}})
    parsed = parse_sarif(log, tmp_path)
    assert [f.location.path for f in parsed.findings] == [
        "src/a.py", "src/my dir/b.py", "src/a.py", "src/my dir/b.py", "src/a.py", "src/a.py"]
    reasons = [s.reason for s in parsed.skipped]
    assert "escapes the project root" in reasons[0]
    assert reasons[1] == "absolute path outside the project root (map it with --path-prefix or --map): /elsewhere/x.py"
    assert reasons[2] == "file does not exist in the project: src/missing.py"
    assert "scheme 'pkg'" in reasons[3]


def test_base_id_from_another_machine_maps_below_the_base(tmp_path: Path):
    (tmp_path / "app.py").write_text("print(1)\n")
    log = one_run_log([result_at("app.py", base="%SRCROOT%")],
                      originalUriBaseIds={"%SRCROOT%": {"uri": "file:///home/runner/work/repo/"}})
    assert parse_sarif(log, tmp_path).findings[0].location.path == "app.py"
    assert parse_sarif(log).findings[0].location.path == "app.py"


def test_rules_from_extensions_message_strings_and_skip_reasons(tmp_path: Path):
    (tmp_path / "a.py").write_text("one\ntwo\n")
    extension = {"name": "pack", "rules": [{"id": "X9", "name": "Bad thing", "helpUri": "https://h/x9",
                                            "messageStrings": {"m": {"text": "bad {0} in {1}"}},
                                            "properties": {"cwe": ["CWE-79", "89"], "security-severity": 4.0}}]}
    results = [
        result_at("a.py", 2, ruleId=None, rule={"index": 0, "toolComponent": {"index": 0}},
                  message={"id": "m", "arguments": ["eval", "main"]}),
        result_at("a.py", 1, suppressions=[{"kind": "external", "status": "underReview"}]),
        result_at("a.py", 1, suppressions=[{"kind": "external", "status": "accepted", "justification": "ok"}]),
        result_at("a.py", 1, baselineState="absent"),
        {"ruleId": "R1", "message": {"text": "no place"}, "locations": [{"logicalLocations": [{"name": "f"}]}]},
    ]
    log = one_run_log(results, automationDetails={"id": "nightly/backend/2024-06-01"})
    log["runs"][0]["tool"]["extensions"] = [extension]
    run = parse_sarif(log, tmp_path).runs[0]
    assert run.tool == "example-scanner" and run.scope == "example-scanner:nightly/backend"
    first, kept = run.findings
    assert (first.rule_id, first.rule_name, first.help_uri, first.message) == ("X9", "Bad thing", "https://h/x9",
                                                                              "bad eval in main")
    assert (first.cwe, first.severity, first.security_severity) == ([79, 89], "medium", 4.0)
    assert first.location.snippet == "two\n"
    assert kept.location.start_line == 1  # an underReview suppression does not hide a result
    assert [s.reason for s in run.skipped] == [
        "suppressed outside the source: external (ok)",  # not "in source" (issue 18)
        "baselineState is 'absent': the result was in the baseline and is gone from this run",
        "no physical location (the result names no file)",
    ]


def test_snippets_from_non_utf8_files_and_lines_past_eof(tmp_path: Path):
    (tmp_path / "legacy.py").write_bytes(b"name = 'caf\xe9'\n")
    region_snippet = {"startLine": 9, "snippet": {"text": "scanner's copy"}}
    past_eof = result_at("legacy.py")
    past_eof["locations"][0]["physicalLocation"]["region"] = region_snippet
    parsed = parse_sarif(one_run_log([result_at("legacy.py", 1), past_eof]), tmp_path)
    assert parsed.findings[0].location.snippet == "name = 'caf\ufffd'\n"
    assert parsed.findings[1].location.snippet == "scanner's copy"
    assert any("past the end" in w for w in parsed.warnings)


def test_tool_names_are_normalized():
    assert [normalize_tool_name(n) for n in ("Bandit", "Semgrep OSS", "CodeQL", " Python  Security Analysis ")] == [
        "bandit", "semgrep", "codeql", "python-security-analysis"]


# ---- load errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"version": "2.1.0",\n  "runs": [,]}', "line 2, column 12"),
        ('{"version": "2.0.0", "runs": []}', "'2.0.0'"),
        ("[1, 2]", "an array, not an object"),
        ('{"hello": "world"}', "not a SARIF log"),
    ],
)
def test_bad_files_raise_one_line_suture_errors(tmp_path: Path, content: str, expected: str):
    path = tmp_path / "bad.sarif"
    path.write_text(content)
    with pytest.raises(SutureError) as caught:
        load_sarif(path)
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_unreadable_file_raises_suture_error(tmp_path: Path):
    with pytest.raises(SutureError, match="cannot read SARIF file"):
        load_sarif(tmp_path / "absent.sarif")


def test_missing_project_root_raises_suture_error(tmp_path: Path):
    with pytest.raises(SutureError, match="is not a directory"):
        parse_sarif(one_run_log([result_at("a.py")]), tmp_path / "nope")


# ---- real scanners --------------------------------------------------------------------------------------

VULNERABLE = """import subprocess
import pickle


def run(cmd):
    return subprocess.call(cmd, shell=True)


def load(blob):
    return pickle.loads(blob)

password = "hunter2"
"""


def test_real_bandit_output(tmp_path: Path):
    project = tmp_path / "proj"
    project.mkdir()
    (project / "app.py").write_text(VULNERABLE)
    out = tmp_path / "out.sarif"
    done = subprocess.run([sys.executable, "-m", "bandit", "-q", "-f", "sarif", "-o", str(out), "-r", "."],
                          check=False, cwd=project, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr  # bandit exits 1 when it finds issues
    log = load_sarif(out)
    assert schema_problems(log) == []
    parsed = parse_sarif(log, project)
    assert parsed.runs[0].tool == "bandit" and parsed.skipped == []
    by_rule = {f.rule_id: f for f in parsed.findings}
    shell = by_rule["B602"]
    assert (shell.severity, shell.confidence, shell.cwe) == ("high", "high", [78])
    assert (shell.location.path, shell.location.start_line) == ("app.py", 6)
    assert shell.location.snippet == "    return subprocess.call(cmd, shell=True)\n"
    assert (by_rule["B301"].severity, by_rule["B301"].cwe) == ("medium", [502])  # no level: issue_severity
    assert (by_rule["B105"].severity, by_rule["B105"].confidence) == ("low", "medium")
    without_root = parse_sarif(log)  # bandit's snippet is the whole line: same ids as from disk
    assert [f.id for f in without_root.findings] == [f.id for f in parsed.findings]


@pytest.mark.skipif(shutil.which("semgrep") is None, reason="semgrep is not installed")
@pytest.mark.slow  # end-to-end; CI runs it with -m slow
def test_real_semgrep_output(tmp_path: Path):
    (tmp_path / "rules.yml").write_text(
        "rules:\n"
        "  - id: py-eval\n    pattern: eval(...)\n    message: eval is dangerous\n"
        "    languages: [python]\n    severity: ERROR\n"
        "    metadata:\n      cwe: \"CWE-95: Eval Injection\"\n      confidence: LOW\n"
    )
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("x = eval(input())\n")
    done = subprocess.run(
        ["semgrep", "--config", str(tmp_path / "rules.yml"), "--sarif", "--metrics=off",
         "--disable-version-check", "-q", "src"],
        check=False, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    parsed = parse_sarif(json.loads(done.stdout), tmp_path)
    finding = parsed.findings[0]
    assert (parsed.runs[0].tool, finding.rule_id, finding.location.path) == ("semgrep", "py-eval", "src/a.py")
    assert (finding.cwe, finding.severity, finding.confidence) == ([95], "high", "low")


def test_each_run_keeps_its_own_tool_scope_and_indices(tmp_path: Path):
    (tmp_path / "a.py").write_text("x = 1\n")
    log = one_run_log([result_at("a.py")])
    log["runs"].append({"tool": {"driver": {"name": "Other", "version": "2"}},
                        "automationDetails": {"id": "frontend"},
                        "results": [result_at("a.py"), result_at("b.py")]})
    parsed = parse_sarif(log, tmp_path)
    assert [(r.tool, r.tool_version, r.scope, r.result_count) for r in parsed.runs] == [
        ("example-scanner", None, "example-scanner", 1), ("other", "2", "other:frontend", 2)]
    assert [(s.run_index, s.result_index) for s in parsed.skipped] == [(1, 1)]
    assert parsed.runs[0].findings[0].id != parsed.runs[1].findings[0].id  # the tool is part of the id
