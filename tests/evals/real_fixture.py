"""A real-format eval case built offline: a tiny src/-layout project packed as a local sdist in a cache folder,
so the format, the loader and the gates can be tested end to end without the network."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

VULNERABLE = 'def greet(name):\n    return "<b>" + name + "</b>"\n'
FIXED = 'import html\n\n\ndef greet(name):\n    return "<b>" + html.escape(name) + "</b>"\n'
PROJECT = {
    "demo-1.0/src/demolib/__init__.py": VULNERABLE,
    "demo-1.0/tests/test_demo.py": (
        "import sys\n\nimport pytest\n\nfrom demolib import greet\n\n\n"
        "def test_greets():\n    assert greet('Ann') == '<b>Ann</b>'\n\n\n"
        "@pytest.mark.skipif(sys.version_info > (3,), reason='Python 2 only')\n"
        "def test_python2_only():\n    assert False\n"
    ),
    # a real sdist may ship files that do not compile on Python 3 (G1 tolerates what already failed)
    "demo-1.0/legacy/py2_helper.py": 'print "hello"\n',
}
EXPLOIT = ("from demolib import greet\n\n\n"
           "def test_markup_in_a_name_is_escaped():\n    assert '<script>' not in greet('<script>alert(1)</script>')\n")
CASE_TOML = '''id = "demo-cve-2020-0001"
title = "demo 1.0: greet() does not escape the name (XSS)"
cwe = 79
label = "true_positive"
advisory = "CVE-2020-0001"
reason = "greet() puts the name into HTML unescaped."

[source]
pypi = "demo"
version = "1.0"
sha256 = "{sha}"
licence = "MIT"

[tests]
args = ["tests"]
pythonpath = ["src"]

[finding]
sarif = "finding.sarif"
rule = "CVE-2020-0001"
path = "src/demolib/__init__.py"
'''


def sdist_bytes(members: dict[str, str | bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            raw = data.encode() if isinstance(data, str) else data
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return buf.getvalue()


def sarif(rule: str, path: str, line: int) -> str:
    return json.dumps({"version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "advisory", "rules": [{"id": rule, "properties": {
            "tags": ["security", "external/cwe/cwe-79"], "security-severity": "6.1"}}]}},
        "results": [{"ruleId": rule, "level": "error", "message": {"text": "name reaches HTML unescaped"},
                     "locations": [{"physicalLocation": {"artifactLocation": {"uri": path},
                                                         "region": {"startLine": line}}}]}]}]})


def make_real_case(tmp_path: Path) -> tuple[Path, Path]:
    """(case folder, cache folder holding its sdist)."""
    sdist = sdist_bytes(PROJECT)
    folder = tmp_path / "cases" / "demo-cve-2020-0001"
    (folder / "hidden").mkdir(parents=True)
    (folder / "fix" / "src" / "demolib").mkdir(parents=True)
    (folder / "case.toml").write_text(CASE_TOML.format(sha=hashlib.sha256(sdist).hexdigest()))
    (folder / "finding.sarif").write_text(sarif("CVE-2020-0001", "src/demolib/__init__.py", 2))
    (folder / "hidden" / "test_exploit.py").write_text(EXPLOIT)
    (folder / "fix" / "src" / "demolib" / "__init__.py").write_text(FIXED)
    cache = tmp_path / "cache"
    (cache / "sdists").mkdir(parents=True)
    (cache / "sdists" / "demo-1.0.tar.gz").write_bytes(sdist)
    return folder, cache
