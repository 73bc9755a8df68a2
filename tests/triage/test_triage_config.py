"""Triage config: every bad input is one error naming the file, the line and the field."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from agent.triage.config import DEFAULT_SLA_DAYS, TriageConfigError, parse_triage_config

GOOD = """\
[triage]
default_team = "platform"

[triage.teams.payments]
capacity = 2

[triage.teams.platform]

[[triage.assets]]
name = "checkout"
paths = ["billing/**"]
tier = 1
internet_facing = true
data = "restricted"
team = "payments"

[triage.sla]
act = [3, 7, 14, 30]

[triage.cvss]
"CVE-2021-44228" = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"
"""


def load(tmp_path: Path, text: str):
    (tmp_path / "suture.toml").write_text(text)
    return parse_triage_config(tomllib.loads(text).get("triage", {}), tmp_path)


def test_good_config(tmp_path):
    config = load(tmp_path, GOOD)
    assert config.capacity == {"payments": 2, "platform": None}
    assert config.assets[0].matches("billing/api/x.py") and not config.assets[0].matches("lib/billing.py")
    assert config.sla_days["act"] == (3, 7, 14, 30) and config.sla_days["track"] == DEFAULT_SLA_DAYS["track"]
    assert "CVE-2021-44228" in config.cvss


@pytest.mark.parametrize(("replace", "by", "line", "field", "words"), [
    ('paths = ["billing/**"]', 'paths = ["billing/[abc"]', 11, "triage.assets[0].paths", "glob"),
    ('team = "payments"', 'team = "paymnets"', 15, "triage.assets[0].team", "unknown team"),
    ("capacity = 2", "capacity = -1", 5, "triage.teams.payments.capacity", "above 0"),
    ("act = [3, 7, 14, 30]", "act = [3, 7]", 18, "triage.sla.act", "four"),
    ("AV:N/AC:L", "AV:Z/AC:L", 21, "triage.cvss.CVE-2021-44228", "malformed CVSS"),
    ("tier = 1", "tier = 7", 12, "triage.assets[0].tier", "tier"),
    ('data = "restricted"', 'data = "secret-ish"', 14, "triage.assets[0].data", "data must be"),
])
def test_bad_input_names_file_line_and_field(tmp_path, replace, by, line, field, words):
    assert replace in GOOD
    with pytest.raises(TriageConfigError) as err:
        load(tmp_path, GOOD.replace(replace, by))
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'suture.toml'}:{line}: {field}"), message
    assert words in message


def test_unknown_key_and_weight_range(tmp_path):
    with pytest.raises(TriageConfigError, match=r"triage\.weights\.sevrity: unknown key"):
        load(tmp_path, "[triage.weights]\nsevrity = 2\n")
    with pytest.raises(TriageConfigError, match=r"suture\.toml:2: triage\.weights\.severity: weight must be"):
        load(tmp_path, "[triage.weights]\nseverity = -1\n")


def test_pyproject_prefix(tmp_path):
    text = '[tool.suture.triage.teams.a]\ncapacity = 0\n'
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(TriageConfigError, match=r"pyproject\.toml:2: tool\.suture\.triage\.teams\.a\.capacity"):
        parse_triage_config(tomllib.loads(text)["tool"]["suture"]["triage"], tmp_path)
