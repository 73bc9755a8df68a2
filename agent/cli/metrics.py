"""`suture metrics`: remediation metrics over the store's history (see agent.metrics.compute for the definitions)."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agent.cli import options, render

if TYPE_CHECKING:
    from agent.app.metrics import MetricsView


class MetricsFmt(str, Enum):
    table = "table"
    json = "json"
    html = "html"


def register(app: typer.Typer) -> None:
    app.command("metrics")(metrics)


def metrics(
    since: Annotated[str | None, typer.Option("--since", metavar="DATE", help="From this day (YYYY-MM-DD, UTC) or "
                                              "ISO 8601 time. Default: all history.")] = None,
    until: Annotated[str | None, typer.Option("--until", metavar="DATE", help="Up to this day, included (or an ISO "
                                              "8601 time, excluded). Default: now.")] = None,
    repo: Annotated[str | None, typer.Option("--repo", "-r", metavar="REPO", help="Only this repo: its key (see "
                                             "`suture repo list`), its --name, or a checkout path. Default: every "
                                             "repo in the store.")] = None,
    by: Annotated[list[str] | None, typer.Option("--by", metavar="KEY", help="Break down by severity, tier, team, lane, repo "
                                                 "(findings; default severity and tier) and engine, model, "
                                                 "prompt_hash (proposals). Repeat.")] = None,
    fmt: Annotated[MetricsFmt, typer.Option("--format", "-f", help="table for people, json for machines, html for "
                                            "a self-contained page with charts.")] = MetricsFmt.table,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the report here instead of stdout.")] = None,
    at: Annotated[Path, typer.Option("--in", "-C", help="Find the store from this folder's project when neither "
                                     "--store nor $SUTURE_STORE is set.")] = Path("."),
) -> None:
    """MTTR (first seen → fixed) with median and p90 by severity × asset tier, new vs fixed per week with the
    backlog, SLA compliance, time to first proposal and first review, proposal acceptance and merge rates by
    engine, model and prompt, and how many fixes suture's exported patches made vs manual ones.

    Exported suture/<id> branches that reached the default branch are recorded as merged first. A finding is
    fixed at the first later successful full scan that no longer reports it: backfill history with
    `suture ingest FILE --at TIME`."""
    from agent.app.metrics import metrics_of_store

    view = metrics_of_store(options.store_option(), at, repo, since, until, by)
    for note in view.notes:
        render.warn(note, "note")
    if fmt == MetricsFmt.json:
        text = json.dumps(view.to_json(), indent=2) + "\n"
    elif fmt == MetricsFmt.html:
        from agent.metrics.html import render_html

        text = render_html(view.report, view.notes)
    else:
        if out is None:
            show_tables(view)
            return
        text = ""
    if out is not None:
        if fmt == MetricsFmt.table:
            from rich.console import Console

            with out.open("w", encoding="utf-8") as handle:
                show_tables(view, Console(file=handle, width=render.OFF_TTY_WIDTH, highlight=False))
        else:
            out.write_text(text, encoding="utf-8")
        render.line(f"wrote {out}", render.err)
    else:
        sys.stdout.write(text)


def _days(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def show_tables(view: MetricsView, console=None) -> None:
    from rich.table import Table

    console = console or render.out
    r = view.report
    since = r.since.strftime("%Y-%m-%d %H:%M UTC") if r.since else "all history"
    console.print(f"Window: {since} → {r.until.strftime('%Y-%m-%d %H:%M UTC')} · "
                  f"{r.findings} findings in {len(view.repos)} repo(s) · fixed by suture {r.fixed_by['suture']}, "
                  f"manually {r.fixed_by['manual']}" + (f" · newly merged: {len(view.merged_now)}"
                                                        if view.merged_now else ""))
    if not r.findings and not r.proposals:
        console.print("No findings in this window. Run `suture scan`, or backfill CI history with "
                      "`suture ingest FILE.sarif --at TIME`.", markup=False)
        return
    mttr = Table(title="Time to remediate (days)")
    for key in r.by:
        mttr.add_column(key)
    for column in ("fixed", "open", "mean", "median", "p90"):
        mttr.add_column(column, justify="right")
    for m in r.mttr:
        mttr.add_row(*(render.escape(m.group[k]) for k in r.by), str(m.fixed), str(m.open),
                     _days(m.days.mean), _days(m.days.median), _days(m.days.p90))
    console.print(mttr)
    weeks = Table(title="Per week (ISO week starting Monday)")
    for column in ("week", "new", "fixed", "backlog"):
        weeks.add_column(column, justify="right")
    for w in r.velocity:
        weeks.add_row(w.week, str(w.new), str(w.fixed), str(w.backlog))
    console.print(weeks)
    sla = Table(title="SLA compliance")
    for key in r.by:
        sla.add_column(key)
    for column in ("met", "missed", "open", "compliance"):
        sla.add_column(column, justify="right")
    for s in r.sla:
        sla.add_row(*(render.escape(s.group[k]) for k in r.by), str(s.met), str(s.missed), str(s.open),
                    _rate(s.compliance))
    console.print(sla)
    p, v = r.time_to_first_proposal, r.time_to_first_review
    console.print(f"Time to first proposal: median {_days(p.median)} d, p90 {_days(p.p90)} d ({p.count} findings) · "
                  f"to first review: median {_days(v.median)} d, p90 {_days(v.p90)} d ({v.count} findings)")
    if not r.proposals:
        console.print("No suture proposals in this window.")
        return
    keys = list(r.proposals[0].group)
    props = Table(title="Proposals")
    for key in keys:
        props.add_column(key)
    for column in ("proposals", "approved", "rejected", "acceptance", "exported", "merged", "merge rate"):
        props.add_column(column, justify="right")
    for row in r.proposals:
        props.add_row(*(render.escape(row.group[k][:16]) for k in keys), str(row.proposals), str(row.approved),
                      str(row.rejected), _rate(row.acceptance_rate), str(row.exported), str(row.merged),
                      _rate(row.merge_rate))
    console.print(props)
