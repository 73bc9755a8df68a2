"""Findings read from the store share what would otherwise be copied into each of them (agent.store.schema.
_compact: pydantic's fields-given set and repeated short strings) and still behave as independent records: copies
with updates, attribute changes, equality, dumps. Each check fails if the sharing leaked a change from one finding
into another."""

from __future__ import annotations

from pathlib import Path

from agent.models import Finding, Location
from agent.store import Store


def _store(tmp_path: Path) -> Store:
    store = Store.open(tmp_path / "s.db")
    findings = [Finding(id=f"f{i}", tool="bandit", rule_id="B602", message=f"m{i}", cwe=[78],
                       location=Location(path="app/views.py", start_line=i + 1, snippet="x")) for i in range(3)]
    store.record_scan(tool="bandit", scope="", source="s.sarif", content=b"log", findings=findings, full=True)
    return store


def test_findings_read_together_share_their_fields_set_and_strings(tmp_path: Path):
    store = _store(tmp_path)
    a, b, c = store.list_findings("open")
    assert a.__pydantic_fields_set__ is b.__pydantic_fields_set__ == set(Finding.model_fields)
    assert a.location.__pydantic_fields_set__ is c.location.__pydantic_fields_set__
    assert a.rule_id is b.rule_id and a.location.path is c.location.path  # one string object, not three
    assert a == store.get_finding("f0") and a.model_dump() == store.get_finding("f0").model_dump()
    assert a.model_dump(exclude_unset=True) == a.model_dump()  # every field was given, as before
    store.close()


def test_a_change_to_one_finding_reaches_no_other(tmp_path: Path):
    store = _store(tmp_path)
    a, b, _ = store.list_findings("open")
    fixed = a.model_copy(update={"status": "fixed"})
    assert (fixed.status, a.status, b.status) == ("fixed", "open", "open")
    a.cwe.append(89)
    a.message = "changed"
    assert (b.cwe, b.message, a.message) == ([78], "m1", "changed")
    assert b.model_fields_set == set(Finding.model_fields)  # the shared set gained nothing
    moved = a.model_copy(update={"location": a.location.model_copy(update={"path": "other.py"})})
    assert (moved.location.path, a.location.path, b.location.path) == ("other.py", "app/views.py", "app/views.py")
    store.close()
