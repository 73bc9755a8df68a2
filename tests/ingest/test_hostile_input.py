"""Hostile SARIF through the real `suture` entry point: lone UTF-16 surrogates in a rule id, a tool name or a
message, and JSON nested 100,000 levels deep. Each command gives a result or one error line with exit 2, never a
traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.errors import SutureError
from agent.ingest.json_limits import MAX_NESTING, nesting_depth, scrub_surrogates
from agent.ingest.sarif import load_sarif
from tests.test_e2e import suture

pytestmark = pytest.mark.slow

YAML_LINE = 28  # billing/settings.py: yaml.load(text, Loader=yaml.Loader)


def no_traceback(proc) -> None:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr[-3000:]


def surrogate_log(rule_id: str, tool: str, message: str) -> str:
    """SARIF text with the given strings; json.dumps writes a lone surrogate as a \\udXXX escape (valid JSON)."""
    # the CWE lets a fixer be chosen by the code at the line when the rule id itself is garbled
    rule = {"id": rule_id, "properties": {"tags": ["security", "external/cwe/cwe-502"]}}
    log = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": tool, "rules": [rule]}}, "results": [
        {"ruleId": rule_id, "level": "error", "message": {"text": message}, "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": "billing/settings.py"}, "region": {"startLine": YAML_LINE}}}]}]}]}
    text = json.dumps(log)
    assert "\\ud8" in text or "\\udc" in text or "\\udf" in text
    return text


@pytest.mark.parametrize("where", ["rule_id", "tool", "message"])
def test_lone_surrogates_pass_through_every_command(example_repo: Path, tmp_path: Path, where: str):
    values = {"rule_id": "B506", "tool": "bandit", "message": "Use of unsafe yaml load."}
    if where == "rule_id":  # bandit's rule ids choose its fixer exactly; a garbled one rightly chooses none
        values["tool"] = "codescanner"
    values[where] = values[where][:2] + "\ud800" + values[where][2:] + "\udfff"
    sarif = tmp_path / "odd.sarif"
    sarif.write_text(surrogate_log(values["rule_id"], values["tool"], values["message"]), encoding="ascii")

    ingested = suture(example_repo, "ingest", str(sarif), "--format", "json")
    no_traceback(ingested)
    rows = json.loads(suture(example_repo, "triage", "--format", "json").stdout)
    assert len(rows) == 1
    finding = rows[0]
    shown = finding["rule_id"] + finding["tool"]
    if where != "message":
        assert "\ufffd" in shown  # the lone surrogate became U+FFFD, once per surrogate
    no_traceback(suture(example_repo, "triage"))
    for task in ("draft", "classify"):
        context = suture(example_repo, "context", finding["id"][:10], "--task", task)
        no_traceback(context)
        if where == "message":
            assert "\ufffd" in context.stdout
    fixed = suture(example_repo, "fix", "--finding", finding["id"][:10], "--format", "json")
    no_traceback(fixed)
    proposals = json.loads(suture(example_repo, "review", "list", "--format", "json").stdout)
    assert proposals, "the yaml.load fixer should have drafted a proposal"
    proposal = proposals[0]["id"][:8]
    no_traceback(suture(example_repo, "review", "show", proposal))
    no_traceback(suture(example_repo, "review", "approve", proposal, "--reviewer", "Alice Example", expect=None))
    for target in ("branch", "patch"):
        exported = suture(example_repo, "export", proposal, "--to", target, "--out", str(tmp_path / "out"),
                          expect=None)
        no_traceback(exported)
    sarif_out = suture(example_repo, "sarif", "--out", str(tmp_path / "out.sarif"), expect=None)
    no_traceback(sarif_out)


def test_deeply_nested_json_is_one_error_line(example_repo: Path, tmp_path: Path):
    deep = tmp_path / "deep.sarif"
    deep.write_text('{"version": "2.1.0", "runs": [{"properties": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}]}")
    proc = suture(example_repo, "ingest", str(deep), expect=2)
    no_traceback(proc)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "nested" in lines[0] and "deep.sarif" in lines[0], proc.stderr


def test_nesting_bound_counts_brackets_outside_strings_only(tmp_path: Path):
    assert nesting_depth(b'{"a": "[[[[[[[[[[{{{{{{{", "b": [[1]]}') == 3
    assert nesting_depth(b'["\\"[[[[", [[]]]') == 3  # an escaped quote does not end the string
    ok = tmp_path / "ok.sarif"
    ok.write_text('{"version": "2.1.0", "runs": [{"properties": {"x": '
                  + "[" * (MAX_NESTING - 4) + "]" * (MAX_NESTING - 4) + "}}]}")
    load_sarif(ok)  # within the bound: loads
    too_deep = tmp_path / "deep.sarif"
    too_deep.write_text('{"version": "2.1.0", "runs": [' + "[" * MAX_NESTING + "]" * MAX_NESTING + "]}")
    with pytest.raises(SutureError, match="nested"):
        load_sarif(too_deep)


def test_scrub_replaces_only_lone_surrogates():
    value = json.loads('{"k\\ud800": ["\\ud83d\\ude00", "a\\udc00b", {"x": "\\ud800"}]}')
    assert scrub_surrogates(value) == {"k\ufffd": ["\U0001f600", "a\ufffdb", {"x": "\ufffd"}]}
