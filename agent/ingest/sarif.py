"""Read SARIF 2.1.0 logs from any producer into Finding records (pure functions, no store).

`load_sarif` reads and sanity-checks a file, `schema_problems` (sarif_schema.py) lists schema violations as
warnings (real tools write slightly invalid logs; the valid parts are still used), and `parse_sarif` turns each run into
fingerprinted Findings plus SkippedResults that say, per result, why it could not become a Finding.
Path handling lives in sarif_paths.py (the project's files it checks and reads: project_files.py); rule, message,
CWE/CVE, severity and confidence in sarif_rules.py; building the records in sarif_records.py; the error, the
top-level log check and the parse results (RunParse, SarifParse) in sarif_log.py. Logs of
sarif_stream.STREAM_THRESHOLD bytes or more are read as a stream (sarif_stream.py, `parse_sarif_file`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from pydantic import ValidationError

from agent.gc_pause import paused_gc
from agent.ingest import sarif_records as records
from agent.ingest import sarif_rules as rules
from agent.ingest import sarif_stream
from agent.ingest.closing import PAST_END_NOTE, run_failure
from agent.ingest.fingerprint import FingerprintBasis, context_fingerprint, fingerprint_context
from agent.ingest.json_limits import check_nesting, may_hold_surrogates, scrub_surrogates
from agent.ingest.path_map import PathMap
from agent.ingest.project_files import ProjectFiles
from agent.ingest.sarif_labels import RuleLabelMemo
from agent.ingest.sarif_log import RunParse, SarifError, SarifParse, check_log
from agent.ingest.sarif_paths import PathRejected, PathResolver
from agent.ingest.sarif_schema import schema_problems
from agent.ingest.sarif_spill import Numbering, Record, Spill, SpilledFindings
from agent.models import Finding, FlowStep, Location, SkippedResult, utcnow

__all__ = ["load_sarif", "normalize_tool_name", "parse_sarif", "parse_sarif_file", "schema_problems"]

_TOOL_ALIASES = {"semgrep oss": "semgrep", "semgrep pro": "semgrep", "semgrep pro engine": "semgrep"}
_NOT_A_PROBLEM_KINDS = {"pass": "the check passed", "notApplicable": "the check does not apply"}

obj, arr = rules.obj, rules.arr


class _Draft(NamedTuple):
    """A result on its way to a Finding, before its occurrence number (and so its id) is known."""

    result_index: int
    values: dict  # the Finding's fields in its order, id still to come (sarif_records.finding)
    basis: FingerprintBasis
    context: str
    suppressed: str | None  # the skip reason of a result its log suppresses (kept as a finding too)
    exact: bool  # `values` are values a Finding takes as they are (sarif_records)


def load_sarif(path: Path) -> dict:
    """Read a SARIF 2.1.0 log; raise SarifError (a SutureError) with a one-line reason otherwise. A log of
    sarif_stream.STREAM_THRESHOLD bytes or more is streamed: its runs' `results` are read from the file when
    parse_sarif iterates them, so memory is bounded by the findings, not by the file."""
    path = Path(path)
    try:
        if path.stat().st_size >= sarif_stream.STREAM_THRESHOLD:
            return sarif_stream.load_streamed(path)
        raw = path.read_bytes()
    except OSError as error:
        raise SarifError(f"cannot read SARIF file {path}: {error.strerror or error}") from error
    return decode_sarif(raw, str(path))


def decode_sarif(raw: bytes, name: str) -> dict:
    """Decode the bytes of a SARIF 2.1.0 log named `name` (for messages). Hostile input gives a SarifError,
    never a traceback: nesting deeper than json_limits.MAX_NESTING is refused before parsing, and lone
    surrogate escapes ("\\ud800") come back as U+FFFD in every string."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SarifError(f"{name} is not UTF-8 text (bad byte at offset {error.start})") from error
    check_nesting(raw, name)
    try:
        with paused_gc():
            log = json.loads(text)
    except json.JSONDecodeError as error:
        raise SarifError(
            f"invalid JSON in {name} at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from error
    if may_hold_surrogates(raw):
        scrub_surrogates(log)
    return check_log(log, name)


def normalize_tool_name(name: object) -> str:
    """Lower-case driver name with single dashes for spaces ("Semgrep OSS" -> "semgrep")."""
    text = " ".join(name.split()).lower() if isinstance(name, str) else ""
    if not text:
        return "unknown-tool"
    return _TOOL_ALIASES.get(text, text).replace(" ", "-")


def _scope(tool: str, run: dict) -> str:
    """`tool` or `tool:category`. SARIF's automationDetails.id is "<category>/<instance>": the category is
    what stays the same across scans, so it is kept; an id without "/" is taken whole (safer: it never
    makes one configuration's scan supersede another's)."""
    identifier = obj(run.get("automationDetails")).get("id")
    if not isinstance(identifier, str) or not identifier.strip():
        return tool
    category = identifier.rsplit("/", 1)[0] if "/" in identifier else identifier
    category = category.strip().strip("/")
    return f"{tool}:{category}" if category else tool


def _skip_reason(result: dict) -> str | None:
    if "suppressions" not in result and "baselineState" not in result and "kind" not in result:
        return None  # the common result: none of the three keys that can make it not a problem
    suppressions = [obj(s) for s in arr(result.get("suppressions"))]
    for suppression in suppressions:
        if suppression.get("status") in (None, "accepted"):
            kind = suppression.get("kind") if isinstance(suppression.get("kind"), str) else "unspecified"
            justification = suppression.get("justification")
            note = f" ({justification.strip()})" if isinstance(justification, str) and justification.strip() else ""
            return f"{rules.suppression_label(kind)}: {kind}{note}"
    if result.get("baselineState") == "absent":
        return "baselineState is 'absent': the result was in the baseline and is gone from this run"
    kind = result.get("kind")
    if kind in _NOT_A_PROBLEM_KINDS:
        return f"result kind '{kind}': {_NOT_A_PROBLEM_KINDS[kind]}, not a problem"
    return None


def _not_a_problem(result: object) -> bool:
    """True when the tool itself says this result is not a problem here (suppressed, pass, absent)."""
    try:
        return isinstance(result, dict) and _skip_reason(result) is not None
    except TypeError:  # an unhashable `kind`: a malformed result, so one that could not be placed
        return False


def _positive_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None


class _Place(NamedTuple):
    location: Location
    disk_text: str | None  # the flagged lines read from the project, when available
    snippet: str | None  # the scanner's region.snippet.text
    whole_file: bool  # no line known: the result is about the file as a whole


def _location(physical: dict, resolver: PathResolver, notes: dict[str, int]) -> _Place:
    """Resolve a physicalLocation; raises PathRejected when it names no file of the project."""
    path = resolver.relative_path(physical.get("artifactLocation"))
    region = physical.get("region")
    if type(region) is not dict:
        region = obj(region)
    start, end = region.get("startLine"), region.get("endLine")
    if type(start) is not int or start < 1:  # the usual line number is taken as it is
        start = _positive_int(start)
    if start is None and isinstance(region.get("charOffset"), int) and region["charOffset"] >= 0:
        start = resolver.line_of_offset(path, region["charOffset"])
    if type(end) is not int or end < 1:
        end = _positive_int(end)
    end = end or start
    first_column, last_column = region.get("startColumn"), region.get("endColumn")
    if first_column is not None and (type(first_column) is not int or first_column < 1):
        first_column = _positive_int(first_column)
    if last_column is not None and (type(last_column) is not int or last_column < 1):
        last_column = _positive_int(last_column)
    snippet = region.get("snippet")
    snippet = snippet.get("text") if isinstance(snippet, dict) else None
    if not isinstance(snippet, str) or not snippet or snippet.isspace():  # isspace: what strip() would leave empty
        snippet = None
    disk_text = None
    if start is not None:
        disk_text = resolver.read_lines(path, start, end or start)
        if disk_text is None and resolver.project_root is not None:
            notes[PAST_END_NOTE] = notes.get(PAST_END_NOTE, 0) + 1
    location = records.location(path, start or 1, end, first_column, last_column,
                                disk_text if disk_text is not None else snippet)
    return _Place(location, disk_text, snippet, start is None)


def _flow(result: dict, run: dict, resolver: PathResolver, notes: dict[str, int]) -> list[FlowStep]:
    """Steps of the first code flow's first thread flow (alternative paths are not merged)."""
    if "codeFlows" not in result:
        return []
    shared = arr(run.get("threadFlowLocations"))
    code_flows = [obj(c) for c in arr(result.get("codeFlows")) if arr(obj(c).get("threadFlows"))]
    if not code_flows:
        return []
    steps: list[FlowStep] = []
    for flow_location in map(obj, arr(obj(arr(code_flows[0].get("threadFlows"))[0]).get("locations"))):
        position = flow_location.get("index")
        if "location" not in flow_location and isinstance(position, int) and 0 <= position < len(shared):
            flow_location = obj(shared[position])
        location = obj(flow_location.get("location"))
        physical = obj(location.get("physicalLocation"))
        try:
            step_location = _location(physical, resolver, notes).location if physical else None
        except PathRejected:
            step_location = None
        if step_location is None:
            notes["flow steps dropped (no project file)"] = notes.get("flow steps dropped (no project file)", 0) + 1
            continue
        steps.append(records.flow_step(step_location, rules.text_of(location.get("message")) or None))
    return steps


def _partial_fingerprints(result: dict) -> dict[str, str]:
    """The scanner's partialFingerprints; suture's own `suture/v1` (its id, written by `suture sarif`) is left out,
    so re-ingesting suture's output fingerprints a finding as the first ingest did (and a log cannot pick ids)."""
    if "partialFingerprints" not in result:
        return {}
    raw = obj(result.get("partialFingerprints"))
    return {key: value for key, value in raw.items()
            if isinstance(key, str) and isinstance(value, str) and key != "suture/v1"}


# a Finding's fields that come from its result (and are spilled for a streamed log): all but id, times and status
_RESULT_FIELDS = ("tool", "tool_name", "rule_id", "rule_name", "message", "cwe", "cve", "severity", "confidence",
                  "security_severity", "location", "flow", "tags", "help_uri", "partial_fingerprints", "suppressions")
_RULE_KEY_TYPES = (str, int, type(None))  # the exact types of ruleId/ruleIndex/ruleGuid that key the rule memo


@dataclass
class _RunContext:
    """What every result of one run shares, worked out once per run instead of once per result."""

    run: dict
    run_index: int
    tool: str
    resolver: PathResolver
    notes: dict[str, int]
    memo: RuleLabelMemo
    now: datetime  # when its findings were first and last seen

    def __post_init__(self) -> None:
        self.tool_object = obj(self.run.get("tool"))
        self.driver = obj(self.tool_object.get("driver"))
        name = self.driver.get("name")
        self.tool_name = name.strip() if isinstance(name, str) and name.strip() else None
        self.exact = records.run_values_exact(self.tool, self.tool_name, self.now)
        self._rules: dict[tuple, tuple[str, dict, dict]] = {}
        self._no_rule: dict = {}  # read only, like every rule
        self._rule_ids: frozenset[str] | None = None  # every rule id of the driver and extensions, once asked

    def resolve_rule(self, result: dict) -> tuple[str, dict, dict]:
        """rules.resolve_rule, remembered per (ruleId, ruleIndex, ruleGuid) for results without a `rule` object:
        those three (with their types: 1 and True are different indexes) are all it reads of such a result. A
        result whose rule the run does not define (Trivy: one CVE id per result) gets the run's one empty rule,
        so what depends on the rule alone (severity, confidence) is still worked out once (RuleLabelMemo)."""
        rule_id, index, guid = result.get("ruleId"), result.get("ruleIndex"), result.get("ruleGuid")
        if index is None and guid is None and type(rule_id) is str and rule_id and self._undefined(rule_id, result):
            return rule_id, self._no_rule, self.driver  # what resolving it finds, without keeping each such id
        id_type, index_type, guid_type = type(rule_id), type(index), type(guid)
        if "rule" in result or not (id_type in _RULE_KEY_TYPES and index_type in _RULE_KEY_TYPES
                                    and guid_type in _RULE_KEY_TYPES):
            return self._shared_empty(rules.resolve_rule(result, self.tool_object))
        key = (id_type, rule_id, index_type, index, guid_type, guid)
        known = self._rules.get(key)
        if known is None:
            known = self._rules[key] = self._shared_empty(rules.resolve_rule(result, self.tool_object))
        return known

    def _undefined(self, rule_id: str, result: dict) -> bool:
        """Whether the result, naming its rule by id only, names one no tool component of the run defines (nor a rule
        its hierarchical id extends): many logs name a rule per result (Trivy: a CVE id) that no rule describes."""
        if "rule" in result or "/" in rule_id:
            return False
        if self._rule_ids is None:
            self._rule_ids = rules.defined_rule_ids(self.tool_object)
        return rule_id not in self._rule_ids

    def _shared_empty(self, resolved: tuple[str, dict, dict]) -> tuple[str, dict, dict]:
        rule_id, rule, component = resolved
        return (rule_id, self._no_rule, component) if not rule else resolved


def _first_physical(result: dict) -> object:
    """The physicalLocation of the result's first location that names an artifact, or None. The usual result (its
    first location, a plain object, names one) is answered without looking further."""
    locations = result.get("locations")
    if type(locations) is list and locations and type(locations[0]) is dict:
        physical = locations[0].get("physicalLocation")
        if type(physical) is dict and physical.get("artifactLocation") is not None:
            return physical
    return next(
        (obj(loc).get("physicalLocation") for loc in arr(locations)
         if obj(obj(loc).get("physicalLocation")).get("artifactLocation") is not None),
        None,
    )


def _skip(shared: _RunContext, result_index: int, rule_id: str, reason: str) -> SkippedResult:
    return SkippedResult(run_index=shared.run_index, result_index=result_index, rule_id=rule_id, reason=reason)


def _parse_result(result: dict, result_index: int, shared: _RunContext) -> _Draft | SkippedResult:
    run, tool, resolver, notes = shared.run, shared.tool, shared.resolver, shared.notes
    rule_id, rule, component = shared.resolve_rule(result)
    reason = _skip_reason(result)
    suppressed = reason if reason and result.get("suppressions") else None  # kept as a finding, if placed
    if reason and not suppressed:
        return _skip(shared, result_index, rule_id, reason)
    physical = _first_physical(result)
    if not physical:
        return _skip(shared, result_index, rule_id, suppressed or "no physical location (the result names no file)")
    try:
        place = _location(obj(physical), resolver, notes)
    except PathRejected as rejected:
        return _skip(shared, result_index, rule_id, suppressed or str(rejected))
    partials = _partial_fingerprints(result)
    basis, context = fingerprint_context(
        source_text=place.disk_text, snippet_text=place.snippet, partial_fingerprints=partials,
        start_line=None if place.whole_file else place.location.start_line)
    labels = shared.memo.labels(result, rule, rule_id, run, tool)
    message = rules.message_text(result, rule, component, shared.driver) or rule_id
    flow = _flow(result, run, resolver, notes)  # each returns at once when the result has none of its keys
    suppressions = rules.suppression_records(result)
    values = {
        "id": "",
        "tool": tool,
        "tool_name": shared.tool_name,
        "rule_id": rule_id,
        "rule_name": labels.rule_name,
        "message": message,
        "cwe": list(labels.cwe),
        "cve": list(labels.cve),
        "severity": labels.severity,
        "confidence": labels.confidence,
        "security_severity": labels.security_severity,
        "location": place.location,
        "flow": flow,
        "tags": list(labels.tags),
        "help_uri": labels.help_uri,
        "partial_fingerprints": partials,
        "suppressions": suppressions,
        "first_seen": shared.now,
        "last_seen": shared.now,
        "status": "open",
        "fixed_at": None,
        "risk_accepted_until": None,
    }
    exact = (shared.exact and labels.exact and type(rule_id) is str and type(message) is str
             and (not partials or records.exact_strings(partials))
             and (not suppressions or records.exact_records(suppressions)))
    return _Draft(result_index, values, basis, context, suppressed, exact)


def _build(record: Record, occurrences: dict[int, int], now: datetime) -> Finding:
    """The Finding of one spilled result, with its id: `occurrences` numbers identical (rule, path, text)
    findings of the run in file order (sarif_spill.Numbering)."""
    result_index, context, _suppressed, (tool, rule_id, path), fields = record
    fingerprint = context_fingerprint(tool, rule_id, path, context, occurrences.get(result_index, 0))
    if isinstance(fields, bytes):  # read back from a Spill: the fields' JSON, completed and validated at once
        stamp = now.isoformat()
        head = json.dumps({"id": fingerprint, "first_seen": stamp, "last_seen": stamp, "status": "open"})
        return Finding.model_validate_json(head[:-1].encode() + b"," + fields[1:])
    return Finding(id=fingerprint, first_seen=now, last_seen=now, status="open", **fields)


def _run_warnings(run: dict, by_line: int, resolver: PathResolver, notes: dict[str, int]) -> list[str]:
    warnings: list[str] = []
    for invocation in map(obj, arr(run.get("invocations"))):
        if invocation.get("executionSuccessful") is False:
            code = invocation.get("exitCode")
            warnings.append(f"the tool reported an unsuccessful run (exit code {code}): results may be incomplete")
    for base_id in sorted(b for b in resolver.undefined_base_ids if "SRCROOT" not in b.upper()):
        warnings.append(f"uriBaseId {base_id} is not defined in originalUriBaseIds; its paths were taken "
                        "relative to the project root")
    if by_line:
        warnings.append(f"{by_line} finding(s) have no source text, snippet or partialFingerprints: their ids "
                        "use the line number and change when lines move")
    warnings += [f"{count} {what}" for what, count in sorted(notes.items())]
    return warnings


def _parse_run(run: object, run_index: int, project_root: Path | None, now: datetime,
               path_map: PathMap | None = None, files: ProjectFiles | None = None) -> RunParse:
    run = obj(run)
    driver = obj(obj(run.get("tool")).get("driver"))
    tool = normalize_tool_name(driver.get("name"))
    version = driver.get("version") or driver.get("semanticVersion")
    results = run.get("results")
    parsed = RunParse(
        run_index=run_index,
        tool=tool,
        tool_version=version if isinstance(version, str) else None,
        scope=_scope(tool, run),
        result_count=len(results) if isinstance(results, list) else 0,
        failure=run_failure(run, run_index + 1, tool),
    )
    if not isinstance(results, list):
        parsed.warnings.append("the run has no 'results' array (the tool may not have run)")
        return parsed
    resolver = PathResolver.for_run(run, project_root, path_map, files)
    notes: dict[str, int] = {}
    # a streamed log's results go to a temporary file as they are parsed: memory stays flat (sarif_spill.py)
    spill = Spill() if getattr(results, "streamed", False) else None
    placed: list[tuple[int, Finding, str]] = []  # (result index, its finding, fingerprint context) of a loaded log
    numbering = Numbering(compact=spill is not None)
    by_line = suppressed = 0
    shared = _RunContext(run, run_index, tool, resolver, notes, RuleLabelMemo(), now)
    for result_index, result in enumerate(results):
        try:
            outcome = (
                _parse_result(result, result_index, shared)
                if isinstance(result, dict)
                else SkippedResult(run_index=run_index, result_index=result_index, reason="result is not an object")
            )
        except (ValidationError, TypeError, ValueError, KeyError, IndexError, AttributeError) as error:
            first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
            outcome = SkippedResult(run_index=run_index, result_index=result_index,
                                    reason=f"malformed result: {first_line}")
        if isinstance(outcome, SkippedResult):
            parsed.skipped.append(outcome)
            parsed.unplaced += not _not_a_problem(result)
        else:
            values, context = outcome.values, outcome.context
            place, rule_id = values["location"], values["rule_id"]
            # suppressed and reported results are numbered together, so an id does not depend on a suppression
            numbering.add(result_index, rule_id, place.path, context, place.start_line, place.start_column or 0)
            if spill is not None:
                fields = {name: values[name] for name in _RESULT_FIELDS}
                spill.add((result_index, context, bool(outcome.suppressed), (tool, rule_id, place.path), fields))
            else:  # built now with the id of a first occurrence; the few later ones get theirs below
                finding = records.finding(context_fingerprint(tool, rule_id, place.path, context, 0), values,
                                          outcome.exact)
                (parsed.suppressed if outcome.suppressed else parsed.findings).append(finding)  # type: ignore[union-attr]
                placed.append((result_index, finding, context))
            by_line += outcome.basis == "line"
            if outcome.suppressed:
                suppressed += 1
                parsed.skipped.append(SkippedResult(run_index=run_index, result_index=result_index,
                                                    rule_id=rule_id, reason=outcome.suppressed))
    occurrences = numbering.occurrences()
    if spill is None:
        for result_index, finding, context in placed:
            if result_index in occurrences:
                records.set_id(finding, context_fingerprint(tool, finding.rule_id, finding.location.path, context,
                                                            occurrences[result_index]))
    else:
        spill.finish()

        def build(record: Record) -> Finding:
            return _build(record, occurrences, now)

        parsed.findings = SpilledFindings(spill, False, spill.records - suppressed, build)
        parsed.suppressed = SpilledFindings(spill, True, suppressed, build)
    parsed.past_end = notes.get(PAST_END_NOTE, 0)
    parsed.warnings += _run_warnings(run, by_line, resolver, notes)
    return parsed


def parse_sarif(log: dict, project_root: Path | None = None, *, source_name: str = "",
                path_map: PathMap | None = None) -> SarifParse:
    """Turn every run of a SARIF 2.1.0 log into Findings and SkippedResults (one or the other per result).

    With `project_root`, paths are made relative to it, results on files missing from it are skipped, and
    flagged lines are read from disk (for snippets and fingerprints). Without it, relative paths are kept
    as given and absolute paths are related to the scan's working directory or skipped. `path_map` (shared by
    the runs) maps paths recorded on another machine and counts each mapping it uses (path_map.py).
    """
    log = check_log(log, source_name or "SARIF log")
    now = utcnow()
    root = Path(project_root) if project_root is not None else None
    if root is not None and not root.is_dir():
        raise SarifError(f"project root {root} is not a directory")
    # the runs (and, through a PathMap, the logs of one ingest) check and read each project file once
    files = None if root is None else path_map.files(root) if path_map is not None else ProjectFiles.of(root)
    with paused_gc():
        return SarifParse(
            source_name=source_name,
            runs=[_parse_run(run, index, root, now, path_map, files) for index, run in enumerate(log["runs"] or [])],
            runs_null=log["runs"] is None,
        )


def parse_sarif_file(path: Path, project_root: Path | None = None, *, source_name: str = "", **options
                     ) -> SarifParse:
    """`parse_sarif(load_sarif(path), ...)` for a log of any size, always streamed. Options are parse_sarif's."""
    return parse_sarif(sarif_stream.load_streamed(path), project_root, source_name=source_name or str(path),
                       **options)
