"""Export use case: approved patches out as a branch (the checkout untouched) or a patch file, with the checks
of agent.export.service (approved, history intact, the diff the one validated)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from agent.app.session import Session
from agent.app.views import Exported
from agent.errors import SutureError


def export(session: Session, proposal_id: str | None = None, to: Literal["branch", "patch"] = "branch",
           out: Path | None = None, approved: bool = False, with_test: bool = True) -> list[Exported]:
    """Export one proposal (`proposal_id`) or, with `approved`, every approved one: exactly one of the two.
    Patch files go to `out` (default .suture/exports). The security regression test, if any, follows the fix as
    a commit of its own unless `with_test` is False."""
    from agent.export.service import export as export_proposals

    if bool(proposal_id) == approved:
        raise SutureError("give a proposal id or --approved (one of them)")
    return [Exported(proposal_id=r.proposal_id, branch=r.branch, commit=r.commit, test_commit=r.test_commit,
                     patch=str(r.patch_path) if r.patch_path else None)
            for r in export_proposals(session, proposal_id, to, out, with_test=with_test)]


__all__ = ["export"]
