"""Turn an approved proposal into a branch with one commit, or a patch file — without touching the user's tree.

The commit is made in a temporary worktree of the proposal's base commit, then the branch ref is created with
`git branch`; the user's checkout, index and working files are never changed. A kept security regression test
(agent.validate.regression) follows as a second commit of its own, which the reviewer can drop (`git reset
HEAD~1`, or leave it out with `with_test=False`); a diff that touches the test's file is refused. Anything not approved is refused
by the store's state rules before any git command runs.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agent.errors import SutureError
from agent.models import Finding, Proposal, Transition
from agent.review.identity import escape_text
from agent.validate.worktree import Project, Worktree


class ExportError(SutureError):
    """An export that cannot be made (not approved, branch exists, patch no longer applies)."""


@dataclass
class ExportResult:
    proposal_id: str
    branch: str | None
    commit: str  # the fix's commit (always made, also for a patch-file export)
    patch_path: Path | None
    pr_text: str
    test_commit: str | None = None  # the regression test's own commit (the fix is its parent), if exported


def branch_name(proposal: Proposal) -> str:
    return f"suture/{proposal.short_id}"


def _git(cwd: Path, *args: str, input_text: str | None = None) -> str:
    """Run git; its output byte for byte as str. Not text=True: universal newlines would turn the CRLF lines of
    a patch into LF ones, so the patch would no longer apply to the CRLF file it was made from."""
    stdin = None if input_text is None else input_text.encode("utf-8", "surrogateescape")
    proc = subprocess.run(["git", *args], check=False, cwd=cwd, input=stdin, capture_output=True)
    if proc.returncode != 0:
        error = (proc.stderr or proc.stdout).decode("utf-8", "replace")
        raise ExportError(f"git {args[0]} failed: {error.strip().splitlines()[-1:]}")
    return proc.stdout.decode("utf-8", "surrogateescape")


def _approval(history: list[Transition]) -> Transition | None:
    return next((t for t in reversed(history) if t.to_state == "approved"), None)


def commit_message(proposal: Proposal, finding: Finding, reviewer: str, approval: Transition | None = None) -> str:
    """The export commit's message: finding, engine, rationale, validation evidence, an override and its reason
    when the patch was approved although validation failed, and trailers naming the reviewer and the approval's
    link in the review history. Text from records is escaped to single lines where a line could forge a trailer."""
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
        if v.state == "validated":
            evidence.append("- validated: passing tests execute the changed lines: "
                            + escape_text(", ".join(v.covering_tests[:5]))
                            + (f" (+{len(v.covering_tests) - 5} more)" if len(v.covering_tests) > 5 else ""))
        elif v.state == "unproven":
            evidence.append(f"- UNPROVEN: {escape_text(v.unproven_reason)}")
        evidence.append(f"- {regression_line(v)}")
    if approval is not None and approval.override:
        evidence.append(f"- OVERRIDE: approved by {escape_text(approval.actor)} although validation failed; "
                        f"reason: {escape_text(approval.comment or '(none recorded)')}")
    lines = [
        title[:72], "",
        f"Finding: {finding.message.strip().splitlines()[0] if finding.message.strip() else finding.rule_id}",
        f"Rule: {finding.tool} {finding.rule_id} ({cwe}), severity {finding.severity}, at {loc}",
        f"Engine: {proposal.engine}", "",
        "Rationale:", proposal.rationale.strip() or "(none given)", "",
        "Validation evidence:", *evidence, "",
        f"Reviewed-by: {escape_text(reviewer)}",
        *([f"Suture-Override: {escape_text(approval.comment or '(none recorded)')}"]
          if approval is not None and approval.override else []),
        f"Suture-Proposal: {proposal.id}",
        f"Suture-Finding: {finding.id}",
        *([f"Suture-Approval: {approval.hash}"] if approval is not None and approval.hash else []),
    ]
    return "\n".join(lines) + "\n"


def regression_line(v) -> str:
    """One line on the security regression test: kept (in its own commit), discarded and why, or none and why."""
    r = v.regression
    if r is None:
        return escape_text(v.regression_note or "no regression test proposed")
    if r.kept:
        return (f"regression test {escape_text(r.path)}: {r.before} on the unpatched code, {r.after} on the patched "
                "code; in its own commit" + (f" ({escape_text(r.note)})" if r.note else ""))
    return f"regression test {escape_text(r.path)} {escape_text(r.note or 'discarded')}"


def exported_test(proposal: Proposal, with_test: bool = True):
    """The kept regression test that goes out with `proposal`, or None."""
    v = proposal.validation
    r = v.regression if v is not None else None
    return r if with_test and r is not None and r.kept else None


def test_commit_message(proposal: Proposal, finding: Finding, reviewer: str) -> str:
    r = proposal.validation.regression if proposal.validation is not None else None
    assert r is not None, "only called for a proposal that exports a regression test (exported_test)"
    return "\n".join([
        f"test(security): regression test for {finding.rule_id} in {finding.location.path}"[:72], "",
        f"{r.path} fails on the code before the fix ({r.before}) and passes after it ({r.after}).",
        f"Written by {escape_text(r.source)}; kept in a commit of its own so it can be dropped without the fix.", "",
        f"Reviewed-by: {escape_text(reviewer)}",
        f"Suture-Proposal: {proposal.id}",
        f"Suture-Finding: {finding.id}",
    ]) + "\n"


def pr_text(proposal: Proposal, finding: Finding, reviewer: str, approval: Transition | None = None) -> str:
    message = commit_message(proposal, finding, reviewer, approval)
    title, _, body = message.partition("\n")
    v = proposal.validation
    if v is not None and v.state == "unproven":
        body = (f"> **Unproven:** {escape_text(v.unproven_reason)}. Every other check passed; review the change "
                "with that in mind.\n\n" + body.strip())
    text = f"# {title}\n\n{body.strip()}\n\n```diff\n{proposal.diff.rstrip()}\n```\n"
    test = exported_test(proposal)
    if test is not None:
        text += (f"\n## Security regression test\n\n`{escape_text(test.path)}` fails before the fix and passes "
                 "after it. It is a separate commit: keep it, or drop that commit to leave the test out.\n\n"
                 f"```python\n{test.content.rstrip()}\n```\n")
    return text


def _reviewer(history: list[Transition]) -> str:
    approval = _approval(history)
    if approval is None:
        raise ExportError("proposal has no approval in its history")
    return approval.actor


# called with the export's target ("branch suture/…" or the patch path) once the commit exists and before it is
# published: the caller records the export there (and may refuse it, e.g. when the proposal was rejected meanwhile)
BeforePublish = Callable[[str], None]


def _nothing(_target: str) -> None:
    return None


def make_commit(project: Project, proposal: Proposal, finding: Finding, history: list[Transition],
                with_test: bool = True) -> str:
    """Create a commit (not on any branch yet) holding the proposal's diff on its base commit, and on it a second
    commit adding the kept regression test (unless `with_test` is False); return the last commit's sha."""
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
        message = commit_message(_as_exported(proposal, with_test), finding, reviewer, _approval(history))
        env_args = ["-c", "user.name=suture", "-c", "user.email=suture@localhost"] if not _has_identity(wt.path) \
            else []
        _git(wt.path, *env_args, "commit", "-q", "--no-verify", "-F", "-", input_text=message)
        test = exported_test(proposal, with_test)
        if test is not None:
            target = wt.path / project.subdir / test.path if project.subdir else wt.path / test.path
            if target.exists() or not target.resolve().is_relative_to(wt.path.resolve()):
                raise ExportError(f"the patch of {proposal.short_id} touches its regression test {test.path}; "
                                  "refusing to export")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(test.content, encoding="utf-8")
            _git(wt.path, "add", "--", str(target.relative_to(wt.path)))
            _git(wt.path, *env_args, "commit", "-q", "--no-verify", "-F", "-",
                 input_text=test_commit_message(proposal, finding, reviewer))
        return _git(wt.path, "rev-parse", "HEAD").strip()


def _has_identity(cwd: Path) -> bool:
    name = subprocess.run(["git", "config", "user.name"], check=False, cwd=cwd, capture_output=True, text=True).stdout.strip()
    email = subprocess.run(["git", "config", "user.email"], check=False, cwd=cwd, capture_output=True, text=True).stdout.strip()
    return bool(name and email)


def export_branch(project: Project, proposal: Proposal, finding: Finding, history: list[Transition],
                  before_publish: BeforePublish = _nothing, with_test: bool = True) -> ExportResult:
    branch = branch_name(proposal)
    existing = subprocess.run(["git", "rev-parse", "--verify", "-q", f"refs/heads/{branch}"],
                              check=False, cwd=project.git_root, capture_output=True, text=True)
    if existing.returncode == 0:
        raise ExportError(f"branch {branch} already exists (at {existing.stdout.strip()[:10]}); delete it to re-export")
    sha = make_commit(project, proposal, finding, history, with_test)
    before_publish(f"branch {branch}")
    _git(project.git_root, "branch", branch, sha)
    return _result(project, proposal, finding, history, branch, sha, None, with_test)


def _result(project: Project, proposal: Proposal, finding: Finding, history: list[Transition], branch: str | None,
            sha: str, path: Path | None, with_test: bool) -> ExportResult:
    """The result of an export whose last commit is `sha`: the fix's commit, and the test's when there is one."""
    text = pr_text(_as_exported(proposal, with_test), finding, _reviewer(history), _approval(history))
    if exported_test(proposal, with_test) is None:
        return ExportResult(proposal.id, branch, sha, path, text)
    return ExportResult(proposal.id, branch, _git(project.git_root, "rev-parse", f"{sha}^").strip(), path, text,
                        test_commit=sha)


def _as_exported(proposal: Proposal, with_test: bool) -> Proposal:
    """`proposal` as this export describes it: a kept regression test left out is said to be left out."""
    v = proposal.validation
    if with_test or v is None or v.regression is None or not v.regression.kept:
        return proposal
    left_out = v.regression.model_copy(update={"kept": False, "note": "kept, but left out of this export "
                                               "(--without-regression-test)"})
    return proposal.model_copy(update={"validation": v.model_copy(update={"regression": left_out})})


def export_patch(project: Project, proposal: Proposal, finding: Finding, history: list[Transition],
                 out_dir: Path, before_publish: BeforePublish = _nothing, with_test: bool = True) -> ExportResult:
    """Write `suture-<id>.patch` in mbox form (`git am` applies it) into `out_dir`: the fix, then the regression
    test as a second patch when there is one."""
    sha = make_commit(project, proposal, finding, history, with_test)
    count = "-2" if exported_test(proposal, with_test) is not None else "-1"
    patch = _git(project.git_root, "format-patch", count, "--stdout", sha)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"suture-{proposal.short_id}.patch"
    before_publish(f"patch {path}")
    with tempfile.NamedTemporaryFile("w", dir=out_dir, delete=False, encoding="utf-8", errors="surrogateescape",
                                     newline="") as tmp:  # newline="": every CR of a CRLF file is written as is
        tmp.write(patch)
    Path(tmp.name).replace(path)
    return _result(project, proposal, finding, history, None, sha, path, with_test)
