"""Secret redaction for text that leaves the machine (rule of the house: secrets never go into a prompt).

Handles source code and config text of any language: provider tokens with a known shape (AWS, GitHub, GitLab,
Slack, Stripe, Google, JWT, private key blocks, bearer tokens), passwords inside URLs, and string values
assigned to secret-like names (`password = "..."`, `"api_key": "..."`, `API_TOKEN=...`, `token: ...`),
plus high-entropy literals assigned to weaker names (`signing_key`, `salt`, `session_cookie`).
References and placeholders stay readable: `os.environ["X"]`, `None`, `""`, `${VAR}`, `{{ var }}`, `<token>`.

Each distinct secret gets one stable placeholder such as `«SECRET_1:aws_access_key»` for the life of a
`Redactor`, so a model can refer to it consistently; `unredact` maps placeholders in a model's SEARCH text
back, and `contains_placeholder` lets the patch layer refuse REPLACE text that would write one into a file.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from agent.context.secret_names import is_secret_name, is_weak_secret_name

PLACEHOLDER_RE = re.compile(r"«SECRET_(\d+):([a-z0-9_]+)»")
_LOOSE_PLACEHOLDER_RE = re.compile(r"SECRET_\d+:[a-z0-9_]+")
_MIN_KNOWN_REUSE = 6  # a known secret this long is also replaced where it appears without context

# Known token shapes. Group "s" (if present) is the secret part; otherwise the whole match.
_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "private_key",
        re.compile(
            r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:(?:(?!-----BEGIN).)*?-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s\\]*)",
            re.DOTALL,
        ),
    ),
    (
        "aws_access_key",
        re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}\b"),
    ),
    (
        "aws_secret_key",
        re.compile(
            r"(?i:aws_?secret_?(?:access_?)?key|secret_?access_?key)[\"']?\s*(?::|=|:=|=>)\s*[\"']?"
            r"(?P<s>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"
        ),
    ),
    ("github_token", re.compile(r"\b(?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{36,}\b")),
    ("github_token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,}\b")),
    ("gitlab_token", re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,}")),
    ("slack_token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("slack_webhook", re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]{20,}")),
    ("stripe_key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b")),
    ("openai_key", re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,}T3BlbkFJ[A-Za-z0-9_-]{16,}")),
    ("openai_key", re.compile(r"\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}")),
    ("google_api_key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}(?![0-9A-Za-z_\-])")),
    ("jwt", re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")),
    ("bearer_token", re.compile(r"\b[Bb]earer\s+(?P<s>[A-Za-z0-9\-._~+/]{20,}=*)")),
    (
        "url_password",
        re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]{0,31}+://[^\s:/@'\"<>]*:(?P<s>[^\s@/'\"<>]+)@[^\s'\"<>]"),
    ),
)

# name <op> "value" in Python/JS/Go/Java/Ruby/YAML/JSON/INI/.env, or a default in getenv("NAME", "value").
# Linear time on any input (no quantifier a match can re-scan from every start position of a long word): the
# unanchored patterns bound each repetition (a name ≤ 128 characters, ≤ 64 spaces around the operator), names
# are possessive (`*+`: giving characters back can never help, none of what follows is a name character), start
# only after a character that cannot be inside a word (not mid-word), and the
# private-key body stops at the next BEGIN; _UNQUOTED_ASSIGN is anchored at line starts, so it is tried once a line.
_NAME = r"(?<![A-Za-z0-9_$])(?P<name>[A-Za-z_$][\w.\-$]{0,127}+)[\"'`]?\]?"
_LINE_NAME = r"(?P<name>[A-Za-z_$][\w.\-$]*+)[\"'`]?\]?"
_QUOTED_ASSIGN = re.compile(
    _NAME + r"\s{0,64}(?::[ \t]{0,64}[A-Za-z_][\w\[\], .|]{0,127}?[ \t]{0,64})?(?:==|!=|:=|=>|=|:)\s{0,64}"
    r"(?:[rbuRBU]{1,2})?(?P<q>\"|'|`)(?P<v>(?:\\.|(?!(?P=q))[^\\\n])*)(?P=q)"
)
_ENV_DEFAULT = re.compile(
    r"(?:getenv|environ\.get|env\.get|ENV\.fetch)\(\s*[\"'](?P<name>[\w.\-]+)[\"']\s*,\s*"
    r"(?P<q>\"|')(?P<v>(?:\\.|(?!(?P=q))[^\\\n])*)(?P=q)"
)
_UNQUOTED_ASSIGN = re.compile(
    r"^(?P<indent>[ \t]*(?:export[ \t]+|-[ \t]+)?)"
    + _LINE_NAME
    + r"[ \t]*(?:=|:)[ \t]*(?P<v>[^\s'\"`#;,(){}\[\]]+)[ \t]*"
    r"(?:[#;].*)?$",
    re.MULTILINE,
)
_CONFIG_SUFFIXES = (".yml", ".yaml", ".ini", ".cfg", ".conf", ".env", ".properties", ".toml", ".envrc")
_NON_SECRET_VALUES = frozenset(
    [
        "none",
        "null",
        "nil",
        "true",
        "false",
        "yes",
        "no",
        "~",
        "undefined",
        "required",
        "optional",
        "string",
        "str",
        "bytes",
        "int",
        "text",
        "hidden",
        "redacted",
        "secret",
        "password",
        "token",
        "changeme",
        "bearer",
        "basic",
        "env",
        "unset",
        "empty",
        "default",
    ]
)
_TEMPLATE_RE = re.compile(
    r"^(?:\$\{.*\}|\$\(.*\)|\$[A-Za-z_]\w*|\{\{.*\}\}|<[^<>]*>|%\(?\w*\)?s|!\w+.*|\*+|x{4,}|X{4,}|\.\.\.|…)$"
)
_FORMAT_FIELD_RE = re.compile(r"\{[A-Za-z_][\w.]*\}|%\(?\w*\)?[sd]|\$\{\w+\}")
_IDENTIFIER_RE = re.compile(r"^[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*$")
_AUTH_SCHEME_RE = re.compile(r"^(?:Bearer|Basic|Token|Digest|Bot)\s+", re.IGNORECASE)


def shannon_entropy(text: str) -> float:
    """Bits per character of `text` by symbol frequency."""
    if not text:
        return 0.0
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def looks_high_entropy(value: str, *, min_length: int = 16, threshold: float = 3.5) -> bool:
    """A random-looking token: long enough, no spaces, mixed character classes, entropy over `threshold`."""
    if len(value) < min_length or any(ch.isspace() for ch in value):
        return False
    classes = sum(
        (any(c.islower() for c in value), any(c.isupper() for c in value), any(c.isdigit() for c in value))
    )
    return classes >= 2 and shannon_entropy(value) >= threshold


def _is_literal_secret_value(value: str) -> bool:
    """False for empties, placeholders, templates, format strings and words that say 'no secret here'."""
    v = value.strip()
    if len(v) < 4 or v.lower() in _NON_SECRET_VALUES or PLACEHOLDER_RE.search(v):
        return False
    return not (_TEMPLATE_RE.match(v) or _FORMAT_FIELD_RE.search(v))


def _is_config_path(path: str | None) -> bool:
    if not path:
        return False
    name = path.rsplit("/", 1)[-1].lower()
    return name.endswith(_CONFIG_SUFFIXES) or name.startswith(".env")


@dataclass
class RedactionResult:
    text: str
    mapping: dict[str, str] = field(default_factory=dict)  # placeholder -> original, for what this text used
    count: int = 0  # replacements made in this text


class Redactor:
    """Replaces secrets with stable placeholders; the same secret gets the same placeholder every time."""

    def __init__(self) -> None:
        self._by_secret: dict[str, str] = {}
        self.mapping: dict[str, str] = {}  # placeholder -> original secret
        self.count = 0  # replacements made across all texts

    def placeholder_for(self, secret: str, kind: str) -> str:
        if secret not in self._by_secret:
            placeholder = f"«SECRET_{len(self._by_secret) + 1}:{kind}»"
            self._by_secret[secret] = placeholder
            self.mapping[placeholder] = secret
        return self._by_secret[secret]

    def _spans(self, text: str, path: str | None) -> list[tuple[int, int, str]]:
        spans: list[tuple[int, int, str]] = []
        for kind, pattern in _SHAPES:
            for m in pattern.finditer(text):
                group = "s" if "s" in pattern.groupindex else 0
                if kind == "url_password" and _TEMPLATE_RE.match(m.group(group)):
                    continue  # scheme://user:${PASSWORD}@host is a reference, not a secret
                spans.append((m.start(group), m.end(group), kind))
        for pattern in (_QUOTED_ASSIGN, _ENV_DEFAULT):
            for m in pattern.finditer(text):
                spans.extend(self._assignment_span(m, m.group("v"), m.start("v")))
        config = _is_config_path(path)
        for m in _UNQUOTED_ASSIGN.finditer(text):
            value = m.group("v")
            if config or not _IDENTIFIER_RE.match(value):  # in code, a bare identifier is a reference
                spans.extend(self._assignment_span(m, value, m.start("v")))
        return spans

    @staticmethod
    def _assignment_span(m: re.Match[str], value: str, start: int) -> list[tuple[int, int, str]]:
        name = m.group("name").rsplit(".", 1)[-1].lstrip("$")
        scheme = _AUTH_SCHEME_RE.match(value)
        if scheme:  # "Bearer abc…": keep the scheme word
            start, value = start + scheme.end(), value[scheme.end() :]
        if not _is_literal_secret_value(value):
            return []
        if is_secret_name(name):
            return [(start, start + len(value), _kind_for_name(name))]
        if is_weak_secret_name(name) and looks_high_entropy(value):
            return [(start, start + len(value), "high_entropy")]
        return []

    def redact(self, text: str, path: str | None = None) -> RedactionResult:
        """Redact one text. `path` (optional) tells config files (YAML/INI/.env: bare values) from code."""
        spans = sorted(self._spans(text, path), key=lambda s: (s[0], -(s[1] - s[0])))
        out: list[str] = []
        used: dict[str, str] = {}
        pos = count = 0
        for start, end, kind in spans:
            secret = text[start:end]
            if start < pos or start == end or "«SECRET_" in secret:
                continue  # overlaps a longer or earlier secret, or is already redacted
            placeholder = self.placeholder_for(secret, kind)
            used[placeholder] = secret
            out.append(text[pos:start])
            out.append(placeholder)
            pos, count = end, count + 1
        out.append(text[pos:])
        result = "".join(out)
        result, reused = self._replace_known(result, used)
        self.count += count + reused
        return RedactionResult(result, used, count + reused)

    def _replace_known(self, text: str, used: dict[str, str]) -> tuple[str, int]:
        """Secrets found earlier (in any text) are replaced wherever else they appear verbatim."""
        total = 0
        for secret, placeholder in sorted(self._by_secret.items(), key=lambda kv: -len(kv[0])):
            if len(secret) >= _MIN_KNOWN_REUSE and secret in text:
                total += text.count(secret)
                text = text.replace(secret, placeholder)
                used[placeholder] = secret
        return text, total


def _kind_for_name(name: str) -> str:
    lowered = name.lower()
    for kind in (
        "password",
        "passwd",
        "passphrase",
        "client_secret",
        "private_key",
        "api_key",
        "apikey",
        "token",
    ):
        if kind.replace("_", "") in lowered.replace("_", "").replace("-", ""):
            return {"passwd": "password", "apikey": "api_key"}.get(kind, kind)
    return "secret"


def redact(text: str, path: str | None = None) -> RedactionResult:
    """Redact a single text with a fresh Redactor (use a shared `Redactor` for a whole context)."""
    return Redactor().redact(text, path)


def unredact(text: str, mapping: dict[str, str]) -> str:
    """Put the original secrets back where `text` carries placeholders from `mapping`."""
    return PLACEHOLDER_RE.sub(lambda m: mapping.get(m.group(0), m.group(0)), text)


# Token shapes that are live credentials wherever they appear (not test keys, not JWTs or bearer values that may
# be short-lived or examples): triage ranks a finding on such a token as critical.
LIVE_CREDENTIAL_KINDS = frozenset({"private_key", "aws_access_key", "github_token", "gitlab_token", "slack_token",
                                   "slack_webhook", "stripe_key", "google_api_key", "openai_key"})
_PLACEHOLDER_WORDS = re.compile(r"example|sample|dummy|fake|placeholder|xxxx|your[_-]?|changeme|redacted",
                                re.IGNORECASE)


def live_credentials(text: str) -> list[tuple[str, str]]:
    """(kind, token) of each recognized live-credential format in `text` (the `_SHAPES` redaction uses), leaving
    out documentation examples and placeholders (`AKIAIOSFODNN7EXAMPLE`, `ghp_xxxx…`), Stripe test keys and
    tokens of at most four distinct characters."""
    found: list[tuple[str, str]] = []
    for kind, pattern in _SHAPES:
        if kind not in LIVE_CREDENTIAL_KINDS:
            continue
        for m in pattern.finditer(text):
            token = m.group("s" if "s" in pattern.groupindex else 0)
            body = token.split("-----")[2] if kind == "private_key" and token.count("-----") >= 2 else token
            if _PLACEHOLDER_WORDS.search(token) or (kind == "stripe_key" and "_test_" in token):
                continue
            if len(set(body.strip())) <= 4 and kind != "private_key":
                continue
            found.append((kind, token))
    return found


def contains_placeholder(text: str) -> bool:
    """True if `text` carries a redaction placeholder, even a mangled one (e.g. `<<SECRET_2:token>>`)."""
    return bool(_LOOSE_PLACEHOLDER_RE.search(text))
