"""Make security-sensitive random values with `secrets` instead of the predictable `random` module.

Handles: calls to `random.choice / choices / randint / randrange / random / getrandbits / sample / shuffle /
uniform` (module-level functions, any import style) whose value is, by the names around it, secret material — a
token, password, key, nonce, salt, OTP/PIN, CSRF token, session/reset/verification id... The intent heuristic is
in `intent.py`: the assigned variable / keyword / dict key, the call's arguments, then the enclosing functions and
classes, split into words and matched against a general vocabulary. Rewrites (same results, cryptographic source):

    choice(s)           -> secrets.choice(s)
    randint(a, b)       -> secrets.randbelow(b - a + 1) + a   (folded when a and b are literals)
    randrange(n)        -> secrets.randbelow(n)
    randrange(a, b)     -> secrets.randbelow(b - a) + a
    getrandbits(k)      -> secrets.randbits(k)
    random(), choices(), sample(), shuffle(), uniform(), and any call with keywords, a step, or a computed lower
    bound                -> secrets.SystemRandom().<same call>

`import secrets` is added once; `import random` is left for other uses.

Declines: calls whose intent is unclear from the names (shuffling a playlist, jitter, sampling data): `random` is
the right tool there, and a person should judge.
"""

from __future__ import annotations

import ast

import libcst as cst

from agent.engines.builtin.fixers.ast_view import AstView
from agent.engines.builtin.fixers.base import (
    CallFixer,
    Decline,
    NeededImport,
    ParsedSource,
    Rewrite,
    call_names,
    has_star_args,
    positional_args,
)
from agent.engines.builtin.fixers.intent import ast_names_around, describe_all, names_around, secret_words

FUNCTIONS = ("choice", "choices", "randint", "randrange", "random", "getrandbits", "sample", "shuffle", "uniform")
TARGETS = frozenset(f"random.{f}" for f in FUNCTIONS)
_PURE = (cst.Name, cst.Integer, cst.Attribute)
_SAFE_PARENTS = (cst.Assign, cst.AnnAssign, cst.Return, cst.Arg, cst.Element, cst.DictElement, cst.Expr,
                 cst.FormattedStringExpression, cst.Index)
_SECRETS = (NeededImport("secrets"),)


def _int_value(node: cst.BaseExpression) -> int | None:
    if isinstance(node, cst.Integer):
        return int(node.value.replace("_", ""), 0)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = _int_value(node.expression)
        return None if inner is None else -inner
    return None


def _operand(parsed: ParsedSource, node: cst.BaseExpression) -> str:
    code = parsed.code(node).strip()
    return code if isinstance(node, (*_PURE, cst.Call, cst.Subscript)) else f"({code})"


def _range_size(parsed: ParsedSource, low: cst.BaseExpression, high: cst.BaseExpression, inclusive: bool) -> str:
    lo, hi = _int_value(low), _int_value(high)
    extra = 1 if inclusive else 0
    if lo is not None and hi is not None:
        return str(hi - lo + extra)
    high_code = _operand(parsed, high)
    if lo == 0:
        return f"{high_code} + 1" if inclusive else high_code
    return f"{high_code} - {_operand(parsed, low)}" + (" + 1" if inclusive else "")


def _secure_code(parsed: ParsedSource, call: cst.Call, function: str) -> str | None:
    """The rewritten expression for the simple forms, or None to use secrets.SystemRandom()."""
    args = positional_args(call)
    if has_star_args(call) or len(args) != len(call.args):
        return None
    if function == "choice" and len(args) == 1:
        return f"secrets.choice({parsed.code(args[0].value).strip()})"
    if function == "getrandbits" and len(args) == 1:
        return f"secrets.randbits({parsed.code(args[0].value).strip()})"
    if function == "randrange" and len(args) == 1:
        return f"secrets.randbelow({parsed.code(args[0].value).strip()})"
    if function in {"randint", "randrange"} and len(args) == 2:
        low, high = args[0].value, args[1].value
        if not isinstance(low, _PURE) and _int_value(low) is None:
            return None  # the lower bound would be evaluated twice
        size = _range_size(parsed, low, high, inclusive=function == "randint")
        if _int_value(low) == 0:
            return f"secrets.randbelow({size})"
        return f"secrets.randbelow({size}) + {_operand(parsed, low)}"
    return None


class InsecureRandomFixer(CallFixer):
    """random-module calls that make secret material -> secrets equivalents (module docstring)."""

    name = "insecure_random"
    summary = "Generate tokens, passwords and keys with the secrets module instead of random"
    cwe = (330, 338)
    rule_ids = ("B311",)
    references = (
        "https://docs.python.org/3/library/secrets.html",
        "https://docs.python.org/3/library/random.html",
        "https://cwe.mitre.org/data/definitions/338.html",
    )
    review_guidance = (
        "The values keep their type and range but come from the OS's cryptographic generator, so random.seed() "
        "no longer makes them reproducible (tests that seed random to predict them must change). Check that the "
        "names really mean secret material; the fixer judged intent from them."
    )
    target_description = "call to a random-module function"
    text_needs = ("random",)  # its targets: random.* calls

    def is_target(self, parsed: ParsedSource, call: cst.Call) -> bool:
        return bool(call_names(parsed, call) & TARGETS)

    def plan(self, parsed: ParsedSource, call: cst.Call) -> Rewrite | Decline:
        function = min(call_names(parsed, call) & TARGETS).split(".", 1)[1]
        names = names_around(parsed, call)
        evidence = next(((n, secret_words(n.words)) for n in names if secret_words(n.words)), None)
        if evidence is None:
            return Decline(
                f"cannot tell that random.{function}() makes secret material: none of the names around it "
                f"({describe_all(names)}) suggests a token, password, key, nonce, salt, OTP or session/reset/CSRF "
                "id; random is fine for non-security uses such as shuffling or sampling"
            )
        named, words = evidence
        code = _secure_code(parsed, call, function)
        if code is None:
            replacement: cst.BaseExpression = call.with_changes(
                func=cst.parse_expression(f"secrets.SystemRandom().{function}"))
            new_text = f"secrets.SystemRandom().{function}"
        else:
            replacement = cst.parse_expression(code)
            new_text = code.split("(", 1)[0]
            if isinstance(replacement, cst.BinaryOperation) and not isinstance(parsed.parent(call), _SAFE_PARENTS):
                replacement = replacement.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        replacement = replacement.with_changes(lpar=[*call.lpar, *replacement.lpar],
                                               rpar=[*replacement.rpar, *call.rpar])
        return Rewrite(
            call,
            replacement,
            f"used {new_text} instead of random.{function} ({named.describe()} suggests {', '.join(words)})",
            _SECRETS,
        )

    def ast_is_target(self, view: AstView, call: ast.Call) -> bool:
        return bool(view.call_names(call) & TARGETS)

    def ast_plan(self, view: AstView, call: ast.Call) -> bool | None:
        return any(secret_words(n.words) for n in ast_names_around(view, call))
