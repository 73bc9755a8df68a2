"""Each fixer's output makes real bandit stop reporting the rule it was fixing (one bandit run before, one after)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent.engines.builtin.fixers import FIXERS, fixer_named
from agent.models import Finding, Location

SAMPLES: dict[str, tuple[str, str]] = {
    # fixer name: (bandit rule id, vulnerable source)
    "shell_command": ("B602", "import subprocess\n\n\ndef ls(d):\n    subprocess.run(f'ls -l {d}', shell=True)\n"),
    "yaml_load": ("B506", "import yaml\n\n\ndef read(s):\n    return yaml.load(s, Loader=yaml.Loader)\n"),
    "tar_extract": ("B202", ("import tarfile\n\n\ndef unpack(p, d):\n    with tarfile.open(p) as t:\n"
                             "        t.extractall(d)\n")),
    "insecure_random": ("B311", "import random\n\n\ndef make_token():\n    return random.getrandbits(128)\n"),
    "weak_hash": ("B324", "import hashlib\n\n\ndef etag(body):\n    return hashlib.md5(body).hexdigest()\n"),
    "sql_parameterize": ("B608", ("import sqlite3\n\n\ndef find(conn, name):\n    return conn.execute(\n"
                                  "        f\"SELECT id FROM users WHERE name = '{name}'\"\n    ).fetchall()\n")),
    "jinja2_autoescape": ("B701", ("import jinja2\n\n\ndef env():\n    return jinja2.Environment(\n"
                                   "        loader=jinja2.FileSystemLoader('templates'))\n")),
    "requests_timeout": ("B113", "import requests\n\n\ndef fetch(url):\n    return requests.get(url).json()\n"),
    "temp_file": ("B306", ("import tempfile\n\n\ndef scratch():\n    path = tempfile.mktemp()\n"
                           "    return open(path, 'w')\n")),
    "hardcoded_secret": ("B105", "import os\n\nDB_PASSWORD = 'Xk2pq9Lr7vB4'\n"),
    "xml_parser": ("B314", "import xml.etree.ElementTree as ET\n\n\ndef read(data):\n    return ET.fromstring(data)\n"),
    "hmac_signature": ("B324", ("import hashlib\n\n\ndef sign(key, payload):\n"
                                "    return hashlib.md5(key + payload).hexdigest()\n")),
    "tls_verify": ("B501", ("import requests\n\n\ndef fetch(url):\n    return requests.get(url, timeout=5, "
                            "verify=False)\n")),
}


def _bandit(directory: Path) -> list[dict]:
    completed = subprocess.run(
        [sys.executable, "-m", "bandit", "-q", "-r", "-f", "json", str(directory)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert completed.returncode in (0, 1), completed.stderr
    return json.loads(completed.stdout)["results"]


@pytest.fixture(scope="module")
def bandit_runs(tmp_path_factory) -> dict[str, tuple[list[dict], list[dict], str]]:
    before_dir, after_dir = tmp_path_factory.mktemp("before"), tmp_path_factory.mktemp("after")
    for name, (_, source) in SAMPLES.items():
        (before_dir / f"{name}.py").write_text(source)
    before = _bandit(before_dir)
    reasons: dict[str, str] = {}
    for name, (rule, source) in SAMPLES.items():
        hits = [r for r in before if Path(r["filename"]).stem == name and r["test_id"] == rule]
        assert hits, f"bandit did not report {rule} in the {name} sample"
        finding = Finding(id=name, tool="bandit", rule_id=rule, message=hits[0]["issue_text"],
                          cwe=[hits[0]["issue_cwe"]["id"]],
                          location=Location(path=f"{name}.py", start_line=hits[0]["line_number"]))
        result = fixer_named(name).fix(source, finding)
        assert result.new_source is not None, result.reason
        (after_dir / f"{name}.py").write_text(result.new_source)
        reasons[name] = result.reason
    after = _bandit(after_dir)
    return {name: (
        [r for r in before if Path(r["filename"]).stem == name],
        [r for r in after if Path(r["filename"]).stem == name],
        reasons[name],
    ) for name in SAMPLES}


def test_every_fixer_has_a_bandit_sample() -> None:
    assert {f.name for f in FIXERS} == set(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_rule_disappears_after_fix(bandit_runs, name: str) -> None:
    rule = SAMPLES[name][0]
    before, after, _ = bandit_runs[name]
    assert rule in {r["test_id"] for r in before}
    assert rule not in {r["test_id"] for r in after}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_fix_introduces_no_new_bandit_rule(bandit_runs, name: str) -> None:
    before, after, _ = bandit_runs[name]
    # B404/B603/B607 (import subprocess; subprocess without a shell; program found via PATH) are the low-severity
    # notes bandit gives every argv-style call: expected after a shell fix, not a new weakness
    introduced = {r["test_id"] for r in after} - {r["test_id"] for r in before} - {"B404", "B603", "B607"}
    assert introduced == set()
