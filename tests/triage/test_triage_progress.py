"""Triage progress: scoring reports how it goes; the bars appear only on a terminal, never with --format json."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from agent import app
from agent.cli import progress, render
from agent.cli.progress import DelayedProgress
from agent.cli.triage import By, TriageFmt, triage
from agent.models import Finding, Location
from agent.triage.config import parse_triage_config
from agent.triage.service import triage_findings
from tests.conftest import git

SOURCE = "import os\n\n\ndef run(cmd):\n    os.system(cmd)\n\n\ndef hash_it(data):\n    import hashlib\n    return hashlib.md5(data)\n"


def _finding(i: int) -> Finding:
    return Finding(id=f"{i:064x}", tool="bandit", rule_id="B605", message="shell", cwe=[78],
                   location=Location(path=f"pkg/mod_{i % 7}.py", start_line=1 + i % 40))


def test_scoring_reports_its_progress_up_to_the_last_finding() -> None:
    calls: list[tuple[int, int]] = []
    result = triage_findings([_finding(i) for i in range(1200)], parse_triage_config({}),
                             score_progress=lambda done, total: calls.append((done, total)))
    assert result.rows
    assert calls[-1] == (1200, 1200)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls) and all(t == 1200 for _, t in calls)


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=terminal, width=120, stderr=True), buffer


def test_delayed_progress_is_silent_on_a_non_terminal(monkeypatch) -> None:
    for terminal in (False, True):
        console, buffer = _console(terminal)
        monkeypatch.setattr(render, "err", console)
        bar = DelayedProgress("reading things", delay=0)
        bar(1, 2)
        bar(2, 2)
        bar.close()
        assert ("reading things" in buffer.getvalue()) is terminal  # a terminal shows it: the check is not vacuous


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "tool.py").write_text(SOURCE, encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    results = [{"ruleId": rule, "level": "error", "message": {"text": text},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": "tool.py"},
                                                    "region": {"startLine": line}}}]}
               for rule, line, text in (("B605", 5, "shell"), ("B324", 10, "md5"))]
    sarif = tmp_path / "scan.sarif"
    sarif.write_text(json.dumps({"version": "2.1.0", "runs": [
        {"tool": {"driver": {"name": "Bandit"}}, "results": results}]}), encoding="utf-8")
    session = app.open_session(root)
    app.ingest_file(session, sarif)
    session.close()
    return root


def _triage(repo: Path, fmt: TriageFmt, capsys) -> str:
    triage(repo=repo, db=None, top=None, fmt=fmt, by=By.rank, team=None, lane=None)
    return capsys.readouterr().out


def test_triage_shows_reading_and_scoring_on_a_terminal_and_nothing_for_json(repo: Path, monkeypatch,
                                                                              capsys) -> None:
    monkeypatch.setattr(progress, "PROGRESS_DELAY", 0.0)  # show at once: no waiting on the clock
    console, buffer = _console(terminal=True)
    monkeypatch.setattr(render, "err", console)
    rows = json.loads(_triage(repo, TriageFmt.json, capsys))
    assert len(rows) == 2
    assert "ranking" not in buffer.getvalue()  # --format json: no bar, even on a terminal

    _triage(repo, TriageFmt.table, capsys)
    shown = buffer.getvalue()
    assert "ranking: reading source files" in shown and "ranking: scoring findings" in shown

    console, buffer = _console(terminal=False)
    monkeypatch.setattr(render, "err", console)
    _triage(repo, TriageFmt.table, capsys)
    assert "ranking" not in buffer.getvalue()  # not a terminal: silent
