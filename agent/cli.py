"""The `suture` command: parse, call a use case in agent.app, render. No logic lives here."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from agent import render
from agent.errors import SutureError

cli = typer.Typer(
    help="suture: rank scanner findings, draft and prove fixes, and queue them for human review.\n\n"
         "Typical flow: `suture scan` → `suture triage` → `suture fix` → `suture review` → `suture export`, "
         "or `suture run` for scan + triage + fix in one go. State lives in .suture/ inside the repository.",
    no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
review_cli = typer.Typer(help="Look at proposals and approve or reject them (a named reviewer is recorded).",
                         no_args_is_help=True)
cli.add_typer(review_cli, name="review")


class Fmt(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


class ListFmt(str, Enum):
    table = "table"
    json = "json"


class ExportTo(str, Enum):
    branch = "branch"
    patch = "patch"


RepoOpt = Annotated[Path, typer.Option("--repo", "-C", help="The repository (or a project folder inside one).")]
DbOpt = Annotated[Path | None, typer.Option("--db", help="Store file; default .suture/suture.db in the repo.")]
FormatOpt = Annotated[ListFmt, typer.Option("--format", "-f", help="table for people, json for machines.")]


class _LazyUseCases:
    """agent.app pulls in git, SQLAlchemy and the pipeline; load it on first use so `--help` stays instant."""

    def __getattr__(self, name: str):
        import agent.app

        return getattr(agent.app, name)


usecases = _LazyUseCases()


_store: dict[str, str | None] = {"url": None}  # the global --store of this invocation


@cli.callback()
def _global_options(
    store: Annotated[str | None, typer.Option(
        "--store", metavar="URL", help="The store: a SQLite path or sqlite:///PATH, or postgresql://USER@HOST/DB "
        "to share one among projects and people. Default: $SUTURE_STORE, else .suture/suture.db in the repo.",
    )] = None,
) -> None:
    _store["url"] = store


def _open(repo: Path, db: Path | None, _create: bool = True, **overrides) -> usecases.Session:
    session = usecases.open_session(repo, db, overrides, create=_create, store=_store["url"])
    for w in session.warnings:
        render.err.print(f"[yellow]warning:[/] {render.escape(w)}", soft_wrap=True)
    return session


def _where(repo: Path, db: Path | None) -> str:
    """The --repo/--db options to repeat in a hint, so running it acts on the same store."""
    import shlex

    args = "" if repo == Path(".") else f" --repo {shlex.quote(str(repo))}"
    return args + ("" if db is None else f" --db {shlex.quote(str(db))}")


def _ingest_lines(reports: list[usecases.IngestReport], fmt: ListFmt) -> None:
    if fmt == ListFmt.json:
        render.emit_json([{**r.__dict__, "skipped": [s.model_dump() for s in r.skipped]} for r in reports])
        return
    def line(text: str, console=render.out) -> None:  # one line each, also when not a terminal
        console.print(render.safe(text), markup=False, soft_wrap=True, highlight=False)

    for r in reports:
        for mapping in r.path_mappings:
            line(f"{r.source}: paths mapped: {mapping}")
        if r.tool == "no runs":
            line(f"{r.source}: no runs: nothing ingested")
            line(f"  closed nothing: {r.closed_nothing}")
            continue
        if r.duplicate and not (r.new or r.reopened):
            line(f"{r.source}: {r.tool}: already ingested; nothing changed")
            continue
        line(f"{r.source}: {r.tool}: {r.new} new, {r.updated} seen again, {r.reopened} re-opened, "
             f"{r.fixed} marked fixed, {len(r.skipped)} skipped"
             + (f", {r.suppressed} new suppressed by the log (recorded as such)" if r.suppressed else ""))
        if r.closed_nothing:
            line(f"  closed nothing: {r.closed_nothing}")
        for s in r.skipped[:20]:
            line(f"  skipped result {s.result_index} ({s.rule_id or 'no rule'}): {s.reason}")
        if len(r.skipped) > 20:
            line(f"  … and {len(r.skipped) - 20} more skipped (use --format json for all)")
        for w in r.warnings[:5]:
            line(f"  warning: {w}", render.err)


@cli.command()
def scan(
    repo: Annotated[Path, typer.Argument(help="Repository or project folder to scan.")] = Path("."),
    tool: Annotated[list[str] | None, typer.Option("--tool", "-t", help="Scanner to run (repeat); "
                                                      "default: bandit and semgrep when installed.")] = None,
    db: DbOpt = None, fmt: FormatOpt = ListFmt.table,
) -> None:
    """Run bandit (and semgrep with suture's own rules, when installed) on HEAD and ingest the results.

    Scans a checkout of the last commit (HEAD), the tree `fix` changes: uncommitted edits are not scanned.
    A scan closes (marks fixed) what it no longer reports only if it succeeded and every result was placed."""
    session = _open(repo, db)
    with render.err.status("scanning…"):
        reports, notes = usecases.scan_project(session, tool)
    for n in notes:
        render.err.print(n)
    _ingest_lines(reports, fmt)


@cli.command()
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
) -> None:
    """Ingest SARIF files; paths and lines are read from HEAD (the tree `fix` changes).

    A newer full scan marks findings it no longer reports fixed, only if it succeeded and every result could be
    placed in the repository, and only once per log; failed runs, runs with skipped results and two runs of one
    tool close nothing and say why. A log that reports a fixed finding re-opens it.

    Paths the scan recorded on another machine (CI build folders, https://…/blob/<sha>/ roots) are mapped to the
    repository: by --path-prefix / --map, else automatically when exactly one project file matches a path's end;
    every mapping used is printed."""
    session = _open(repo, db)
    for f in files:
        if not f.is_file():
            raise SutureError(f"{f}: no such file")
    mapping = usecases.path_map_for(session, path_map, path_prefix)
    _ingest_lines(usecases.ingest_files(session, files, full=not partial, path_map=mapping), fmt)


def _run_fix(session: usecases.Session, top: int | None, finding: str | None, redo: bool, fmt: ListFmt,
             retry_failed: bool = False):
    from agent.outcomes import SKIPPED

    findings, duplicates = usecases.select_findings(session, top, finding)
    if duplicates and fmt != ListFmt.json:
        render.err.print(f"{len(duplicates)} finding(s) not drafted separately: grouped with a selected one "
                         "(same spot from another tool, or an import of the module it uses): "
                         + ", ".join(f"{d.short_id} {d.rule_id}" for d in duplicates))
    if not findings:
        render.err.print("No open findings to fix. Run `suture scan` first.")
        return []
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=render.err, transient=True, disable=fmt == ListFmt.json) as progress:
        task = progress.add_task("fixing", total=len(findings))
        skipped: list[tuple[object, str]] = []

        def step(f, status: str) -> None:
            progress.update(task, description=f"{f.short_id} {f.rule_id} {f.location.path}: {status}")
            if status.startswith(SKIPPED + ":"):
                skipped.append((f, status.removeprefix(SKIPPED + ":").strip()))
            if status != "working":
                progress.advance(task)

        proposals = usecases.fix(session, findings, step, redo=redo, retry_failed=retry_failed)
    if skipped and fmt != ListFmt.json:
        _skipped_lines(skipped)
    return proposals


def _skipped_lines(skipped: list) -> None:
    """What a fix run skipped and why, on stderr: one summary line, then one line per finding (at most 20)."""
    render.err.print(f"skipped {len(skipped)}: final outcome at this commit; --retry-failed to try again",
                     markup=False, soft_wrap=True, highlight=False)
    for f, why in skipped[:20]:
        render.err.print(render.safe(f"  {f.short_id} {f.rule_id} {f.location.path}:{f.location.start_line}: {why}"),
                         markup=False, soft_wrap=True, highlight=False)
    if len(skipped) > 20:
        render.err.print(f"  … and {len(skipped) - 20} more", markup=False)


def _fix_and_summarise(session, top, finding, redo: bool, fmt: ListFmt, where: str = "",
                       retry_failed: bool = False) -> None:
    """Fix and show the queue. If the model stops the run (endpoint down, budget reached), what was finished
    is still shown before the one-line error."""
    from agent.llm.errors import ModelUnavailableError
    from agent.models import utcnow

    started = utcnow()
    try:
        proposals = _run_fix(session, top, finding, redo, fmt, retry_failed)
    except ModelUnavailableError:
        done = [p for p in session.store.list_proposals() if p.created_at >= started]
        if done and fmt != ListFmt.json:
            _queue_summary(session, done, fmt, where)
        raise
    _queue_summary(session, proposals, fmt, where)


def _queue_summary(session: usecases.Session, proposals, fmt: ListFmt, where: str = "") -> None:
    rows = [(p, _finding_or_none(session, p.finding_id)) for p in proposals]
    if fmt == ListFmt.json:
        render.emit_json([render.proposal_row(p, f) for p, f in rows])
        return
    render.out.print(render.proposals_table(rows, "Review queue for this run"))
    counts: dict[str, int] = {}
    for p, _ in rows:
        key = "dismissal" if p.kind == "dismissal" else "without a draft" if p.without_draft else p.state
        counts[key] = counts.get(key, 0) + 1
    render.out.print(", ".join(f"{v} {k}" for k, v in sorted(counts.items())) +
                     f". Next: `suture review show ID{where}`, then `suture review approve ID{where}`.",
                     markup=False, soft_wrap=True)


def _finding_or_none(session, fid):
    try:
        return session.store.get_finding(fid)
    except SutureError:
        return None


ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="litellm model string, e.g. "
                                                 "openai/gpt-4.1 or ollama/qwen2.5-coder; default: builtin engine.")]
ApiBaseOpt = Annotated[str | None, typer.Option("--api-base", envvar="SUTURE_API_BASE",
                                                   help="OpenAI-compatible endpoint URL for --model.")]
KOpt = Annotated[int | None, typer.Option("-k", min=1, max=10, help="Candidate drafts per finding (model "
                                             "engine); the best validated one is kept.")]
BudgetOpt = Annotated[float | None, typer.Option("--budget-usd", min=0, help="Stop cleanly before the next "
                                                    "model call would cross this spend.")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Ask the model again even if the store has a "
                                          "cached answer.")]
WorkersOpt = Annotated[int | None, typer.Option("--workers", min=1, help="Proposals validated in parallel "
                                                   "(default: CPU count).")]
TopOpt = Annotated[int | None, typer.Option("--top", "-n", min=1, help="Fix the N top-ranked findings "
                                               "(default 10).")]


@cli.command()
def fix(
    repo: RepoOpt = Path("."), db: DbOpt = None, top: TopOpt = None,
    finding: Annotated[str | None, typer.Option("--finding", help="Fix this finding id (or prefix).")] = None,
    model: ModelOpt = None, api_base: ApiBaseOpt = None,
    redo: Annotated[bool, typer.Option("--redo", help="Draft again even if a proposal exists.")] = False,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Attempt again findings whose last outcome "
                                               "at this commit, engine, prompt and settings was final (no fixer "
                                               "for the rule, a failed or validated patch); skipped otherwise.")
                            ] = False,
    k: KOpt = None, budget_usd: BudgetOpt = None, no_cache: NoCacheOpt = False, workers: WorkersOpt = None,
    fmt: FormatOpt = ListFmt.table,
) -> None:
    """Draft, validate (tests + re-scan in a worktree) and queue a proposal for each selected finding.

    Skips findings whose last outcome at this commit, engine, prompt and result-changing settings was final
    (validated, dismissal proposed, no fixer for the rule, a failed patch the engine would repeat) and says so;
    --retry-failed attempts them again."""
    if top and finding:
        raise SutureError("give either --top or --finding, not both")
    session = _open(repo, db, model=model, api_base=api_base, k=k, budget_usd=budget_usd,
                    cache=False if no_cache else None, workers=workers)
    _fix_and_summarise(session, top, finding, redo, fmt, _where(repo, db), retry_failed)


@cli.command()
def run(
    repo: Annotated[Path, typer.Argument(help="Repository or project folder.")] = Path("."),
    db: DbOpt = None, top: TopOpt = None, model: ModelOpt = None, api_base: ApiBaseOpt = None,
    k: KOpt = None, budget_usd: BudgetOpt = None, no_cache: NoCacheOpt = False, workers: WorkersOpt = None,
    fmt: FormatOpt = ListFmt.table,
) -> None:
    """The main job: scan, triage, fix the top N findings, and show the review queue."""
    session = _open(repo, db, model=model, api_base=api_base, k=k, budget_usd=budget_usd,
                    cache=False if no_cache else None, workers=workers)
    with render.err.status("scanning…"):
        reports, notes = usecases.scan_project(session)
    for n in notes:
        render.err.print(n)
    if fmt != ListFmt.json:
        _ingest_lines(reports, fmt)
    _fix_and_summarise(session, top, None, False, fmt, _where(repo, db))


@review_cli.command("list")
def review_list(
    repo: RepoOpt = Path("."), db: DbOpt = None, fmt: FormatOpt = ListFmt.table,
    state: Annotated[list[str] | None, typer.Option("--state", help="Only these states (repeat).")] = None,
) -> None:
    """List proposals, newest last."""
    session = _open(repo, db, _create=False)
    proposals = session.store.list_proposals(states=state)
    rows = [(p, _finding_or_none(session, p.finding_id)) for p in proposals]
    if fmt == ListFmt.json:
        render.emit_json([render.proposal_row(p, f) for p, f in rows])
    elif not rows:
        render.out.print("No proposals yet. Run `suture fix` or `suture run`.")
    else:
        render.out.print(render.proposals_table(rows, f"Proposals ({len(rows)})"))


@review_cli.command("show")
def review_show(proposal_id: Annotated[str, typer.Argument(help="Proposal id or prefix.")],
                repo: RepoOpt = Path("."), db: DbOpt = None, fmt: FormatOpt = ListFmt.table) -> None:
    """The finding, rationale, coloured diff, validation summary and history of one proposal."""
    session = _open(repo, db, _create=False)
    p = session.store.get_proposal(proposal_id)
    f = session.store.get_finding(p.finding_id)
    history = session.store.transitions(p.id)
    if fmt == ListFmt.json:
        render.emit_json({"proposal": p.model_dump(mode="json"), "finding": f.model_dump(mode="json"),
                          "history": [t.model_dump(mode="json") for t in history]})
    else:
        render.show_proposal(p, f, history)


ReviewerOpt = Annotated[str | None, typer.Option("--reviewer", help="Who decides; default: git user.name "
                                                    "<user.email>.")]


@review_cli.command("approve")
def review_approve(
    proposal_id: str, repo: RepoOpt = Path("."), db: DbOpt = None, reviewer: ReviewerOpt = None,
    comment: Annotated[str | None, typer.Option("--comment", "-c")] = None,
    override: Annotated[bool, typer.Option("--override", help="Approve a patch whose validation failed; needs "
                                           "--reason (shown in the history, the commit, the PR text and SARIF).")
                        ] = False,
    reason: Annotated[str | None, typer.Option("--reason", "-r", help="Why (required with --override).")] = None,
) -> None:
    """Approve a validated or unproven patch (it can then be exported) or a dismissal (the finding becomes
    dismissed); a patch that failed validation needs --override --reason."""
    from agent.review import service

    if override and not (reason or "").strip():
        raise SutureError("--override needs --reason: say why a patch that failed validation should be approved")
    session = _open(repo, db, _create=False)
    who = usecases.reviewer_identity(session.ws.project.git_root, reviewer)
    p = service.approve(session.store, proposal_id, who, comment, override=override, reason=reason)
    next_step = (f"; export it with `suture export {p.short_id}{_where(repo, db)}`" if p.kind == "patch"
                 else "; finding dismissed")
    render.out.print(f"approved {p.short_id} as {render.safe(who)}" + (" (OVERRIDE)" if override else "")
                     + next_step, markup=False, soft_wrap=True)


@review_cli.command("reject")
def review_reject(
    proposal_id: str,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (kept in the log).")],
    repo: RepoOpt = Path("."), db: DbOpt = None, reviewer: ReviewerOpt = None,
    retract: Annotated[bool, typer.Option("--retract", help="Withdraw an approval that was not exported yet.")
                       ] = False,
) -> None:
    """Reject a proposal awaiting review, with the reason (or, with --retract, withdraw an approval)."""
    from agent.review import service

    session = _open(repo, db, _create=False)
    who = usecases.reviewer_identity(session.ws.project.git_root, reviewer)
    p = service.reject(session.store, proposal_id, who, reason, retract=retract)
    render.out.print(f"rejected {p.short_id} as {render.safe(who)}", markup=False)


@cli.command()
def export(
    proposal_id: Annotated[str | None, typer.Argument(help="Proposal id or prefix.")] = None,
    approved: Annotated[bool, typer.Option("--approved", help="Export every approved proposal.")] = False,
    to: Annotated[ExportTo, typer.Option("--to", help="branch: suture/<id> with one commit; patch: a "
                                         ".patch file.")] = ExportTo.branch,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for patch files (default "
                                                ".suture/exports).")] = None,
    repo: RepoOpt = Path("."), db: DbOpt = None, fmt: FormatOpt = ListFmt.table,
) -> None:
    """Export approved patches as a branch (your checkout is not touched) or a patch file."""
    from agent.export.service import export as export_proposals

    if bool(proposal_id) == approved:
        raise SutureError("give a proposal id or --approved (one of them)")
    session = _open(repo, db, _create=False)
    results = export_proposals(session, proposal_id, to.value, out)
    if fmt == ListFmt.json:
        render.emit_json([{"proposal_id": r.proposal_id, "branch": r.branch, "commit": r.commit,
                           "patch": str(r.patch_path) if r.patch_path else None} for r in results])
        return
    if not results:
        render.out.print("No approved proposals to export.")
    for r in results:
        where = f"branch {r.branch}" if r.branch else f"patch {r.patch_path}"
        render.out.print(f"exported {r.proposal_id[:8]} → {where} (commit {r.commit[:10]})")


# Each area of suture may add its own commands in a module `agent/cli_<area>.py` exposing
# `register(app: typer.Typer) -> None`; list it here. Keeps this file small and areas independent.
_COMMAND_MODULES: tuple[str, ...] = ("agent.cli_triage", "agent.cli_eval", "agent.cli_llm", "agent.cli_audit",)


def _register_commands() -> None:
    import importlib

    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(cli)


_register_commands()


def main() -> None:
    try:
        code = cli(standalone_mode=False)  # usage errors come here, to be printed as one line (not a box)
    except typer.Abort:
        render.err.print("aborted")
        sys.exit(1)
    except typer.TyperException as exc:  # click's usage errors: unknown option, missing value, bad choice
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        render.err.print(render.safe(f"error: {message} (see --help)"), markup=False, soft_wrap=True)
        sys.exit(getattr(exc, "exit_code", 2))
    except SutureError as exc:
        render.err.print(f"[red]error:[/] {render.escape(str(exc))}", soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        render.err.print("interrupted")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
