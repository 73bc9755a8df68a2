"""Guess what a value is *for* from the names around it — the heuristic the randomness and hashing fixers share.

Names are read nearest first: the variable, attribute, subscript key, keyword argument or dict key the value is
assigned to; then the identifiers inside the call's own arguments; then the enclosing functions (innermost first)
and classes. Each identifier is split into lower-case words (`generateAPIToken` -> generate, api, token;
`csrf_token2` -> csrf, token), and the words are looked up in small vocabularies of *general* English terms:

* secret material: token, password, secret, key, nonce, salt, OTP, PIN, CSRF, credential, IV, ...; and pairs of an
  account-flow qualifier (session, reset, verification, activation, invite, login, auth, ...) with an identifier
  noun (id, code, link, url, hash, cookie, ...), e.g. `session_id`, `reset_code`;
* `key` does not count when qualified by a data-structure word (`cache_key`, `sort_key`, `dict_key`, ...).

A fixer acts only when the nearest name that says anything is unambiguous, and otherwise declines; the words it
matched are reported so a reviewer can see why.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import libcst as cst

from agent.engines.builtin.fixers.ast_view import AstView, Unsure
from agent.engines.builtin.fixers.base import ParsedSource

SECRET_WORDS = frozenset({
    "token", "tokens", "password", "passwords", "passwd", "passphrase", "pwd", "secret", "secrets", "key", "keys",
    "apikey", "nonce", "nonces", "salt", "pepper", "otp", "totp", "hotp", "pin", "csrf", "xsrf", "credential",
    "credentials", "iv", "captcha", "privkey",
})
FLOW_QUALIFIERS = frozenset({
    "session", "reset", "verification", "verify", "activation", "activate", "confirmation", "confirm", "invite",
    "invitation", "auth", "login", "recovery", "magic", "access", "refresh", "unsubscribe", "signup", "mfa",
    "challenge",
})
FLOW_NOUNS = frozenset({"id", "ids", "code", "codes", "link", "url", "hash", "string", "str", "cookie", "cookies"})
NON_SECRET_KEY_QUALIFIERS = frozenset({
    "cache", "sort", "dict", "lookup", "map", "partition", "shard", "primary", "foreign", "group", "row", "index",
    "hot", "sorting", "column", "field", "config", "setting", "settings", "registry", "attr",
})
PASSWORD_WORDS = frozenset({"password", "passwords", "passwd", "passphrase", "pwd"})

_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def identifier_words(identifier: str) -> tuple[str, ...]:
    """Lower-case words of an identifier: snake_case, camelCase, kebab-case and digits all split."""
    words: list[str] = []
    for chunk in re.split(r"[^A-Za-z0-9]+", identifier):
        words.extend(w.lower() for w in _CAMEL.findall(chunk) if not w.isdigit())
    return tuple(words)


def secret_words(words: tuple[str, ...]) -> list[str]:
    """The words (or word pairs) that mark secret material, per the module docstring's vocabulary."""
    found: list[str] = []
    for index, word in enumerate(words):
        if word in {"key", "keys"} and index > 0 and words[index - 1] in NON_SECRET_KEY_QUALIFIERS:
            continue
        if word in SECRET_WORDS:
            found.append(word)
    qualifiers = [w for w in words if w in FLOW_QUALIFIERS]
    nouns = [w for w in words if w in FLOW_NOUNS]
    if qualifiers and nouns:
        found.append(f"{qualifiers[0]} {nouns[0]}")
    return found


@dataclass(frozen=True)
class NamedContext:
    """An identifier near the value, and how it relates to it ("assigned to", "argument", "function", ...)."""

    role: str
    identifier: str

    @property
    def words(self) -> tuple[str, ...]:
        return identifier_words(self.identifier)

    def describe(self) -> str:
        return f"{self.role} `{self.identifier}`"


def _target_names(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, cst.Attribute):
        return [target.attr.value]
    if isinstance(target, cst.Subscript):
        keys = [e.slice.value for e in target.slice if isinstance(e.slice, cst.Index)]
        strings = [k.evaluated_value for k in keys if isinstance(k, cst.SimpleString)]
        return [s for s in strings if isinstance(s, str)] + _target_names(target.value)
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for e in target.elements for n in _target_names(e.value)]
    return []


def _identifiers_in(node: cst.CSTNode) -> list[str]:
    names: list[str] = []

    class _Collect(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            names.append(n.value)

        def visit_SimpleString(self, n: cst.SimpleString) -> None:
            value = n.evaluated_value
            if isinstance(value, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]{0,40}", value):
                names.append(value)

    node.visit(_Collect())
    return names


def names_around(parsed: ParsedSource, call: cst.Call) -> list[NamedContext]:
    """Identifiers that say what `call`'s value is for, nearest first (see the module docstring)."""
    near: list[NamedContext] = []
    child: cst.CSTNode = call
    for parent in parsed.ancestors(call):
        if isinstance(parent, cst.Arg) and parent.keyword is not None and parent.value is child:
            near.append(NamedContext("keyword argument", parent.keyword.value))
        elif isinstance(parent, cst.DictElement) and parent.value is child:
            near.extend(NamedContext("dict key", n) for n in _target_names(cst.Subscript(
                value=cst.Name("_"), slice=[cst.SubscriptElement(cst.Index(parent.key))])))
        elif isinstance(parent, cst.Assign):
            near.extend(NamedContext("assigned to", n) for t in parent.targets for n in _target_names(t.target))
        elif isinstance(parent, (cst.AnnAssign, cst.AugAssign)):
            near.extend(NamedContext("assigned to", n) for n in _target_names(parent.target))
        if isinstance(parent, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            break
        child = parent
    near.extend(NamedContext("argument", n) for a in call.args for n in _identifiers_in(a.value))
    for ancestor in parsed.ancestors(call):
        if isinstance(ancestor, cst.FunctionDef):
            near.append(NamedContext("function", ancestor.name.value))
        elif isinstance(ancestor, cst.ClassDef):
            near.append(NamedContext("class", ancestor.name.value))
    return near


def describe_all(names: list[NamedContext]) -> str:
    return ", ".join(n.describe() for n in names) if names else "no named variable, argument or function"


# --- the same names on the stdlib ast tree (the fixers' would_rewrite predicates) --------------------------------


def _ast_string_key(view: AstView, node: ast.AST | None) -> list[str]:
    if view.is_simple_string(node) and isinstance(node.value, str):  # type: ignore[union-attr]
        return [node.value]  # type: ignore[union-attr]
    return []


def _ast_target_names(view: AstView, target: ast.AST) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Attribute):
        return [target.attr]
    if isinstance(target, ast.Subscript):
        index = target.slice
        if isinstance(index, ast.Tuple):
            if view.segment(index).startswith("("):
                raise Unsure("a subscript with a parenthesised tuple")
            keys = [k for e in index.elts if not isinstance(e, ast.Slice) for k in _ast_string_key(view, e)]
        else:
            keys = [] if isinstance(index, ast.Slice) else _ast_string_key(view, index)
        return keys + _ast_target_names(view, target.value)
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for e in target.elts
                for n in _ast_target_names(view, e.value if isinstance(e, ast.Starred) else e)]
    return []


def _source_order(node: ast.AST) -> list[ast.AST]:
    def position(child: ast.AST) -> tuple[int, int]:
        anchor = child.target if isinstance(child, ast.comprehension) else child
        return getattr(anchor, "lineno", 0), getattr(anchor, "col_offset", 0)
    return sorted((c for c in ast.iter_child_nodes(node) if not isinstance(c, (ast.expr_context, ast.operator,
                   ast.boolop, ast.unaryop, ast.cmpop))), key=position)


def _ast_identifiers_in(view: AstView, node: ast.AST, found: list[str]) -> None:
    """libcst's Name nodes and identifier-like SimpleStrings under `node`, in source order."""
    if isinstance(node, ast.Name):
        found.append(node.id)
        return
    if isinstance(node, ast.Constant):
        if node.value is True or node.value is False or node.value is None:
            found.append(str(node.value))
        elif isinstance(node.value, str | bytes):
            if view.string_tokens(node) != 1:
                raise Unsure("implicitly concatenated strings among the arguments")
            if isinstance(node.value, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]{0,40}", node.value):
                found.append(node.value)
        return
    if isinstance(node, ast.JoinedStr):
        if view.string_tokens(node) != 1:
            raise Unsure("implicitly concatenated strings among the arguments")
        _ast_fstring_identifiers(view, node, found)
        return
    if isinstance(node, ast.keyword) and node.arg:
        found.append(node.arg)
    if isinstance(node, ast.arg):
        found.append(node.arg)
    for child in _source_order(node):
        _ast_identifiers_in(view, child, found)
    if isinstance(node, ast.Attribute):
        found.append(node.attr)


def _ast_fstring_identifiers(view: AstView, node: ast.JoinedStr, found: list[str]) -> None:
    for part in node.values:
        if isinstance(part, ast.FormattedValue):
            _ast_identifiers_in(view, part.value, found)
            if isinstance(part.format_spec, ast.JoinedStr):
                _ast_fstring_identifiers(view, part.format_spec, found)


def ast_names_around(view: AstView, call: ast.Call) -> list[NamedContext]:
    """`names_around` on the ast tree: the same identifiers in the same order."""
    near: list[NamedContext] = []
    child: ast.AST = call
    for parent in view.ancestors(call):
        if isinstance(parent, ast.keyword) and parent.arg is not None and parent.value is child:
            near.append(NamedContext("keyword argument", parent.arg))
        elif isinstance(parent, ast.Dict) and any(v is child for v in parent.values):
            key = parent.keys[[id(v) for v in parent.values].index(id(child))]
            if key is not None:
                near.extend(NamedContext("dict key", n) for n in [*_ast_string_key(view, key), "_"])
        elif isinstance(parent, ast.Assign):
            near.extend(NamedContext("assigned to", n) for t in parent.targets for n in _ast_target_names(view, t))
        elif isinstance(parent, (ast.AnnAssign, ast.AugAssign)):
            near.extend(NamedContext("assigned to", n) for n in _ast_target_names(view, parent.target))
        if isinstance(parent, ast.stmt):
            break
        child = parent
    for arg in view.args(call):
        names: list[str] = []
        _ast_identifiers_in(view, arg.value, names)
        near.extend(NamedContext("argument", n) for n in names)
    for ancestor in view.ancestors(call):
        if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef)):
            near.append(NamedContext("function", ancestor.name))
        elif isinstance(ancestor, ast.ClassDef):
            near.append(NamedContext("class", ancestor.name))
    return near
