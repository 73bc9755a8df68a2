"""`suture triage`, `suture accept`, `suture feeds import` and `suture sarif`: the decision layer's commands."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, time
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from agent.cli import render
from agent.cli.options import DbOpt, FormatOpt, ListFmt, RepoOpt, ReviewerOpt, open_session
from agent.cli.progress import DelayedProgress
from agent.errors import SutureError

feeds_cli = typer.Typer(help="Exploitability feeds (EPSS, CISA KEV) from files you download; never the network.",
                        no_args_is_help=True)


class TriageFmt(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


class By(str, Enum):
    rank = "rank"
    team = "team"


def register(app: typer.Typer) -> None:
    app.command()(triage)
    app.command()(accept)
    app.command()(sarif)
    app.add_typer(feeds_cli, name="feeds")


def triage(
    repo: RepoOpt = Path("."), db: DbOpt = None,
    top: Annotated[int | None, typer.Option("--top", "-n", min=1, help="Show only the first N.")] = None,
    fmt: Annotated[TriageFmt, typer.Option("--format", "-f", help="table, json, csv, or markdown.")] = TriageFmt.table,
    by: Annotated[By, typer.Option("--by", help="team: one section per owning team (markdown, table).")] = By.rank,
    team: Annotated[str | None, typer.Option("--team", help="Only this team's findings.")] = None,
    lane: Annotated[str | None, typer.Option("--lane", help="Only this lane: now, batch or defer.")] = None,
) -> None:
    """Rank open findings by business risk: score 0-100 with every factor's reason, owner team, SSVC decision,
    lane (now / batch / defer) and due date. Configure assets, owners, teams and SLAs under [triage] in
    suture.toml; import EPSS/KEV with `suture feeds import`. Expired risk acceptances re-open first."""
    from agent.triage import report
    from agent.triage.service import triage_store

    if lane is not None and lane not in ("now", "batch", "defer"):
        raise SutureError(f"--lane must be now, batch or defer, not {lane!r}")
    session = open_session(repo, db)
    bars = [DelayedProgress("ranking: reading source files"), DelayedProgress("ranking: scoring findings")
            ] if fmt != TriageFmt.json else [None, None]
    try:
        result = triage_store(session.store, session.settings.triage, session.ws.project_dir, session.ws.state_dir,
                              progress=bars[0], score_progress=bars[1])
    finally:
        for bar in bars:
            if bar is not None:
                bar.close()
    if team is not None and team not in {r.team for r in result.rows} and not (
            session.settings.triage.get("teams") and team in session.settings.triage["teams"]):
        known = sorted({r.team for r in result.rows})
        raise SutureError(f"unknown team {team!r}; teams with findings: {', '.join(known) or 'none'}")
    rows = [r for r in result.rows if (team is None or r.team == team) and (lane is None or r.decision.lane == lane)]
    shown = rows[:top] if top else rows
    for fid in result.reopened:
        render.line(f"risk acceptance expired: finding {fid[:10]} is open again", render.err)
    for note in result.notes:
        render.warn(note, "note")
    for o in result.overflow:
        render.warn(f"team {o.team} fixes {o.capacity}/week; {len(o.moved)} now-lane "
                         f"finding(s) moved to batch with later due dates: "
                    + ", ".join(m[:10] for m in o.moved), "capacity")
    if fmt == TriageFmt.json:  # a list of rows, one per group (overflow and notes go to stderr)
        render.emit_json([report.row_dict(i, r) for i, r in enumerate(shown, 1)])
    elif fmt == TriageFmt.csv:
        sys.stdout.write(report.triage_csv(shown))
    elif fmt == TriageFmt.markdown:
        sys.stdout.write(report.triage_markdown(shown, by == By.team) + "\n")
    elif not result.rows:
        render.out.print("No open findings. Run `suture scan` or `suture ingest FILE.sarif` first.")
    elif by == By.team:
        for name in sorted({r.team for r in shown}):
            part = [r for r in shown if r.team == name]
            table = report.triage_table(part, len(part))
            table.title = f"{name}: {len(part)} finding group(s)"
            render.out.print(table)
    else:
        render.out.print(report.triage_table(shown, len(result.rows)))


def parse_date(text: str, what: str = "--until") -> datetime:
    """YYYY-MM-DD (end of that day, UTC) or an ISO 8601 date-time."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = datetime.strptime(value, "%Y-%m-%d").date()
            return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise SutureError(f"{what}: cannot read {text!r} as a date; use YYYY-MM-DD") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def accept(
    finding_id: Annotated[str, typer.Argument(help="Finding id or prefix (see `suture triage`).")],
    until: Annotated[str, typer.Option("--until", help="Last day the risk is tolerated (YYYY-MM-DD).")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why the risk is acceptable (kept in the log and "
                                        "in SARIF suppressions).")],
    reviewer: ReviewerOpt = None,
    repo: RepoOpt = Path("."), db: DbOpt = None, fmt: FormatOpt = ListFmt.table,
) -> None:
    """Accept the risk of an open finding until a date, as a named person. When the date passes, the finding
    re-opens (at the next `suture triage` or `fix`)."""
    when = parse_date(until)
    session = open_session(repo, db)
    from agent import app

    who = app.reviewer_identity(session.ws.project.git_root, reviewer)
    finding = session.store.accept_risk(finding_id, when, reason, who)
    if fmt == ListFmt.json:
        render.emit_json({"id": finding.id, "status": finding.status, "until": when.isoformat(), "by": who,
                          "reason": reason})
    else:
        render.line(f"accepted {finding.short_id} ({finding.rule_id} {finding.location.path}:"
                         f"{finding.location.start_line}) until {when:%Y-%m-%d} as {who}")


@feeds_cli.command("import")
def feeds_import(
    files: Annotated[list[Path], typer.Argument(help="epss_scores-YYYY-MM-DD.csv(.gz) and/or "
                                                "known_exploited_vulnerabilities.json")],
    repo: RepoOpt = Path("."), db: DbOpt = None, fmt: FormatOpt = ListFmt.table,
) -> None:
    """Import FIRST EPSS scores and the CISA KEV catalog into .suture/feeds/ (each file checked whole first; a
    file of the wrong shape changes nothing)."""
    from agent.triage.feeds import import_feeds

    session = open_session(repo, db)
    results = import_feeds(files, session.ws.state_dir)
    if fmt == ListFmt.json:
        render.emit_json([{"file": f, "feed": kind, "cves": n} for f, kind, n in results])
        return
    for f, kind, n in results:
        render.line(f"{f}: imported {kind.upper()} ({n} CVEs) → .suture/feeds/{kind}.json")


def sarif(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write here (default: stdout).")] = None,
    repo: RepoOpt = Path("."), db: DbOpt = None,
) -> None:
    """Export findings as SARIF 2.1.0: open findings with their triage, risk-accepted and dismissed findings as
    suppressions with their justification, and approved patches as `fixes`."""
    from agent.export.sarif_out import build_sarif
    from agent.triage.report import row_dict
    from agent.triage.service import triage_store

    session = open_session(repo, db)
    result = triage_store(session.store, session.settings.triage, session.ws.project_dir, session.ws.state_dir)
    ranks = {r.finding.id: {k: v for k, v in row_dict(i, r).items()
                            if k in ("rank", "score", "team", "decision", "lane", "due", "reason")}
             for i, r in enumerate(result.rows, 1)}
    log = build_sarif(session.store, ranks=ranks, repo_prefix=session.ws.project.subdir)
    text = json.dumps(log, indent=2)
    if out is None:
        sys.stdout.write(text + "\n")
    else:
        out.write_text(text + "\n", encoding="utf-8")
        count = sum(len(r["results"]) for r in log["runs"])
        render.line(f"wrote {out}: {count} results in {len(log['runs'])} run(s)", render.err)
