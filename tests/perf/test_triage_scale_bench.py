"""evals/perf/triage_scale.py at a tiny size, as CI runs it: it writes the real source files its findings point
at, reads and parses them, and reports its numbers. No timing is asserted (the numbers are the benchmark's)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "evals" / "perf" / "triage_scale.py"


def test_triage_scale_runs_small_on_real_files_and_reports_parse_time_apart(tmp_path) -> None:
    keep = tmp_path / "bench"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--findings", "400", "--files", "24", "--keep", str(keep)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    pipeline = report["pipeline"]
    for name in ("seconds", "ingest", "rank", "facts", "score", "retriage", "peak_rss_mib", "ingest_warm_start",
                 "ingest_warm_wait"):
        assert isinstance(pipeline[name], float) and pipeline[name] >= 0, name
    assert report["baseline"]["results"] == 400 and pipeline["skipped"] == 0  # every result placed in a real file
    assert 0 < pipeline["findings"] <= 400
    sources = sorted(keep.joinpath("src").rglob("*.py"))
    assert len(sources) == 24 and all(len(p.read_text().splitlines()) >= 70 for p in sources)
    # the facts layer did real work: production files read and parsed once, then served from the store's cache
    # (24 files are too few for ingest's warm-up workers: the first triage parses them)
    assert pipeline["ingest_files_warmed"] == 0 and 0 < pipeline["files_read"] == pipeline["files_parsed"] <= 24
    assert pipeline["retriage_files_parsed"] == 0 and pipeline["retriage_files_cached"] == pipeline["files_read"]
    assert "source facts" in proc.stdout and "rank / ingest" in proc.stdout
