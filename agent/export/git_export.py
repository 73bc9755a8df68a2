"""Turn an approved proposal into a branch with one commit, or a patch file — without touching the user's tree.

The commit is made in a temporary worktree of the proposal's base commit, then the branch ref is created with
`git branch`; the user's checkout, index and working files are never changed. Anything not approved is refused
by the store's state rules before any git command runs.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from agent.errors import SutureError
from agent.models import Finding, Proposal, Transition
from agent.validate.worktree import Project, Worktree


class ExportError(SutureError):
    """An export that cannot be made (not approved, branch exists, patch no longer applies)."""


@dataclass
class ExportResult:
    proposal_id: str
    branch: str | None
    commit: str | None
    patch_path: Path | None
    pr_text: str


def branch_name(proposal: Proposal) -> str:
    return f"suture/{proposal.short_id}"


def _git(cwd: Path, *args: str, input_text: str | None = None) -> str:
    proc = subprocess.run(["git", *args], check=False, cwd=cwd, input=input_text, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ExportError(f"git {args[0]} failed: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
    return proc.stdout


def commit_message(proposal: Proposal, finding: Finding, reviewer: str) -> str:
    cwe = ", ".join(f"CWE-{c}" for c in finding.cwe) or "no CWE"
    loc = f"{finding.location.path}:{finding.location.start_line}"
    title = f"fix(security): {finding.rule_name or finding.rule_id} in {finding.location.path}"
    v = proposal.validation
    evidence = ["- validation: not run"]
    if v is not None:
        evidence = [f"- patch applies cleanly: {'yes' if v.applied else 'no'}"]
        for name, run in (("baseline", v.baseline), ("patched", v.patched)):
            if run is None:
                continue
            evidence.append(f"- tests {name}: {run.summary}")
        if v.newly_failing:
            evidence.append(f"- newly failing tests: {', '.join(v.newly_failing)}")
        gone = {True: "finding gone", False: "finding STILL reported", None: "not re-scanned"}[v.finding_gone]
        evidence.append(f"- re-scan ({v.rescan_tool or 'n/a'}): {gone}; new findings: {len(v.new_findings)}")
    lines = [
        title[:72], "",
        f"Finding: {finding.message.strip().splitlines()[0] if finding.message.strip() else finding.rule_id}",
        f"Rule: {finding.tool} {finding.rule_id} ({cwe}), severity {finding.severity}, at {loc}",
        f"Engine: {proposal.engine}", "",
        "Rationale:", proposal.rationale.strip() or "(none given)", "",
        "Validation evidence:", *evidence, "",
        f"Reviewed-by: {reviewer}",
        f"Suture-Proposal: {proposal.id}",
        f"Suture-Finding: {finding.id}",
    ]
    return "\n".join(lines) + "\n"


def pr_text(proposal: Proposal, finding: Finding, reviewer: str) -> str:
    message = commit_message(proposal, finding, reviewer)
    title, _, body = message.partition("\n")
    return f"# {title}\n\n{body.strip()}\n\n```diff\n{proposal.diff.rstrip()}\n```\n"


def _reviewer(history: list[Transition]) -> str:
    for t in reversed(history):
        if t.to_state == "approved":
            return t.actor
    raise ExportError("proposal has no approval in its history")


def make_commit(project: Project, proposal: Proposal, finding: Finding, history: list[Transition]) -> str:
    """Create a commit (not on any branch yet) holding the proposal's diff on its base commit; return its sha."""
    if proposal.kind != "patch" or not proposal.diff.strip():
        raise ExportError(f"proposal {proposal.short_id} is a {proposal.kind} with no diff; nothing to export")
    reviewer = _reviewer(history)
    base = proposal.commit or project.head
    with Worktree(project, base) as wt:
        prefix = f"{project.subdir}/" if project.subdir else ""
        args = ["apply", "--index", "--whitespace=nowarn"] + ([f"--directory={project.subdir}"] if prefix else [])
        try:
            _git(wt.path, *args, "-", input_text=proposal.diff)
        except ExportError as exc:
            raise ExportError(f"the approved diff no longer applies to {base[:10]}: {exc}") from None
        message = commit_message(proposal, finding, reviewer)
        env_args = ["-c", "user.name=suture", "-c", "user.email=suture@localhost"] if not _has_identity(wt.path) \
            else []
        _git(wt.path, *env_args, "commit", "-q", "--no-verify", "-F", "-", input_text=message)
        return _git(wt.path, "rev-parse", "HEAD").strip()


def _has_identity(cwd: Path) -> bool:
    name = subprocess.run(["git", "config", "user.name"], check=False, cwd=cwd, capture_output=True, text=True).stdout.strip()
    email = subprocess.run(["git", "config", "user.email"], check=False, cwd=cwd, capture_output=True, text=True).stdout.strip()
    return bool(name and email)


def export_branch(project: Project, proposal: Proposal, finding: Finding, history: list[Transition]) -> ExportResult:
    branch = branch_name(proposal)
    existing = subprocess.run(["git", "rev-parse", "--verify", "-q", f"refs/heads/{branch}"],
                              check=False, cwd=project.git_root, capture_output=True, text=True)
    if existing.returncode == 0:
        raise ExportError(f"branch {branch} already exists (at {existing.stdout.strip()[:10]}); delete it to re-export")
    sha = make_commit(project, proposal, finding, history)
    _git(project.git_root, "branch", branch, sha)
    return ExportResult(proposal.id, branch, sha, None, pr_text(proposal, finding, _reviewer(history)))


def export_patch(project: Project, proposal: Proposal, finding: Finding, history: list[Transition],
                 out_dir: Path) -> ExportResult:
    """Write `suture-<id>.patch` in mbox form (`git am` applies it) into `out_dir`."""
    sha = make_commit(project, proposal, finding, history)
    patch = _git(project.git_root, "format-patch", "-1", "--stdout", sha)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"suture-{proposal.short_id}.patch"
    with tempfile.NamedTemporaryFile("w", dir=out_dir, delete=False, encoding="utf-8") as tmp:
        tmp.write(patch)
    Path(tmp.name).replace(path)
    return ExportResult(proposal.id, None, sha, path, pr_text(proposal, finding, _reviewer(history)))
