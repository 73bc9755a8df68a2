"""Which identifiers name a secret (`db_password`, `apiKey`, `CLIENT_SECRET`, `authToken`) and which only
look like one (`author`, `token_type`, `password_field`, `max_tokens`, `tokenizer`).

Names are split into lower-case words on `_`, `-`, `.` and camelCase boundaries; decisions are made on words,
never on substrings, so `author` is not `auth` and `passthrough` is not `pass`.
"""

from __future__ import annotations

import itertools
import re

_STRONG_WORDS = frozenset(
    [
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "secrets",
        "token",
        "apikey",
        "privatekey",
        "credential",
        "credentials",
        "auth",
        "authtoken",
        "authkey",
        "authorization",
        "accesstoken",
        "refreshtoken",
        "secretkey",
        "clientsecret",
    ]
)
_STRONG_PAIRS = frozenset(
    {
        ("api", "key"),
        ("private", "key"),
        ("access", "key"),
        ("secret", "key"),
        ("signing", "key"),
        ("encryption", "key"),
        ("master", "key"),
        ("client", "secret"),
        ("app", "secret"),
    }
)
_WEAK_WORDS = frozenset(
    [
        "key",
        "keys",
        "salt",
        "seed",
        "signature",
        "sig",
        "hmac",
        "cookie",
        "session",
        "cred",
        "creds",
        "pin",
        "nonce",
        "dsn",
        "cert",
        "webhook",
    ]
)
# A last word that makes the name describe a secret rather than hold one: `token_type`, `password_field`.
_DESCRIPTOR_WORDS = frozenset(
    [
        "type",
        "types",
        "url",
        "uri",
        "endpoint",
        "name",
        "names",
        "file",
        "path",
        "dir",
        "field",
        "fields",
        "header",
        "headers",
        "length",
        "len",
        "count",
        "prefix",
        "suffix",
        "env",
        "var",
        "pattern",
        "regex",
        "re",
        "format",
        "label",
        "hint",
        "policy",
        "expiry",
        "expires",
        "expiration",
        "ttl",
        "timeout",
        "lifetime",
        "min",
        "max",
        "limit",
        "size",
        "id",
        "ids",
        "kind",
        "mode",
        "method",
        "param",
        "params",
        "column",
        "col",
        "attr",
        "attribute",
        "hasher",
        "validator",
        "validators",
        "reset",
        "required",
        "enabled",
        "changed",
        "help",
        "text",
        "placeholder",
        "message",
        "msg",
        "error",
        "errors",
        "view",
        "form",
        "input",
        "widget",
        "template",
        "class",
        "style",
        "strength",
        "version",
        "provider",
        "location",
        "store",
        "cache",
    ]
)
_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def name_words(name: str) -> list[str]:
    """`dbPassword` -> ["db", "password"]; `AWS_SECRET_KEY` -> ["aws", "secret", "key"]."""
    spaced = _CAMEL_RE.sub("_", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def _describes_secret(words: list[str]) -> bool:
    return bool(words) and words[-1] in _DESCRIPTOR_WORDS


def is_secret_name(name: str) -> bool:
    """True for names that hold a secret by their words: password, secret, token, api key, auth…"""
    words = name_words(name)
    if not words or _describes_secret(words):
        return False
    if any(w in _STRONG_WORDS for w in words):
        return True
    if words[-1] == "pass":  # db_pass, smtp_pass; not pass_through
        return True
    return any(pair in _STRONG_PAIRS for pair in itertools.pairwise(words))


def is_weak_secret_name(name: str) -> bool:
    """Names that hold a secret only if the value looks random: signing_key, salt, session_cookie…"""
    words = name_words(name)
    return bool(words) and not _describes_secret(words) and any(w in _WEAK_WORDS for w in words)
