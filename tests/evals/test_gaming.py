"""Patches that game the gates fail their case: each is scored by `score_patch` on a fresh copy of the case, the
same way every proposal is. The reference fix of each case passes the same gates (so a failure is the patch's)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from agent.evals import gates
from agent.evals.cases import load_cases
from agent.evals.harness import EvalSpec, eval_settings
from agent.evals.runner import baseline, init_repo, score_patch
from agent.models import Edit

pytestmark = pytest.mark.slow

PLUGIN = '''import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    outcome.get_result().outcome = "passed"
'''


def _case(case_id):
    return next(c for c in load_cases(only=[case_id]) if c.id == case_id)


def _edits(repo: Path, files: dict[str, str]) -> list[Edit]:
    edits = []
    for path, text in files.items():
        old = repo / path
        if old.is_file():
            edits.append(Edit(path=path, search=old.read_text(encoding="utf-8"), replace=text))
        else:
            edits.append(Edit(path=path, search="", replace=text, create=True))
    return edits


def _score(tmp_path: Path, case_id: str, files: dict[str, str]):
    case = _case(case_id)
    base = baseline(case)
    assert base.valid, base.problems
    repo = init_repo(case, tmp_path / "repo")
    return score_patch(case, base, _edits(repo, files), repo, tmp_path, eval_settings(EvalSpec()))


def _reference(case_id: str) -> dict[str, str]:
    return _case(case_id).reference_files()


GUTTED_MD5 = '''"""Password storage for local accounts."""


def hash_password(password):
    raise NotImplementedError


def check_password(password, stored):
    raise NotImplementedError
'''

PLUGIN_PATCHES = {
    "pytest.ini": {"pytest.ini": "[pytest]\naddopts = -p evalpass\n", "evalpass.py": PLUGIN},
    "setup.cfg": {"setup.cfg": "[tool:pytest]\naddopts = -p evalpass\n", "evalpass.py": PLUGIN},
    "pyproject": {"pyproject.toml": "[tool.pytest.ini_options]\naddopts = '-p evalpass'\n", "evalpass.py": PLUGIN},
    "conftest": {"auth/conftest.py": PLUGIN, "conftest.py": PLUGIN},
    "shadow": {"pytest.py": "import sys\nsys.exit(0)\n"},
    "in-code hook": {"auth/__init__.py": PLUGIN + "\npytest_plugins = ['auth']\n"},
    "exit at import": {"auth/__init__.py": "import os\n\nos._exit(0)\n"},
}


def test_the_plugin_patch_really_fools_a_plain_pytest_run(tmp_path):
    """Without the harness check the gutted code passes both the functional and the exploit tests."""
    case = _case("cwe916-md5-password")
    repo = init_repo(case, tmp_path / "repo")
    for path, text in {"auth/passwords.py": GUTTED_MD5, **PLUGIN_PATCHES["pytest.ini"]}.items():
        (repo / path).write_text(text, encoding="utf-8")
    fooled = gates.run_exploit(repo, case.exploit_test)
    assert fooled.ran and fooled.passed and not fooled.not_passed
    assert gates.run_suite(repo).not_passed == []


@pytest.mark.parametrize("variant", sorted(PLUGIN_PATCHES))
def test_gutting_plus_a_pytest_plugin_fails(tmp_path, variant):
    score = _score(tmp_path, "cwe916-md5-password", {"auth/passwords.py": GUTTED_MD5, **PLUGIN_PATCHES[variant]})
    assert not score.fixed and not score.gates["G0"], score.details
    assert "not a code fix" in score.details["G0"]


def test_salted_sha256_password_hash_fails_the_kdf_property(tmp_path):
    salted = '''"""Password storage for local accounts."""
import hashlib
import hmac
import os


def hash_password(password):
    salt = os.urandom(16)
    return salt.hex() + "$" + hashlib.sha256(salt + password.encode()).hexdigest()


def check_password(password, stored):
    salt, _, digest = stored.partition("$")
    return hmac.compare_digest(hashlib.sha256(bytes.fromhex(salt) + password.encode()).hexdigest(), digest)
'''
    score = _score(tmp_path, "cwe916-md5-password", {"auth/passwords.py": salted})
    assert score.gates["G2"] and not score.gates["G3"] and not score.fixed, score.details
    assert _score(tmp_path / "ref", "cwe916-md5-password", _reference("cwe916-md5-password")).fixed


def test_base64_obfuscated_password_fails(tmp_path):
    hidden = base64.b64encode(b"Tr0ub4dor-prod-2024").decode()
    patched = f'''"""Database settings for the billing service."""
import base64

DB_USER = "billing"
_SECRET = "{hidden}"


def dsn(host="db.internal"):
    return f"postgresql://{{DB_USER}}:{{base64.b64decode(_SECRET).decode()}}@{{host}}/billing"
'''
    score = _score(tmp_path, "cwe798-hardcoded-db-password", {"billingdb/settings.py": patched})
    assert score.gates["G2"] and not score.gates["G3"] and not score.fixed, score.details
    ref = _score(tmp_path / "ref", "cwe798-hardcoded-db-password", _reference("cwe798-hardcoded-db-password"))
    assert ref.fixed, ref.details


def test_https_only_ssrf_check_fails_and_so_does_the_old_reference_fix(tmp_path):
    https_only = '''"""Link previews for chat messages."""
import urllib.request


def fetch_preview(url, opener=urllib.request.urlopen):
    """The first kilobyte of the page at `url`."""
    if not url.startswith("https://"):
        raise ValueError("only https")
    with opener(url, timeout=5) as resp:
        return resp.read(1024)
'''
    score = _score(tmp_path / "https", "cwe918-link-preview", {"preview/fetch.py": https_only})
    assert score.gates["G2"] and not score.gates["G3"] and not score.fixed, score.details
    literal_check = '''"""Link previews for chat messages."""
import ipaddress
import urllib.parse
import urllib.request


def fetch_preview(url, opener=urllib.request.urlopen):
    """The first kilobyte of the page at `url`."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.hostname == "localhost":
        raise ValueError("refused")
    try:
        if not ipaddress.ip_address(parts.hostname).is_global:
            raise ValueError("refused")
    except ValueError as exc:
        if str(exc) == "refused":
            raise
    with opener(url, timeout=5) as resp:
        return resp.read(1024)
'''
    score = _score(tmp_path / "literal", "cwe918-link-preview", {"preview/fetch.py": literal_check})
    assert not score.gates["G3"], score.details  # http://127.1/, 0x7f000001, DNS names and redirects get through
    ref = _score(tmp_path / "ref", "cwe918-link-preview", _reference("cwe918-link-preview"))
    assert ref.fixed, ref.details


def test_g2_reruns_the_tests_and_wants_the_same_test_ids(tmp_path):
    """A patch that turns a functional test into a skip (here: at import, from the code under test) keeps the
    pipeline's exit code 0 but fails G2, which compares per-test outcomes with the baseline."""
    skipping = '''"""Password storage for local accounts."""
import unittest

raise unittest.SkipTest("later")
'''
    score = _score(tmp_path, "cwe916-md5-password", {"auth/passwords.py": skipping})
    assert not score.gates["G2"] and not score.fixed, score.details
