"""`suture campaign create|run|status|list|close`: batch fix campaigns across repos sharing one store."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import typer

from agent.cli import options, render
from agent.cli.options import FormatOpt, ListFmt
from agent.cli.progress import task_bar

campaign = typer.Typer(
    help="Batch fix campaigns: select findings across repos (rule, CWE, severity, lane, team, tier, builtin "
         "fix), work through them in rank order with parallel workers, follow progress against a due date.\n\n"
         "Campaigns live in a store the repos share: the global --store URL or $SUTURE_STORE (a campaign over "
         "one repo may use its .suture/suture.db). Example: suture --store team.db campaign create sqli "
         "--repo ../api --repo ../billing --cwe 89 --due 2026-12-31 --max-proposals 20",
    no_args_is_help=True, rich_markup_mode=None,
)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The campaign's name.")]


def register(app: typer.Typer) -> None:
    app.add_typer(campaign, name="campaign")
    app.command("worker")(worker)


def _store() -> str | None:
    return options._store["url"]


@campaign.command()
def create(
    name: NameArg,
    repo: Annotated[list[Path] | None, typer.Option("--repo", "-C", help="A repo checkout to include (repeat); "
                                                    "default: every repo the store knows a checkout of.")] = None,
    rule: Annotated[list[str] | None, typer.Option("--rule", help="Rule id, or a pattern like 'B6*' (repeat).")
                    ] = None,
    cwe: Annotated[list[str] | None, typer.Option("--cwe", help="CWE number, e.g. 89 or CWE-89 (repeat).")] = None,
    severity: Annotated[list[str] | None, typer.Option("--severity", help="critical, high, medium, low or info "
                                                       "(repeat).")] = None,
    lane: Annotated[list[str] | None, typer.Option("--lane", help="Triage lane: now, batch or defer (repeat).")
                    ] = None,
    team: Annotated[list[str] | None, typer.Option("--team", help="Owning team from triage (repeat).")] = None,
    tier: Annotated[list[int] | None, typer.Option("--tier", help="Asset tier 1 (most critical) to 4 (repeat).")
                    ] = None,
    has_builtin_fix: Annotated[bool, typer.Option("--has-builtin-fix", help="Only findings a builtin fixer "
                                                  "rewrites (triage's quick wins).")] = False,
    due: Annotated[str | None, typer.Option("--due", help="Due date, YYYY-MM-DD (end of that day, UTC).")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Who runs the campaign.")] = None,
    max_proposals: Annotated[int | None, typer.Option("--max-proposals", min=1, help="Stop after this many "
                                                      "findings have a proposal.")] = None,
    budget_usd: Annotated[float | None, typer.Option("--budget-usd", min=0, help="Stop claiming findings once "
                                                     "the model spend of the campaign reaches this.")] = None,
    fmt: FormatOpt = ListFmt.table,
) -> None:
    """Create a campaign: the open findings of its repos matching every selector, in triage rank order (one
    snapshot; findings reported later are not added)."""
    from agent.app import campaign as use
    from agent.campaign.select import Selectors, parse_cwe

    selectors = Selectors(rules=rule or [], cwes=[parse_cwe(c) for c in cwe or []], severities=severity or [],
                          lanes=lane or [], teams=team or [], tiers=tier or [], has_builtin_fix=has_builtin_fix)
    view = use.create(name, list(repo or []), selectors, _store(), due, owner, max_proposals, budget_usd,
                      progress=None if fmt == ListFmt.json else lambda text: render.line(text, render.err))
    if fmt == ListFmt.json:
        render.emit_json(view.to_json())
        return
    render.line(f"campaign {view.name}: {sum(view.items.values())} finding(s) selected in {len(view.repos)} "
                f"repo(s) ({view.selection}). Next: `suture campaign run {view.name}`.")


@campaign.command()
def run(
    name: NameArg,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Findings worked on in parallel.")] = 1,
    lease_minutes: Annotated[float, typer.Option("--lease-minutes", min=0.1, help="A claim older than this "
                                                 "(a worker on another machine died) is taken over.")] = 10.0,
    model: options.ModelOpt = None, api_base: options.ApiBaseOpt = None, no_cache: options.NoCacheOpt = False,
    queue: Annotated[bool, typer.Option("--queue", help="Only queue the campaign's findings for `suture worker` "
                                        "processes (PostgreSQL store), instead of working here.")] = False,
    fmt: FormatOpt = ListFmt.table,
) -> None:
    """Work through the campaign in rank order across its repos: each finding drafted, validated and queued for
    review (as `suture fix`). Safe to interrupt or kill and run again: nothing is lost, and a finding worked on
    again ends with the same proposal (builtin engine, or a model with the response cache on)."""
    from datetime import timedelta

    from agent.app import campaign as use

    if queue:
        queued = use.enqueue(name, _store())
        if fmt == ListFmt.json:
            render.emit_json({"campaign": name, "queued": queued})
        else:
            render.line(f"campaign {name}: {queued} finding(s) queued; start `suture worker` on each machine.")
        return

    overrides: dict[str, Any] = {"model": model, "api_base": api_base, "cache": False if no_cache else None}
    with ExitStack() as stack:
        bar: list[Any] = []
        shown = [0]

        def progress(done: int, total: int, status: str) -> None:
            if not bar:
                bar.append(stack.enter_context(task_bar("campaign", total, quiet=fmt == ListFmt.json)))
            bar[0].status(status)
            if done > shown[0]:
                bar[0].advance(done - shown[0])
                shown[0] = done

        view = use.run(name, _store(), workers, timedelta(minutes=lease_minutes),
                       {k: v for k, v in overrides.items() if v is not None}, progress)
    if fmt == ListFmt.json:
        render.emit_json(view.to_json())
        return
    why = {"empty": "nothing left to claim", "max_proposals": "--max-proposals reached",
           "budget": "--budget-usd reached", "closed": "the campaign was closed"}
    finished = ", ".join(f"{n} {k}" for k, n in sorted(view.finished.items())) or "nothing"
    render.line(f"campaign {name}: {finished}; stopped: {why.get(view.stop_reason or '', view.stop_reason)}")
    if view.cleaned_worktrees or view.released_claims:
        render.line(f"resumed: {view.released_claims} claim(s) of a killed run released, "
                    f"{len(view.cleaned_worktrees)} leftover worktree(s) removed", render.err)
    for error in view.errors[:20]:
        render.warn(error)
    render.line(f"Next: `suture campaign status {name}`, `suture review list`.", render.err)


@campaign.command()
def status(name: NameArg, fmt: FormatOpt = ListFmt.table) -> None:
    """Per repo and per team: selected, drafted, validated, unproven, approved, exported, merged, fixed; and
    the burn-down against the due date."""
    from rich.table import Table

    from agent.app import campaign as use

    view = use.status(name, _store())
    if fmt == ListFmt.json:
        render.emit_json(view.to_json())
        return
    for title, groups in (("repo", view.by_repo), ("team", view.by_team)):
        table = Table(title=f"campaign {render.escape(name)} by {title}")
        table.add_column(title)
        for step in view.steps:
            table.add_column(step, justify="right")
        for key, counts in groups.items():
            table.add_row(render.escape(key), *(str(counts[s]) for s in view.steps))
        table.add_row("all", *(str(view.total[s]) for s in view.steps), style="bold")
        render.out.print(table)
    b = view.burn_down
    due = f"; due {b['due'][:10]}: {b['days_left']} day(s) left, {b['per_day_needed']} per day needed" \
        if b["due"] else "; no due date"
    render.line(f"remaining {b['remaining']} of {b['total']}{due}" + (" (OVERDUE)" if b["overdue"] else ""))


@campaign.command("list")
def list_(fmt: FormatOpt = ListFmt.table) -> None:
    """Every campaign in the store, newest first."""
    from rich.table import Table

    from agent.app import campaign as use

    views = use.list_campaigns(_store())
    if fmt == ListFmt.json:
        render.emit_json([v.to_json() for v in views])
        return
    if not views:
        render.line("No campaigns. Create one with `suture campaign create NAME --repo PATH …`.")
        return
    table = Table(title="campaigns")
    for column in ("name", "state", "owner", "due", "repos", "selection", "items"):
        table.add_column(column)
    for v in views:
        table.add_row(render.escape(v.name), v.state, render.escape(v.owner or ""),
                      v.due.date().isoformat() if v.due else "", str(len(v.repos)), render.escape(v.selection),
                      ", ".join(f"{n} {s}" for s, n in sorted(v.items.items())))
    render.out.print(table)


@campaign.command()
def close(name: NameArg, fmt: FormatOpt = ListFmt.table) -> None:
    """Close a campaign: no more findings are claimed; its status stays readable."""
    from agent.app import campaign as use

    view = use.close(name, _store())
    if fmt == ListFmt.json:
        render.emit_json(view.to_json())
        return
    render.line(f"campaign {view.name} closed.")


def worker(
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, help="Queued findings worked on at "
                                             "once in this process.")] = 1,
    burst: Annotated[bool, typer.Option("--burst", help="Exit once the queue is empty (default: wait for more).")
                     ] = False,
    lease_minutes: Annotated[float, typer.Option("--lease-minutes", min=0.1, help="A claim older than this is "
                                                 "taken over.")] = 10.0,
    model: options.ModelOpt = None, api_base: options.ApiBaseOpt = None, no_cache: options.NoCacheOpt = False,
) -> None:
    """Run queued campaign findings (`suture campaign run NAME --queue`) from a PostgreSQL store, through
    procrastinate; start one on each machine that has the campaign's repos checked out at the same paths. A
    killed worker's finding is queued again when the next worker starts."""
    from datetime import timedelta

    from agent.app import campaign as use

    overrides: dict[str, Any] = {"model": model, "api_base": api_base, "cache": False if no_cache else None}
    use.worker(_store(), concurrency, burst, timedelta(minutes=lease_minutes),
               {k: v for k, v in overrides.items() if v is not None})
