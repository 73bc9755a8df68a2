"""Read a hard-coded credential from the environment: `SECRET_KEY = "s3cr3t"` -> `SECRET_KEY = os.environ["SECRET_KEY"]`.

Handles a string literal given to a name that says it holds a secret, in four shapes: an assignment to a variable
or attribute (`DB_PASSWORD = "..."`, `self.api_key = "..."`, annotated or not), a keyword argument
(`connect(password="...")`) and a dict entry (`{"password": "..."}`). The literal is replaced by
`os.environ["NAME"]`, NAME being the variable, attribute, keyword or key in upper case; `import os` is added.
`os.environ[...]` (not `.get`) makes a missing variable fail loudly at that point instead of running without
the credential. The fix never repeats the secret: its reason names only the variable.

A name "says it holds a secret" when its last word is password/passwd/pwd/passphrase/secret/token/credential(s)/
apikey, or `key` qualified as api/secret/private/access/signing/encryption/auth/client/master (`api_key`,
`SECRET_KEY`); `password_reset_url`, `token_type` or `cache_key` do not.

Declines: names that do not say secret (above), empty values, values that look like placeholders or field names
(`"changeme"`, `"<your key>"`, `"${TOKEN}"`, `"***"`, `"password"` for a `password` field), bytes and f-strings,
and credentials elsewhere (default arguments, comparisons): those need a person to restructure the code.
"""

from __future__ import annotations

import ast
import re

import libcst as cst

from agent.engines.builtin.fixers.ast_view import AstView
from agent.engines.builtin.fixers.base import (
    Decline,
    Fixer,
    FixResult,
    NeededImport,
    ParsedSource,
    Rewrite,
    combine,
)
from agent.engines.builtin.fixers.intent import identifier_words

SECRET_LAST_WORDS = frozenset({"password", "passwd", "pwd", "passphrase", "secret", "token", "credential",
                               "credentials", "apikey", "privkey"})
KEY_QUALIFIERS = frozenset({"api", "secret", "private", "access", "signing", "encryption", "auth", "client",
                            "master"})
PLACEHOLDERS = frozenset({"changeme", "change-me", "change_me", "xxx", "todo", "tbd", "none", "null", "example",
                          "dummy", "placeholder", "your-secret", "secret", "password", "token", "redacted"})
_PLACEHOLDER_SHAPES = re.compile(r"^(<[^>]*>|\$\{?\w+\}?|\{\{.*\}\}|%\(\w+\)s|[*x.]+|\s*)$", re.IGNORECASE)


def is_secret_name(identifier: str) -> bool:
    """True when `identifier`'s last word marks secret material (module docstring)."""
    words = identifier_words(identifier)
    if not words:
        return False
    if words[-1] in SECRET_LAST_WORDS:
        return True
    return words[-1] in {"key", "keys"} and len(words) > 1 and words[-2] in KEY_QUALIFIERS


def _env_name(identifier: str) -> str:
    return "_".join(w.upper() for w in identifier_words(identifier))


def _candidates(parsed: ParsedSource, first: int, last: int) -> list[tuple[str, cst.SimpleString]]:
    """(name, string literal) pairs on the lines: assignments, keyword arguments and dict entries."""
    found: list[tuple[str, cst.SimpleString]] = []
    for node in parsed.nodes_on_lines(cst.CSTNode, first, last):  # type: ignore[type-abstract]  # every node kind
        pairs: list[tuple[cst.CSTNode, cst.BaseExpression | None]] = []
        if isinstance(node, cst.Assign):
            pairs = [(t.target, node.value) for t in node.targets]
        elif isinstance(node, cst.AnnAssign):
            pairs = [(node.target, node.value)]
        elif isinstance(node, cst.Arg) and node.keyword is not None:
            pairs = [(node.keyword, node.value)]
        elif isinstance(node, cst.DictElement) and isinstance(node.key, cst.SimpleString):
            pairs = [(node.key, node.value)]
        for target, value in pairs:
            name = _target_name(target)
            if name and isinstance(value, cst.SimpleString) and is_secret_name(name):
                found.append((name, value))
    return found


def _target_name(target: cst.CSTNode) -> str | None:
    if isinstance(target, cst.Name):
        return target.value
    if isinstance(target, cst.Attribute):
        return target.attr.value
    if isinstance(target, cst.SimpleString):
        value = target.evaluated_value
        return value if isinstance(value, str) and re.fullmatch(r"[A-Za-z][\w\-]*", value) else None
    return None


class HardcodedSecretFixer(Fixer):
    """A string literal assigned to a secret-named variable/attribute/keyword/key -> os.environ[NAME] (docstring)."""

    name = "hardcoded_secret"
    summary = "Read the credential from the environment instead of keeping it in the source"
    cwe = (798, 259, 321, 522)
    rule_ids = ("B105", "B106", "python-hardcoded-credential")
    references = (
        "https://cwe.mitre.org/data/definitions/798.html",
        "https://cheatsheetseries.owasp.org/cheatsheets/Secrets_Management_Cheat_Sheet.html",
    )
    review_guidance = (
        "Rotate the secret now: the old value stays in the repository history and in every clone, so removing it "
        "from the code does not make it secret again. Set the named environment variable wherever the code runs "
        "(deployment configuration, a secret store, a .env file kept out of version control); the code now "
        "raises KeyError at that line when it is missing."
    )
    target_description = "string literal assigned to a password/secret/token/key name"

    def detects(self, parsed: ParsedSource, first_line: int, last_line: int) -> bool:
        return bool(_candidates(parsed, first_line, last_line))

    def fix_parsed(self, parsed: ParsedSource, first_line: int, last_line: int) -> FixResult:
        candidates = _candidates(parsed, first_line, last_line)
        if not candidates:
            return FixResult(None, self.not_found(first_line, last_line))
        return combine(parsed, [(literal, self._plan(name, literal)) for name, literal in candidates])

    def _plan(self, name: str, literal: cst.SimpleString) -> Rewrite | Decline:
        value = literal.evaluated_value
        if not isinstance(value, str):
            return Decline(f"the value of `{name}` is a bytes literal")
        if _PLACEHOLDER_SHAPES.match(value) or value.lower() in PLACEHOLDERS or \
                value.lower().replace("_", "") == name.lower().replace("_", ""):
            return Decline(f"the value of `{name}` is empty or looks like a placeholder or field name, not a secret")
        env = _env_name(name)
        quote = literal.quote[0]
        replacement = cst.parse_expression(f"os.environ[{quote}{env}{quote}]")
        return Rewrite(literal, replacement,
                       f"`{name}` now reads the environment variable {env} instead of a hard-coded value; rotate "
                       "the old secret, it remains in the repository history",
                       (NeededImport("os"),))

    def rewrites(self, parsed: ParsedSource, first_line: int, last_line: int) -> bool:
        return any(isinstance(self._plan(name, literal), Rewrite)
                   for name, literal in _candidates(parsed, first_line, last_line))

    def would_rewrite(self, view: AstView, first_line: int, last_line: int) -> bool | None:
        for name, value in _ast_candidates(view, first_line, last_line):
            if isinstance(value, str) and not (
                    _PLACEHOLDER_SHAPES.match(value) or value.lower() in PLACEHOLDERS
                    or value.lower().replace("_", "") == name.lower().replace("_", "")):
                return True
        return False


def _ast_candidates(view: AstView, first: int, last: int) -> list[tuple[str, str | bytes]]:
    """`_candidates` on the ast tree: (name, literal value) pairs on the lines."""
    found: list[tuple[str, str | bytes]] = []
    pairs: list[tuple[ast.AST, ast.AST | None]] = []
    for node in view.nodes_on_lines((ast.Assign, ast.AnnAssign, ast.keyword), first, last):
        if isinstance(node, ast.Assign):
            pairs += [(t, node.value) for t in node.targets]
        elif isinstance(node, ast.AnnAssign):
            pairs.append((node.target, node.value))
        elif node.arg is not None:
            pairs.append((node, node.value))
    for node in view.nodes_on_lines(ast.Dict, first, last):
        for key, value in zip(node.keys, node.values, strict=True):
            if key is not None and key.lineno <= last and value.end_lineno >= first and view.is_simple_string(key):
                pairs.append((key, value))
    for target, value in pairs:
        name = _ast_target_name(target)
        if name and view.is_simple_string(value) and is_secret_name(name):
            found.append((name, value.value))  # type: ignore[union-attr]
    return found


def _ast_target_name(target: ast.AST) -> str | None:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    if isinstance(target, ast.keyword):
        return target.arg
    if isinstance(target, ast.Constant):
        value = target.value
        return value if isinstance(value, str) and re.fullmatch(r"[A-Za-z][\w\-]*", value) else None
    return None
