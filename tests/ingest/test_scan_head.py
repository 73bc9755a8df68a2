"""`suture scan` reads the tree `fix` changes: HEAD, not the working tree. Real bandit, a real git repository
(a copy of examples/billing) with uncommitted edits, a real SQLite store."""

from __future__ import annotations

from pathlib import Path

from agent import app
from agent.validate.worktree import list_suture_worktrees
from tests.conftest import git


def test_scan_with_uncommitted_edits_reads_head(example_repo: Path):
    settings_py = example_repo / "billing" / "settings.py"
    exports_py = example_repo / "billing" / "exports.py"
    moved = "# local note\n" * 10 + settings_py.read_text()  # every line of settings.py moves down by 10
    settings_py.write_text(moved)
    unfixed = exports_py.read_text()
    assert unfixed.count("shell=True") == 1
    exports_py.write_text(unfixed.replace(", shell=True", ""))  # the flaw is gone locally, not in HEAD

    session = app.open_session(example_repo)
    try:
        assert any("uncommitted changes" in w for w in session.warnings)
        reports, notes = app.scan_project(session, ["bandit"])
        findings = session.store.list_findings()
    finally:
        session.close()

    head_lines = {}
    for finding in findings:  # every finding points at a line of HEAD, with HEAD's text
        path = finding.location.path
        if path not in head_lines:
            head_lines[path] = git(example_repo, "show", f"HEAD:{path}").splitlines(keepends=True)
        start, end = finding.location.start_line, finding.location.last_line
        assert end <= len(head_lines[path]), finding
        assert finding.location.snippet == "".join(head_lines[path][start - 1:end]), finding
    by_rule = {(f.rule_id, f.location.path): f for f in findings}
    yaml_load = by_rule[("B506", "billing/settings.py")]
    assert "yaml.load(" in head_lines["billing/settings.py"][yaml_load.location.start_line - 1]
    assert yaml_load.location.start_line + 10 <= len(moved.splitlines())  # not the working tree's line
    assert ("B602", "billing/exports.py") in by_rule  # the flaw HEAD still has, which fix will change
    assert settings_py.read_text() == moved and exports_py.read_text() != unfixed  # the edits are untouched
    assert list_suture_worktrees(session.ws.project) == []
    assert [r.closed_nothing for r in reports] == [None] and any("scanned HEAD" in n for n in notes)


def test_the_scan_spinner_stops_before_the_logs_are_ingested(example_repo: Path, monkeypatch):
    """The CLI's spinner runs a thread; ingest starts the workers that prepare triage's source facts only where
    no other thread runs (a forked child would inherit locks that thread holds). So the spinner covers the
    scanners and is gone when their logs are ingested."""
    from contextlib import contextmanager

    import agent.app.ingest as ingesting
    from agent.cli import render
    from agent.cli.scan import scan_and_report

    spinning: list[bool] = []

    @contextmanager
    def status(text: str):
        spinning.append(True)
        try:
            yield
        finally:
            spinning.append(False)

    seen: list[bool] = []
    ingest_logs = ingesting._ingest_logs

    def recording(*args, **kwargs):
        seen.append(spinning[-1] if spinning else False)
        return ingest_logs(*args, **kwargs)

    monkeypatch.setattr(render.err, "status", status)
    monkeypatch.setattr(ingesting, "_ingest_logs", recording)
    session = app.open_session(example_repo)
    try:
        reports = scan_and_report(session, ["bandit"])
    finally:
        session.close()
    assert spinning == [True, False] and seen == [False]
    assert reports and reports[0].tool == "bandit" and reports[0].new > 0
