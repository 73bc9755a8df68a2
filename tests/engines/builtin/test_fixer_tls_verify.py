"""tls_verify: verify=False is removed, `.verify = False` becomes True; variables are declined."""

from __future__ import annotations

import pytest

from agent.engines.builtin.fixers.tls_verify import TlsVerifyFixer
from tests.engines.builtin.helpers import make_finding

FIXER = TlsVerifyFixer()


@pytest.mark.parametrize(
    ("header", "before", "after"),
    [
        ("import requests\n", "r = requests.get(url, verify=False)", "r = requests.get(url)"),
        ("import requests\n", "r = requests.post(url, verify=False, timeout=5)", "r = requests.post(url, timeout=5)"),
        ("import requests\n", "r = requests.request('GET', url, timeout=5, verify=0)",
         "r = requests.request('GET', url, timeout=5)"),
        ("import requests\ns = requests.Session()\n", "r = s.get(url, verify=False)", "r = s.get(url)"),
        ("import httpx\n", "client = httpx.Client(verify=False)", "client = httpx.Client()"),
        ("from requests import get\n", "r = get(url, verify=False)", "r = get(url)"),
        ("import requests\ns = requests.Session()\n", "s.verify = False", "s.verify = True"),
    ],
)
def test_turns_verification_back_on(header: str, before: str, after: str) -> None:
    source = header + before + "  # note\n"
    result = FIXER.fix(source, make_finding(header.count("\n") + 1, "B501", (295,)))
    assert result.new_source == header + after + "  # note\n"


def test_multiline_trailing_comma_layout() -> None:
    source = "import requests\nrequests.get(\n    url,\n    verify=False,\n)\n"
    assert FIXER.fix(source, make_finding(2, "B501")).new_source == "import requests\nrequests.get(\n    url,\n)\n"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("requests.get(url, verify=settings.VERIFY)", "verify= is set from `settings.VERIFY`"),
        ("requests.get(url, verify='/etc/ca.pem')", "already verifies"),
        ("requests.get(url, verify=True)", "already verifies"),
        ("s.verify = flag", "not the constant False"),
        ("requests.get(url)", "no requests/httpx call with verify="),
    ],
)
def test_declines(line: str, reason: str) -> None:
    result = FIXER.fix("import requests\n" + line + "\n", make_finding(2, "B501"))
    assert result.new_source is None
    assert reason in result.reason


def test_unrelated_libraries_are_not_touched() -> None:
    source = "import mylib\nmylib.get(url, verify=False)\n"
    result = FIXER.fix(source, make_finding(2, "B501"))
    assert result.new_source is None
