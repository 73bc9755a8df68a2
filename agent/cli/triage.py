"""`suture triage`, `suture accept`, `suture feeds import` and `suture sarif`: the decision layer's commands."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from agent.cli import render
from agent.cli.options import DbOpt, FormatOpt, ListFmt, RepoOpt, ReviewerOpt, open_session, store_option
from agent.cli.progress import DelayedProgress

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
    suture.toml; import EPSS/KEV with `suture feeds import`. Expired risk acceptances re-open first. Run outside
    any repository with a shared store (--store, $SUTURE_STORE), it ranks every registered repo, one by one."""
    from agent.app import triage as triaging
    from agent.triage import report

    triaging.check_lane(lane)  # before the store is opened
    if repo == Path(".") and db is None and _triage_store_wide(fmt, team, lane, top):
        return
    session = open_session(repo, db)
    bars = [DelayedProgress("ranking: reading source files"), DelayedProgress("ranking: scoring findings")
            ] if fmt != TriageFmt.json else [None, None]
    try:
        result = triaging.triage(session, team, lane, top, progress=bars[0], score_progress=bars[1])
    finally:
        for bar in bars:
            if bar is not None:
                bar.close()
    shown = result.rows
    for fid in result.reopened:
        render.line(f"risk acceptance expired: finding {fid[:10]} is open again", render.err)
    for note in result.notes:
        render.warn(note, "note")
    for o in result.overflow:
        render.warn(f"team {o.team} fixes {o.capacity}/week; {len(o.moved)} now-lane finding(s) moved to batch "
                    "with later due dates: " + ", ".join(m[:10] for m in o.moved), "capacity")
    if fmt == TriageFmt.json:  # a list of rows, one per group (overflow and notes go to stderr)
        render.emit_json(result.to_json())
    elif fmt == TriageFmt.csv:
        sys.stdout.write(report.triage_csv(shown))
    elif fmt == TriageFmt.markdown:
        sys.stdout.write(report.triage_markdown(shown, by == By.team) + "\n")
    elif not result.total:
        render.out.print("No open findings. Run `suture scan` or `suture ingest FILE.sarif` first.")
    elif by == By.team:
        for name in sorted({r.team for r in shown}):
            part = [r for r in shown if r.team == name]
            table = report.triage_table(part, len(part))
            table.title = f"{name}: {len(part)} finding group(s)"
            render.out.print(table)
    else:
        render.out.print(report.triage_table(shown, result.total))


def _triage_store_wide(fmt: TriageFmt, team: str | None, lane: str | None, top: int | None) -> bool:
    """Outside any repository with a shared store (--store, $SUTURE_STORE): every registered repo's ranking, one
    table per repo (JSON: every row with its `repo`). False when triage runs in a project, as always."""
    from agent.app import repos
    from agent.app import triage as triaging
    from agent.errors import SutureError
    from agent.triage import report

    wide = repos.store_wide(store_option())
    if wide is None:
        return False
    if fmt in (TriageFmt.csv, TriageFmt.markdown):
        raise SutureError("--format csv and markdown rank one repository: pass --repo (or use table or json)")
    for key in wide[1]:
        render.warn(f"{key}: no checkout of it on this machine; skipped (run `suture repo add PATH`)")
    parts = []
    for key, path in wide[0]:
        result = triaging.triage(open_session(path, None), None, lane, None)
        rows = [r for r in result.rows if team is None or r.team == team]
        parts.append((key, rows[:top] if top else rows))
    if fmt == TriageFmt.json:
        render.emit_json([{"repo": key, **report.row_dict(i, r)} for key, rows in parts
                          for i, r in enumerate(rows, 1)])
        return True
    for key, rows in parts:
        table = report.triage_table(rows, len(rows))
        table.title = f"{render.escape(key)}: {len(rows)} finding group(s)"
        render.out.print(table)
    return True


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
    from agent.app import triage as triaging

    triaging.parse_date(until)  # a date it cannot read is refused before the store is opened
    accepted = triaging.accept_risk(open_session(repo, db), finding_id, until, reason, reviewer)
    if fmt == ListFmt.json:
        render.emit_json(accepted.to_json())
    else:
        f = accepted.finding
        render.line(f"accepted {f.short_id} ({f.rule_id} {f.location.path}:{f.location.start_line}) until "
                    f"{accepted.until[:10]} as {accepted.by}")


@feeds_cli.command("import")
def feeds_import(
    files: Annotated[list[Path], typer.Argument(help="epss_scores-YYYY-MM-DD.csv(.gz) and/or "
                                                "known_exploited_vulnerabilities.json")],
    repo: RepoOpt = Path("."), db: DbOpt = None, fmt: FormatOpt = ListFmt.table,
) -> None:
    """Import FIRST EPSS scores and the CISA KEV catalog into .suture/feeds/ (each file checked whole first; a
    file of the wrong shape changes nothing)."""
    from agent.app import triage as triaging

    results = triaging.import_feeds(open_session(repo, db), files)
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
    from agent.app import triage as triaging

    log = triaging.sarif_log(open_session(repo, db))
    text = json.dumps(log, indent=2)
    if out is None:
        sys.stdout.write(text + "\n")
    else:
        out.write_text(text + "\n", encoding="utf-8")
        count = sum(len(r["results"]) for r in log["runs"])
        render.line(f"wrote {out}: {count} results in {len(log['runs'])} run(s)", render.err)
