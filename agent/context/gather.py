"""Build the `Context` an engine sees for one finding: code gathered by a language plugin, deduplicated by
line, redacted, then fitted to a token budget in priority order.

Priority (kept first): the flagged code / enclosing function, its class header and attributes, the SARIF
flow steps, the imports and module-level names it uses, the most relevant test, then callers. Everything is
redacted before it is counted, and labels and hints are redacted too, so nothing in the returned Context
carries a secret. The returned `Redactor` holds the placeholder mapping (use it for the finding's own message
and snippet, and to `unredact` a model's SEARCH text).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agent.context.budget import Candidate, count_tokens, default_budget, fill_budget
from agent.context.language_registry import language_for
from agent.context.languages import Excerpt, line_window
from agent.context.redact import PLACEHOLDER_RE, Redactor
from agent.context.repo_files import RepoFiles, read_text, split_lines
from agent.models import CodeSnippet, Context, Finding

PRIORITY_FOCUS, PRIORITY_CLASS, PRIORITY_FLOW, PRIORITY_IMPORTS, PRIORITY_TEST, PRIORITY_CALLER = range(6)
FOCUS_SHARE = (
    0.6  # the primary snippet may use at most this share of the budget before a smaller form is used
)
FLOW_RADIUS = 2


@dataclass
class GatherLimits:
    """Bounds on how far context gathering looks."""

    max_callers: int = 3
    max_files: int = 2000  # files scanned for callers and tests
    max_related_tests: int = 10
    flow_radius: int = FLOW_RADIUS


@dataclass
class _Piece:
    priority: int
    excerpt: Excerpt
    text: str = ""
    numbers: list[int | None] = field(default_factory=list)  # file line of each text line (None = marker)


class _Files:
    """Project files read once, refusing paths that leave the project root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[str, list[str] | None] = {}

    def lines(self, rel_path: str) -> list[str] | None:
        if rel_path not in self._cache:
            full = (self.root / rel_path).resolve()
            ok = full.is_relative_to(self.root) and full.is_file()
            self._cache[rel_path] = split_lines(read_text(full)) if ok else None
        return self._cache[rel_path]


def snippet_heading(label: str, path: str, start_line: int, end_line: int) -> str:
    """The one-line heading a snippet is shown under (its tokens count against the budget)."""
    return f"--- {label} — {path}:{start_line}-{end_line} ---"


def _render(lines: list[str], excerpt: Excerpt) -> tuple[str, list[int | None]]:
    out: list[str] = []
    numbers: list[int | None] = []
    prev: int | None = None
    for n in sorted(x for x in excerpt.lines if 1 <= x <= len(lines)):
        if prev is not None and n > prev + 1:
            gap = n - prev - 1
            out.append(f"… [{gap} line{'s' if gap > 1 else ''} omitted]")
            numbers.append(None)
        out.append(lines[n - 1])
        numbers.append(n)
        prev = n
    return "\n".join(out), numbers


def _touch(a: frozenset[int], b: frozenset[int]) -> bool:
    return min(a) <= max(b) + 1 and min(b) <= max(a) + 1


def _flow_excerpts(finding: Finding, files: _Files, radius: int, notes: list[str]) -> list[Excerpt]:
    """One excerpt per run of flow steps in the same file whose windows touch."""
    out: list[Excerpt] = []
    count = len(finding.flow)
    for index, step in enumerate(finding.flow, 1):
        loc = step.location
        lines = files.lines(loc.path)
        if lines is None:
            notes.append(f"flow step {index} points at {loc.path}, which is not in the project")
            continue
        window = line_window(loc.start_line, loc.last_line, radius, max(1, len(lines)))
        where = f"{loc.path}:{loc.start_line}"
        says = f": {step.message}" if step.message else ""
        prev = out[-1] if out else None
        if prev is not None and prev.path == loc.path and _touch(prev.lines, window):
            out[-1] = Excerpt(f"{prev.label}; step {index} ({where}){says}", loc.path, prev.lines | window)
        else:
            out.append(Excerpt(f"flow step {index}/{count} ({where}){says}", loc.path, window))
    return out


@dataclass
class _Gathered:
    groups: list[list[Excerpt]]  # by priority; groups[0] holds alternative forms of the primary snippet
    related_tests: list[str]


def _gather(finding: Finding, root: Path, files: _Files, limits: GatherLimits, notes: list[str]) -> _Gathered:
    loc = finding.location
    source_lines = files.lines(loc.path) or []
    source = "\n".join(source_lines)
    if loc.start_line > len(source_lines):
        notes.append(
            f"the finding is at line {loc.start_line} but {loc.path} has {len(source_lines)} lines; "
            "the file may have changed since the scan"
        )
    lang = language_for(loc.path)
    focus = lang.focus(source, loc.path, loc.start_line, loc.last_line)
    notes.extend(focus.notes)
    repo = RepoFiles(root, max_files=limits.max_files)
    tests = lang.related_tests(repo, loc.path, focus, limits.max_related_tests)
    groups: list[list[Excerpt]] = [focus.variants, [focus.class_context] if focus.class_context else []]
    groups.append(_flow_excerpts(finding, files, limits.flow_radius, notes))
    imports = lang.imports_used(source, loc.path, focus)
    groups.append([imports] if imports else [])
    groups.append([tests.best] if tests.best else [])
    groups.append(lang.find_callers(repo, loc.path, focus, limits.max_callers))
    if repo.truncated:
        notes.append(f"stopped scanning for callers and tests after {limits.max_files} files")
    if tests.paths:  # engines render hints, so the model learns where the tests are
        notes.append("related test files: " + ", ".join(tests.paths))
    return _Gathered(groups, tests.paths)


def _piece(priority: int, excerpt: Excerpt, files: _Files, redactor: Redactor) -> _Piece | None:
    lines = files.lines(excerpt.path)
    if lines is None:
        return None
    visible = sorted(n for n in excerpt.lines if 1 <= n <= len(lines))
    while visible and not lines[visible[0] - 1].strip():
        visible.pop(0)
    while visible and not lines[visible[-1] - 1].strip():
        visible.pop()
    if not visible:
        return None
    excerpt = Excerpt(excerpt.label, excerpt.path, frozenset(visible))
    text, numbers = _render(lines, excerpt)
    label = redactor.redact(excerpt.label).text
    return _Piece(
        priority,
        Excerpt(label, excerpt.path, excerpt.lines),
        redactor.redact(text, excerpt.path).text,
        numbers,
    )


def _choose_primary(variants: Sequence[_Piece], room: int, model: str | None) -> _Piece | None:
    for piece in variants:
        if count_tokens(piece.text, model) <= room * FOCUS_SHARE:
            return piece
    return variants[-1] if variants else None


def build_context(
    finding: Finding,
    project_root: Path,
    *,
    model: str | None = None,
    token_budget: int | None = None,
    hints: Iterable[str] = (),
    limits: GatherLimits | None = None,
) -> tuple[Context, Redactor]:
    """The redacted, budgeted code context for `finding` in the checkout at `project_root`."""
    root = Path(project_root).resolve()
    limits = limits or GatherLimits()
    budget = token_budget if token_budget is not None else default_budget(model)
    redactor = Redactor()
    notes = list(hints)
    files = _Files(root)
    related: list[str] = []
    pieces: list[_Piece] = []
    if files.lines(finding.location.path) is None:
        notes.append(f"{finding.location.path} was not found in the project; no code context is available")
    else:
        gathered = _gather(finding, root, files, limits, notes)
        groups, related = gathered.groups, gathered.related_tests
        hint_cost = count_tokens("\n".join(notes), model)
        variants = [p for p in (_piece(PRIORITY_FOCUS, v, files, redactor) for v in groups[0]) if p]
        primary = _choose_primary(variants, budget - hint_cost, model)
        covered: dict[str, set[int]] = {}
        ordered = [(PRIORITY_FOCUS, primary.excerpt)] if primary else []
        for priority, group in enumerate(groups[1:], start=PRIORITY_CLASS):
            ordered.extend((priority, excerpt) for excerpt in group)
        for priority, excerpt in ordered:
            fresh = excerpt.without(covered.get(excerpt.path, set()))
            piece = primary if priority == PRIORITY_FOCUS else _piece(priority, fresh, files, redactor)
            if piece is not None:
                covered.setdefault(excerpt.path, set()).update(fresh.lines)
                pieces.append(piece)
    redacted_notes = [redactor.redact(n).text for n in notes]
    for piece in pieces:  # second pass: secrets found in later pieces are also hidden in earlier ones
        piece.text = redactor.redact(piece.text, piece.excerpt.path).text
    return _fit(finding.id, pieces, redacted_notes, related, budget, model), redactor


def _fit(
    finding_id: str,
    pieces: list[_Piece],
    notes: list[str],
    related: list[str],
    budget: int,
    model: str | None,
) -> Context:
    fixed_cost = count_tokens("\n".join(notes), model)
    labels: dict[str, _Piece] = {}
    candidates = []
    for piece in pieces:
        label = piece.excerpt.label
        while label in labels:
            label += " (more)"
        labels[label] = piece
        heading = snippet_heading(label, piece.excerpt.path, piece.excerpt.start_line, piece.excerpt.end_line)
        candidates.append(Candidate(label, piece.priority, piece.text, count_tokens(heading, model) + 1))
    kept, dropped = fill_budget(candidates, max(0, budget - fixed_cost), model=model)
    snippets = []
    for item in kept:
        piece = labels[item.label]
        shown = [n for n in piece.numbers[: len(piece.numbers) - item.omitted_lines] if n is not None]
        end = max(shown) if item.truncated and shown else piece.excerpt.end_line
        snippets.append(
            CodeSnippet(
                label=item.label,
                path=piece.excerpt.path,
                start_line=piece.excerpt.start_line,
                end_line=end,
                text=item.text,
                truncated=item.truncated,
            )
        )
    redactions = sum(len(PLACEHOLDER_RE.findall(s.text)) for s in snippets)
    redactions += sum(len(PLACEHOLDER_RE.findall(n)) for n in notes)
    return Context(
        finding_id=finding_id,
        snippets=snippets,
        related_tests=related,
        token_budget=budget,
        tokens_used=fixed_cost + sum(k.tokens for k in kept),
        dropped=[d.describe() for d in dropped],
        redactions=redactions,
        hints=notes,
    )


def render_context_text(context: Context) -> str:
    """The plain-text form of a context, as `suture context ID` prints it."""
    out = [
        (
            f"Context for finding {context.finding_id}: {len(context.snippets)} snippets, "
            f"{context.tokens_used}/{context.token_budget or '?'} tokens, {context.redactions} secrets redacted"
        )
    ]
    if context.hints:
        out.append("Hints:")
        out.extend(f"  - {hint}" for hint in context.hints)
    for snippet in context.snippets:
        heading = snippet_heading(snippet.label, snippet.path, snippet.start_line, snippet.end_line)
        out.extend(["", heading + (" (truncated)" if snippet.truncated else ""), snippet.text])
    if context.dropped:
        out.extend(["", "Dropped (over budget):"])
        out.extend(f"  - {item}" for item in context.dropped)
    return "\n".join(out) + "\n"
