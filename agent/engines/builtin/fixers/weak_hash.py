"""Deal with MD5/SHA-1 according to what the digest is for.

Handles: `hashlib.md5(...)`, `hashlib.sha1(...)` (any import style) and `hashlib.new("md5" | "sha1", ...)` with a
literal algorithm name. Intent comes from the names around the call (see `intent.py`), nearest first:

* password words anywhere (password, passwd, passphrase, pwd) -> decline: stored password hashes need a key
  derivation function (hashlib.scrypt, argon2, bcrypt) and a migration of existing hashes a person must plan;
* the nearest telling name is *non-security* (checksum, etag, cache, fingerprint, dedup/duplicate, content, crc,
  shard, bucket, partition, memo) -> add `usedforsecurity=False` (Python >= 3.9): same digest, no claim of
  security;
* it is *security* (signature/sign, token, integrity, tamper, HMAC/MAC, secret, API key, auth, credential, nonce,
  CSRF, session, verification) -> switch to SHA-256 (`hashlib.sha256`, or `"sha256"` for `hashlib.new`).

Declines: password hashing (above), a name that says both (e.g. `cache_token`), no telling name at all, a computed
algorithm name, and calls that already pass `usedforsecurity=`.
"""

from __future__ import annotations

import ast

import libcst as cst

from agent.engines.builtin.fixers.ast_view import AstView
from agent.engines.builtin.fixers.base import (
    CallFixer,
    Decline,
    ParsedSource,
    Rewrite,
    call_names,
    keyword_arg,
    positional_args,
    rename_callee,
    with_keyword,
)
from agent.engines.builtin.fixers.intent import (
    PASSWORD_WORDS,
    NamedContext,
    ast_names_around,
    describe_all,
    names_around,
    secret_words,
)

WEAK = ("md5", "sha1")
DIRECT = frozenset(f"hashlib.{a}" for a in WEAK)
_AST_TARGETS = DIRECT | {"hashlib.new"}  # `ast_is_target`'s names
NON_SECURITY_WORDS = frozenset({
    "checksum", "checksums", "etag", "etags", "cache", "cached", "caching", "fingerprint", "fingerprints", "dedup",
    "dedupe", "deduplicate", "deduplication", "duplicate", "duplicates", "content", "contents", "crc", "shard",
    "sharding", "bucket", "buckets", "partition", "memo", "memoize",
})
SECURITY_WORDS = frozenset({
    "signature", "signatures", "sign", "signed", "signing", "signer", "integrity", "tamper", "hmac", "mac",
    "auth", "authenticate", "authentication", "verification", "session", "csrf",
})


def _algorithm(parsed: ParsedSource, call: cst.Call) -> tuple[str, cst.SimpleString | None] | str:
    """(algorithm, literal node for hashlib.new) or a decline reason."""
    names = call_names(parsed, call)
    if names & DIRECT:
        return min(names & DIRECT).split(".")[1], None
    args = positional_args(call)
    name_arg = args[0] if args else keyword_arg(call, "name")
    if name_arg is None or not isinstance(name_arg.value, cst.SimpleString):
        return "the algorithm passed to hashlib.new is not a string literal"
    value = name_arg.value.evaluated_value
    algorithm = value.lower().replace("-", "") if isinstance(value, str) else ""
    if algorithm not in WEAK:
        return f"hashlib.new uses {value!r}, not MD5 or SHA-1"
    return algorithm, name_arg.value


def _classify(named: NamedContext) -> tuple[set[str], set[str]]:
    words = set(named.words)
    security = (set(secret_words(named.words)) | (words & SECURITY_WORDS)) - PASSWORD_WORDS
    return security, words & NON_SECURITY_WORDS


class WeakHashFixer(CallFixer):
    """MD5/SHA-1 calls -> usedforsecurity=False or SHA-256 by intent; passwords declined (module docstring)."""

    name = "weak_hash"
    summary = "Mark non-security MD5/SHA-1 uses as such, or move security uses to SHA-256"
    cwe = (327, 328)
    rule_ids = ("B324", "B303")
    references = (
        "https://docs.python.org/3/library/hashlib.html#hashlib.new",
        "https://cwe.mitre.org/data/definitions/327.html",
        "https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html",
    )
    review_guidance = (
        "usedforsecurity=False keeps the digest identical (Python >= 3.9). A switch to SHA-256 changes every "
        "digest: stored values, columns sized for 32/40 hex characters, and other systems that compute or check "
        "the same digest must change together."
    )
    target_description = "hashlib MD5/SHA-1 call"
    text_needs = ("hashlib",)  # its targets: hashlib.* calls

    def is_target(self, parsed: ParsedSource, call: cst.Call) -> bool:
        return bool(call_names(parsed, call) & (DIRECT | {"hashlib.new"}))

    def plan(self, parsed: ParsedSource, call: cst.Call) -> Rewrite | Decline:
        found = _algorithm(parsed, call)
        if isinstance(found, str):
            return Decline(found)
        algorithm, literal = found
        marked = keyword_arg(call, "usedforsecurity")
        if marked is not None:
            return Decline(f"the call already passes usedforsecurity={parsed.code(marked.value).strip()}")
        names = names_around(parsed, call)
        passwords = [n for n in names if set(n.words) & PASSWORD_WORDS]
        if passwords:
            return Decline(
                f"{algorithm.upper()} hashes a password ({passwords[0].describe()}): stored password hashes need "
                "a key derivation function (scrypt, argon2, bcrypt) and a migration of existing hashes that a "
                "person must plan"
            )
        for named in names:
            security, benign = _classify(named)
            if security and benign:
                return Decline(
                    f"{named.describe()} suggests both a security use ({', '.join(sorted(security))}) and a "
                    f"non-security use ({', '.join(sorted(benign))})"
                )
            if benign:
                return Rewrite(call, with_keyword(call, "usedforsecurity", "False"),
                               f"marked {algorithm.upper()} usedforsecurity=False ({named.describe()} suggests "
                               f"{', '.join(sorted(benign))})")
            if security:
                return self._to_sha256(call, literal, algorithm, f"{named.describe()} suggests "
                                       f"{', '.join(sorted(security))}")
        return Decline(
            f"cannot tell what the {algorithm.upper()} digest is for from the names around it "
            f"({describe_all(names)}); a person must decide between usedforsecurity=False and a stronger hash"
        )

    def ast_is_target(self, view: AstView, call: ast.Call) -> bool:
        return bool(view.call_names(call) & _AST_TARGETS)

    def ast_plan(self, view: AstView, call: ast.Call) -> bool | None:
        if not view.call_names(call) & DIRECT:
            args = view.positional(call)
            name_arg = args[0] if args else view.keyword(call, "name")
            if name_arg is None or not view.is_simple_string(name_arg.value):
                return False
            value = name_arg.value.value  # type: ignore[attr-defined]
            if not isinstance(value, str) or value.lower().replace("-", "") not in WEAK:
                return False
        if view.keyword(call, "usedforsecurity") is not None:
            return False
        names = ast_names_around(view, call)
        if any(set(n.words) & PASSWORD_WORDS for n in names):
            return False
        for named in names:
            security, benign = _classify(named)
            if security or benign:
                return not (security and benign)
        return False

    def _to_sha256(self, call: cst.Call, literal: cst.SimpleString | None, algorithm: str, why: str) -> Rewrite:
        if literal is not None:
            quote = literal.quote
            new_literal = literal.with_changes(value=f"{literal.prefix}{quote}sha256{quote}")
            replaced = call.with_changes(args=[
                a.with_changes(value=new_literal) if a.value is literal else a for a in call.args
            ])
            return Rewrite(call, replaced, f'hashlib.new now uses "sha256" instead of {algorithm!r} ({why})')
        replaced, imports = rename_callee(call, "hashlib", "sha256")
        return Rewrite(call, replaced, f"switched {algorithm.upper()} to SHA-256 ({why})", imports)
