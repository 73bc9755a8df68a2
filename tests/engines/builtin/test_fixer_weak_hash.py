"""weak_hash: non-security MD5/SHA-1 is marked, security uses move to SHA-256, passwords are declined."""

from __future__ import annotations

import hashlib

import pytest

from agent.engines.builtin.fixers.weak_hash import WeakHashFixer
from tests.engines.builtin.helpers import load_function, make_finding

FIXER = WeakHashFixer()


def fix_line(line: str, header: str = "import hashlib\n"):
    source = header + line + "\n"
    return FIXER.fix(source, make_finding(header.count("\n") + 1, "B324", (327,))), source


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("etag = hashlib.md5(body).hexdigest()", "etag = hashlib.md5(body, usedforsecurity=False).hexdigest()"),
        ("cache_key = hashlib.sha1(url.encode()).hexdigest()",
         "cache_key = hashlib.sha1(url.encode(), usedforsecurity=False).hexdigest()"),
        ("h = hashlib.new('md5', file_contents)", "h = hashlib.new('md5', file_contents, usedforsecurity=False)"),
        ("signature = hashlib.sha1(payload).hexdigest()", "signature = hashlib.sha256(payload).hexdigest()"),
        ("d = hashlib.new('sha1', token)", "d = hashlib.new('sha256', token)"),
        ("api_key_digest = hashlib.md5(raw)", "api_key_digest = hashlib.sha256(raw)"),
    ],
)
def test_rewrites_by_intent(line: str, expected: str) -> None:
    result, _ = fix_line(line)
    assert result.new_source is not None, result.reason
    assert result.new_source.splitlines()[-1] == expected


def test_function_name_decides_when_nothing_nearer_does() -> None:
    source = "import hashlib\n\n\ndef dedup_files(data):\n    return hashlib.md5(data).hexdigest()\n"
    result = FIXER.fix(source, make_finding(5, "B324"))
    assert "usedforsecurity=False" in result.new_source
    assert "function `dedup_files` suggests dedup" in result.reason


def test_from_import_switch_adds_sha256_import() -> None:
    source = "from hashlib import md5\n\n\ndef sign(msg):\n    return md5(msg).hexdigest()\n"
    result = FIXER.fix(source, make_finding(5, "B324"))
    assert result.new_source == "from hashlib import sha256, md5\n\n\ndef sign(msg):\n    return sha256(msg).hexdigest()\n"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("stored = hashlib.md5(password.encode()).hexdigest()", "key derivation function"),
        ("pwd_hash = hashlib.sha1(raw).hexdigest()", "key derivation function"),
        ("cache_token = hashlib.md5(raw)", "suggests both a security use (token) and a non-security use (cache)"),
        ("h = hashlib.md5(raw)", "cannot tell what the MD5 digest is for"),
        ("h = hashlib.md5(raw, usedforsecurity=False)", "already passes usedforsecurity=False"),
        ("h = hashlib.new(algo, raw)", "not a string literal"),
        ("h = hashlib.new('sha256', raw)", "not MD5 or SHA-1"),
    ],
)
def test_declines(line: str, reason: str) -> None:
    result, _ = fix_line(line)
    assert result.new_source is None
    assert reason in result.reason


def test_marked_digest_is_unchanged_and_switched_digest_is_sha256() -> None:
    source = ("import hashlib\n\n\ndef checksum(b):\n    return hashlib.md5(b).hexdigest()\n\n\n"
              "def signature(b):\n    return hashlib.md5(b).hexdigest()\n")
    once = FIXER.fix(source, make_finding(5, "B324")).new_source
    twice = FIXER.fix(once, make_finding(9, "B324")).new_source
    assert load_function(twice, "checksum")(b"abc") == hashlib.md5(b"abc").hexdigest()
    assert load_function(twice, "signature")(b"abc") == hashlib.sha256(b"abc").hexdigest()
