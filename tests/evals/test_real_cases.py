"""Real cases: the case format (advisory, pinned sdist, the project's own tests) and the offline half of the
loader — a pinned sdist in the cache is checked and unpacked safely; nothing here touches the network."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from agent.evals.cases import SPLITS, CaseError, load_case, load_cases
from agent.evals.real import prepare_case

CASE_TOML = '''id = "demo-cve"
title = "demo"
cwe = 79
label = "true_positive"
advisory = "{advisory}"
reason = "demo reason"

[source]
pypi = "demo"
version = "1.0"
sha256 = "{sha}"
licence = "MIT"

[tests]
args = ["tests/test_demo.py"]

[finding]
sarif = "finding.sarif"
rule = "CVE-2020-0001"
path = "demo.py"
'''


def _sdist(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _case(tmp_path: Path, sdist: bytes, advisory: str = "CVE-2020-0001", sha: str | None = None):
    folder = tmp_path / "case"
    folder.mkdir()
    (folder / "finding.sarif").write_text("{}")
    (folder / "case.toml").write_text(CASE_TOML.format(advisory=advisory,
                                                       sha=sha or hashlib.sha256(sdist).hexdigest()))
    cache = tmp_path / "cache"
    (cache / "sdists").mkdir(parents=True)
    (cache / "sdists" / "demo-1.0.tar.gz").write_bytes(sdist)
    return folder, cache


def test_the_real_split_has_cases_with_advisories_and_pinned_sources():
    cases = load_cases(SPLITS["real"])
    assert cases
    for case in cases:
        assert case.advisory and case.source and len(case.source["sha256"]) == 64, case.id
        assert case.source.get("licence") and (case.root / "PROVENANCE.md").is_file(), case.id
        assert case.exploit_test.is_file() and case.fix_dir.is_dir() and not (case.root / "repo").exists()


def test_a_cached_pinned_sdist_is_unpacked_as_the_case_project(tmp_path):
    sdist = _sdist({"demo-1.0/demo.py": b"X = 1\n", "demo-1.0/tests/test_demo.py": b"def test_x():\n    pass\n"})
    folder, cache = _case(tmp_path, sdist)
    case = prepare_case(load_case(folder), cache, fetch=False)
    assert (case.repo / "demo.py").read_text() == "X = 1\n" and case.test_args == ("tests/test_demo.py",)
    assert case.advisory == "CVE-2020-0001"
    again = prepare_case(load_case(folder), cache, fetch=False)  # unpacked once, then reused
    assert again.repo == case.repo


def test_a_sdist_that_does_not_match_its_pin_is_refused(tmp_path):
    sdist = _sdist({"demo-1.0/demo.py": b"X = 1\n"})
    folder, cache = _case(tmp_path, sdist, sha="0" * 64)
    with pytest.raises(CaseError, match="not in"):
        prepare_case(load_case(folder), cache, fetch=False)


def test_a_sdist_that_escapes_its_folder_is_refused(tmp_path):
    sdist = _sdist({"demo-1.0/demo.py": b"X = 1\n", "demo-1.0/../../escaped.txt": b"owned"})
    folder, cache = _case(tmp_path, sdist)
    with pytest.raises(CaseError, match="cannot unpack"):
        prepare_case(load_case(folder), cache, fetch=False)
    assert not list(tmp_path.rglob("escaped.txt"))


@pytest.mark.parametrize("advisory", ["", "CVE-20-1", "GHSA-1111-2222-3333", "see issue 12"])
def test_a_real_case_needs_a_cve_or_ghsa_id(tmp_path, advisory):
    folder, _ = _case(tmp_path, _sdist({"demo-1.0/demo.py": b""}), advisory=advisory)
    with pytest.raises(CaseError, match="CVE or GHSA"):
        load_case(folder)
