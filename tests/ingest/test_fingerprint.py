"""Finding ids survive line shifts and whitespace edits, and separate genuinely different findings."""

from __future__ import annotations

from pathlib import Path

from agent.ingest.fingerprint import finding_fingerprint, fingerprint_context, normalize_context
from agent.ingest.sarif import parse_sarif

BODY = ["import os", "", "", "def handler(request):", "    os.system(request.args['cmd'])", "    return 'ok'"]


def write(project: Path, lines: list[str]) -> None:
    (project / "app.py").write_text("\n".join(lines) + "\n")


def scan(project: Path, *lines: int, rule: str = "cmd-injection", root: bool = True):
    results = [
        {
            "ruleId": rule,
            "message": {"text": "command injection"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": "app.py"},
                                                "region": {"startLine": line}}}],
        }
        for line in lines
    ]
    log = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Bandit"}}, "results": results}]}
    return parse_sarif(log, project if root else None).findings


def test_same_id_when_lines_are_inserted_above(tmp_path: Path):
    write(tmp_path, BODY)
    before = scan(tmp_path, 5)[0]
    write(tmp_path, ["# a", "# new", "# header"] + BODY)
    after = scan(tmp_path, 8)[0]
    assert after.location.start_line == 8 and after.location.snippet == before.location.snippet
    assert after.id == before.id


def test_same_id_when_only_indentation_changes(tmp_path: Path):
    write(tmp_path, BODY)
    before = scan(tmp_path, 5)[0]
    write(tmp_path, BODY[:4] + ["\t\tos.system(request.args['cmd'])   "] + BODY[5:])
    assert scan(tmp_path, 5)[0].id == before.id


def test_different_line_text_gives_a_different_id(tmp_path: Path):
    write(tmp_path, BODY)
    before = scan(tmp_path, 5)[0]
    write(tmp_path, BODY[:4] + ["    os.system(request.form['cmd'])"] + BODY[5:])
    assert scan(tmp_path, 5)[0].id != before.id


def test_identical_lines_get_distinct_ids_that_follow_them(tmp_path: Path):
    twice = BODY + ["    os.system(request.args['cmd'])"]
    write(tmp_path, twice)
    first, second = scan(tmp_path, 5, 7)
    assert first.id != second.id
    write(tmp_path, ["# shifted"] + twice)
    shifted = scan(tmp_path, 8, 6)  # result order in the log does not matter: occurrences follow the file
    assert {f.location.start_line: f.id for f in shifted} == {6: first.id, 8: second.id}


def test_rule_and_path_are_part_of_the_id(tmp_path: Path):
    write(tmp_path, BODY)
    base = scan(tmp_path, 5)[0]
    assert scan(tmp_path, 5, rule="other-rule")[0].id != base.id
    args = ("bandit", "cmd-injection", "app.py", "os.system(x)", 0)
    assert finding_fingerprint(*args) != finding_fingerprint("bandit", "cmd-injection", "lib/app.py", "os.system(x)", 0)
    assert finding_fingerprint(*args) == finding_fingerprint("Bandit", "cmd-injection", "app.py", "  os.system(x)\r\n", 0)
    assert finding_fingerprint(*args) != finding_fingerprint("bandit", "cmd-injection", "app.py", "os.system(x)", 1)


def test_fallback_order_when_source_text_is_unavailable():
    partial = {"primaryLocationLineHash": "9cbc869fbfffeb60:1"}
    assert fingerprint_context(source_text="a  =  1\n", snippet_text="x", partial_fingerprints=partial,
                               start_line=3) == ("source", "a = 1")
    assert fingerprint_context(source_text=None, snippet_text=" b\t= 2 ", partial_fingerprints=partial,
                               start_line=3) == ("snippet", "b = 2")
    assert fingerprint_context(source_text="   \n", snippet_text=None, partial_fingerprints=partial,
                               start_line=3) == ("partial_fingerprints",
                                                 "partialFingerprints:primaryLocationLineHash=9cbc869fbfffeb60:1")
    assert fingerprint_context(source_text=None, snippet_text=None, partial_fingerprints={},
                               start_line=3) == ("line", "line:3")
    assert fingerprint_context(source_text=None, snippet_text=None, partial_fingerprints=partial,
                               start_line=None) == ("whole_file", "")


def test_long_regions_only_hash_their_first_lines():
    head = "\n".join(f"line {n}" for n in range(5))
    _, short = fingerprint_context(source_text=head + "\nline 5\n", snippet_text=None,
                                   partial_fingerprints={}, start_line=1)
    _, edited = fingerprint_context(source_text=head + "\nline 5 changed\n", snippet_text=None,
                                    partial_fingerprints={}, start_line=1)
    assert short == edited == head
    assert normalize_context("  a\n\n\tb  c \r\n") == "a\nb c"


def test_line_number_fallback_is_reported(tmp_path: Path):
    findings_log = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [
        {"ruleId": "r", "message": {"text": "m"},
         "locations": [{"physicalLocation": {"artifactLocation": {"uri": "gone.py"}, "region": {"startLine": 4}}}]},
    ]}]}
    parsed = parse_sarif(findings_log)
    assert parsed.findings[0].id == finding_fingerprint("x", "r", "gone.py", "line:4", 0)
    assert any("use the line number" in w for w in parsed.warnings)
