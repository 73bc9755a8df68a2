"""Merged detection: an exported `suture/<id>` branch whose fix commit is reachable from the repository's default
branch is *merged*; each merge is recorded once as a `merge` event (agent.store.events).

Handles any git checkout: the default branch is the `default_branch` setting, else what `origin/HEAD` points at,
else a local `main`, else `master`. The fix commit is the first commit of the branch after the proposal's base
(the branch may carry a second commit with the regression test, which a team may drop). Reachability is one
`git merge-base --is-ancestor` per unmerged exported branch: cheap enough to run whenever metrics or status are
asked for. A squash or rebase merge (or a cherry-pick) makes new commits, and the branch is often deleted after
it: then the proposal's own diff is checked against the default branch's tree instead (`change_is_in`: the patch
applies in reverse there, so every line it added stands on the default branch with the context it had), recorded
with `"via": "content"`. A fix edited further before or after the merge is not seen as merged (nothing is claimed
then; the finding still counts as fixed when a later full scan no longer reports it).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from agent.store import Store, StoreError
from agent.store.events import EXPORT, MERGE

BRANCH_TARGET = "branch "  # an export event's target: "branch suture/<id>" (or a patch file's path)


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False, timeout=60)


def _commit(root: Path, ref: str) -> str | None:
    proc = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def default_branch(root: Path, configured: str | None = None) -> str | None:
    """The ref fixes are merged into: `configured`, else origin/HEAD's target, else main, else master (None:
    none of them exists here)."""
    if configured:
        return configured if _commit(root, configured) else None
    origin = _git(root, "symbolic-ref", "--quiet", "refs/remotes/origin/HEAD")
    if origin.returncode == 0 and origin.stdout.strip():
        return origin.stdout.strip().removeprefix("refs/remotes/")
    return next((name for name in ("main", "master") if _commit(root, f"refs/heads/{name}")), None)


def fix_commit(root: Path, branch: str, base: str | None) -> str | None:
    """The branch's first commit after `base` (its tip when the base is unknown); None when the branch is gone."""
    tip = _commit(root, f"refs/heads/{branch}")
    if tip is None or base is None:
        return tip
    listed = _git(root, "rev-list", "--reverse", f"{base}..{tip}")
    commits = listed.stdout.split() if listed.returncode == 0 else []
    return commits[0] if commits else tip


def change_is_in(root: Path, ref: str, diff: str) -> bool:
    """Does `ref`'s tree hold the change `diff` makes (a diff relative to `root`, the project folder)? True when
    the diff applies in reverse to that tree (read into a throw-away index: neither the checkout's index nor its
    files are touched). An empty or malformed diff is never "in"."""
    if not diff.strip():
        return False
    with tempfile.TemporaryDirectory(prefix="suture-merged-") as tmp:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(tmp) / "index")}
        read = subprocess.run(["git", "-C", str(root), "read-tree", ref], capture_output=True, env=env,
                              check=False, timeout=60)
        if read.returncode != 0:
            return False
        check = subprocess.run(["git", "-C", str(root), "apply", "--cached", "--check", "--reverse", "-"],
                               input=diff.encode(), capture_output=True, env=env, check=False, timeout=60)
        return check.returncode == 0


def detect_merges(store: Store, repo: str | None, checkout: Path, configured: str | None = None) -> list[str]:
    """Record a `merge` event for every proposal of `repo` exported as a branch of `checkout` whose fix commit
    the default branch now contains, unless one is recorded already. Returns the proposal ids newly merged."""
    default = default_branch(checkout, configured)
    if default is None:
        return []
    merged = {e.subject for e in store.events(kinds=[MERGE]) if e.repo == repo}
    found = []
    for event in store.events(kinds=[EXPORT]):
        target = str(event.detail.get("target") or "")
        if event.repo != repo or event.subject in merged or not target.startswith(BRANCH_TARGET):
            continue
        branch = target[len(BRANCH_TARGET):]
        try:
            proposal = store.get_proposal(event.subject)
            base, diff = proposal.commit, proposal.diff
        except StoreError:  # deleted since: the branch's tip is all there is to check
            base, diff = None, ""
        commit = fix_commit(checkout, branch, base)
        detail: dict[str, str | None] | None = None
        if commit is not None and _git(checkout, "merge-base", "--is-ancestor", commit, default).returncode == 0:
            detail = {"branch": branch, "commit": commit, "default": default}
        elif change_is_in(checkout, default, diff):  # squashed, rebased or cherry-picked; the branch may be gone
            detail = {"branch": branch, "commit": commit, "default": default, "via": "content"}
        if detail is not None:
            if store.add_event(MERGE, event.subject, detail, repo=repo, once=True):
                found.append(event.subject)
            merged.add(event.subject)
    return found


__all__ = ["change_is_in", "default_branch", "detect_merges", "fix_commit"]
