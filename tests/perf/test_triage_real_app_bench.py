"""evals/perf/triage_real_app.py on two small installed packages: real code copied into a git repo, scanned by
bandit, ingested and ranked as the CLI runs them; it reports both times and their ratio. No timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "evals" / "perf" / "triage_real_app.py"


def test_real_app_benchmark_ingests_and_ranks_a_real_scan(tmp_path) -> None:
    keep = tmp_path / "bench"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--packages", "itsdangerous", "yaml", "--keep", str(keep)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["packages"] == ["itsdangerous", "yaml"] and report["logs"] == ["bandit.sarif"]
    assert 0 < report["groups"] == report["rows"] <= report["findings"]  # one JSON row per group
    assert report["files_ranked"] > 0  # flagged production files were read and parsed
    for name in ("ingest", "rank", "facts", "score", "rerank"):
        assert isinstance(report[name], float) and report[name] >= 0, name
    assert report["rank_over_ingest"] == report["rank"] / report["ingest"]
    cold = report["cold"]  # the same in a fresh store without ingest's warm-up: the same work ranked
    assert (cold["findings"], cold["groups"], cold["files_ranked"]) == (report["findings"], report["groups"],
                                                                        report["files_ranked"])
    assert "without the warm-up" in proc.stdout
    assert (keep / "app" / ".git").is_dir() and (keep / "app" / "yaml" / "__init__.py").is_file()
    assert "rank / ingest" in proc.stdout
