"""Use cases behind the CLI (and later the web UI): each takes plain values, returns records, renders nothing."""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.config import Settings, load_settings
from agent.errors import SutureError
from agent.ingest import scanners
from agent.ingest.closing import closing_blockers
from agent.ingest.log_suppressions import (
    new_findings,
    open_note,
    record_log_suppressions,
    reopen_note,
    reopen_unsuppressed,
)
from agent.ingest.path_map import PathMap
from agent.ingest.sarif import load_sarif, parse_sarif, schema_problems
from agent.models import Finding, Proposal, Rank, SkippedResult, utcnow
from agent.remediate import Workspace, fix_findings
from agent.store import Store
from agent.store_url import repo_key, sqlite_path, store_url
from agent.validate.worktree import Worktree, ensure_excluded, find_project, is_dirty


@dataclass
class Session:
    ws: Workspace
    store: Store
    settings: Settings
    warnings: list[str] = field(default_factory=list)

    def close(self) -> None:
        self.store.close()


def open_session(repo: Path, db: Path | None = None, overrides: dict[str, Any] | None = None,
                 create: bool = True, store: str | None = None) -> Session:
    """Find the project at `repo` (a git repo or a folder inside one) and open its store and settings.

    The store: `db` (a SQLite file), else `store` (a URL or SQLite path), else $SUTURE_STORE, else
    `.suture/suture.db` in the project (agent.store_url). It is opened for the project's repo key, so a store
    shared by several projects shows each only its own records. With `create=False` (commands that only read or
    decide on existing records: review, export, audit) a missing SQLite store is an error naming where one is,
    instead of a new empty `.suture/` in the wrong folder."""
    repo = repo.resolve()  # literal: never expand ~ or $VAR (a folder may be named so)
    if not repo.exists():
        raise SutureError(f"{repo}: no such directory")
    if not repo.is_dir():
        raise SutureError(f"{repo}: not a directory")
    project = find_project(repo)
    project_dir = project.git_root / project.subdir if project.subdir else project.git_root
    state_dir = project_dir / ".suture"
    warnings: list[str] = []
    if db is not None and store is not None:
        raise SutureError("give either --db or --store, not both")
    url = store_url(str(db) if db is not None else store, state_dir / "suture.db")
    if not create and sqlite_path(url) is not None:  # a database server's store is there or fails to open
        _require_store(project.git_root, project_dir, sqlite_path(url))
    if db is None:
        state_dir.mkdir(exist_ok=True)
        ensure_excluded(project.git_root, ".suture/")
        db = state_dir / "suture.db"
    else:
        state_dir.mkdir(exist_ok=True)
        ensure_excluded(project.git_root, ".suture/")
    if is_dirty(project):
        warnings.append("working tree has uncommitted changes; suture works from HEAD "
                        f"({project.head[:10]}) and ignores them")
    settings = load_settings(project_dir, overrides)
    key = repo_key(project.git_root, project.subdir)
    path = sqlite_path(url)
    opened = Store.open(path, key) if path is not None else Store(url, key)
    return Session(Workspace(project, state_dir), opened, settings, warnings)


def _require_store(git_root: Path, project_dir: Path, db: Path | None) -> None:
    if db is not None and db != project_dir / ".suture" / "suture.db":
        if not db.expanduser().is_file():
            raise SutureError(f"{db}: no such store file")
        return
    if (project_dir / ".suture" / "suture.db").is_file():
        return
    elsewhere = [d for d in (project_dir, *project_dir.parents) if (d / ".suture" / "suture.db").is_file()
                 and (d == git_root or git_root in d.parents)]
    hint = f"; there is one for {elsewhere[0]}: pass --repo {elsewhere[0]}" if elsewhere else \
        "; run `suture scan` or `suture fix` there first, or pass --repo"
    raise SutureError(f"no suture store for {project_dir}{hint}")


@dataclass
class IngestReport:
    """One run of one log, ingested. `closed_nothing` says why the run marked nothing fixed (None: it was
    evidence enough to close what it no longer reports, see agent.ingest.closing)."""

    source: str
    tool: str
    new: int = 0
    updated: int = 0
    reopened: int = 0
    fixed: int = 0
    skipped: list[SkippedResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    duplicate: bool = False
    closed_nothing: str | None = None
    suppressed: int = 0  # new findings the log itself suppresses, recorded as dismissed / risk-accepted
    path_mappings: list[str] = field(default_factory=list)  # every path mapping used (path_map.PathMap.summary)

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "skipped": [s.model_dump() for s in self.skipped]}


@contextmanager
def head_tree(session: Session) -> Iterator[Path]:
    """The project folder as committed at HEAD, in a temporary worktree removed on exit. scan and ingest read
    this tree, the one `fix` changes: uncommitted edits are never scanned, placed or fingerprinted."""
    with Worktree(session.ws.project, session.ws.project.head) as worktree:
        yield worktree.project_path


def path_map_for(session: Session, maps: list[str] | None = None, prefixes: list[str] | None = None) -> PathMap:
    """The path mapping for an ingest: --map FROM=TO and --path-prefix P, plus automatic mapping (path_map.py)."""
    return PathMap.from_options(maps, prefixes, repo_prefix=session.ws.project.subdir or "")


def ingest_file(session: Session, path: Path, full: bool = True, tree: Path | None = None,
                path_map: PathMap | None = None) -> list[IngestReport]:
    """Ingest one SARIF file into the store; one report per run in the file (one report for a log without runs).

    Paths are placed, and flagged lines read, in `tree` (default: a checkout of HEAD), after `path_map` (default:
    automatic mapping only) mapped paths recorded elsewhere; each report lists the mappings used. A run closes
    findings only when `full` and agent.ingest.closing finds it a whole, successful, fully placed scan; otherwise
    its report says why it closed nothing. New results the log suppresses are recorded as dismissed (or
    risk-accepted until the date suture wrote), with the suppression kept; a suppression never closes an open one."""
    if tree is None:
        with head_tree(session) as head:
            return ingest_file(session, path, full, head, path_map)
    path_map = path_map if path_map is not None else path_map_for(session)
    log = load_sarif(path)
    problems = [f"schema: {p}" for p in schema_problems(log, limit=5)]
    path_map.used.clear()  # each file's report states the mappings its own paths used
    parsed = parse_sarif(log, tree, source_name=str(path), path_map=path_map)
    mappings = path_map.summary()
    if not parsed.runs:
        why = ("the log has runs: null: the tool failed before it produced a run" if parsed.runs_null
               else "the log has no runs")
        return [IngestReport(source=str(path), tool="no runs", warnings=problems, closed_nothing=why)]
    blockers = closing_blockers(parsed)
    content = _content_hash(path)
    reports = []
    for index, run in enumerate(parsed.runs):
        reason = blockers.get(index) or (None if full else "--partial: the scan covered only part of the code")
        fresh, still_open = new_findings(session.store, run.suppressed)
        run_key = content.copy()  # the dedupe key: sha256 of the log's bytes + "#runN", as it always was
        run_key.update(f"#run{index}".encode())
        counts = session.store.record_scan(  # findings are read in batches (a streamed log's come from disk)
            tool=run.tool, scope=run.scope, source=f"{path}#run{index}", content_hash=run_key.hexdigest(),
            findings=itertools.chain(run.findings, run.suppressed), full=reason is None,
            summary={"skipped": len(run.skipped), "closed_nothing": reason},
        )
        record_log_suppressions(session.store, fresh, str(path))
        unsuppressed = reopen_unsuppressed(session.store, run.findings, str(path))
        if reason is None and counts["duplicate_scan"]:
            reason = "this log was ingested before (a log closes findings only the first time)"
        reports.append(IngestReport(
            source=str(path), tool=run.tool, new=counts["new"], updated=counts["updated"],
            reopened=counts["reopened"], fixed=counts["fixed"], skipped=run.skipped,
            warnings=problems + list(run.warnings) + ([open_note(still_open)] if still_open else [])
            + ([reopen_note(unsuppressed)] if unsuppressed else []),
            duplicate=bool(counts["duplicate_scan"]), closed_nothing=reason, suppressed=len(fresh),
            path_mappings=mappings if index == 0 else [],
        ))
        reports[-1].new -= len(fresh)
    return reports


def _content_hash(path: Path) -> hashlib._Hash:
    """sha256 of the file's bytes, read in chunks (a 200 MB log is never held whole)."""
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256")
    except OSError as error:
        raise SutureError(f"cannot read SARIF file {path}: {error.strerror or error}") from error


def ingest_files(session: Session, paths: list[Path], full: bool = True, path_map: PathMap | None = None
                 ) -> list[IngestReport]:
    """Ingest several SARIF files, in order, against one checkout of HEAD (one path mapping for all of them)."""
    path_map = path_map if path_map is not None else path_map_for(session)
    with head_tree(session) as tree:
        return [report for path in paths for report in ingest_file(session, path, full, tree, path_map)]


def scan_project(session: Session, tools: list[str] | None = None) -> tuple[list[IngestReport], list[str]]:
    """Run the available scanners on a checkout of HEAD (never the working tree: `fix` changes HEAD) and ingest
    their SARIF, placed in that same checkout."""
    wanted = tools or session.settings.scanners
    available = scanners.available_scanners()
    for tool in wanted:
        if tool not in available:
            raise SutureError(f"unknown scanner {tool!r}; known: {', '.join(sorted(available))}")
    notes: list[str] = []
    reports: list[IngestReport] = []
    stamp = utcnow().strftime("%Y%m%dT%H%M%S")
    out_dir = session.ws.state_dir / "scans"
    out_dir.mkdir(parents=True, exist_ok=True)
    head = session.ws.project.head[:10]
    with head_tree(session) as tree:
        for tool in wanted:
            if available[tool] is None:
                notes.append(f"{tool} is not installed; skipped" + (" (pip install 'suture[semgrep]')"
                                                                      if tool == "semgrep" else ""))
                continue
            out = out_dir / f"{tool}-{stamp}.sarif"
            run = scanners.run_scanner(tool, tree, out, timeout=session.settings.scan_timeout)
            if run.error:
                raise SutureError(f"{tool} failed: {run.error}")
            reports += ingest_file(session, out, full=True, tree=tree)
            notes.append(f"{tool} {available[tool]}: scanned HEAD ({head}) in {run.duration_s:.1f} s → "
                         f"{out.relative_to(session.ws.project_dir)}")
    return reports, notes


def ranked_open_findings(session: Session) -> list[tuple[Finding, Rank]]:
    """Open findings in triage order (grouped: one row per unit of work), each with its rank, owner, lane and due
    date. Expired risk acceptances re-open first."""
    from agent.triage.service import triage_store

    result = triage_store(session.store, session.settings.triage, session.ws.project_dir, session.ws.state_dir)
    return [(row.finding, row.rank) for row in result.rows]


def same_spot(a: Finding, b: Finding) -> bool:
    """Two reports of one problem: same file, overlapping lines, and a shared CWE or rule — or two different
    tools flagging the very same line (their CWE choices often differ: bandit B506 says CWE-20 for yaml.load)."""
    if a.location.path != b.location.path:
        return False
    overlap = a.location.start_line <= b.location.last_line and b.location.start_line <= a.location.last_line
    same_line_other_tool = a.tool != b.tool and a.location.start_line == b.location.start_line
    return overlap and (bool(set(a.cwe) & set(b.cwe)) or a.rule_id == b.rule_id or same_line_other_tool)


def select_findings(session: Session, top: int | None, finding_id: str | None) -> tuple[list[Finding], list[Finding]]:
    """The findings to fix, best first, and those left out because one fix covers them.

    Uses triage's grouping: each group counts once against `top`. Its leading finding is fixed; findings of the
    same spot from another tool and import-level findings that fold into a use are left out (one fix covers them);
    the same rule and sink repeated in a file are fixed in the same batch, right after the leader."""
    if finding_id:
        finding = session.store.get_finding(finding_id)
        if finding.status != "open":
            raise SutureError(f"finding {finding.short_id} is {finding.status}; only open findings are fixed")
        return [finding], []
    from agent.triage.service import triage_store

    n = top or session.settings.top
    result = triage_store(session.store, session.settings.triage, session.ws.project_dir, session.ws.state_dir)
    chosen: list[Finding] = []
    duplicates: list[Finding] = []
    for row in result.rows[:n]:
        chosen.append(row.finding)
        for member, how in row.group.members:
            if how.startswith("same rule and sink") and not same_spot(member, row.finding):
                chosen.append(member)
            else:
                duplicates.append(member)
    return chosen, duplicates


def make_engine(session: Session):
    """The builtin engine when no model is set, else the LLM engine (litellm imported only then), with the run's
    spend guard (`budget_usd`), the store's response cache unless `cache` is off, and `llm_concurrency`."""
    s = session.settings
    if not s.model:
        from agent.engines.builtin.engine import BuiltinEngine

        return BuiltinEngine()
    from agent.engines.llm import LLMEngine
    from agent.llm import set_concurrency
    from agent.llm.budget import SpendGuard
    from agent.store import StoreResponseCache

    set_concurrency(s.llm_concurrency)
    api_base = s.api_base or os.environ.get("SUTURE_API_BASE")
    return LLMEngine(model=s.model, api_base=api_base, temperature=s.temperature, max_tokens=s.max_tokens,
                     timeout=s.request_timeout, cache=StoreResponseCache(session.store) if s.cache else None,
                     spend=SpendGuard(s.budget_usd))


def fix(session: Session, findings: list[Finding], progress=None, redo: bool = False,
        retry_failed: bool = False) -> list[Proposal]:
    """Draft, validate and queue a proposal for each finding. A finding whose last outcome at this commit,
    engine, prompt and settings is final is skipped (reported to `progress` as "skipped: why", see
    agent.outcomes) unless `retry_failed`; one with a proposal awaiting review is skipped unless `redo`."""
    engine = make_engine(session)
    return fix_findings(session.ws, session.store, findings, engine, session.settings, progress, redo,
                        retry_failed)


def reviewer_identity(git_root: Path, explicit: str | None) -> str:
    """The named person behind a review: --reviewer, else git's user.name <user.email>. Either must be a
    printable one-line name with something visible in it (agent.review.identity)."""
    from agent.review.identity import check_reviewer

    if explicit is not None:
        return check_reviewer(explicit)

    def cfg(key: str) -> str:
        proc = subprocess.run(["git", "config", key], check=False, cwd=git_root, capture_output=True, text=True)
        return proc.stdout.strip()

    name, email = cfg("user.name"), cfg("user.email")
    if not name:
        raise SutureError("no reviewer name: pass --reviewer 'Name <email>' or set git config user.name")
    return check_reviewer(f"{name} <{email}>" if email else name)
