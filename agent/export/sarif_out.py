"""SARIF 2.1.0 out: findings with their triage decisions, suppressions for accepted and dismissed findings, and
approved patches as `fixes`, for any findings in the store (one run per tool), in the shape GitHub code scanning
takes as is (schema-valid; see sarif_rules_out.py for the rules).

* one run per tool, its driver named as the scanner's log named it; rules with name, short/full description,
  help, `security-severity` and the `security`, CWE and scanner tags;
* results at repository-root-relative URIs (a project in `services/billing` writes `services/billing/x.py`),
  with columns, the severity, confidence and (if the scanner gave one) `security-severity` of each finding;
* risk-accepted findings carry a suppression `{"kind": "external", "status": "accepted", "justification": …}`
  with the reason, the named person and the end date (from the finding's events);
* dismissed findings carry the same kind of suppression with the approved dismissal's rationale and approver;
  suppressions a scanner's log carried are written again as they were; within a run, either every result has a
  `suppressions` array (empty when there is none, SARIF §3.27.23) or none has;
* approved or exported patch proposals become `fixes`, one artifactChange per file and one replacement per diff
  hunk (deleted region = the hunk's old lines up to the end of the last one, never past the end of the file,
  inserted content = its new lines); a patch approved although its validation failed says so in the fix's
  description and properties (`suture/override`, with the reason); `suture/validation` says validated or
  unproven, and an unproven patch's description says "no test covers this change".
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from typing import Any

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from agent import __version__ as suture_version
from agent.export.sarif_rules_out import common_cwes, rule_descriptor
from agent.models import Finding, Proposal, Transition
from agent.review.identity import escape_text
from agent.store import Store

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}


def _acceptance(store: Store, finding: Finding) -> dict[str, Any]:
    events = [e for e in store.finding_events(finding.id) if e["to_status"] == "risk_accepted"]
    last = events[-1] if events else None
    until = finding.risk_accepted_until.date().isoformat() if finding.risk_accepted_until else "?"
    comment = (last or {}).get("comment") or ""
    reason = comment.split(": ", 1)[1] if ": " in comment else comment
    who = (last or {}).get("actor", "unknown")
    return {"kind": "external", "status": "accepted",
            "justification": f"Risk accepted by {who} until {until}: {reason}".strip(),
            "properties": {"reviewer": who, "until": until, "reason": reason}}


def _dismissal(store: Store, finding: Finding, proposals: list[Proposal]) -> dict[str, Any]:
    approved = [p for p in proposals if p.kind == "dismissal" and p.state == "approved"]
    if not approved:
        events = [e for e in store.finding_events(finding.id) if e["to_status"] == "dismissed"]
        last = events[-1] if events else {}
        return {"kind": "external", "status": "accepted",
                "justification": f"Dismissed by {last.get('actor', 'unknown')}: {last.get('comment') or ''}".strip()}
    p = approved[-1]
    approval = next((t for t in reversed(store.transitions(p.id)) if t.to_state == "approved"), None)
    who = approval.actor if approval else "unknown"
    note = f" ({approval.comment})" if approval and approval.comment else ""
    return {"kind": "external", "status": "accepted",
            "justification": f"False positive, dismissal approved by {who}{note}: {p.rationale}".strip(),
            "properties": {"reviewer": who, "proposal": p.id, "engine": p.engine}}


def _last_approval(store: Store, proposal: Proposal) -> Transition | None:
    return next((t for t in reversed(store.transitions(proposal.id)) if t.to_state == "approved"), None)


def _replacement(hunk) -> dict[str, Any]:
    """One hunk as a SARIF replacement. The deleted region runs from column 1 of the first old line to the end
    of the last old line (its newline stays; the inserted text leaves off one final newline to match), so it
    never reaches past the end of the file (§3.30.2), whatever the file's length."""
    old = [line.value for line in hunk if line.is_context or line.is_removed]
    new = "".join(line.value for line in hunk if line.is_context or line.is_added)
    if not old:  # a pure insertion: an empty region at the start of the line after source_start
        line = hunk.source_start + 1
        return {"deletedRegion": {"startLine": line, "startColumn": 1, "endLine": line, "endColumn": 1},
                "insertedContent": {"text": new}}
    last = old[-1]
    if last.endswith("\n") and new.endswith("\n"):
        new = new[:-1]
    width = len(last.rstrip("\r\n"))
    region = {"startLine": hunk.source_start, "startColumn": 1,
              "endLine": hunk.source_start + len(old) - 1, "endColumn": width + 1}
    return {"deletedRegion": region, "insertedContent": {"text": new}}


def diff_to_fix(proposal: Proposal, approval: Transition | None = None, repo_prefix: str = "") -> dict[str, Any] | None:
    """A SARIF `fix` for a patch proposal's unified diff (None when the diff does not parse); `approval` (its
    history row) adds who approved it and, for an override, the reason; paths get `repo_prefix` (the project's
    folder in the repository) in front."""
    try:
        patch = PatchSet(proposal.diff)
    except UnidiffParseError:
        return None
    changes = []
    for patched_file in patch:
        path = posixpath.join(repo_prefix, patched_file.path) if repo_prefix else patched_file.path
        replacements = [_replacement(hunk) for hunk in patched_file]
        changes.append({"artifactLocation": {"uri": path}, "replacements": replacements})
    if not changes:
        return None
    text = f"suture proposal {proposal.short_id} ({proposal.engine}), {proposal.state}: "
    fix: dict[str, Any] = {"artifactChanges": changes}
    if approval is not None:
        props: dict[str, Any] = {"suture/approvedBy": approval.actor, "suture/override": approval.override}
        if approval.override:
            reason = approval.comment or "(none recorded)"
            props["suture/overrideReason"] = reason
            text += (f"APPROVED WITH OVERRIDE by {escape_text(approval.actor)} although validation failed "
                     f"(reason: {escape_text(reason)}). ")
        fix["properties"] = props
    v = proposal.validation
    if v is not None and v.state in ("validated", "unproven"):  # what the evidence says (DESIGN.md states)
        fix.setdefault("properties", {})["suture/validation"] = v.state
        if v.state == "unproven":
            text += f"UNPROVEN: {escape_text(v.unproven_reason)}. "
        else:
            fix["properties"]["suture/testsExecutingChange"] = v.covering_tests[:20]
    fix["description"] = {"text": text + proposal.rationale.strip()[:500]}
    return fix


def _suppressions(store: Store, f: Finding, proposals: list[Proposal]) -> list[dict[str, Any]]:
    """The log's own suppressions as they were, then suture's decision (risk acceptance or dismissal) unless a
    log suppression already accepted it. An open finding never gets an accepted suppression (a later log reported
    it without one, or the acceptance ran out): only the log's underReview / rejected ones are written for it."""
    held = f.status in ("dismissed", "risk_accepted")
    kept = [s for s in f.suppressions if held or s.get("status", "accepted") != "accepted"]
    written = [_from_log(s) for s in kept]
    if any(s.get("status", "accepted") == "accepted" for s in kept):
        return written
    if f.status == "risk_accepted":
        written.append(_acceptance(store, f))
    elif f.status == "dismissed":
        written.append(_dismissal(store, f, proposals))
    return written


def _from_log(record: dict[str, str]) -> dict[str, Any]:
    kind = record.get("kind")
    out: dict[str, Any] = {"kind": kind if kind in ("inSource", "external") else "external"}
    for key in ("status", "justification"):
        if key in record:
            out[key] = record[key]
    extra = {k: record[k] for k in ("until", "reviewer", "reason") if k in record}
    if extra:
        out["properties"] = extra
    return out


def _result(f: Finding, rule_index: int, shared_cwes: list[int], repo_prefix: str,
            ranks: dict[str, dict[str, Any]] | None) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": f.location.start_line, "endLine": f.location.last_line}
    if f.location.start_column:
        region["startColumn"] = f.location.start_column
    if f.location.end_column:
        region["endColumn"] = f.location.end_column
    if f.location.snippet:
        region["snippet"] = {"text": f.location.snippet}
    uri = posixpath.join(repo_prefix, f.location.path) if repo_prefix else f.location.path
    properties: dict[str, Any] = {"severity": f.severity, "confidence": f.confidence, "status": f.status}
    if f.security_severity is not None:
        properties["security-severity"] = f"{f.security_severity:g}"
    extra_cwes = [n for n in f.cwe if n not in shared_cwes]
    if extra_cwes:
        properties["cwe"] = [f"CWE-{n}" for n in extra_cwes]
    if ranks and f.id in ranks:
        properties["triage"] = ranks[f.id]
    return {
        "ruleId": f.rule_id, "ruleIndex": rule_index, "level": LEVEL[f.severity], "message": {"text": f.message},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}],
        "partialFingerprints": {**f.partial_fingerprints, "suture/v1": f.id}, "properties": properties,
    }


def build_sarif(store: Store, statuses: tuple[str, ...] = ("open", "risk_accepted", "dismissed"),
                ranks: dict[str, dict[str, Any]] | None = None, repo_prefix: str = "") -> dict[str, Any]:
    """A SARIF log of the store's findings in `statuses`; `ranks` adds triage properties per finding id;
    `repo_prefix` is the project's folder inside the repository ("" at its root): URIs are repo-root-relative."""
    repo_prefix = repo_prefix.strip("/")
    findings = store.list_findings(list(statuses))
    by_finding: dict[str, list[Proposal]] = defaultdict(list)
    for p in store.list_proposals():
        by_finding[p.finding_id].append(p)
    by_tool: dict[str, list[Finding]] = defaultdict(list)
    for f in sorted(findings, key=lambda x: (x.tool, x.location.path, x.location.start_line, x.id)):
        by_tool[f.tool].append(f)
    runs = []
    for tool, tool_findings in by_tool.items():
        by_rule: dict[str, list[Finding]] = {}
        for f in tool_findings:
            by_rule.setdefault(f.rule_id, []).append(f)
        rule_index = {rule_id: i for i, rule_id in enumerate(by_rule)}
        shared = {rule_id: common_cwes(group) for rule_id, group in by_rule.items()}
        name = next((f.tool_name for f in tool_findings if f.tool_name), tool)
        results = []
        for f in tool_findings:
            result = _result(f, rule_index[f.rule_id], shared[f.rule_id], repo_prefix, ranks)
            result["suppressions"] = _suppressions(store, f, by_finding[f.id])
            fixes = [fx for p in by_finding[f.id] if p.kind == "patch" and p.state in ("approved", "exported")
                     for fx in [diff_to_fix(p, _last_approval(store, p), repo_prefix)] if fx]
            if fixes:
                result["fixes"] = fixes
            results.append(result)
        if not any(r["suppressions"] for r in results):  # all or none within a run (§3.27.23)
            for r in results:
                del r["suppressions"]
        driver = {"name": name,
                  "rules": [rule_descriptor(group) for group in by_rule.values()],
                  "properties": {"convertedBy": f"suture {suture_version}"}}
        runs.append({"tool": {"driver": driver}, "results": results})
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": runs}
