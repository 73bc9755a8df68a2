"""Build the Location, FlowStep and Finding records of parsed SARIF results without checking them twice.

pydantic's validation of a Finding and its Location costs about 10 µs, most of the parse of a 100,000-result log,
and for what ingest hands it, it only gives back the values it was given: ingest makes every value itself, of the
exact type the record wants (`str` from the JSON or computed, `int` line numbers, lists and dicts new for each
result). So when every value is of the exact type and within the field's constraints (a check of a few type
tests, most of them done once per rule or per run), the record is made as `model_construct` makes it (the same
`__dict__`, fields given and no extras) with what the validator would do done here (Location's end line not before
its start). Any other value (a str subclass, a bool line number, a line of 0...) goes through pydantic's
validation as before, with its result or its error.

The shortcut is taken only while the models are the ones it was written for: the fields below with these types,
defaults and constraints, Location's one model validator and no other validator, serializer, private attribute or
config besides `extra="forbid"` (`FAST` says; when a model changes it turns off and a test says so).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from agent.models import Finding, FlowStep, Location

# What each field is, as pydantic describes it (annotation, constraints), for the models this module was written for.
_WRITTEN_FOR: dict[type, dict[str, str]] = {
    Location: {
        "path": "<class 'str'> []", "start_line": "<class 'int'> [Ge(ge=1)]", "end_line": "int | None []",
        "start_column": "int | None []", "end_column": "int | None []", "snippet": "str | None []",
    },
    FlowStep: {"location": "<class 'agent.models.Location'> []", "message": "str | None []"},
    Finding: {
        "id": "<class 'str'> []", "tool": "<class 'str'> []", "tool_name": "str | None []",
        "rule_id": "<class 'str'> []", "rule_name": "str | None []", "message": "<class 'str'> []",
        "cwe": "list[int] []", "cve": "list[str] []",
        "severity": "typing.Literal['critical', 'high', 'medium', 'low', 'info'] []",
        "confidence": "typing.Literal['high', 'medium', 'low'] []", "security_severity": "float | None []",
        "location": "<class 'agent.models.Location'> []", "flow": "list[agent.models.FlowStep] []",
        "tags": "list[str] []", "help_uri": "str | None []", "partial_fingerprints": "dict[str, str] []",
        "suppressions": "list[dict[str, str]] []", "first_seen": "<class 'datetime.datetime'> []",
        "last_seen": "<class 'datetime.datetime'> []",
        "status": "typing.Literal['open', 'fixed', 'dismissed', 'risk_accepted'] []",
        "fixed_at": "datetime.datetime | None []", "risk_accepted_until": "datetime.datetime | None []",
    },
}
_MODEL_VALIDATORS: dict[type, list[str]] = {Location: ["_end_not_before_start"], FlowStep: [], Finding: []}
_SEVERITIES = frozenset({"critical", "high", "medium", "low", "info"})
_CONFIDENCES = frozenset({"high", "medium", "low"})
# the fields ingest gives a Finding (pydantic's "fields set"): all but the two a new finding leaves at their default
_FINDING_GIVEN = frozenset(_WRITTEN_FOR[Finding]) - {"fixed_at", "risk_accepted_until"}
_LOCATION_GIVEN = frozenset(_WRITTEN_FOR[Location])
_FLOW_GIVEN = frozenset(_WRITTEN_FOR[FlowStep])
_set = object.__setattr__


def _as_written(model: type) -> bool:
    decorators = model.__pydantic_decorators__  # type: ignore[attr-defined]
    fields = {name: f"{field.annotation!r} {field.metadata!r}" for name, field in model.model_fields.items()}  # type: ignore[attr-defined]
    others = (decorators.validators, decorators.field_validators, decorators.root_validators,
              decorators.field_serializers, decorators.model_serializers, decorators.computed_fields)
    return (list(fields.items()) == list(_WRITTEN_FOR[model].items())
            and list(decorators.model_validators) == _MODEL_VALIDATORS[model] and not any(others)
            and dict(model.model_config) == {"extra": "forbid"}  # type: ignore[attr-defined]
            and not model.__private_attributes__  # type: ignore[attr-defined]
            and not any(field.alias or field.validation_alias for field in model.model_fields.values()))  # type: ignore[attr-defined]


FAST = all(_as_written(model) for model in _WRITTEN_FOR)


_Model = TypeVar("_Model", Location, FlowStep, Finding)


def _made(model: type[_Model], values: dict[str, Any], given: frozenset[str]) -> _Model:
    """The record `model(**values)` validates to, for values it would take as they are (what model_construct does)."""
    record = model.__new__(model)
    _set(record, "__dict__", values)
    _set(record, "__pydantic_fields_set__", set(given))
    _set(record, "__pydantic_extra__", None)
    _set(record, "__pydantic_private__", None)
    return record


def location(path: str, start_line: int, end_line: int | None, start_column: int | None, end_column: int | None,
             snippet: str | None) -> Location:
    """Location(path=..., start_line=..., ...) with every field given."""
    if (FAST and type(path) is str and type(start_line) is int and start_line >= 1
            and (end_line is None or type(end_line) is int) and (start_column is None or type(start_column) is int)
            and (end_column is None or type(end_column) is int) and (snippet is None or type(snippet) is str)):
        if end_line is not None and end_line < start_line:  # Location's own validator
            end_line = start_line
        return _made(Location, {"path": path, "start_line": start_line, "end_line": end_line,
                                "start_column": start_column, "end_column": end_column, "snippet": snippet},
                     _LOCATION_GIVEN)
    return Location(path=path, start_line=start_line, end_line=end_line, start_column=start_column,
                    end_column=end_column, snippet=snippet)


def flow_step(place: Location, message: str | None) -> FlowStep:
    """FlowStep(location=place, message=message)."""
    if FAST and type(place) is Location and (message is None or type(message) is str):
        return _made(FlowStep, {"location": place, "message": message}, _FLOW_GIVEN)
    return FlowStep(location=place, message=message)


def exact_strings(values: object) -> bool:
    """True for a list, tuple or dict of exact `str`s (a dict: its keys too), which pydantic takes as they are."""
    if type(values) is dict:
        return all(type(key) is str and type(value) is str for key, value in values.items())
    return all(type(value) is str for value in values)  # type: ignore[attr-defined]


def exact_records(records: list) -> bool:
    """True for a list of dicts of exact `str`s (Finding.suppressions as pydantic takes it as it is)."""
    return all(type(record) is dict and exact_strings(record) for record in records)


def run_values_exact(tool: object, tool_name: object, seen: object) -> bool:
    """Whether what a run gives each of its findings (tool, tool_name, first/last seen) are values pydantic takes as
    they are."""
    return type(tool) is str and (tool_name is None or type(tool_name) is str) and type(seen) is datetime


def rule_values_exact(rule_name: object, help_uri: object, cwe: tuple, cve: tuple, tags: tuple, severity: object,
                      confidence: object, security_severity: object) -> bool:
    """Whether what a rule gives each of its findings (sarif_labels.Labels) are values pydantic takes as they are."""
    return ((rule_name is None or type(rule_name) is str) and (help_uri is None or type(help_uri) is str)
            and all(type(number) is int for number in cwe) and exact_strings(cve) and exact_strings(tags)
            and type(severity) is str and severity in _SEVERITIES
            and type(confidence) is str and confidence in _CONFIDENCES
            and (security_severity is None or type(security_severity) is float))


def finding(fingerprint: str, values: dict[str, Any], exact: bool) -> Finding:
    """The Finding of `values`, its fields in the Finding's order with first_seen, last_seen, status "open" and
    fixed_at and risk_accepted_until None, and id `fingerprint`: Finding(**values) with those last two left out.
    `exact`: the caller has checked every value (exact_strings, exact_records, run_values_exact, rule_values_exact)
    and made every list and dict of them for this finding alone; its Location and flow steps are records already
    (location(), flow_step()). `values` becomes the Finding's own."""
    values["id"] = fingerprint
    flow = values["flow"]
    if (FAST and exact and type(fingerprint) is str and type(values["location"]) is Location
            and (not flow or all(type(step) is FlowStep for step in flow))):
        return _made(Finding, values, _FINDING_GIVEN)
    return Finding(**{name: value for name, value in values.items() if name in _FINDING_GIVEN})


def set_id(finding: Finding, fingerprint: str) -> None:
    """Give `finding` another id: what building it with that id gives (an id is a plain str, checked by nothing else)."""
    if type(fingerprint) is not str:
        raise TypeError(f"a finding id is a str, not {type(fingerprint).__name__}")
    finding.__dict__["id"] = fingerprint
