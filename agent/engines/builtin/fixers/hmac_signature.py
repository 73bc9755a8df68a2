"""Sign with HMAC, compare signatures in constant time.

Handles two shapes on the finding's lines:

* a **key-prefix (or -suffix) MAC**: a hashlib hash over a secret concatenated with data —
  `hashlib.sha256(secret + msg)`, `hashlib.md5(key + payload).hexdigest()`, `hashlib.new("sha1", msg + key)`,
  `hashlib.sha256(secret.encode() + body)`, `hashlib.sha256((secret + msg).encode())` — becomes
  `hmac.new(key, msg, hashlib.<algo>)` (same `.hexdigest()`/`.digest()`). A plain hash of key + data is forgeable
  (length extension for SHA-2/MD5/SHA-1; collisions for MD5/SHA-1). The digest algorithm is kept when strong
  (SHA-224 and weaker become SHA-256). Then, when the hash is what a function returns (`def sign(...)`), every
  `==`/`!=` in the module between a call of that function and another value becomes `hmac.compare_digest`;
* a **signature compared with `==`/`!=`**: `expected_sig == request.headers["X-Signature"]`,
  `hmac.new(...).hexdigest() != sig`, `sign(body, key) == signature` -> `hmac.compare_digest(a, b)`
  (`not hmac.compare_digest(a, b)`): `==` stops at the first differing byte, so its timing leaks the signature.

"Proves it is a keyed signature": one operand of the concatenation has a name that says secret (`secret`,
`SECRET_KEY`, `os.environ["WEBHOOK_SECRET"]`, `app_secret.encode()`) or a secret kind of key (`api_key`,
`signing_key`, `hmac_key`, `settings.PRIVATE_KEY`; not `cache_key`, `redis_key`, `public_key`); a bare `key`
counts only inside code about signing (the function, class or assigned name says sign/signature/HMAC/MAC/verify/
webhook). A comparison side's name says signature/sig/MAC/HMAC (variable, attribute, header key, function), or it
is an HMAC digest.

Declines: password words anywhere in the hashed expression (salted password hashes need a KDF, not a MAC), more
than one operand named as a key, and a comparison side that may be None (`headers.get(...)` without a default:
compare_digest raises TypeError on None). Not this fixer's shape (left to others): no operand named as a key, an
f-string or `%` over key and data, a computed algorithm name, `.update()` feeding, comparisons with a literal
(`sig == ""`, `len(sig) == 64`), chained comparisons.
"""

from __future__ import annotations

import ast

import libcst as cst

from agent.engines.builtin.fixers.ast_view import AstView, Unsure
from agent.engines.builtin.fixers.base import (
    Decline,
    Fixer,
    FixResult,
    NeededImport,
    ParsedSource,
    Rewrite,
    call_names,
    combine,
    has_star_args,
    keyword_arg,
    positional_args,
    with_replacements,
)
from agent.engines.builtin.fixers.intent import (
    PASSWORD_WORDS,
    ast_names_around,
    identifier_words,
    names_around,
)

SECRET_WORDS = frozenset({"secret", "secrets", "apikey", "privkey"})
# `<qualifier>_key` names a secret key; other keys (cache_key, redis_key, public_key, object_key) are identifiers
SECRET_KEY_QUALIFIERS = frozenset({"api", "secret", "private", "signing", "sign", "hmac", "mac", "shared",
                                   "webhook", "auth", "access", "client", "master", "encryption"})
# a bare `key` is a MAC key only in code about signing: the names around the hash must say so
SIGNING_CONTEXT_WORDS = frozenset({"sign", "signs", "signed", "signing", "signature", "signatures", "sig", "hmac",
                                   "mac", "verify", "verification", "webhook", "webhooks", "authenticate"})
SIGNATURE_WORDS = frozenset({"signature", "signatures", "sig", "sigs", "hmac", "mac", "signed", "sign"})
KEPT_ALGORITHMS = frozenset({"sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512", "blake2b", "blake2s"})
UPGRADED_ALGORITHMS = frozenset({"md5", "sha1", "sha224"})
HASHLIB_CALLS = frozenset(f"hashlib.{a}" for a in KEPT_ALGORITHMS | UPGRADED_ALGORITHMS)
HMAC_DIGESTS = frozenset({"hmac.new", "hmac.HMAC", "hmac.digest"})
_AST_HASH_CALLS = HASHLIB_CALLS | {"hashlib.new"}  # the hash calls `would_rewrite` looks at


def _identity(parsed: ParsedSource, node: cst.BaseExpression) -> str:
    """The name an expression goes by: variable, attribute, string subscript key, `.get`/getenv key, the object an
    `.encode()` is called on, or the function called."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    if isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
        key = node.slice[0].slice.value
        if isinstance(key, cst.SimpleString) and isinstance(key.evaluated_value, str):
            return key.evaluated_value
        return _identity(parsed, node.value)
    if isinstance(node, cst.Call):
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in {"encode", "strip", "lower", "upper", "decode"}:
            return _identity(parsed, func.value)
        args = positional_args(node)
        lookup = isinstance(func, cst.Attribute) and func.attr.value == "get" or call_names(parsed, node) & {"os.getenv"}
        if lookup and args and isinstance(args[0].value, cst.SimpleString) and \
                isinstance(args[0].value.evaluated_value, str):
            return args[0].value.evaluated_value
        if call_names(parsed, node) & {"builtins.bytes", "builtins.str"} and args:
            return _identity(parsed, args[0].value)
        return _identity(parsed, func)
    return ""


def _key_kind(parsed: ParsedSource, node: cst.BaseExpression) -> str | None:
    """"secret" for a name that says secret key, "bare" for a plain `key`, None for anything else."""
    return _key_kind_of(identifier_words(_identity(parsed, node)))


def _key_kind_of(words: tuple[str, ...]) -> str | None:
    """`_key_kind` from the words of a name (both tree views use it)."""
    if not words or "public" in words:
        return None
    if set(words) & SECRET_WORDS:
        return "secret"
    if words[-1] in {"key", "keys"}:
        if len(words) == 1:
            return "bare"
        return "secret" if words[-2] in SECRET_KEY_QUALIFIERS else None
    return None


def _signing_context(parsed: ParsedSource, call: cst.Call) -> bool:
    return any(set(n.words) & SIGNING_CONTEXT_WORDS for n in names_around(parsed, call) if n.role != "argument")


def _operands(node: cst.BaseExpression) -> list[cst.BaseExpression] | None:
    """The operands of an `a + b + c` chain (parentheses dropped), None for anything else."""
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        left = _operands(node.left) or [node.left]
        right = _operands(node.right) or [node.right]
        return left + right
    return None


def _join(parts: list[cst.BaseExpression]) -> cst.BaseExpression:
    expression = parts[0]
    for part in parts[1:]:
        expression = cst.BinaryOperation(left=expression, operator=cst.Add(), right=part)
    return expression


def _names_in(node: cst.CSTNode) -> list[str]:
    found: list[str] = []

    class _Collect(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            found.append(n.value)

    node.visit(_Collect())
    return found


def _algorithm(parsed: ParsedSource, call: cst.Call) -> tuple[str, cst.Arg] | str:
    """(algorithm, the data argument) of a hashlib call, or why it is not one this fixer reads."""
    names = call_names(parsed, call)
    args = positional_args(call)
    if names & HASHLIB_CALLS:
        data = args[0] if args else keyword_arg(call, "string") or keyword_arg(call, "data")
        algorithm = min(names & HASHLIB_CALLS).split(".")[1]
    else:
        name_arg = args[0] if args else keyword_arg(call, "name")
        if name_arg is None or not isinstance(name_arg.value, cst.SimpleString):
            return "the algorithm passed to hashlib.new is not a string literal"
        algorithm = str(name_arg.value.evaluated_value).lower().replace("-", "_")
        data = args[1] if len(args) > 1 else keyword_arg(call, "data")
        if algorithm.replace("_", "") in {"sha256", "sha384", "sha512", "sha1", "sha224"}:
            algorithm = algorithm.replace("_", "")
        if algorithm not in KEPT_ALGORITHMS | UPGRADED_ALGORITHMS:
            return f"hashlib.new uses {algorithm!r}, which hmac may not support the same way"
    if data is None:
        return "the hash is fed with .update() calls, not on this line"
    return algorithm, data


class HmacSignatureFixer(Fixer):
    """hashlib over key + data -> hmac.new; signature `==` -> hmac.compare_digest (module docstring)."""

    name = "hmac_signature"
    summary = "Sign with HMAC instead of a plain hash over key and data, and compare signatures in constant time"
    cwe = (327, 328, 208, 347)
    rule_ids = ("B324", "B303", "python-hash-keyed-by-concatenation", "python-signature-compared-with-eq")
    references = (
        "https://docs.python.org/3/library/hmac.html",
        "https://en.wikipedia.org/wiki/Length_extension_attack",
        "https://cwe.mitre.org/data/definitions/208.html",
    )
    review_guidance = (
        "Every signature changes: whoever checks or produces signatures with the same key (webhook receivers, "
        "other services, stored signed values) must switch to HMAC at the same time, or verification fails. "
        "hmac.compare_digest needs two str of ASCII characters or two bytes-like values: a None (missing header) "
        "or non-ASCII text now raises TypeError instead of comparing unequal."
    )
    target_description = "hashlib hash over a key concatenated with data, or signature compared with ==/!="

    def detects(self, parsed: ParsedSource, first_line: int, last_line: int) -> bool:
        return bool(self._plans(parsed, first_line, last_line))

    def fix_parsed(self, parsed: ParsedSource, first_line: int, last_line: int) -> FixResult:
        plans = self._plans(parsed, first_line, last_line)
        if not plans:
            return FixResult(None, self.not_found(first_line, last_line))
        return combine(parsed, plans)

    def rewrites(self, parsed: ParsedSource, first_line: int, last_line: int) -> bool:
        return any(isinstance(plan, Rewrite) for _, plan in self._plans(parsed, first_line, last_line))

    def would_rewrite(self, view: AstView, first_line: int, last_line: int) -> bool | None:
        """`rewrites` on the ast tree: a hash over key + data it would turn into HMAC, or a signature comparison
        it would make constant-time (with no hash rewritten, no signer function is known)."""
        for call in view.nodes_on_lines(ast.Call, first_line, last_line):
            if view.call_names(call) & _AST_HASH_CALLS and _ast_hash_rewrites(view, call):
                return True
        return any(_ast_comparison_rewrites(view, c) for c in view.nodes_on_lines(ast.Compare, first_line, last_line))

    def _plans(self, parsed: ParsedSource, first: int, last: int) -> list[tuple[cst.CSTNode, Rewrite | Decline]]:
        plans: list[tuple[cst.CSTNode, Rewrite | Decline]] = []
        for call in parsed.nodes_on_lines(cst.Call, first, last):
            if call_names(parsed, call) & (HASHLIB_CALLS | {"hashlib.new"}):
                plan = _plan_hash(parsed, call)
                if plan is not None:
                    plans.append((call, plan))
        signers = {signer for call, plan in plans if isinstance(plan, Rewrite) and isinstance(call, cst.Call)
                   and (signer := _returning_function(parsed, call)) is not None}
        hashed = {id(call): plan.replacement for call, plan in plans if isinstance(plan, Rewrite)}
        for comparison in parsed.nodes_on_lines(cst.Comparison, first, last):
            plan = _plan_comparison(parsed, comparison, signers, hashed)
            if plan is not None:
                plans.append((comparison, plan))
        if signers:
            seen = {id(node) for node, _ in plans}
            for comparison in parsed.nodes_on_lines(cst.Comparison, 1, 10**9):
                if id(comparison) not in seen and _calls_signer(comparison, signers):
                    plan = _plan_comparison(parsed, comparison, signers, hashed)
                    if isinstance(plan, Rewrite):
                        plans.append((comparison, plan))
        return plans


def _plan_hash(parsed: ParsedSource, call: cst.Call) -> Rewrite | Decline | None:
    """None when the call is no hash over a concatenation (not this fixer's shape)."""
    if has_star_args(call):
        return None
    found = _algorithm(parsed, call)
    if isinstance(found, str):
        return None
    algorithm, data = found
    value = data.value
    encode: cst.Call | None = None
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "encode":
        inner = value.func.value
        if _operands(inner) is not None:
            encode = value
            value = inner
    parts = _operands(value)
    if parts is None:
        return None
    kinds = {id(p): _key_kind(parsed, p) for p in parts}
    keys = [p for p in parts if kinds[id(p)] is not None]
    if not keys or (all(kinds[id(k)] == "bare" for k in keys) and not _signing_context(parsed, call)):
        return None
    words = {w for name in _names_in(value) for w in identifier_words(name)}
    if words & PASSWORD_WORDS:
        return Decline("the hashed value includes a password: stored password hashes need a key derivation function "
                       "(scrypt, argon2, bcrypt), not a MAC")
    if len(keys) > 1:
        return Decline(f"more than one operand is named like a key ({', '.join(parsed.code(k).strip() for k in keys)})"
                       ", so which one is the MAC key is unclear")
    key = keys[0]
    message = [p for p in parts if p is not key]
    key_code, message_code = parsed.code(key).strip(), parsed.code(_join(message)).strip()
    if encode is not None:
        encode_args = parsed.code(encode).strip()[len(parsed.code(encode.func).strip()):]  # "(...)"
        key_code = f"{_wrapped(key_code, key)}.encode{encode_args}"
        message_code = f"{_wrapped(message_code, message[0] if len(message) == 1 else None)}.encode{encode_args}"
    new_algorithm = algorithm if algorithm in KEPT_ALGORITHMS else "sha256"
    replacement = cst.parse_expression(f"hmac.new({key_code}, {message_code}, hashlib.{new_algorithm})")
    upgraded = f", upgraded from {algorithm.upper()}" if new_algorithm != algorithm else ""
    return Rewrite(call, replacement.with_changes(lpar=call.lpar, rpar=call.rpar),
                   f"HMAC-{new_algorithm.upper()} keyed with `{key_code}` instead of a plain hash over key and "
                   f"data{upgraded}", (NeededImport("hmac"), NeededImport("hashlib")))


def _wrapped(code: str, node: cst.BaseExpression | None) -> str:
    """`code` parenthesised unless it is an atom that `.encode()` can follow directly."""
    atomic = isinstance(node, (cst.Name, cst.Attribute, cst.Subscript, cst.Call))
    return code if atomic else f"({code})"


def _returning_function(parsed: ParsedSource, call: cst.Call) -> str | None:
    """The function whose `return` statement holds `call`, if any."""
    inside_return = False
    for ancestor in parsed.ancestors(call):
        if isinstance(ancestor, cst.Return):
            inside_return = True
        elif isinstance(ancestor, cst.FunctionDef):
            return ancestor.name.value if inside_return else None
        elif isinstance(ancestor, cst.SimpleStatementLine) and not inside_return:
            return None
    return None


def _calls_signer(node: cst.BaseExpression, signers: set[str]) -> bool:
    if not isinstance(node, cst.Comparison) and not isinstance(node, cst.Call):
        return False
    sides = [node.left, *(t.comparator for t in node.comparisons)] if isinstance(node, cst.Comparison) else [node]
    for side in sides:
        if isinstance(side, cst.Call):
            func = side.func
            name = func.value if isinstance(func, cst.Name) else func.attr.value if isinstance(func, cst.Attribute) \
                else None
            if name in signers:
                return True
    return False


def _is_signature(parsed: ParsedSource, node: cst.BaseExpression, signers: set[str]) -> bool:
    if _calls_signer(node, signers):
        return True
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and \
            node.func.attr.value in {"hexdigest", "digest"} and isinstance(node.func.value, cst.Call) and \
            call_names(parsed, node.func.value) & HMAC_DIGESTS:
        return True
    if isinstance(node, cst.Call) and call_names(parsed, node) & {"hmac.digest"}:
        return True
    return bool(set(identifier_words(_identity(parsed, node))) & SIGNATURE_WORDS)


def _may_be_none(node: cst.BaseExpression) -> bool:
    """`x.get(k)` without a default, or a literal None."""
    if isinstance(node, cst.Name) and node.value == "None":
        return True
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "get":
        args = positional_args(node)
        return len(args) < 2 or (isinstance(args[1].value, cst.Name) and args[1].value.value == "None")
    return False


LITERALS = (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.Integer, cst.Float)


def _plan_comparison(parsed: ParsedSource, comparison: cst.Comparison, signers: set[str],
                     hashed: dict[int, cst.CSTNode]) -> Rewrite | Decline | None:
    """`hashed`: the hash calls rewritten to HMAC (by node id), whose new code a comparison around them must use."""
    if len(comparison.comparisons) != 1:
        return None
    target = comparison.comparisons[0]
    if not isinstance(target.operator, (cst.Equal, cst.NotEqual)):
        return None
    left, right = comparison.left, target.comparator
    if not (_is_signature(parsed, left, signers) or _is_signature(parsed, right, signers)):
        return None
    if any(isinstance(s, LITERALS) or (isinstance(s, cst.Name) and s.value in {"True", "False"})
           for s in (left, right)):
        return None  # a flag or an emptiness check, not a comparison of two signatures
    if any(_may_be_none(s) for s in (left, right)):
        side = next(s for s in (left, right) if _may_be_none(s))
        return Decline(f"`{parsed.code(side).strip()}` may be None, which hmac.compare_digest rejects with "
                       "TypeError: check that it is present first")
    sides = [parsed.code(with_replacements(s, hashed)).strip() for s in (left, right)]
    call = f"hmac.compare_digest({sides[0]}, {sides[1]})"
    negated = isinstance(target.operator, cst.NotEqual)
    replacement = cst.parse_expression(f"not {call}" if negated else call)
    replacement = replacement.with_changes(lpar=comparison.lpar, rpar=comparison.rpar)
    return Rewrite(comparison, replacement,
                   f"compares the signature with hmac.compare_digest (constant time) instead of "
                   f"{'!=' if negated else '=='}", (NeededImport("hmac"),))


def _ast_operands(node: ast.AST) -> list[ast.expr] | None:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return (_ast_operands(node.left) or [node.left]) + (_ast_operands(node.right) or [node.right])
    return None


def _ast_names_in(node: ast.AST) -> set[str]:
    """The identifiers of libcst's Name nodes under `node` (names, attribute names, keywords, parameters)."""
    found: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            found.add(child.id)
        elif isinstance(child, ast.Attribute):
            found.add(child.attr)
        elif isinstance(child, (ast.keyword, ast.arg)) and child.arg:
            found.add(child.arg)
        elif isinstance(child, ast.Constant) and (child.value is None or isinstance(child.value, bool)):
            found.add(str(child.value))
    return found


def _ast_key_kind(view: AstView, node: ast.AST) -> str | None:
    return _key_kind_of(identifier_words(_ast_identity(view, node)))


def _ast_hash_rewrites(view: AstView, call: ast.Call) -> bool:
    """`_plan_hash` on the ast tree returns a Rewrite (a hash over a concatenation with exactly one key operand,
    no password in it)."""
    if view.has_star(call):
        return False
    args = view.positional(call)
    if view.call_names(call) & HASHLIB_CALLS:
        data = args[0] if args else view.keyword(call, "string") or view.keyword(call, "data")
    else:
        name_arg = args[0] if args else view.keyword(call, "name")
        if name_arg is None or not view.is_simple_string(name_arg.value):
            return False
        algorithm = str(name_arg.value.value).lower().replace("-", "_")  # type: ignore[attr-defined]
        if algorithm.replace("_", "") in {"sha256", "sha384", "sha512", "sha1", "sha224"}:
            algorithm = algorithm.replace("_", "")
        if algorithm not in KEPT_ALGORITHMS | UPGRADED_ALGORITHMS:
            return False
        data = args[1] if len(args) > 1 else view.keyword(call, "data")
    if data is None:
        return False
    value: ast.AST = data.value
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "encode" and \
            _ast_operands(value.func.value) is not None:
        value = value.func.value
    parts = _ast_operands(value)
    if parts is None:
        return False
    kinds = [_ast_key_kind(view, p) for p in parts]
    keys = [k for k in kinds if k is not None]
    if not keys:
        return False
    if all(k == "bare" for k in keys) and not any(
            set(n.words) & SIGNING_CONTEXT_WORDS for n in ast_names_around(view, call) if n.role != "argument"):
        return False
    words = {w for name in _ast_names_in(value) for w in identifier_words(name)}
    return not words & PASSWORD_WORDS and len(keys) == 1


def _ast_comparison_rewrites(view: AstView, comparison: ast.Compare) -> bool:
    """`_plan_comparison` (no signer functions known) on the ast tree returns a Rewrite."""
    if len(comparison.ops) != 1 or not isinstance(comparison.ops[0], (ast.Eq, ast.NotEq)):
        return False
    sides = (comparison.left, comparison.comparators[0])
    if not any(_ast_is_signature(view, side) for side in sides):
        return False
    if any(isinstance(s, ast.JoinedStr) or (isinstance(s, ast.Constant) and (
            isinstance(s.value, (str, bytes, float, bool)) or type(s.value) is int)) for s in sides):
        return False  # a flag or an emptiness check
    return not any(_ast_may_be_none(view, side) for side in sides)


def _ast_may_be_none(view: AstView, node: ast.AST) -> bool:
    if view.is_name(node, "None"):
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
        args = view.positional(node)
        return len(args) < 2 or view.is_name(args[1].value, "None")
    return False


def _ast_identity(view: AstView, node: ast.AST) -> str:
    """`_identity` on the ast tree."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        if isinstance(node.slice, ast.Tuple):
            raise Unsure("a subscript by a tuple")
        if isinstance(node.slice, ast.Slice):
            return ""
        key = node.slice
        if view.is_simple_string(key) and isinstance(key.value, str):  # type: ignore[attr-defined]
            return key.value  # type: ignore[attr-defined]
        return _ast_identity(view, node.value)
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in {"encode", "strip", "lower", "upper", "decode"}:
            return _ast_identity(view, func.value)
        args = view.positional(node)
        names = view.call_names(node)
        lookup = isinstance(func, ast.Attribute) and func.attr == "get" or names & {"os.getenv"}
        if lookup and args and view.is_simple_string(args[0].value) and isinstance(args[0].value.value, str):  # type: ignore[attr-defined]
            return args[0].value.value  # type: ignore[attr-defined]
        if names & {"builtins.bytes", "builtins.str"} and args:
            return _ast_identity(view, args[0].value)
        return _ast_identity(view, func)
    return ""


def _ast_is_signature(view: AstView, node: ast.AST) -> bool:
    """`_is_signature` with no signer functions known (the ast check stops before any hash is rewritten)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
            node.func.attr in {"hexdigest", "digest"} and isinstance(node.func.value, ast.Call) and \
            view.call_names(node.func.value) & HMAC_DIGESTS:
        return True
    if isinstance(node, ast.Call) and view.call_names(node) & {"hmac.digest"}:
        return True
    return bool(set(identifier_words(_ast_identity(view, node))) & SIGNATURE_WORDS)
