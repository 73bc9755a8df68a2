"""sarif_records builds Location, FlowStep and Finding records without pydantic's validation only where that
validation would give back the values unchanged: the records it makes are the validated ones to the last detail
(values and their types, field order, fields given), anything else is validated as before, and a log written with
values JSON cannot hold (str subclasses, enums, int subclasses) parses exactly like its plain JSON twin."""

from __future__ import annotations

import enum
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from agent.ingest import sarif_records as records
from agent.ingest.project_files import _file_lines
from agent.ingest.sarif import parse_sarif
from agent.ingest.sarif_spill import Numbering
from agent.models import Finding, FlowStep, Location, utcnow


class Text(str):
    pass


class Level(str, enum.Enum):
    ERROR = "error"


class Number(int):
    pass


def state(record) -> tuple:
    """Everything that makes a pydantic record what it is, nested records included."""
    values = {name: (type(value), state(value) if hasattr(value, "__pydantic_fields_set__") else
                     [state(v) if hasattr(v, "__pydantic_fields_set__") else (type(v), v) for v in value]
                     if isinstance(value, list) else value)
              for name, value in record.__dict__.items()}
    return (type(record), list(record.__dict__), values, record.__pydantic_fields_set__, record.__pydantic_extra__,
            record.__pydantic_private__)


def test_the_shortcut_is_on_for_the_models_it_was_written_for():
    # turns off when agent/models.py changes a field, validator or setting of these records: re-check sarif_records
    assert records.FAST


def test_a_changed_model_turns_the_shortcut_off(monkeypatch):
    assert records._as_written(Location)
    monkeypatch.setitem(records._WRITTEN_FOR[Location], "start_line", "<class 'int'> []")  # no longer ge=1
    assert not records._as_written(Location)
    monkeypatch.setitem(records._MODEL_VALIDATORS, FlowStep, ["_check"])
    assert not records._as_written(FlowStep)


LOCATIONS = [
    ("a.py", 3, 3, 5, None, "x = 1\n"), ("a.py", 3, None, None, None, None), ("a.py", 9, 4, 1, 2, "s"),
    ("dir/\ud800.py", 10**30, 10**31, 2**70, 1, "lone \udfff"), ("a.py", 1, 1, None, 7, ""),
]


@pytest.mark.parametrize("values", LOCATIONS)
def test_a_location_is_the_validated_one(values):
    path, start, end, first, last, snippet = values
    made = records.location(path, start, end, first, last, snippet)
    validated = Location(path=path, start_line=start, end_line=end, start_column=first, end_column=last,
                         snippet=snippet)
    assert state(made) == state(validated)
    assert made.end_line is None or made.end_line >= made.start_line


@pytest.mark.parametrize("values", [
    (Text("a.py"), 3, 3, None, None, None), ("a.py", Number(3), None, None, None, None),
    ("a.py", True, None, None, None, None), ("a.py", 3, 3, Number(2), None, Text("snippet")),
])
def test_values_validation_would_change_are_validated(values):
    path, start, end, first, last, snippet = values
    made = records.location(*values)
    validated = Location(path=path, start_line=start, end_line=end, start_column=first, end_column=last,
                         snippet=snippet)
    assert state(made) == state(validated)
    assert type(made.path) is str and type(made.start_line) is int


def test_values_validation_refuses_are_refused():
    with pytest.raises(ValidationError):
        records.location("a.py", 0, None, None, None, None)
    with pytest.raises(ValidationError):
        records.location(None, 1, None, None, None, None)  # type: ignore[arg-type]


def fields(location: Location, **changes) -> dict:
    """A Finding's fields from its result (what it is given besides id, times and status)."""
    values = {"tool": "bandit", "tool_name": "Bandit", "rule_id": "B608", "rule_name": "hardcoded_sql",
              "message": "Possible SQL injection", "cwe": [89], "cve": ["CVE-2024-1"], "severity": "high",
              "confidence": "medium", "security_severity": 7.5, "location": location,
              "flow": [records.flow_step(location, "source"), records.flow_step(location, None)],
              "tags": ["security"], "help_uri": "https://example.com", "partial_fingerprints": {"k": "v"},
              "suppressions": [{"kind": "inSource", "justification": "why"}]}
    values.update(changes)
    return values


def values_of(result_fields: dict, now) -> dict:
    """What sarif_records.finding is given: every field in the Finding's order, id still to come."""
    return {"id": "", **result_fields, "first_seen": now, "last_seen": now, "status": "open", "fixed_at": None,
            "risk_accepted_until": None}


def test_a_finding_is_the_validated_one():
    now, place = utcnow(), records.location("a.py", 3, 3, 5, None, "x\n")
    for values in (fields(place), fields(place, flow=[], cwe=[], tags=[], partial_fingerprints={}, suppressions=[],
                                         tool_name=None, rule_name=None, help_uri=None, security_severity=None)):
        made = records.finding("f" * 64, values_of(values, now), exact=True)
        validated = Finding(id="f" * 64, first_seen=now, last_seen=now, status="open", **values)
        assert state(made) == state(validated)
        assert state(made.location) == state(validated.location)
        assert made.model_dump_json() == validated.model_dump_json()


def test_a_finding_not_checked_exact_is_validated():
    now, place = utcnow(), records.location("a.py", 3, 3, 5, None, "x\n")
    odd = fields(place, rule_id=Text("B608"), cwe=[Number(89)], severity=Text("high"))
    made = records.finding("f" * 64, values_of(odd, now), exact=False)
    assert type(made.rule_id) is str and type(made.cwe[0]) is int
    assert state(made) == state(Finding(id="f" * 64, first_seen=now, last_seen=now, status="open", **odd))


def test_what_pydantic_would_change_is_not_exact():
    assert records.exact_strings(["a", "b"]) and records.exact_strings({"k": "v"}) and records.exact_strings(())
    assert not records.exact_strings([Text("a")]) and not records.exact_strings({Text("k"): "v"})
    assert records.exact_records([{"kind": "inSource"}]) and not records.exact_records([{"kind": Level.ERROR}])
    now = utcnow()
    assert records.run_values_exact("bandit", None, now) and not records.run_values_exact(Text("bandit"), None, now)
    assert not records.run_values_exact("bandit", None, now.isoformat())
    assert records.rule_values_exact(None, None, (79,), (), ("t",), "high", "low", None)
    for changed in ({"cwe": (True,)}, {"severity": "severe"}, {"confidence": Text("low")}, {"security_severity": 7},
                    {"tags": (Text("t"),)}, {"help_uri": 5}):
        values = {"rule_name": None, "help_uri": None, "cwe": (79,), "cve": (), "tags": ("t",), "severity": "high",
                  "confidence": "low", "security_severity": None, **changed}
        assert not records.rule_values_exact(**values), changed


def test_set_id_gives_what_building_with_that_id_gives():
    now, place = utcnow(), records.location("a.py", 3, 3, 5, None, "x\n")
    made = records.finding("a" * 64, values_of(fields(place), now), exact=True)
    records.set_id(made, "b" * 64)
    assert state(made) == state(Finding(id="b" * 64, first_seen=now, last_seen=now, status="open",
                                        **fields(place)))


def odd_log() -> tuple[dict, dict]:
    """A log written with str/int subclasses and an enum (as a program, not JSON, could hand one over), and the
    same log as JSON gives it."""
    def result(rule_id: object, line: object, text: object, **more) -> dict:
        region = {"startLine": line, "startColumn": Number(2), "snippet": {"text": Text("x = 1")}}
        location = {"physicalLocation": {"artifactLocation": {"uri": Text("src/a.py")}, "region": region}}
        return {"ruleId": rule_id, "message": {"text": text}, "locations": [location], **more}

    results = [result(Text("R1"), Number(1), Text("odd message")), result("R1", 2, "plain", level=Level.ERROR),
               result("R2", 1, "tags", properties={"tags": [Text("security"), "CWE-79"], "cwe": [Number(22)]}),
               result("R3", 2, "flagged", partialFingerprints={"h": Text("1")},
                      suppressions=[{"kind": Text("external"), "justification": Text("later")}])]
    rules = [{"id": "R2", "name": Text("named"), "helpUri": Text("https://example.com")}]
    odd = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": Text("Odd Tool"), "rules": rules}},
                                         "results": results}]}
    return odd, json.loads(json.dumps(odd))


def dumps(parsed) -> list:
    runs = []
    for run in parsed.runs:
        made = [f.model_dump(exclude={"first_seen", "last_seen"}) for f in [*run.findings, *run.suppressed]]
        runs.append((made, [s.model_dump() for s in run.skipped], run.warnings,
                     [sorted(f.model_fields_set) for f in run.findings]))
    return runs


def test_a_log_of_subclassed_values_parses_like_its_json(tmp_path: Path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("x = 1\ny = 2\n", encoding="utf-8")
    odd, plain = odd_log()
    for root in (None, tmp_path):
        from_odd, from_json = parse_sarif(odd, root), parse_sarif(plain, root)
        assert dumps(from_odd) == dumps(from_json)
        assert len(from_odd.runs[0].findings) == 3 and len(from_odd.runs[0].suppressed) == 1
        for finding in from_odd.findings:
            assert type(finding.rule_id) is str and type(finding.location.path) is str
            assert all(type(tag) is str for tag in finding.tags) and all(type(n) is int for n in finding.cwe)


def test_numbering_counts_alike_with_or_without_digests():
    members = [("R", "a.py", "x", 3, 1), ("R", "a.py", "x", 1, 5), ("R", "b.py", "x", 1, 1), ("R", "a.py", "x", 1, 2),
               ("S", "a.py", "x", 1, 1), ("R", "a.py", "y", 1, 1)]
    counted = []
    for compact in (True, False):
        numbering = Numbering(compact=compact)
        for index, (rule, path, text, line, column) in enumerate(members):
            numbering.add(index, rule, path, text, line, column)
        counted.append(numbering.occurrences())
    assert counted[0] == counted[1] == {1: 1, 0: 2}  # by line, column, then position in the log


def test_file_lines_read_like_read_text(tmp_path: Path):
    cases = {"plain.py": b"a\nb\n", "crlf.py": b"a\r\nb\r\n", "cr.py": b"a\rb", "bad.py": b"caf\xe9\n\xff",
             "empty.py": b"", "big.py": b"line\n" * 40_000}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        expected = (tmp_path / name).read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
        assert _file_lines(str(tmp_path / name)) == expected, name
    assert _file_lines(str(tmp_path / "missing.py")) is None
    assert _file_lines(str(tmp_path)) is None  # a folder


def test_every_finding_of_a_parse_is_its_validated_rebuild(tmp_path: Path):
    """Whatever path built them, parsed findings are what validating their own fields gives (order, types, fields
    given), so sarif.py hands sarif_records its values in the Finding's order and nothing else."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("x = 1\ny = 2\n", encoding="utf-8")
    odd, plain = odd_log()
    flow = {"threadFlows": [{"locations": [{"location": {"physicalLocation": {
        "artifactLocation": {"uri": "src/a.py"}, "region": {"startLine": 2}}, "message": {"text": "step"}}}]}]}
    plain["runs"][0]["results"][1]["codeFlows"] = [flow]
    findings = [f for log in (odd, plain) for run in parse_sarif(log, tmp_path).runs for f in [*run.findings,
                                                                                              *run.suppressed]]
    assert len(findings) == 8 and any(f.flow for f in findings)
    for finding in findings:
        given = {name: getattr(finding, name) for name in finding.model_fields_set}
        assert state(finding) == state(Finding(**given))
        assert finding.model_fields_set == set(Finding.model_fields) - {"fixed_at", "risk_accepted_until"}
