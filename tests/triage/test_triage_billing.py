"""Triage on the bundled example, through the real CLI: real scanners, real store, real git repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest

from agent.models import Edit, Proposal, Validation, utcnow
from agent.store import Store
from agent.triage.service import triage_store
from tests.conftest import git
from tests.examples.billing_truth import EXAMPLE, planted_issues

SCHEMA = Path(__file__).resolve().parents[2] / "agent" / "ingest" / "schema" / "sarif-schema-2.1.0.json"


def suture(cwd: Path, *args: str, expect: int = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "agent", *args], cwd=cwd, capture_output=True, text=True,
                          check=False, env={**os.environ, "COLUMNS": "200"}, timeout=300)
    assert proc.returncode == expect, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def scanned(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("triage") / "billing"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns(".suture", "__pycache__", ".pytest_cache"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    suture(repo, "scan", ".")
    return repo


def real_spots() -> set[tuple[str, int]]:
    """(path, line) of every planted real weakness (all rows but the false positive)."""
    return {(i.path, line) for i in planted_issues() if "false-positive" not in i.name
            for line in range(i.first_line, i.last_line + 1)}


def test_real_findings_on_top_noise_at_bottom_every_row_explained(scanned: Path):
    rows = json.loads(suture(scanned, "triage", "--format", "json").stdout)
    real = real_spots()

    def is_real(row: dict) -> bool:
        return any((row["path"], row["line"]) == spot for spot in real) or any(
            (row["path"], s["line"]) in real for s in row["sources"])

    real_rows = [i for i, r in enumerate(rows) if is_real(r)]
    planted_files = {i.path for i in planted_issues() if "false-positive" not in i.name}
    assert {rows[i]["path"] for i in real_rows} == planted_files  # every real weakness is there...
    assert real_rows == list(range(len(real_rows)))  # ...and they are the top of the ranking
    noise = [i for i, r in enumerate(rows) if r["path"].startswith("tests/")
             or (r["path"] == "billing/buildinfo.py" and r["rule_id"] == "B602")]
    assert noise and min(noise) > max(real_rows)
    fp = next(r for r in rows if r["path"] == "billing/buildinfo.py" and r["rule_id"] == "B602")
    assert any(f["name"] == "evidence" and f["points"] < 0 and "constant" in f["reason"] for f in fp["factors"])
    assert fp["lane"] == "defer" and all(rows[i]["lane"] == "defer" for i in noise)
    # import-level findings never stand alone next to their use; two tools on one line are one row
    exports = next(r for r in rows if r["path"] == "billing/exports.py")
    assert {s["rule_id"] for s in exports["sources"]} >= {"B404"} and len({exports["tool"]} | {
        s["tool"] for s in exports["sources"]}) == 2
    for r in rows:
        assert r["reason"] and r["factors"] and r["decision"] and r["due"]
        assert r["score"] == pytest.approx(max(0.0, min(100.0, sum(f["points"] for f in r["factors"]))), abs=0.11)


@pytest.mark.slow  # end-to-end; CI runs it with -m slow
def test_config_lanes_capacity_and_markdown_by_team(scanned: Path):
    (scanned / "suture.toml").write_text(
        '[triage.teams.payments]\ncapacity = 2\n[triage.teams.platform]\n\n'
        '[[triage.assets]]\nname = "billing-api"\npaths = ["billing/**"]\ntier = 1\ninternet_facing = true\n'
        'data = "restricted"\nteam = "payments"\n\n[[triage.owners]]\npaths = ["tests/**"]\nteam = "platform"\n')
    try:
        proc = suture(scanned, "triage", "--format", "markdown", "--by", "team")
        assert "## payments" in proc.stdout and "## platform" in proc.stdout
        assert "capacity: team payments fixes 2/week" in proc.stderr.replace("\n", " ")
        rows = json.loads(suture(scanned, "triage", "-f", "json").stdout)
        now_rows = [r for r in rows if r["lane"] == "now"]
        assert len(now_rows) == 2 and all(r["team"] == "payments" for r in now_rows)
        moved = [r for r in rows if any("over payments's capacity" in w for w in r["decision_reasons"])]
        assert moved and all(r["lane"] == "batch" for r in moved)
        csv_out = suture(scanned, "triage", "-f", "csv", "--team", "platform").stdout.splitlines()
        assert csv_out[0].startswith("rank,score,id") and all(",platform," in line for line in csv_out[1:])
        bad = suture(scanned, "triage", "--team", "nobody", expect=2)
        assert "unknown team 'nobody'" in bad.stderr
        (scanned / "suture.toml").write_text('[triage.teams.payments]\ncapacity = -3\n')
        bad = suture(scanned, "triage", expect=2)
        assert "suture.toml:2: triage.teams.payments.capacity" in bad.stderr
    finally:
        (scanned / "suture.toml").unlink()


def test_accept_expiry_and_sarif_suppressions_and_fixes(scanned: Path, tmp_path: Path):
    rows = json.loads(suture(scanned, "triage", "-f", "json").stdout)
    target, patched = rows[1], rows[0]
    bad = suture(scanned, "accept", target["short_id"], "--until", "next tuesday", "--reason", "x",
                 "--reviewer", "Ann", expect=2)
    assert "cannot read 'next tuesday' as a date" in bad.stderr
    until = (utcnow() + timedelta(days=30)).date().isoformat()
    suture(scanned, "accept", target["short_id"], "--until", until, "--reason", "compensating WAF rule",
           "--reviewer", "Ann Lee <ann@example.com>")
    after = json.loads(suture(scanned, "triage", "-f", "json").stdout)
    assert target["id"] not in {r["id"] for r in after}

    store = Store.open(scanned / ".suture" / "suture.db")
    try:
        proposal = Proposal(id="p" * 16, finding_id=patched["id"], kind="patch", engine="builtin:test",
                            edits=[Edit(path="billing/x.py", search="a", replace="b")],
                            diff="--- a/billing/x.py\n+++ b/billing/x.py\n@@ -2,2 +2,2 @@\n ctx\n-old\n+new\n")
        store.add_proposal(proposal)
        store.update_proposal(proposal.model_copy(update={"validation": Validation(applied=True, passed=True)}))
        store.transition(proposal.id, "validated", "suture")
        store.transition(proposal.id, "approved", "Bo Reviewer")
    finally:
        store.close()
    out = tmp_path / "out.sarif"
    suture(scanned, "sarif", "--out", str(out))
    log = json.loads(out.read_text())
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(log)
    results = {r["partialFingerprints"]["suture/v1"]: r for run in log["runs"] for r in run["results"]}
    suppression = results[target["id"]]["suppressions"][0]
    assert suppression["status"] == "accepted" and "compensating WAF rule" in suppression["justification"]
    assert "Ann Lee" in suppression["justification"] and until in suppression["justification"]
    fix = results[patched["id"]]["fixes"][0]
    change = fix["artifactChanges"][0]
    assert change["artifactLocation"]["uri"] == "billing/x.py"
    assert change["replacements"][0]["deletedRegion"]["startLine"] == 2
    assert change["replacements"][0]["insertedContent"]["text"] == "ctx\nnew"  # up to the end of line 3 (issue 18)
    assert results[patched["id"]]["properties"]["triage"]["rank"] == 1

    # expiry: the acceptance runs out, the next triage re-opens the finding and ranks it again
    store = Store.open(scanned / ".suture" / "suture.db")
    try:
        later = utcnow() + timedelta(days=31)
        result = triage_store(store, {}, scanned, scanned / ".suture", now=later)
        assert result.reopened == [target["id"]]
        assert target["id"] in {r.finding.id for r in result.rows}
        assert store.finding_events(target["id"])[-1]["comment"] == "risk acceptance expired"
    finally:
        store.close()
