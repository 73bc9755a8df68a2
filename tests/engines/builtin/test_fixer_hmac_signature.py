"""hmac_signature: a hash over key + data becomes HMAC, signature ==/!= becomes hmac.compare_digest; the rewritten
code is run (old-style signatures no longer verify). Declines: passwords, unclear keys, None-able sides."""

from __future__ import annotations

import hashlib
import hmac
import textwrap
from pathlib import Path

import pytest

from agent.engines.builtin import BuiltinEngine
from agent.engines.builtin.fixers import fixers_for, rewriting_fixer
from agent.engines.builtin.fixers.hmac_signature import HmacSignatureFixer
from agent.models import Context
from tests.engines.builtin.helpers import line_of, load_function, make_finding

FIXER = HmacSignatureFixer()

WEBHOOK = '''\
    """Signatures on outgoing webhooks."""
    import hashlib


    def sign(payload, key):
        return hashlib.md5(key + payload).hexdigest()


    def verify(payload, key, signature):
        return sign(payload, key) == signature
    '''


def fix_at(source: str, needle: str, rule: str = "B324"):
    source = textwrap.dedent(source)
    result = FIXER.fix(source, make_finding(line_of(source, needle), rule))
    if result.new_source is not None:
        compile(result.new_source, "fixed.py", "exec")
    return source, result


def test_key_prefix_md5_becomes_hmac_sha256_and_its_verifier_constant_time() -> None:
    source, result = fix_at(WEBHOOK, "hashlib.md5")
    assert result.fixed, result.reason
    assert result.new_source == source.replace(
        "import hashlib\n", "import hashlib\nimport hmac\n").replace(
        "hashlib.md5(key + payload)", "hmac.new(key, payload, hashlib.sha256)").replace(
        "sign(payload, key) == signature", "hmac.compare_digest(sign(payload, key), signature)")
    assert "upgraded from MD5" in result.reason and "line 10: compares the signature" in result.reason
    sign, verify = load_function(result.new_source, "sign"), load_function(result.new_source, "verify")
    payload, key = b'{"event": "paid"}', b"k3y"
    assert sign(payload, key) == hmac.new(key, payload, hashlib.sha256).hexdigest()
    assert verify(payload, key, sign(payload, key))
    assert not verify(payload, key, hashlib.md5(key + payload).hexdigest())  # the forgeable form is refused


@pytest.mark.parametrize(("expression", "replacement"), [
    ("hashlib.sha256(secret + msg).hexdigest()", "hmac.new(secret, msg, hashlib.sha256).hexdigest()"),
    ("hashlib.sha512(msg + secret).digest()", "hmac.new(secret, msg, hashlib.sha512).digest()"),
    ("hashlib.sha1(self.signing_key + ts + body).hexdigest()",
     "hmac.new(self.signing_key, ts + body, hashlib.sha256).hexdigest()"),
    ('hashlib.new("sha256", API_SECRET + query).hexdigest()', "hmac.new(API_SECRET, query, hashlib.sha256).hexdigest()"),
    ('hashlib.sha256(os.environ["WEBHOOK_SECRET"].encode() + body).hexdigest()',
     'hmac.new(os.environ["WEBHOOK_SECRET"].encode(), body, hashlib.sha256).hexdigest()'),
    ('hashlib.sha256((settings.SECRET_KEY + text).encode("utf-8")).hexdigest()',
     'hmac.new(settings.SECRET_KEY.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()'),
    ("hashlib.sha256(secret + f'{ts}:{msg}'.encode()).hexdigest()",
     "hmac.new(secret, f'{ts}:{msg}'.encode(), hashlib.sha256).hexdigest()"),
    ("hashlib.sha256(bytes(app_secret, 'utf-8') + body).hexdigest()",
     "hmac.new(bytes(app_secret, 'utf-8'), body, hashlib.sha256).hexdigest()"),
])
def test_keyed_hash_shapes(expression: str, replacement: str) -> None:
    source = f"import hashlib\nimport os\n\n\ndef tag(self, secret, msg, ts, body, query, text, app_secret):\n" \
             f"    return {expression}\n"
    _, result = fix_at(source, "return", "python-hash-keyed-by-concatenation")
    assert result.fixed, result.reason
    assert f"return {replacement}\n" in result.new_source
    assert "import hmac" in result.new_source


def test_rewritten_str_keyed_signature_runs() -> None:
    _, result = fix_at('''\
        import hashlib

        SECRET_KEY = "from-config"


        def link_signature(user_id: str) -> str:
            return hashlib.sha256((SECRET_KEY + user_id).encode()).hexdigest()
        ''', "sha256")
    signature = load_function(result.new_source, "link_signature")("42")
    assert signature == hmac.new(b"from-config", b"42", hashlib.sha256).hexdigest()


@pytest.mark.parametrize(("comparison", "replacement"), [
    ('expected_sig == request.headers["X-Hub-Signature-256"]',
     'hmac.compare_digest(expected_sig, request.headers["X-Hub-Signature-256"])'),
    ("hmac.new(key, body, hashlib.sha256).hexdigest() != received",
     "not hmac.compare_digest(hmac.new(key, body, hashlib.sha256).hexdigest(), received)"),
    ('request.headers.get("X-Signature", "") == computed',
     'hmac.compare_digest(request.headers.get("X-Signature", ""), computed)'),
    ("(token.signature == digest)", "(hmac.compare_digest(token.signature, digest))"),
])
def test_signature_comparisons(comparison: str, replacement: str) -> None:
    source = f"import hashlib\nimport hmac\n\n\ndef ok(request, key, body, received, expected_sig, computed, token, " \
             f"digest):\n    return ok_flag and {comparison}\n"
    _, result = fix_at(source, "return", "python-signature-compared-with-eq")
    assert result.fixed, result.reason
    assert f"return ok_flag and {replacement}\n" in result.new_source


def test_not_equal_rewrite_keeps_the_meaning() -> None:
    _, result = fix_at('''\
        import hmac


        def check(signature, expected):
            if signature != expected:
                raise PermissionError("bad signature")
            return True
        ''', "if signature", "python-signature-compared-with-eq")
    check = load_function(result.new_source, "check")
    assert check("ab12", "ab12")
    with pytest.raises(PermissionError):
        check("ab12", "ab13")


@pytest.mark.parametrize(("line", "reason"), [
    ("return hashlib.sha256(salt + password).hexdigest()", None),  # not a MAC shape: weak_hash's business
    ("return hashlib.sha256(secret_key + password).hexdigest()", "includes a password"),
    ("return hashlib.sha256(key + secret + msg).hexdigest()", "more than one operand is named like a key"),
    ("return hashlib.sha256(cache_key + body).hexdigest()", None),
    ("return hashlib.md5(redis_key + body).hexdigest()", None),
    ("return hashlib.sha256(public_key + body).hexdigest()", None),
    ("return hashlib.md5(key + body).hexdigest()", None),  # a bare key outside signing code: a lookup key
    ("return hashlib.sha256(header + body).hexdigest()", None),
    ("return hashlib.sha256(f'{secret}{msg}'.encode()).hexdigest()", None),
    ('return sig == request.headers.get("X-Signature")', "may be None"),
    ('return signature == ""', None),
    ("return is_signed == True", None),
    ("return len(signature) == 64", None),
    ("return a < signature <= b", None),
])
def test_declines_and_non_shapes(line: str, reason: str | None) -> None:
    source = f"import hashlib\n\n\ndef f(salt, password, secret_key, key, secret, msg, cache_key, body, header, sig, " \
             f"request, signature, is_signed, a, b, redis_key, public_key):\n    {line}\n"
    _, result = fix_at(source, "return", "python-hash-keyed-by-concatenation")
    assert not result.fixed
    if reason is None:
        assert result.reason.startswith("no hashlib hash over a key concatenated with data")
        assert not FIXER.applies_to(textwrap.dedent(source), 5)
    else:
        assert reason in result.reason


def test_bandit_md5_finding_goes_to_hmac_first_and_weak_hash_still_handles_plain_hashes(tmp_path: Path) -> None:
    source = textwrap.dedent(WEBHOOK) + "\n\ndef etag(body):\n    return hashlib.md5(body).hexdigest()\n"
    (tmp_path / "hooks.py").write_text(source)
    engine = BuiltinEngine()
    signing = make_finding(line_of(source, "md5(key"), "B324", (327,), path="hooks.py")
    draft = engine.draft(signing, Context(finding_id=signing.id), tmp_path)
    assert draft.model_params == {"fixer": "hmac_signature"} and "HMAC-SHA256" in draft.rationale
    assert "Dependencies" not in draft.rationale  # hmac is in the standard library
    etag = make_finding(line_of(source, "md5(body"), "B324", (327,), path="hooks.py")
    assert rewriting_fixer(etag, source) == "weak_hash"
    semgrep = make_finding(line_of(source, "md5(key"), "python-weak-hash", (327,), path="hooks.py", tool="semgrep")
    assert [f.name for f in fixers_for(semgrep, source)] == ["hmac_signature", "weak_hash"]
    assert rewriting_fixer(semgrep, source) == "hmac_signature"


def test_comparison_around_the_rewritten_hash_keeps_the_hmac() -> None:
    _, result = fix_at('''\
        import hashlib


        def verify(key, msg, signature):
            return hashlib.sha256(key + msg).hexdigest() == signature
        ''', "sha256")
    assert "return hmac.compare_digest(hmac.new(key, msg, hashlib.sha256).hexdigest(), signature)" in \
        result.new_source
    verify = load_function(result.new_source, "verify")
    assert verify(b"k", b"m", hmac.new(b"k", b"m", hashlib.sha256).hexdigest())
    assert not verify(b"k", b"m", hashlib.sha256(b"km").hexdigest())
