"""Exploitability feeds from local files: FIRST EPSS scores and the CISA KEV catalog. Never the network.

Handles the files as their publishers ship them:

* EPSS: `epss_scores-YYYY-MM-DD.csv.gz` (or the uncompressed .csv) — an optional first line
  `#model_version:v2025.03.14,score_date:2025-05-18T00:00:00+0000`, a header `cve,epss,percentile`, then one
  row per CVE with probabilities in [0, 1].
* KEV: `known_exploited_vulnerabilities.json` — an object with `vulnerabilities: [{"cveID": ..., "dateAdded":
  ..., "knownRansomwareCampaignUse": ..., ...}]`.

`import_feed` reads and checks the whole file first (a file of the wrong shape is a `FeedError` naming the file,
line and field) and only then replaces `.suture/feeds/<kind>.json` atomically, so a bad file changes nothing.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from agent.errors import SutureError

CVE_RE = re.compile(r"^CVE-\d{4}-\d{4,}$")


class FeedError(SutureError):
    """A feed file that is not what it claims to be."""


@dataclass
class Feeds:
    epss: dict[str, tuple[float, float]] = field(default_factory=dict)  # CVE -> (probability, percentile)
    kev: dict[str, dict] = field(default_factory=dict)  # CVE -> {dateAdded, ransomware, name}
    epss_date: str | None = None
    kev_version: str | None = None


def _open_text(path: Path) -> io.TextIOBase:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise FeedError(f"{path}: not a readable gzip file: {exc}") from None
    try:
        return io.StringIO(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise FeedError(f"{path}: not UTF-8 text: {exc}") from None


def parse_epss(path: Path) -> dict:
    """The EPSS CSV as {"score_date", "model_version", "scores": {cve: [epss, percentile]}}."""
    text = _open_text(path)
    meta: dict[str, str] = {}
    lines = text.read().splitlines()
    start = 0
    if lines and lines[0].startswith("#"):
        for part in lines[0].lstrip("#").split(","):
            key, _, value = part.partition(":")
            meta[key.strip()] = value.strip()
        start = 1
    reader = csv.reader(lines[start:])
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header[:3]] != ["cve", "epss", "percentile"]:
        raise FeedError(f"{path}:{start + 1}: header: expected 'cve,epss,percentile' (an EPSS scores CSV), "
                        f"got {','.join(header or [])[:80]!r}")
    scores: dict[str, list[float]] = {}
    for offset, row in enumerate(reader):
        line = start + 2 + offset
        if not row:
            continue
        if len(row) < 3:
            raise FeedError(f"{path}:{line}: row: expected 3 columns (cve,epss,percentile), got {len(row)}")
        cve = row[0].strip().upper()
        if not CVE_RE.match(cve):
            raise FeedError(f"{path}:{line}: cve: {row[0]!r} is not a CVE id")
        values: list[float] = []
        for name, cell in (("epss", row[1]), ("percentile", row[2])):
            try:
                number = float(cell)
            except ValueError:
                raise FeedError(f"{path}:{line}: {name}: {cell!r} is not a number") from None
            if not (math.isfinite(number) and 0.0 <= number <= 1.0):
                raise FeedError(f"{path}:{line}: {name}: {cell!r} is not a probability between 0 and 1")
            values.append(number)
        scores[cve] = values
    if not scores:
        raise FeedError(f"{path}: no EPSS rows after the header")
    return {"score_date": meta.get("score_date"), "model_version": meta.get("model_version"), "scores": scores}


def parse_kev(path: Path) -> dict:
    """The KEV catalog as {"catalogVersion", "entries": {cve: {dateAdded, ransomware, name}}}."""
    text = _open_text(path).read()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeedError(f"{path}:{exc.lineno}: not JSON: {exc.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("vulnerabilities"), list):
        raise FeedError(f"{path}:1: vulnerabilities: expected the CISA KEV catalog, an object with a "
                        "'vulnerabilities' list")
    entries: dict[str, dict] = {}
    for index, item in enumerate(data["vulnerabilities"]):
        cve = item.get("cveID") if isinstance(item, dict) else None
        if not isinstance(cve, str) or not CVE_RE.match(cve.strip().upper()):
            line = _json_line(text, cve if isinstance(cve, str) else None)
            raise FeedError(f"{path}:{line}: vulnerabilities[{index}].cveID: expected a CVE id, got {cve!r}")
        entries[cve.strip().upper()] = {
            "dateAdded": item.get("dateAdded"), "name": item.get("vulnerabilityName"),
            "ransomware": str(item.get("knownRansomwareCampaignUse", "")).lower() == "known",
        }
    return {"catalogVersion": data.get("catalogVersion"), "entries": entries}


def _json_line(text: str, needle: str | None) -> int:
    if needle and needle in text:
        return text[: text.index(needle)].count("\n") + 1
    return 1


def feeds_dir(state_dir: Path) -> Path:
    return state_dir / "feeds"


def parse_feed(path: Path) -> tuple[str, dict, int]:
    """(kind, normalized data, number of CVEs) for an EPSS CSV(.gz) or a KEV JSON; checks the whole file."""
    if not path.is_file():
        raise FeedError(f"{path}: no such file")
    head = _open_text(path).read(2048).lstrip()
    if head.startswith("{") or path.name.lower().endswith(".json"):
        data = parse_kev(path)
        return "kev", data, len(data["entries"])
    if head.startswith("#") or head.lower().startswith("cve,") or ".csv" in path.name.lower():
        data = parse_epss(path)
        return "epss", data, len(data["scores"])
    raise FeedError(f"{path}:1: neither an EPSS CSV (cve,epss,percentile) nor a KEV JSON catalog")


def import_feeds(paths: list[Path], state_dir: Path) -> list[tuple[str, str, int]]:
    """Import EPSS / KEV files into `.suture/feeds/`. Every file is parsed before any is written, and each is
    replaced atomically, so one bad file changes nothing. Returns (file, kind, number of CVEs) per file."""
    parsed = [(path, *parse_feed(path)) for path in paths]
    target_dir = feeds_dir(state_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    for path, kind, data, _ in parsed:
        target = target_dir / f"{kind}.json"
        tmp = target.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({**data, "source": str(path)}), encoding="utf-8")
        os.replace(tmp, target)
    return [(str(path), kind, count) for path, kind, _, count in parsed]


def load_feeds(state_dir: Path, wanted: set[str] | None = None) -> Feeds:
    """Imported feeds, restricted to the CVEs in `wanted` when given (keeps memory small)."""
    feeds = Feeds()
    folder = feeds_dir(state_dir)
    epss_file, kev_file = folder / "epss.json", folder / "kev.json"
    if epss_file.is_file():
        data = json.loads(epss_file.read_text(encoding="utf-8"))
        feeds.epss_date = data.get("score_date")
        feeds.epss = {cve: (v[0], v[1]) for cve, v in data["scores"].items() if wanted is None or cve in wanted}
    if kev_file.is_file():
        data = json.loads(kev_file.read_text(encoding="utf-8"))
        feeds.kev_version = data.get("catalogVersion")
        feeds.kev = {cve: v for cve, v in data["entries"].items() if wanted is None or cve in wanted}
    return feeds
