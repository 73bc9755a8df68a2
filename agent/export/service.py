"""Export use case: check approval and the review history, write the branch or patch, record the transition.

Before anything is written: the proposal must be approved (or already exported), the hash-chained history must
be intact (`suture audit verify` finds nothing), and the diff about to be written and the kept security regression
test (its path and text) must be the ones whose validation was recorded. The export is recorded (a compare-and-set
from `approved`) after the commit is made and before the branch or patch file appears, so a proposal rejected
meanwhile is never published.
"""

from __future__ import annotations

from pathlib import Path

from agent.errors import SutureError
from agent.export.git_export import ExportError, ExportResult, export_branch, export_patch
from agent.review.audit import digest, proposal_facts, regression_test_hash
from agent.review.identity import escape_text


def export(session, proposal_id: str | None, to: str, out_dir: Path | None,
           with_test: bool = True) -> list[ExportResult]:
    """Export one proposal (by id) or every approved one. Refuses, with exit code 2, anything not approved,
    anything whose history or diff was changed behind suture's back. A kept security regression test goes out
    as a second commit unless `with_test` is False."""
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
        _check_evidence(store, p)
        finding = store.get_finding(p.finding_id)
        history = store.transitions(p.id)
        approver = _approver(history)

        def record(target: str, p=p, approver=approver) -> None:
            if p.state == "approved":
                store.transition(p.id, "exported", approver, f"exported to {target}", expected="approved",
                                 target=target)

        if to == "patch":
            result = export_patch(session.ws.project, p, finding, history,
                                  out_dir or session.ws.state_dir / "exports", record, with_test)
        else:
            result = export_branch(session.ws.project, p, finding, history, record, with_test)
        pr_path = session.ws.state_dir / "exports" / f"{p.short_id}-pr.md"
        pr_path.parent.mkdir(parents=True, exist_ok=True)
        pr_path.write_text(result.pr_text, encoding="utf-8")
        results.append(result)
    return results


def _check_evidence(store, p) -> None:
    problems = store.audit()
    if problems:
        more = f" ({len(problems) - 1} more: `suture audit verify`)" if len(problems) > 1 else \
            " (`suture audit verify`)"
        raise ExportError(f"refusing to export {p.short_id}: the review history was changed behind suture's "
                          f"back: {problems[0].message}{more}")
    recorded = store.validated_diff_hash(p.id)
    if recorded is None:
        raise ExportError(f"refusing to export {p.short_id}: its history records no validated diff")
    if digest(p.diff) != recorded:
        raise ExportError(f"refusing to export {p.short_id}: its diff is not the one that was validated "
                          f"(sha256 {digest(p.diff)[:12]}, validated {recorded[:12]})")
    _check_regression_test(p, store.validated_facts(p.id) or {})


def _check_regression_test(p, recorded: dict) -> None:
    """The kept regression test must be the one validation ran: its path and text hash as recorded then. A
    validation recorded before that hash existed is checked through its whole-validation digest instead."""
    current = regression_test_hash(p)
    path = escape_text(p.validation.regression.path) if current is not None else None
    if "regression_test_hash" not in recorded:
        if current is not None and (recorded.get("validation") or {}).get("digest") != \
                proposal_facts(p)["validation"]["digest"]:
            raise ExportError(f"refusing to export {p.short_id}: its regression test "
                              f"{path} is not the one that was validated (its validation "
                              "record changed since; `suture audit verify`)")
        return
    validated = recorded["regression_test_hash"]
    if current == validated:
        return
    if current is None:
        raise ExportError(f"refusing to export {p.short_id}: its validation kept a regression test that the "
                          "proposal no longer carries (`suture audit verify`)")
    if validated is None:
        raise ExportError(f"refusing to export {p.short_id}: it carries a regression test "
                          f"({path}) that its validation did not keep "
                          "(`suture audit verify`)")
    raise ExportError(f"refusing to export {p.short_id}: its regression test {path} is "
                      f"not the one that was validated (path and text sha256 {current[:12]}, validated "
                      f"{validated[:12]}; `suture audit verify`)")


def _approver(history) -> str:
    for t in reversed(history):
        if t.to_state == "approved":
            return t.actor
    return "suture"
