"""EPSS / KEV import (real file shapes; wrong shapes change nothing) and entry-point detection."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from agent.triage.feeds import FeedError, import_feeds, load_feeds
from agent.triage.reachability import analyse_source

EPSS = "#model_version:v2025.03.14,score_date:2025-05-18T00:00:00+0000\ncve,epss,percentile\n" \
       "CVE-2021-44228,0.94358,0.99960\nCVE-1999-0001,0.0046,0.7385\n"
KEV = {"title": "CISA Catalog of Known Exploited Vulnerabilities", "catalogVersion": "2025.05.16",
       "count": 1, "vulnerabilities": [{"cveID": "CVE-2021-44228", "vendorProject": "Apache", "product": "Log4j2",
                                        "vulnerabilityName": "Log4Shell", "dateAdded": "2021-12-10",
                                        "knownRansomwareCampaignUse": "Known", "cwes": ["CWE-917"]}]}


def write_feeds(tmp_path: Path) -> tuple[Path, Path]:
    epss = tmp_path / "epss_scores-2025-05-18.csv.gz"
    epss.write_bytes(gzip.compress(EPSS.encode()))
    kev = tmp_path / "known_exploited_vulnerabilities.json"
    kev.write_text(json.dumps(KEV, indent=2))
    return epss, kev


def test_import_and_load(tmp_path):
    epss, kev = write_feeds(tmp_path)
    state = tmp_path / ".suture"
    assert [(k, n) for _, k, n in import_feeds([epss, kev], state)] == [("epss", 2), ("kev", 1)]
    feeds = load_feeds(state, {"CVE-2021-44228"})
    assert feeds.epss == {"CVE-2021-44228": (0.94358, 0.9996)}
    assert feeds.kev["CVE-2021-44228"]["ransomware"] is True
    assert feeds.epss_date.startswith("2025-05-18")


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("epss.csv", "cve,score\nCVE-2021-1,0.1\n", r"epss\.csv:1: header: expected 'cve,epss,percentile'"),
    ("epss.csv", EPSS.replace("0.0046", "1.7"), r"epss\.csv:4: epss: '1.7' is not a probability"),
    ("epss.csv", EPSS.replace("CVE-1999-0001", "GHSA-xxxx"), r"epss\.csv:4: cve: 'GHSA-xxxx' is not a CVE id"),
    ("kev.json", json.dumps({"vulns": []}), r"kev\.json:1: vulnerabilities: expected the CISA KEV catalog"),
    ("kev.json", json.dumps({"vulnerabilities": [{"cveID": "CVE-2021-1234"}, {"cve": "x"}]}, indent=1),
     r"kev\.json:\d+: vulnerabilities\[1\]\.cveID: expected a CVE id"),
])
def test_wrong_shape_is_refused_and_changes_nothing(tmp_path, name, content, expected):
    epss, kev = write_feeds(tmp_path)
    state = tmp_path / ".suture"
    import_feeds([epss, kev], state)
    before = {p.name: p.read_bytes() for p in (state / "feeds").iterdir()}
    bad = tmp_path / name
    bad.write_text(content)
    with pytest.raises(FeedError, match=expected):
        import_feeds([kev, bad], state)  # the good file first: still nothing may change
    assert {p.name: p.read_bytes() for p in (state / "feeds").iterdir()} == before


def test_entry_points_by_structure():
    source = '''
import click
from fastapi import APIRouter
router = APIRouter()

@router.post("/items")
async def create(item):
    return run(item)

class Orders(MethodView):
    def get(self, oid):
        return oid

@click.command()
def cli():
    pass

def handler(event, context):
    return 1

def helper():
    return 2
'''
    facts = analyse_source(source)
    kinds = {ep.name: ep.kind for _, _, ep in facts.spans}
    assert kinds == {"create": "web handler", "Orders.get": "web handler", "cli": "CLI command",
                     "handler": "serverless handler"}
    assert facts.entry_point_at(8).name == "create"
    assert facts.entry_point_at(22).kind == "script"  # helper(): the module builds a CLI with click
    plain = analyse_source("def f():\n    return 1\n")
    assert plain.entry_point_at(2) is None
    main = analyse_source("def f():\n    return 1\n\nif __name__ == '__main__':\n    f()\n")
    assert main.entry_point_at(2).kind == "script"
