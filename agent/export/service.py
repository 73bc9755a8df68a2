"""Export use case: check approval through the store, write the branch or patch, record the transition."""

from __future__ import annotations

from pathlib import Path

from agent.errors import SutureError
from agent.export.git_export import ExportResult, export_branch, export_patch


def export(session, proposal_id: str | None, to: str, out_dir: Path | None) -> list[ExportResult]:
    """Export one proposal (by id) or every approved one. Refuses, with exit code 2, anything not approved."""
    store = session.store
    if proposal_id:
        proposals = [store.get_proposal(proposal_id)]
    else:
        proposals = store.list_proposals(states=("approved",))
    results = []
    for p in proposals:
        if p.state not in ("approved", "exported"):
            raise SutureError(f"proposal {p.short_id} is {p.state}, not approved: only approved proposals can "
                              "be exported (`suture review approve ID`)")
        if p.kind != "patch":
            raise SutureError(f"proposal {p.short_id} is a dismissal; there is nothing to export")
        finding = store.get_finding(p.finding_id)
        history = store.transitions(p.id)
        if to == "patch":
            result = export_patch(session.ws.project, p, finding, history,
                                  out_dir or session.ws.state_dir / "exports")
        else:
            result = export_branch(session.ws.project, p, finding, history)
        pr_path = session.ws.state_dir / "exports" / f"{p.short_id}-pr.md"
        pr_path.parent.mkdir(parents=True, exist_ok=True)
        pr_path.write_text(result.pr_text, encoding="utf-8")
        if p.state == "approved":
            where = result.branch or str(result.patch_path)
            store.transition(p.id, "exported", _approver(history), f"exported to {where}")
        results.append(result)
    return results


def _approver(history) -> str:
    for t in reversed(history):
        if t.to_state == "approved":
            return t.actor
    return "suture"
