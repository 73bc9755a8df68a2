"""`suture scan` and `suture ingest`: findings into the store, from the scanners or from SARIF files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agent.cli import render
from agent.cli.options import DbOpt, FormatOpt, ListFmt, RepoOpt, open_session, repo_or_positional
from agent.errors import SutureError

if TYPE_CHECKING:
    from agent.app import IngestReport

RepoArg = Annotated[Path | None, typer.Argument(metavar="REPO", help="Repository or project folder (same as --repo).",
                                                show_default=False)]
RepoOrArgOpt = Annotated[Path | None, typer.Option("--repo", "-C", help="The repository (or a project folder "
                                                   "inside one); default: the current folder.", show_default=False)]


AtOpt = Annotated[str | None, typer.Option("--at", metavar="TIME", help="When the scan was taken (ISO 8601: "
                                           "2026-01-05T14:30:00Z, or a date; no zone means UTC): to backfill "
                                           "history from CI artifacts, oldest first. Default: now.",
                                           show_default=False)]


def register(app: typer.Typer) -> None:
    app.command()(scan)
    app.command()(ingest)


def ingest_lines(reports: list[IngestReport], fmt: ListFmt) -> None:
    """Ingest reports: JSON (one object per run), or one plain line each, also when not a terminal."""
    if fmt == ListFmt.json:
        render.emit_json([r.to_json() for r in reports])
        return
    for r in reports:
        for mapping in r.path_mappings:
            render.line(f"{r.source}: paths mapped: {mapping}")
        if r.tool == "no runs":
            render.line(f"{r.source}: no runs: nothing ingested")
            render.line(f"  closed nothing: {r.closed_nothing}")
            continue
        if r.duplicate and not (r.new or r.reopened):
            render.line(f"{r.source}: {r.tool}: already ingested; nothing changed")
            continue
        render.line(f"{r.source}: {r.tool}: {r.new} new, {r.updated} seen again, {r.reopened} re-opened, "
                    f"{r.fixed} marked fixed, {len(r.skipped)} skipped"
                    + (f", {r.suppressed} new suppressed by the log (recorded as such)" if r.suppressed else ""))
        if r.closed_nothing:
            render.line(f"  closed nothing: {r.closed_nothing}")
        for s in r.skipped[:20]:
            render.line(f"  skipped result {s.result_index} ({s.rule_id or 'no rule'}): {s.reason}")
        if len(r.skipped) > 20:
            render.line(f"  … and {len(r.skipped) - 20} more skipped (use --format json for all)")
        for w in r.warnings[:5]:
            render.line(f"  warning: {w}", render.err)


def scan_and_report(session, tools: list[str] | None, taken_at=None) -> list[IngestReport]:
    """Run the scanners (a spinner while they run), print their notes on stderr, return the ingest reports."""
    from agent import app

    reports, notes = app.scan_project(session, tools, taken_at, scanning=lambda: render.err.status("scanning…"))
    for n in notes:
        render.line(n, render.err)
    return reports


def scan(
    repo_arg: RepoArg = None, repo: RepoOrArgOpt = None,
    tool: Annotated[list[str] | None, typer.Option("--tool", "-t", help="Scanner to run (repeat); "
                                                      "default: bandit and semgrep when installed.")] = None,
    db: DbOpt = None, fmt: FormatOpt = ListFmt.table, at: AtOpt = None,
) -> None:
    """Run bandit (and semgrep with suture's own rules, when installed) on HEAD and ingest the results.

    Scans a checkout of the last commit (HEAD), the tree `fix` changes: uncommitted edits are not scanned.
    A scan closes (marks fixed) what it no longer reports only if it succeeded and every result was placed."""
    from agent.app.ingest import parse_taken_at

    taken_at = parse_taken_at(at) if at is not None else None  # a bad time is refused before anything runs
    session = open_session(repo_or_positional(repo_arg, repo), db)
    ingest_lines(scan_and_report(session, tool, taken_at), fmt)


def ingest(
    files: Annotated[list[Path], typer.Argument(help="SARIF 2.1.0 files from any scanner.")],
    repo: RepoOpt = Path("."), db: DbOpt = None, fmt: FormatOpt = ListFmt.table,
    partial: Annotated[bool, typer.Option("--partial", help="The scan covered only part of the code: do not "
                                          "mark findings it lacks as fixed.")] = False,
    path_prefix: Annotated[list[str] | None, typer.Option("--path-prefix", help="A folder the scan ran in "
                           "elsewhere (e.g. /home/runner/work/app/app): paths below it are project paths. Repeat.")
                           ] = None,
    path_map: Annotated[list[str] | None, typer.Option("--map", help="FROM=TO: paths (or URLs) starting with "
                        "FROM are TO (a project folder, empty for the root) + the rest. Repeat.")] = None,
    at: AtOpt = None,
) -> None:
    """Ingest SARIF files; paths and lines are read from HEAD (the tree `fix` changes).

    A newer full scan marks findings it no longer reports fixed, only if it succeeded and every result could be
    placed in the repository, and only once per log; failed runs, runs with skipped results and two runs of one
    tool close nothing and say why. A log that reports a fixed finding re-opens it.

    Paths the scan recorded on another machine (CI build folders, https://…/blob/<sha>/ roots) are mapped to the
    repository: by --path-prefix / --map, else automatically when exactly one project file matches a path's end;
    every mapping used is printed. --at records the scan as taken at that time (backfill CI history oldest
    first: a finding is first seen at the earliest scan reporting it, fixed at the first later full scan without it).

    When a scan flags many files (128 or more not parsed before), worker processes parse them while the findings
    are stored, so the first `suture triage` reads their source facts from the store."""
    from agent import app
    from agent.app.ingest import parse_taken_at

    taken_at = parse_taken_at(at) if at is not None else None
    session = open_session(repo, db)
    for f in files:
        if not f.is_file():
            raise SutureError(f"{f}: no such file")
    mapping = app.path_map_for(session, path_map, path_prefix)
    ingest_lines(app.ingest_files(session, files, full=not partial, path_map=mapping, taken_at=taken_at), fmt)
