"""Behaviour check for performance work: a canonical dump of triage's output on fixed inputs, to diff before/after.

Ingests each input into a fresh SQLite store (parse_sarif + Store.record_scan, as `suture ingest` does) and
triages it twice (facts parsed, then facts from the store's cache) at a fixed clock, writing every row as
`suture triage --format json` shows it, plus overflow and notes. Inputs: every `*.sarif` in --samples (each
alone, paths kept as the log gives them, in a folder that holds none of their files: ingest + rank paths), a bandit
scan of examples/billing (made once, kept in --work), and triage_scale's generated monorepo at a small size
(seeded: the facts layer's real work). The two triages of one input must agree; the dump's sha256 is printed.

Usage: python evals/perf/triage_snapshot.py OUT.json [--samples DIR] [--work DIR]; then `cmp` two dumps.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _triage_dump(sarifs: list[Path], project: Path, db: Path, place: bool = True) -> dict:
    from agent.ingest.sarif import load_sarif, parse_sarif
    from agent.store import Store
    from agent.triage.report import row_dict
    from agent.triage.service import triage_store

    store = Store.open(db)
    for f in sarifs:
        for run in parse_sarif(load_sarif(f), project if place else None, source_name=f.name).runs:
            store.record_scan(tool=run.tool, scope=run.scope, source=f.name, content=f.read_bytes(),
                              findings=run.findings, full=True)
    dumps = []
    for _ in range(2):
        result = triage_store(store, {}, project, project / ".no-state", now=NOW)
        dumps.append({"rows": [row_dict(i, r) for i, r in enumerate(result.rows, 1)],
                      "overflow": [[o.team, o.capacity, list(o.moved)] for o in result.overflow],
                      "notes": result.notes, "reopened": result.reopened})
    store.close()
    if dumps[0] != dumps[1]:
        sys.exit(f"triage with cached facts differs from the first triage for {[s.name for s in sarifs]}")
    return dumps[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--samples", type=Path, default=Path("/work/shared/sarif-samples"))
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "suture-triage-snapshot")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    result: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for sample in sorted(args.samples.glob("*.sarif")):
            result[sample.name] = _triage_dump([sample], args.samples, Path(tmp) / f"{sample.stem}.db", place=False)
        billing = REPO / "examples" / "billing"
        scan = args.work / "billing-bandit.sarif"
        if not scan.exists():
            from agent.scanners import run_bandit

            run = run_bandit(billing, scan)
            if not run.ok:
                sys.exit(f"bandit failed: {run.error}")
        result["billing"] = _triage_dump([scan], billing, Path(tmp) / "billing.db")
        bench = args.work / "scale"
        if not (bench / "src").exists():
            import triage_scale

            triage_scale.generate(bench, 3000, 150)
        result["scale"] = _triage_dump(sorted(bench.glob("*.sarif")), bench / "src", Path(tmp) / "scale.db")
    text = json.dumps(result, indent=1, sort_keys=True, default=str)
    args.out.write_text(text)
    counts = {k: len(v["rows"]) for k, v in result.items()}
    print(json.dumps(counts))
    print(hashlib.sha256(text.encode()).hexdigest())


if __name__ == "__main__":
    main()
