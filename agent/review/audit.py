"""The proposal history as a hash chain, and the check that finds changes made behind suture's back.

Every row of the `transitions` table is one link: its hash covers the previous row's hash and the row's whole
content — who, when, which move, the comment or reason, the override flag, the export target, and the facts of
the proposal at that moment (engine, model, prompt hash, context hash, diff hash, validation summary, and the hash
of the kept security regression test's path and text). The store keeps the newest link's hash and number in
`audit_heads`, so deleting the newest rows shows too.

What this proves, and what not: a row edited, deleted or reordered with plain SQL, or a proposal's diff or
validation edited in its JSON, breaks the chain and is reported. Someone who rewrites every later hash (and the
head) with the same public formula is not caught here; the `Suture-Audit:` trailer of each exported commit keeps
a copy of the head outside the store, which they cannot rewrite without rewriting git history too.

Classes of input handled: rows as read from any SQL store (naive or aware datetimes, JSON columns as dicts,
text with lone surrogates).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agent.models import Proposal, Validation

CHAIN = "transitions"
GENESIS = ""
# facts fixed when a proposal is drafted; they may never differ between two rows of one proposal
FIXED_FACTS = ("kind", "finding_id", "engine", "model", "prompt_hash", "context_hash", "diff_hash", "commit")
# facts set by validation: they may change only while the proposal is drafted
VALIDATION_FACTS = ("validation", "regression_test_hash")
# facts added after stores were written: a row written before lacks them, and is not compared on them (removing
# one from a row breaks the row's link hash, so an absent key is never an attacker's doing)
ADDED_FACTS = ("regression_test_hash",)


def canonical(value: Any) -> str:
    """One JSON text per value: sorted keys, ASCII only (lone surrogates escaped), no spaces."""
    return json.dumps(value, sort_keys=True, ensure_ascii=True, separators=(",", ":"), default=str)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def stamp(at: datetime) -> str:
    """A time as naive UTC ISO text: SQLite gives datetimes back without their zone, PostgreSQL with it."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.isoformat()


def regression_test_hash(p: Proposal) -> str | None:
    """The hash of the path and text of the proposal's kept security regression test (what export writes as its
    own commit), or None when it has none kept."""
    r = p.validation.regression if p.validation is not None else None
    if r is None or not r.kept:
        return None
    return digest(canonical({"path": r.path, "content": r.content}))


# Validation keys newer than the first histories, each with the keys dropped (when None) by the digest of that era:
# a validation stored before a key existed keeps verifying against the digest its history holds.
_DIGEST_ERAS = (("coverage",), ("coverage", "regression", "regression_note"))


def validation_digests(v: Validation) -> list[str]:
    """The digest of `v` as recorded now (first), then as suture recorded it before its newer keys existed."""
    found: list[str] = []
    for dropped in _DIGEST_ERAS:
        dumped = v.model_dump(mode="json")
        for key in dropped:
            if dumped.get(key) is None:
                dumped.pop(key, None)
        found.append(digest(canonical(dumped)))
    return found


def legacy_validation(p: Proposal, recorded: dict[str, Any] | None) -> bool:
    """Whether the validation facts `recorded` match `p`'s validation as an older suture digested it."""
    v, old = p.validation, (recorded or {}).get("validation")
    return v is not None and isinstance(old, dict) and old.get("digest") in validation_digests(v)[1:] and \
        {k: old.get(k) for k in ("passed", "applied", "finding_gone")} == \
        {"passed": v.passed, "applied": v.applied, "finding_gone": v.finding_gone}


def proposal_facts(p: Proposal) -> dict[str, Any]:
    """What a reviewer's decision is about: where the proposal came from, its diff and its validation."""
    v = p.validation
    validation = None if v is None else {
        "passed": v.passed, "applied": v.applied, "finding_gone": v.finding_gone,
        "digest": validation_digests(v)[0],
    }
    return {"kind": p.kind, "finding_id": p.finding_id, "engine": p.engine, "model": p.model,
            "prompt_hash": p.prompt_hash, "context_hash": p.context_hash, "diff_hash": digest(p.diff),
            "commit": p.commit, "validation": validation, "regression_test_hash": regression_test_hash(p)}


def entry(row: dict[str, Any]) -> dict[str, Any]:
    """The hashed content of a transitions row (as a mapping of its columns)."""
    return {"seq": row["seq"], "proposal_id": row["proposal_id"], "from_state": row["from_state"],
            "to_state": row["to_state"], "actor": row["actor"], "at": stamp(row["at"]), "comment": row["comment"],
            "override": bool(row["override"]), "target": row["target"], "facts": row["facts"]}


def link_hash(prev_hash: str, row: dict[str, Any]) -> str:
    return digest(prev_hash + "\n" + canonical(entry(row)))


@dataclass(frozen=True)
class Problem:
    """One change made behind suture's back."""

    kind: str  # row-edited | link-broken | rows-missing | head-mismatch | proposal-edited | no-history | orphan-rows
    message: str
    proposal_id: str | None = None
    seq: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "proposal_id": self.proposal_id, "seq": self.seq, "message": self.message}


def _who(row: dict[str, Any]) -> str:
    return f"{row['from_state'] or '-'}→{row['to_state']} by {row['actor']!r}"


def facts_drift(recorded: dict[str, Any] | None, current: dict[str, Any], validation_may_change: bool,
                proposal: Proposal | None = None) -> list[str]:
    """Names of the facts that differ between the newest row and the proposal as stored now (facts added later
    are compared only when the row has them)."""
    if not recorded:
        return []
    keys = [k for k in current if (k not in VALIDATION_FACTS or not validation_may_change)
            and (k not in ADDED_FACTS or k in recorded)]
    return [k for k in keys if recorded.get(k) != current.get(k)
            and not (k == "validation" and proposal is not None and legacy_validation(proposal, recorded))]


def verify(rows: list[dict[str, Any]], head: tuple[int, str] | None,
           proposals: dict[str, Proposal]) -> list[Problem]:
    """Walk the chain (`rows` ordered by id) and compare it with the head and with the proposals as stored."""
    problems: list[Problem] = []
    prev_hash, prev_seq = GENESIS, 0
    last_by_proposal: dict[str, dict[str, Any]] = {}
    first_diff: dict[str, str | None] = {}
    for row in sorted(rows, key=lambda r: (r["seq"] is None, r["seq"] or 0, r["id"])):
        pid, seq = row["proposal_id"], row["seq"]
        where = f"history row {seq} of proposal {pid[:8]} ({_who(row)})"
        if seq is None or row["hash"] is None:
            problems.append(Problem("row-edited", f"history row {row['id']} of proposal {pid[:8]} has no chain "
                                    "link: it was added behind suture's back", pid, seq))
            continue
        if seq != prev_seq + 1:
            problems.append(Problem("rows-missing", f"history rows {prev_seq + 1}..{seq - 1} are missing "
                                    "(deleted)" if seq > prev_seq + 1 else f"{where} repeats number {seq}",
                                    pid, seq))
        if row["prev_hash"] != prev_hash:
            problems.append(Problem("link-broken", f"{where} does not follow the row before it (rows deleted, "
                                    "reordered or re-hashed)", pid, seq))
        if link_hash(row["prev_hash"] or GENESIS, row) != row["hash"]:
            problems.append(Problem("row-edited", f"{where} was edited after it was written", pid, seq))
        diff_hash = (row["facts"] or {}).get("diff_hash")
        if pid in first_diff and diff_hash != first_diff[pid]:
            problems.append(Problem("row-edited", f"{where} records another diff than the proposal's first row",
                                    pid, seq))
        first_diff.setdefault(pid, diff_hash)
        prev_hash, prev_seq = row["hash"], seq
        last_by_proposal[pid] = row
    if head is not None and (head[0], head[1]) != (prev_seq, prev_hash):
        problems.append(Problem("head-mismatch", f"the newest history rows are gone: the chain ends at row "
                                f"{prev_seq}, but row {head[0]} was written", None, head[0]))
    for pid, proposal in proposals.items():
        last = last_by_proposal.get(pid)
        if last is None:
            problems.append(Problem("no-history", f"proposal {pid[:8]} has no history (its rows were deleted or it "
                                    "was inserted behind suture's back)", pid))
            continue
        if last["to_state"] != proposal.state:
            problems.append(Problem("proposal-edited", f"proposal {pid[:8]} is {proposal.state} in the store, but "
                                    f"its history ends {_who(last)}", pid))
        drift = facts_drift(last["facts"], proposal_facts(proposal), last["to_state"] == "drafted", proposal)
        if drift and not (last["facts"] or {}).get("migrated"):
            problems.append(Problem("proposal-edited", f"proposal {pid[:8]}: {', '.join(drift)} changed after "
                                    f"{_who(last)}", pid))
        elif drift:
            problems.append(Problem("proposal-edited", f"proposal {pid[:8]}: {', '.join(drift)} changed since "
                                    "its history was sealed", pid))
    for pid in sorted(set(last_by_proposal) - set(proposals)):
        problems.append(Problem("orphan-rows", f"history of proposal {pid[:8]} has no proposal (the proposal row "
                                "was deleted)", pid))
    return problems
