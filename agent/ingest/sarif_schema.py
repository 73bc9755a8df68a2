"""Schema warnings for a SARIF log: violations of the OASIS SARIF 2.1.0 schema, one text line each.

Handles any decoded log (what `load_sarif` returns, streamed or not). The check is advisory: `parse_sarif` reads
what it can either way and defends itself against whatever a log holds, so a warning never blocks an ingest.

It is also the costliest step of ingesting a big log: jsonschema spends ~0.2-0.3 ms per result (a 20,000-result
run took 3-6 s, more than parsing and storing it). So every part of a log is checked whole except the results of
a run that has more than `SAMPLE_RESULTS` of them: of those, an evenly spaced sample of `SAMPLE_RESULTS` (the
first and the last included) is checked, problems are reported at the results' real indexes, and a line says how
many were checked. A tool that writes malformed results writes them all alike, which the sample catches; a lone
bad result among thousands may go unreported, and the line says so rather than implying the log is clean.
The results of a streamed log (`sarif_stream`, a log too large to hold) are not checked at all; a line says so.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from jsonschema import Draft4Validator

from agent.ingest import sarif_stream

SCHEMA_PATH = Path(__file__).parent / "schema" / "sarif-schema-2.1.0.json"
SAMPLE_RESULTS = 256  # results checked per run at most (~50-80 ms of jsonschema)


@functools.lru_cache(maxsize=1)
def _validator() -> Draft4Validator:
    return Draft4Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def schema_problems(log: dict, limit: int = 20) -> list[str]:
    """Violations of the OASIS SARIF 2.1.0 schema, one line each ("at <json path>: <problem>"), at most `limit`
    plus a count of the rest, after a line per run whose results were sampled (see the module docstring) and a
    line when a streamed log's results were left out (these lines are not counted in `limit`). They are warnings:
    parse_sarif still reads what it can."""
    log, streamed = sarif_stream.schema_view(log)
    notes: list[str] = ["results not checked (a log this large is streamed)"] if streamed else []
    log, picks = _sampled(log)
    for run_index, (picked, total) in sorted(picks.items()):
        notes.append(f"results checked: {len(picked)} of {total} in run {run_index} (evenly spaced; a large run's "
                     "results are sampled)")
    problems: list[str] = []
    total = 0
    for error in _validator().iter_errors(log):
        total += 1
        if len(problems) < limit:
            where = "/".join(str(part) for part in _real_path(list(error.absolute_path), picks)) or "(top level)"
            message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
            problems.append(f"at {where}: {message}")
    if total > len(problems):
        problems.append(f"... and {total - len(problems)} more schema problems")
    return notes + problems


def sample_indexes(count: int, size: int | None = None) -> list[int]:
    """`size` (default SAMPLE_RESULTS) indexes spread evenly over range(count), the first and the last included
    (all of them when count <= size)."""
    size = SAMPLE_RESULTS if size is None else size
    if count <= size:
        return list(range(count))
    if size <= 1:
        return [0][:size]
    return sorted({(count - 1) * i // (size - 1) for i in range(size)})


def _sampled(log: dict) -> tuple[dict, dict[int, tuple[list[int], int]]]:
    """`log`, or a shallow copy whose runs with more than SAMPLE_RESULTS results hold only a sample of them; and
    per sampled run, (the sample's indexes into its results, how many results it has)."""
    runs = log.get("runs")
    if not isinstance(runs, list):
        return log, {}
    picks: dict[int, tuple[list[int], int]] = {}
    copies = list(runs)
    for index, run in enumerate(runs):
        results = run.get("results") if isinstance(run, dict) else None
        if isinstance(results, list) and len(results) > SAMPLE_RESULTS:
            picked = sample_indexes(len(results))
            picks[index] = (picked, len(results))
            copies[index] = {**run, "results": [results[i] for i in picked]}
    return ({**log, "runs": copies}, picks) if picks else (log, picks)


def _real_path(path: list[object], picks: dict[int, tuple[list[int], int]]) -> list[object]:
    """An error's JSON path in the sampled view, with a sampled result's index put back to its index in the log."""
    if len(path) >= 4 and path[0] == "runs" and path[2] == "results" and path[1] in picks \
            and isinstance(path[3], int):
        path[3] = picks[path[1]][0][path[3]]
    return path
