"""SARIF 2.1.0 out: findings with their triage decisions, suppressions for accepted and dismissed findings, and
approved patches as `fixes`, for any findings in the store (one run per tool).

* risk-accepted findings carry a suppression `{"kind": "external", "status": "accepted", "justification": …}`
  with the reason, the named person and the end date (from the finding's events);
* dismissed findings carry the same kind of suppression with the approved dismissal's rationale and approver;
* approved or exported patch proposals become `fixes`, one artifactChange per file and one replacement per diff
  hunk (deleted region = the hunk's old lines, inserted content = its new lines); a patch approved although its
  validation failed says so in the fix's description and properties (`suture/override`, with the reason).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from agent import __version__ as suture_version
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


def diff_to_fix(proposal: Proposal, approval: Transition | None = None) -> dict[str, Any] | None:
    """A SARIF `fix` for a patch proposal's unified diff (None when the diff does not parse); `approval` (its
    history row) adds who approved it and, for an override, the reason."""
    try:
        patch = PatchSet(proposal.diff)
    except UnidiffParseError:
        return None
    changes = []
    for patched_file in patch:
        path = patched_file.path
        replacements = []
        for hunk in patched_file:
            new = [line.value for line in hunk if line.is_context or line.is_added]
            first = hunk.source_start if hunk.source_length else hunk.source_start + 1
            # whole old lines: from column 1 of the first to column 1 of the line after the last
            region = {"startLine": first, "startColumn": 1, "endLine": first + hunk.source_length, "endColumn": 1}
            replacements.append({"deletedRegion": region, "insertedContent": {"text": "".join(new)}})
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
    fix["description"] = {"text": text + proposal.rationale.strip()[:500]}
    return fix


def build_sarif(store: Store, statuses: tuple[str, ...] = ("open", "risk_accepted", "dismissed"),
                ranks: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """A SARIF log of the store's findings in `statuses`; `ranks` adds triage properties per finding id."""
    findings = store.list_findings(list(statuses))
    by_finding: dict[str, list[Proposal]] = defaultdict(list)
    for p in store.list_proposals():
        by_finding[p.finding_id].append(p)
    runs: dict[str, dict[str, Any]] = {}
    for f in sorted(findings, key=lambda x: (x.tool, x.location.path, x.location.start_line, x.id)):
        run = runs.setdefault(f.tool, {"tool": {"driver": {"name": f.tool, "rules": [], "properties": {
            "convertedBy": f"suture {suture_version}"}}}, "results": [], "_rules": {}})
        if f.rule_id not in run["_rules"]:
            run["_rules"][f.rule_id] = len(run["tool"]["driver"]["rules"])
            rule: dict[str, Any] = {"id": f.rule_id}
            if f.cwe:
                rule["properties"] = {"tags": [f"external/cwe/cwe-{c}" for c in f.cwe]}
            if f.help_uri:
                rule["helpUri"] = f.help_uri
            run["tool"]["driver"]["rules"].append(rule)
        region: dict[str, Any] = {"startLine": f.location.start_line, "endLine": f.location.last_line}
        if f.location.snippet:
            region["snippet"] = {"text": f.location.snippet}
        result: dict[str, Any] = {
            "ruleId": f.rule_id, "ruleIndex": run["_rules"][f.rule_id], "level": LEVEL[f.severity],
            "message": {"text": f.message},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": f.location.path}, "region": region}}],
            "partialFingerprints": {"suture/v1": f.id},
            "properties": {"severity": f.severity, "confidence": f.confidence, "status": f.status,
                           **({"triage": ranks[f.id]} if ranks and f.id in ranks else {})},
        }
        if f.status == "risk_accepted":
            result["suppressions"] = [_acceptance(store, f)]
        elif f.status == "dismissed":
            result["suppressions"] = [_dismissal(store, f, by_finding[f.id])]
        fixes = [fx for p in by_finding[f.id] if p.kind == "patch" and p.state in ("approved", "exported")
                 for fx in [diff_to_fix(p, _last_approval(store, p))] if fx]
        if fixes:
            result["fixes"] = fixes
        run["results"].append(result)
    for run in runs.values():
        run.pop("_rules")
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": list(runs.values())}
