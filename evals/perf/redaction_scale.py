"""Benchmark: secret redaction time against text length on hostile shapes (long unbroken words).

Each shape is repeated into one word of 10k, 20k, 100k and 200k characters, with a real secret assignment after
it (so the patterns also have to find something). Linear time means the 200k/10k ratio stays near 20; the old
patterns re-scanned a word from every start position (10k: 4.7 s, 20k: 21 s, 100k: > 300 s).

Usage: python evals/perf/redaction_scale.py [--sizes 10000,20000,100000,200000]. Prints a table and JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from agent.context.redact import Redactor

SHAPES = ["a", "_", "a1", "a.", "a-", "a$", "eyJ-", "eyJabcde.", "a://", "x: b, ", "aaaa='",
          "-----BEGIN PRIVATE KEY-----", "sk_live_a-", " "]


def time_one(unit: str, size: int) -> float:
    word = (unit * (size // len(unit) + 1))[:size]
    text = f'{word}\npassword = "S3cr3t-Vq9Lm2Xw"\n'
    start = time.perf_counter()
    result = Redactor().redact(text)
    elapsed = time.perf_counter() - start
    assert "S3cr3t-Vq9Lm2Xw" not in result.text, unit
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,20000,100000,200000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    rows = []
    for unit in SHAPES:
        times = [time_one(unit, size) for size in sizes]
        rows.append({"shape": unit, "seconds": dict(zip(map(str, sizes), times)),
                     "ratio_last_first": times[-1] / max(times[0], 1e-6)})
    print(f"{'shape':30} " + " ".join(f"{s:>9}" for s in sizes) + f"  ratio {sizes[-1]}/{sizes[0]} "
          f"(linear = {sizes[-1] / sizes[0]:.0f})")
    for row in rows:
        print(f"{row['shape']!r:30} " + " ".join(f"{t:9.3f}" for t in row["seconds"].values())
              + f"  {row['ratio_last_first']:.1f}")
    worst = max(rows, key=lambda r: r["seconds"][str(sizes[-1])])
    print(json.dumps({"sizes": sizes, "rows": rows, "worst_shape": worst["shape"],
                      "worst_seconds_at_max": worst["seconds"][str(sizes[-1])]}, indent=None))


if __name__ == "__main__":
    main()
