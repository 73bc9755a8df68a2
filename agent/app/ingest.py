"""Findings into the store: SARIF files (`ingest`) and the scanners run on HEAD (`scan`)."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agent import scanners
from agent.app.session import Session, head_files, head_tree
from agent.errors import SutureError
from agent.ingest.closing import closing_blockers
from agent.ingest.log_suppressions import (
    new_findings,
    open_note,
    record_log_suppressions,
    reopen_note,
    reopen_unsuppressed,
)
from agent.ingest.path_map import PathMap
from agent.ingest.sarif import load_sarif, parse_sarif
from agent.ingest.sarif_log import SarifParse
from agent.ingest.sarif_schema import schema_problems
from agent.models import SkippedResult, utcnow

PARSE_AHEAD_FINDINGS = 100_000  # findings of logs read ahead of storing them (see `_ingest_logs`)


class IngestReport(BaseModel):
    """One run of one log, ingested. `closed_nothing` says why the run marked nothing fixed (None: it was
    evidence enough to close what it no longer reports, see agent.ingest.closing)."""

    source: str
    tool: str
    new: int = 0
    updated: int = 0
    reopened: int = 0
    fixed: int = 0
    skipped: list[SkippedResult] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    duplicate: bool = False
    closed_nothing: str | None = None
    suppressed: int = 0  # new findings the log itself suppresses, recorded as dismissed / risk-accepted
    path_mappings: list[str] = Field(default_factory=list)  # every path mapping used (path_map.PathMap.summary)

    def to_json(self) -> dict[str, Any]:
        """The JSON form `suture ingest --format json` prints (one object per run)."""
        return self.model_dump()


def path_map_for(session: Session, maps: list[str] | None = None, prefixes: list[str] | None = None) -> PathMap:
    """The path mapping for an ingest: --map FROM=TO and --path-prefix P, plus automatic mapping (path_map.py)."""
    return PathMap.from_options(maps, prefixes, repo_prefix=session.ws.project.subdir or "")


def parse_taken_at(text: str) -> datetime:
    """A scan time given as `--at`: ISO 8601 (`2026-01-05`, `2026-01-05T14:30:00Z`, `…+02:00`; a time without a
    zone is UTC, a date alone is its midnight UTC). A time in the future is refused: history is what happened."""
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1:] in ("Z", "z") else value)
    except ValueError:
        raise SutureError(f"--at: cannot read {text!r} as a time; use ISO 8601, e.g. 2026-01-05T14:30:00Z or "
                          "2026-01-05") from None
    parsed = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    if parsed > utcnow():
        raise SutureError(f"--at {text}: that is in the future; give the time the scan was taken")
    return parsed.astimezone(UTC)


def ingest_file(session: Session, path: Path, full: bool = True, tree: Path | None = None,
                path_map: PathMap | None = None, taken_at: datetime | None = None) -> list[IngestReport]:
    """Ingest one SARIF file into the store; one report per run in the file (one report for a log without runs).

    Paths are placed, and flagged lines read, in `tree` (default: the files of HEAD, read from git), after `path_map` (default:
    automatic mapping only) mapped paths recorded elsewhere; each report lists the mappings used. A run closes
    findings only when `full` and agent.ingest.closing finds it a whole, successful, fully placed scan; otherwise
    its report says why it closed nothing. `taken_at` (default now) is when the scan was taken: the time its
    findings were seen and the ones it no longer reports were fixed (backfilling history). New results the log suppresses are recorded as dismissed (or
    risk-accepted until the date suture wrote), with the suppression kept; a suppression never closes an open one."""
    if tree is None:
        return ingest_files(session, [path], full, path_map, taken_at)
    return _ingest_logs(session, [path], full, tree, path_map if path_map is not None else path_map_for(session),
                        taken_at)


@dataclass
class _ParsedLog:
    """A SARIF file read and placed (`_parse_log`), not stored yet."""

    path: Path
    problems: list[str]  # its schema warnings
    parsed: SarifParse
    mappings: list[str]  # the path mappings its paths used


def _ingest_logs(session: Session, paths: list[Path], full: bool, tree: Path, path_map: PathMap,
                 taken_at: datetime | None) -> list[IngestReport]:
    """Ingest the logs at `paths` in order, as `ingest_file` does one. Where worker processes can run, logs are
    read and placed ahead, up to PARSE_AHEAD_FINDINGS findings, before they are stored: worker processes then
    prepare the source facts the next triage needs of the files their findings point at while the findings are
    stored, on the cores storing leaves idle (`agent.triage.service.warm_store`; where too few files are flagged
    to be worth it, nothing starts). Elsewhere each log is stored before the next one is read. A log that cannot
    be read stops the ingest with its error after the logs before it are stored."""
    from agent.code.file_facts import workers_can_run

    reports: list[IngestReport] = []
    todo = list(paths)
    limit = PARSE_AHEAD_FINDINGS if workers_can_run() else 0  # (no workers to be had: one log at a time, as ever)
    while todo:
        logs: list[_ParsedLog] = []
        failure: SutureError | None = None
        ahead = 0
        while todo and (not logs or ahead < limit):
            try:
                logs.append(_parse_log(todo.pop(0), tree, path_map))
            except SutureError as error:
                failure, todo = error, []
                break
            ahead += sum(len(run.findings) for run in logs[-1].parsed.runs)
        finish = _warm_facts(session, logs) if limit else None
        try:
            for log in logs:
                reports += _record_log(session, log, full, taken_at)
        except BaseException:
            if finish is not None:
                finish(False)
            raise
        if finish is not None:
            finish(True)
        if failure is not None:
            raise failure
    return reports


def _warm_facts(session: Session, logs: list[_ParsedLog]) -> Callable[[bool], int] | None:
    """Start preparing the source facts of the files the logs' findings point at (`warm_store`), for the
    findings held in memory (a streamed log's are not read back from disk for it). What it returns ends the
    workers: with True it first waits for them and keeps their facts."""
    from agent.triage.service import warm_store

    findings = [f for log in logs for run in log.parsed.runs if isinstance(run.findings, list) for f in run.findings]
    try:
        return warm_store(session.store, session.ws.project_dir, findings) if findings else None
    except Exception:  # noqa: BLE001 - e.g. the facts cache cannot be read: triage parses the files, as before
        return None


def _parse_log(path: Path, tree: Path, path_map: PathMap) -> _ParsedLog:
    """Read the SARIF file at `path`, check it against the schema and place its paths in `tree`."""
    log = load_sarif(path)
    problems = [f"schema: {p}" for p in schema_problems(log, limit=5)]
    path_map.used.clear()  # each file's report states the mappings its own paths used
    parsed = parse_sarif(log, tree, source_name=str(path), path_map=path_map)
    return _ParsedLog(path, problems, parsed, path_map.summary())


def _record_log(session: Session, log: _ParsedLog, full: bool, taken_at: datetime | None) -> list[IngestReport]:
    """Store a parsed log's runs, one report per run (one for a log without runs)."""
    path, problems, parsed, mappings = log.path, log.problems, log.parsed, log.mappings
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
            summary={"skipped": len(run.skipped), "closed_nothing": reason}, taken_at=taken_at,
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


def ingest_files(session: Session, paths: list[Path], full: bool = True, path_map: PathMap | None = None,
                 taken_at: datetime | None = None) -> list[IngestReport]:
    """Ingest several SARIF files, in order, against the files of HEAD (one path mapping for all of them), each as
    a scan taken at `taken_at` (default now)."""
    path_map = path_map if path_map is not None else path_map_for(session)
    with head_files(session) as files:
        path_map.use_files(files)
        return _ingest_logs(session, paths, full, files.root, path_map, taken_at)


def scan_project(session: Session, tools: list[str] | None = None, taken_at: datetime | None = None,
                 scanning: Callable[[], AbstractContextManager[object]] = nullcontext
                 ) -> tuple[list[IngestReport], list[str]]:
    """Run the available scanners on a checkout of HEAD (never the working tree: `fix` changes HEAD) and ingest
    their SARIF, placed in that same checkout, as scans taken at `taken_at` (default now). `scanning()` is
    entered while the scanners run, not while their logs are ingested (e.g. a spinner: its thread would keep
    ingest from starting the worker processes that prepare triage's source facts, see `_ingest_logs`)."""
    wanted = tools or session.settings.scanners
    available = scanners.available_scanners()
    for tool in wanted:
        if tool not in available:
            raise SutureError(f"unknown scanner {tool!r}; known: {', '.join(sorted(available))}")
    notes: list[str] = []
    stamp = utcnow().strftime("%Y%m%dT%H%M%S")
    out_dir = session.ws.state_dir / "scans"
    out_dir.mkdir(parents=True, exist_ok=True)
    logs: list[Path] = []
    with head_tree(session) as tree:
        with scanning():
            failure = _run_scanners(session, tree, wanted, available, out_dir, stamp, logs, notes)
        try:  # the logs are ingested together (see `_ingest_logs`), those of the scans before a failed one too
            reports = _ingest_logs(session, logs, True, tree, path_map_for(session), taken_at)
        except SutureError as error:
            if failure is None:
                raise
            raise SutureError(f"{failure}; and ingesting the scans before it failed: {error}") from error
    if failure is not None:
        raise failure
    return reports, notes


def _run_scanners(session: Session, tree: Path, wanted: list[str], available: dict[str, str | None], out_dir: Path,
                  stamp: str, logs: list[Path], notes: list[str]) -> SutureError | None:
    """Run each wanted scanner on `tree` in turn, adding its log to `logs` and its line to `notes`; the error of
    the first one that fails (the ones after it are not run), or None."""
    head = session.ws.project.head[:10]
    for tool in wanted:
        if available[tool] is None:
            notes.append(f"{tool} is not installed; skipped ({scanners.get(tool).install_hint})")
            continue
        out = out_dir / f"{tool}-{stamp}.sarif"
        try:
            run = scanners.run_scanner(tool, tree, out, timeout=session.settings.scan_timeout)
            if run.error:
                raise SutureError(f"{tool} failed: {run.error}")
        except SutureError as error:
            return error
        logs.append(out)
        notes.append(f"{tool} {available[tool]}: scanned HEAD ({head}) in {run.duration_s:.1f} s → "
                     f"{out.relative_to(session.ws.project_dir)}")
    return None


