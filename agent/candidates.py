"""Several drafts for one finding (`-k N`): merge the identical ones, rank the validated results, describe them.

Works on drafts from any engine. Two drafts are identical when their edits are the same after normalization
(line endings, trailing whitespace, blank lines at the ends of SEARCH/REPLACE, the order of edits to different
files is kept). Ranking: a validated patch beats an unproven one, which beats a failed one; among equals, one that applied beats one that
did not, fewer failure reasons win, then the smallest diff (changed lines), then the earlier candidate.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.engines.base import Draft
from agent.models import Edit, Validation


@dataclass
class Candidate:
    """One distinct draft, how many drafts it stands for, and (once validated) its result."""

    number: int  # 1-based, in the order the model gave them
    draft: Draft
    copies: int = 1
    validation: Validation | None = None
    diff: str = ""

    @property
    def changed_lines(self) -> int:
        return sum(1 for line in self.diff.splitlines()
                   if line[:1] in "+-" and not line.startswith(("+++", "---")))


def _normal_text(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def edits_key(edits: list[Edit]) -> tuple:
    """A key equal for drafts whose edits differ only in whitespace noise."""
    return tuple((e.path.strip(), _normal_text(e.search), _normal_text(e.replace), e.create) for e in edits)


def merge_identical(drafts: list[Draft]) -> list[Candidate]:
    """Distinct drafts with edits, in order; identical ones are merged into the first (counted in `copies`)."""
    seen: dict[tuple, Candidate] = {}
    for number, draft in enumerate(drafts, start=1):
        if not draft.edits:
            continue
        key = edits_key(draft.edits)
        if key in seen:
            seen[key].copies += 1
        else:
            seen[key] = Candidate(number, draft)
    return list(seen.values())


def rank_key(candidate: Candidate) -> tuple:
    v = candidate.validation
    if v is None:
        return (3, 2, 0, 0, candidate.number)
    state = {"validated": 0, "unproven": 1, "failed": 2}[v.state]  # a test executing the change beats none
    return (state, 0 if v.applied else 1, len(v.reasons), candidate.changed_lines, candidate.number)


def best(candidates: list[Candidate]) -> Candidate:
    return min(candidates, key=rank_key)


def outcome_notes(requested: int, drafts: list[Draft], candidates: list[Candidate], chosen: Candidate) -> list[str]:
    """Lines for `Proposal.notes`: how many candidates, merges, and each one's result."""
    without = [d for d in drafts if not d.edits]
    merged = sum(c.copies - 1 for c in candidates)
    head = (f"{requested} candidate(s) requested, {len(drafts)} received: {len(candidates)} distinct"
            + (f", {merged} merged as identical" if merged else "")
            + (f", {len(without)} without usable edits" if without else ""))
    notes = [head]
    for c in candidates:
        v = c.validation
        if v is None:
            result = "not validated"
        elif v.passed:
            result = f"{v.state}, {c.changed_lines} changed line(s)"
        else:
            result = "failed: " + ("; ".join(v.reasons) or v.apply_error or "validation failed")
        copies = f" (×{c.copies})" if c.copies > 1 else ""
        mark = " — chosen" if c is chosen else ""
        notes.append(f"candidate {c.number}{copies}: {result}{mark}")
    for d in without:
        notes.append(f"candidate without edits: {d.error or 'no edit blocks'}")
    return notes
