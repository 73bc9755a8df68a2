"""Terminal and machine renderings of records: rich tables for people, JSON and CSV for machines.

Off a terminal (a pipe, a file, CI logs) nothing is wrapped at 80 columns: the consoles are as wide as any line,
so a diff or a path stays whole and copy-pasteable. Text from records, scanners or models is never read as rich
markup: it is escaped (`escape`) or printed with markup off (`line`, `warn`, `error`)."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape as _markup_escape
from rich.syntax import Syntax
from rich.table import Table

from agent.app.views import ProposalRow, Risk, proposal_summary
from agent.models import Finding, Proposal, Transition
from agent.review.identity import escape_text

__all__ = ["emit_json", "err", "escape", "out", "proposal_summary", "proposals_table", "show_proposal"]

OFF_TTY_WIDTH = 100_000  # off a terminal: wide enough that no line of ours is ever wrapped
RULE_WIDTH = 100  # a rule (a full-width line) is this wide off a terminal


def make_console(stderr: bool = False) -> Console:
    """A console for stdout (or stderr): the terminal's width on a terminal, unbounded elsewhere."""
    made = Console(stderr=stderr, highlight=False)
    if not made.is_terminal:
        made.width = OFF_TTY_WIDTH
    return made


out = make_console()
err = make_console(stderr=True)


def line(text: str, console: Console | None = None) -> None:
    """One line of plain text (brackets literal, controls escaped), never wrapped off a terminal."""
    (console or out).print(safe(text), markup=False, soft_wrap=True, highlight=False)


def warn(text: str, label: str = "warning") -> None:
    """`warning: text` on stderr; the text is printed literally."""
    err.print(f"[yellow]{label}:[/] {escape(text)}", soft_wrap=True)


def error(text: str) -> None:
    """`error: text` on stderr; the text is printed literally."""
    err.print(f"[red]error:[/] {escape(text)}", soft_wrap=True)


def rule(title: str, console: Console | None = None, style: str = "rule.line") -> None:
    """A titled horizontal line (`title` is rich markup): the terminal's width, or RULE_WIDTH off a terminal."""
    from rich.rule import Rule

    target = console or out
    target.print(Rule(title, style=style), width=min(target.width, RULE_WIDTH) if not target.is_terminal else None)


def escape(text: str) -> str:
    """Text from records or input, ready for rich markup: controls (ANSI escapes, newlines), invisible and bidi
    characters written as escapes, markup brackets escaped."""
    return _markup_escape(escape_text(text))


def escape_lines(text: str) -> str:
    """Like `escape`, for multi-line text: newlines and tabs stay."""
    return _markup_escape(escape_text(text, lines=True))


def safe(text: str) -> str:
    """Text for plain (markup=False) printing: controls and invisible characters written as escapes."""
    return escape_text(text)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _sev(sev: str) -> str:
    color = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}[sev]
    return f"[{color}]{sev}[/]"


STATE_STYLE = {"validated": "green", "unproven": "yellow", "failed": "red", "drafted": "yellow", "approved": "bold green",
               "rejected": "dim", "exported": "blue"}


def proposals_table(rows: list[ProposalRow], title: str) -> Table:
    """A review queue for people: id, state, finding, engine (and risk, when the rows have it), outcome."""
    with_risk = any(r.risk is not None for r in rows)
    table = Table(title=title, title_justify="left")
    table.add_column("id", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("finding", ratio=2)
    table.add_column("by", ratio=1)
    if with_risk:
        table.add_column("risk", no_wrap=True)
    table.add_column("outcome", ratio=3)
    for row in rows:
        p, f = row.proposal, row.finding
        where = escape(f"{f.rule_id} {f.location.path}:{f.location.start_line}") if f else p.finding_id[:10]
        style = STATE_STYLE.get(p.state, "")
        state = "dismissal?" if p.kind == "dismissal" and p.state == "drafted" else \
            "no draft" if p.without_draft else p.state
        engine = p.engine.removeprefix("builtin:").removeprefix("llm:")
        risk = [] if not with_risk else [_risk(row.risk)]
        table.add_row(p.short_id, f"[{style}]{state}[/]", where, escape(engine), *risk, escape(proposal_summary(p)))
    return table


def _show_regression(v) -> None:
    """The security regression test (agent.validate.regression): outcome, note, and its text when one was written."""
    from agent.validate.regression import regression_lines

    for line in regression_lines(v):
        out.print(f"  {escape(line)}")
    if v.regression is not None and v.regression.content:
        out.print(escape_text(v.regression.content, lines=True).rstrip("\n"), markup=False, highlight=False,
                  soft_wrap=True)


def _risk(risk: Risk | None) -> str:
    if risk is None:
        return ""
    parts = [f"{risk.score:.0f}" if risk.score is not None else "-", risk.lane or "", risk.team or ""]
    return escape(" ".join(part for part in parts if part))


def show_proposal(p: Proposal, f: Finding, history: list[Transition]) -> None:
    rule(f"proposal {p.short_id} · {p.kind} · [{STATE_STYLE.get(p.state, '')}]{p.state}[/]")
    out.print(f"[bold]Finding[/] {f.short_id}: {escape(f.tool)} {escape(f.rule_id)} "
              f"({', '.join(f'CWE-{c}' for c in f.cwe) or 'no CWE'}), {_sev(f.severity)}")
    out.print(f"  at {escape(f.location.path)}:{f.location.start_line}: {escape(f.message.strip())}")
    out.print(f"[bold]Engine[/] {escape(p.engine)}" + (f"  prompt {p.prompt_hash[:12]}" if p.prompt_hash else ""))
    if p.verdict:
        out.print(f"[bold]Verdict[/] {p.verdict.verdict} ({p.verdict.confidence:.0%}): {escape(p.verdict.rationale)}")
    if p.rationale:
        out.print(f"[bold]Rationale[/] {escape_lines(p.rationale.strip())}")
    if p.error:
        out.print(f"[bold red]No patch[/] {escape(p.error)}")
    if p.diff and not out.is_terminal:  # the diff as it is (controls escaped): copy-pasteable, never re-flowed
        out.print(escape_text(p.diff, lines=True).rstrip("\n"), markup=False, highlight=False, soft_wrap=True)
    elif p.diff:
        out.print(Syntax(escape_text(p.diff, lines=True), "diff", theme="ansi_dark", background_color="default",
                         word_wrap=True))
    v = p.validation
    if v is not None:
        out.print("[bold]Validation[/] " + {"validated": "[green]validated[/]: a passing test executes the change",
                                             "unproven": f"[yellow]unproven[/]: {escape(v.unproven_reason)}",
                                             "failed": "[red]failed[/]"}[v.state])
        if v.covering_tests:
            out.print(f"  tests executing the changed lines: {escape(', '.join(v.covering_tests[:10]))}"
                      + (f" (+{len(v.covering_tests) - 10} more)" if len(v.covering_tests) > 10 else ""))
        if v.coverage is not None and v.coverage.uncovered:
            out.print(f"  changed lines no passing test executes: {escape(', '.join(v.coverage.uncovered[:10]))}")
        _show_regression(v)
        for name, run in (("baseline", v.baseline), ("targeted", v.targeted), ("patched", v.patched)):
            if run is not None:
                out.print(f"  tests {name}: {escape(run.summary)}")
        test_env = next((r.environment for r in (v.baseline, v.patched) if r is not None and r.environment), None)
        if test_env:
            out.print(f"  test environment: {escape(test_env)}")
        if v.newly_failing:
            out.print(f"  newly failing: {escape(', '.join(v.newly_failing))}")
        if v.flaky:
            out.print(f"  [yellow]flaky (failed once, passed on re-run):[/] {escape(', '.join(v.flaky))}")
        if v.sandbox:
            out.print(f"  sandbox: {escape('; '.join(v.sandbox))}")
        for escaped in v.escapes:
            out.print(f"  [red]write outside the worktree:[/] {escape(escaped)}")
        gone = {True: "gone", False: "[red]still reported[/]", None: "not re-scanned"}[v.finding_gone]
        out.print(f"  re-scan: finding {gone}; new findings: {len(v.new_findings)}"
                  + (f" ({escape(v.rescan_note)})" if v.rescan_note else ""))
        for new in v.new_findings:
            out.print(f"    new: {escape(new)}")
        for reason in v.reasons:
            out.print(f"  - {escape(reason)}")
        for flag in v.flags:
            out.print(f"  [yellow]! {escape(flag)}[/]")
        if v.log_path:
            out.print(f"  log: {escape(v.log_path)}")
    for note in p.notes:
        out.print(f"[bold]Note[/] {escape(note)}")
    if p.usage.calls:
        out.print(f"[bold]Model usage[/] {p.usage.prompt_tokens} prompt + {p.usage.completion_tokens} completion "
                  f"tokens, ${p.usage.cost_usd:.4f}" + ("" if p.usage.cost_known else " (cost unknown)"))
    for t in history:
        if t.override:
            out.print(f"[bold red]Override[/] approved by {escape(t.actor)} although validation failed; "
                      f"reason: {escape(t.comment or '(none recorded)')}")
    out.print("[bold]History[/]")
    for t in history:
        flag = " [red]OVERRIDE[/]" if t.override else ""
        out.print(f"  {t.at:%Y-%m-%d %H:%M:%S} {t.from_state or '-'} → {t.to_state}{flag} by {escape(t.actor)}"
                  + (f": {escape(t.comment)}" if t.comment else "")
                  + (f" → {escape(t.target)}" if t.target and t.target not in (t.comment or "") else ""))
