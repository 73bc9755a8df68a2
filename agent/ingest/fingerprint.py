"""Stable identities for scanner findings.

A finding's id must survive the ordinary churn of a code base (lines inserted or deleted elsewhere in the
file, re-indentation, a re-run of the scanner) so that the store can recognise "the same finding" across
scans, yet two genuinely different findings must never share an id. The id is built from what the finding
*is* (tool, rule, file, the flagged source text) rather than *where* it currently sits (its line number).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Literal

FingerprintBasis = Literal["source", "snippet", "partial_fingerprints", "line", "whole_file"]

# A long flagged region (e.g. a whole function) would change id on any edit inside it; only its head counts.
MAX_CONTEXT_LINES = 5
_PARTIAL_PREFIX = "partialFingerprints:"


def normalize_context(text: str) -> str:
    """Collapse every whitespace run to one space per line, drop blank lines, keep line order."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def finding_fingerprint(tool: str, rule_id: str, path: str, context_text: str, occurrence: int) -> str:
    """Return the sha256 hex id of a finding.

    Inputs: the tool (case-insensitive), the rule id, the POSIX path relative to the project root, the
    flagged source line(s) (`context_text`, whitespace-normalized here) and `occurrence`, the 0-based count
    of earlier findings in the same file with the same tool, rule and normalized text (in file order).

    Robust to (the id stays the same):
    - lines inserted or deleted above or below the finding (no line number is hashed when text is known);
    - changes of indentation or of whitespace inside the flagged line(s), and trailing blank lines;
    - line-ending style (CRLF vs LF) and re-runs of the same scanner;
    - edits to a long flagged region beyond its first MAX_CONTEXT_LINES non-blank lines.

    Not robust to (the id changes):
    - any non-whitespace edit of the flagged line(s) (the finding is then treated as new);
    - renaming or moving the file, renaming the rule, or a different tool reporting the same issue;
    - deleting an *earlier* identical flagged line in the same file: later duplicates shift their
      `occurrence` down and take over the deleted one's id;
    - a changed basis: the same finding fingerprinted from disk text in one ingest and from the scanner's
      partial snippet (or from partialFingerprints / the line number) in another gets different ids;
    - the line-number fallback (`context_text` like "line:12", used when no text is available) changes
      whenever lines move: it is the least stable basis and callers should report when they use it.
    """
    return _hashed(tool, rule_id, path, normalize_context(context_text), occurrence)


def context_fingerprint(tool: str, rule_id: str, path: str, context: str, occurrence: int) -> str:
    """finding_fingerprint of a `context` made by fingerprint_context: only its partialFingerprints text can hold
    whitespace to normalize; the others are normalized already (normalize_context gives them back unchanged), so
    they skip that work."""
    if context.startswith(_PARTIAL_PREFIX):
        context = normalize_context(context)
    return _hashed(tool, rule_id, path, context, occurrence)


def _hashed(tool: str, rule_id: str, path: str, normal_context: str, occurrence: int) -> str:
    payload = "\x1f".join([tool.strip().lower(), rule_id, path, normal_context, str(occurrence)])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def fingerprint_context(
    *,
    source_text: str | None,
    snippet_text: str | None,
    partial_fingerprints: Mapping[str, str],
    start_line: int | None,
) -> tuple[FingerprintBasis, str]:
    """Pick the most stable text to fingerprint, in order: source lines read from disk, the scanner's
    snippet, its partialFingerprints, the line number; `start_line=None` means a whole-file result."""
    for basis, text in (("source", source_text), ("snippet", snippet_text)):
        if text is not None:
            lines = text.splitlines()
            if len(lines) == 1:  # one line (the usual flagged text): what normalize_context gives, done directly
                normal = " ".join(lines[0].split())
                if normal:
                    return basis, normal  # type: ignore[return-value]
                continue
            head = normalize_context(text).split("\n")[:MAX_CONTEXT_LINES]
            if any(head):
                return basis, "\n".join(head)  # type: ignore[return-value]
    if start_line is None:
        return "whole_file", ""
    if partial_fingerprints:
        pairs = ";".join(f"{key}={value}" for key, value in sorted(partial_fingerprints.items()))
        return "partial_fingerprints", f"{_PARTIAL_PREFIX}{pairs}"
    return "line", f"line:{start_line}"
