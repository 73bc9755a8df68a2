"""Turn a shell command built in Python (f-string, `%`, `.format`, `+`) into an argument vector, or refuse.

The command is first read into *pieces*: static text (the string literals' values) and interpolated values (the
expressions). The static text is then split into words the way a POSIX shell (and `shlex.split`) would: whitespace
separates words, single quotes keep text literal, double quotes keep text literal except `\\`, and a backslash
escapes the next character. An interpolated value becomes part of the word it sits in, so `f"--name={x}"` stays one
word, and a value standing alone becomes one argument of its own.

Anything that makes the shell do more than split words is refused with the reason: operators (`|`, `&`, `;`, `<`,
`>`, parentheses), expansions (`$`, backticks, `~`, globs, braces), comments, newlines, leading `NAME=value`
assignments, shell builtins as the program, and unbalanced quotes.
"""

from __future__ import annotations

import ast
import re
import string
from dataclasses import dataclass

import libcst as cst

from agent.engines.builtin.fixers.base import ParsedSource, has_star_args, positional_args


class UnsupportedCommand(Exception):
    """The command cannot be turned into an argument list safely; the message says why (for a reviewer)."""


@dataclass(frozen=True)
class Value:
    """An interpolated expression. `bare_ok`: it is already a str and may stand alone as an argument."""

    code: str
    atomic: bool
    conversion: str | None = None
    spec: str | None = None
    bare_ok: bool = False


Piece = str | Value

_OPERATORS = set("|&;<>()")
_GLOBS = set("*?[")
_SHELL_ONLY = {
    "cd", "export", "source", ".", "alias", "unset", "set", "eval", "exec", "ulimit", "umask", "read", "trap",
    "wait", "jobs", "fg", "bg", "exit", "return", "local", "declare", "typeset", "readonly", "shift", "builtin",
    "shopt", "history", "let",
}
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_QUOTE_FUNCS = {"shlex.quote", "pipes.quote"}
_ATOMIC = (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.SimpleString, cst.Integer)


def _value(parsed: ParsedSource, node: cst.BaseExpression, *, bare_ok: bool, conversion: str | None = None,
           spec: str | None = None) -> Value:
    if isinstance(node, cst.Call) and parsed.qualified_names(node.func) & _QUOTE_FUNCS:
        args = positional_args(node)
        if len(args) == 1 and len(node.args) == 1:  # the shell quoting goes away together with the shell
            node, bare_ok = args[0].value, True
    if isinstance(node, cst.SimpleString) or (
        isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "str"
    ):
        bare_ok = True
    return Value(parsed.code(node).strip(), isinstance(node, _ATOMIC), conversion, spec, bare_ok)


def _literal_text(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        if isinstance(value, bytes):
            raise UnsupportedCommand("the command is a bytes literal")
        return value
    if isinstance(node, cst.ConcatenatedString):
        left, right = _literal_text(node.left), _literal_text(node.right)
        return None if left is None or right is None else left + right
    return None


def _fstring_pieces(parsed: ParsedSource, node: cst.FormattedString) -> list[Piece]:
    prefix = node.prefix.lower().replace("f", "")
    pieces: list[Piece] = []
    for part in node.parts:
        if isinstance(part, cst.FormattedStringText):
            text = ast.literal_eval(f"{prefix}{node.quote}{part.value}{node.quote}")
            pieces.append(text.replace("{{", "{").replace("}}", "}"))
            continue
        assert isinstance(part, cst.FormattedStringExpression)  # libcst's only other f-string part
        if part.equal is not None:
            raise UnsupportedCommand("an f-string field uses the debugging form `{x=}`")
        spec = None
        if part.format_spec is not None:
            if any(not isinstance(p, cst.FormattedStringText) for p in part.format_spec):
                raise UnsupportedCommand("an f-string field has a computed format spec")
            spec = "".join(p.value for p in part.format_spec if isinstance(p, cst.FormattedStringText))
        pieces.append(_value(parsed, part.expression, bare_ok=False, conversion=part.conversion, spec=spec))
    return pieces


def _percent_pieces(parsed: ParsedSource, template: str, right: cst.BaseExpression) -> list[Piece]:
    specs = re.findall(r"%(.)", template)
    if any(s == "(" for s in specs):
        raise UnsupportedCommand("the command uses mapping-style `%(name)s` formatting")
    fields = [s for s in specs if s != "%"]
    if isinstance(right, cst.Tuple):
        values = [e.value for e in right.elements]
        if any(isinstance(e, cst.StarredElement) for e in right.elements):
            raise UnsupportedCommand("the `%` values are unpacked with `*`")
    elif len(fields) == 1:
        values = [right]
    else:
        raise UnsupportedCommand(f"the `%` values come from `{parsed.code(right)}`, which cannot be seen statically")
    if len(values) != len(fields):
        raise UnsupportedCommand("the number of `%` fields and values differ")
    pieces: list[Piece] = []
    texts = re.split(r"%.", template)
    field_iter = iter(zip(fields, values))
    for index, text in enumerate(texts):
        pieces.append(text)
        if index == len(specs):
            break
        if specs[index] == "%":
            pieces.append("%")
            continue
        kind, node = next(field_iter)
        if kind == "s":
            pieces.append(_value(parsed, node, bare_ok=False))
        elif kind == "r":
            pieces.append(_value(parsed, node, bare_ok=False, conversion="r"))
        elif kind in "di":
            code = parsed.code(node).strip()
            pieces.append(Value(f"int({code})", True))
        else:
            raise UnsupportedCommand(f"the command uses the `%{kind}` conversion, which is not handled")
    return [p for p in pieces if p != ""]


def _format_pieces(parsed: ParsedSource, template: str, call: cst.Call) -> list[Piece]:
    if has_star_args(call):
        raise UnsupportedCommand("`.format` is called with `*args` or `**kwargs`")
    positional = [a.value for a in positional_args(call)]
    keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
    used: list[cst.BaseExpression] = []
    pieces: list[Piece] = []
    auto = 0
    try:
        parsed_template = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise UnsupportedCommand(f"the `.format` template does not parse: {exc}") from exc
    for text, field, spec, conversion in parsed_template:
        if text:
            pieces.append(text)
        if field is None:
            continue
        if spec and "{" in spec:
            raise UnsupportedCommand("a `.format` field has a computed format spec")
        if field == "":
            field, auto = str(auto), auto + 1
        if field.isdigit() and int(field) < len(positional):
            node = positional[int(field)]
        elif field in keywords:
            node = keywords[field]
        else:
            raise UnsupportedCommand(f"the `.format` field `{{{field}}}` is not a plain argument reference")
        used.append(node)
        pieces.append(_value(parsed, node, bare_ok=False, conversion=conversion, spec=spec or None))
    for node in [*positional, *keywords.values()]:
        if used.count(node) != 1 and not isinstance(node, (cst.Name, cst.SimpleString, cst.Integer)):
            raise UnsupportedCommand(
                f"the `.format` argument `{parsed.code(node)}` is used {used.count(node)} times; "
                "rewriting would change how often it is evaluated"
            )
    return pieces


def command_pieces(parsed: ParsedSource, node: cst.BaseExpression) -> list[Piece]:
    """The static text and interpolated values a command expression is built from."""
    literal = _literal_text(node)
    if literal is not None:
        return [literal]
    if isinstance(node, cst.FormattedString):
        return _fstring_pieces(parsed, node)
    if isinstance(node, cst.ConcatenatedString):
        return [*command_pieces(parsed, node.left), *command_pieces(parsed, node.right)]
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Modulo):
        template = _literal_text(node.left)
        if template is None:
            raise UnsupportedCommand("the `%` template is not a string literal")
        return _percent_pieces(parsed, template, node.right)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "format":
        template = _literal_text(node.func.value)
        if template is None:
            raise UnsupportedCommand("the `.format` template is not a string literal")
        return _format_pieces(parsed, template, node)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        pieces: list[Piece] = []
        for operand in (node.left, node.right):
            is_sum = isinstance(operand, cst.BinaryOperation) and isinstance(operand.operator, cst.Add)
            if is_sum or _literal_text(operand) is not None or isinstance(operand, cst.FormattedString):
                pieces.extend(command_pieces(parsed, operand))
            else:
                pieces.append(_value(parsed, operand, bare_ok=True))
        if all(isinstance(p, Value) for p in pieces):
            raise UnsupportedCommand("the command is a sum of variables with no visible text")
        return pieces
    if isinstance(node, cst.Name):
        raise UnsupportedCommand(
            f"the command is the variable `{node.value}`, built elsewhere; rewrite the place that builds it "
            "as a list of arguments"
        )
    raise UnsupportedCommand(f"the command `{parsed.code(node).strip()}` is not a string built from visible parts")


def _expansion(ch: str) -> str:
    return "backtick command substitution" if ch == "`" else "shell expansion `$`"


def split_words(pieces: list[Piece]) -> list[list[Piece]]:
    """Split pieces into argv words like a POSIX shell would, refusing every shell feature beyond splitting."""
    words: list[list[Piece]] = []
    current: list[Piece] | None = None
    quote: str | None = None

    def add(item: Piece) -> None:
        nonlocal current
        if current is None:
            current = []
            words.append(current)
        if isinstance(item, str) and current and isinstance(current[-1], str):
            current[-1] += item
        else:
            current.append(item)

    for piece in pieces:
        if isinstance(piece, Value):
            add(piece)
            continue
        chars = iter(enumerate(piece))
        for index, ch in chars:
            nxt = piece[index + 1] if index + 1 < len(piece) else None
            if quote == "'":
                if ch == "'":
                    quote = None
                else:
                    add(ch)
            elif quote == '"':
                if ch == '"':
                    quote = None
                elif ch in "$`":
                    raise UnsupportedCommand(f"the command uses {_expansion(ch)} inside double quotes")
                elif ch == "\\" and nxt in ('"', "\\", "$", "`", "\n"):
                    next(chars)
                    if nxt != "\n":
                        add(nxt)
                else:
                    add(ch)
            elif ch == "\n":
                raise UnsupportedCommand("the command contains a newline, which separates shell commands")
            elif ch.isspace():
                current = None
            elif ch in "'\"":
                quote = ch
                add("")
            elif ch == "\\":
                if nxt is None:
                    raise UnsupportedCommand("a backslash at the end of static text makes the split ambiguous")
                next(chars)
                if nxt != "\n":
                    add(nxt)
            elif ch in _OPERATORS:
                raise UnsupportedCommand(f"the command uses the shell operator `{ch}`")
            elif ch in "$`":
                raise UnsupportedCommand(f"the command uses {_expansion(ch)}")
            elif ch in _GLOBS:
                raise UnsupportedCommand(f"the command uses the glob character `{ch}`, which the shell expands")
            elif ch in "{}":
                raise UnsupportedCommand(f"the command uses `{ch}`, which bash treats as brace expansion")
            elif ch in "~#" and current is None:
                raise UnsupportedCommand(f"the command starts a word with `{ch}`, which the shell expands")
            else:
                add(ch)
    if quote is not None:
        raise UnsupportedCommand("the command has an unbalanced quote")
    if not words:
        raise UnsupportedCommand("the command is empty")
    first = words[0][0]
    if isinstance(first, str) and _ASSIGNMENT.match(first):
        raise UnsupportedCommand("the command starts with a `NAME=value` environment assignment")
    if len(words[0]) == 1 and isinstance(first, str) and first in _SHELL_ONLY:
        raise UnsupportedCommand(f"`{first}` is a shell builtin, not a program")
    return words


def _escape(text: str, quote: str) -> str:
    out = []
    for ch in text:
        if ch == "\\" or ch == quote:
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(repr(ch)[1:-1])
    return "".join(out)


def _string_literal(text: str, quote: str) -> str:
    other = "'" if quote == '"' else '"'
    if quote in text and other not in text:
        quote = other
    return quote + _escape(text, quote) + quote


def fstring_refuses(code: str, quote: str) -> bool:
    """A value's code cannot be a field of an f-string quoted with `quote` in Python 3.11 (it holds the quote, a
    backslash or a newline)."""
    return quote in code or "\\" in code or "\n" in code


def _field(value: Value, quote: str) -> str:
    code = value.code if value.atomic else f"({value.code})"
    if fstring_refuses(code, quote):
        raise UnsupportedCommand(f"`{value.code}` cannot be placed inside an f-string in Python 3.11")
    field = "{" + (" " if code.startswith("{") else "") + code
    if value.conversion:
        field += "!" + value.conversion
    if value.spec:
        field += ":" + value.spec
    return field + "}"


def word_code(word: list[Piece], quote: str) -> str:
    """Python source for one argv word: a string literal, the value itself, `str(value)`, or an f-string."""
    word = [p for p in word if p != ""] or [""]
    if all(isinstance(p, str) for p in word):
        return _string_literal("".join(word), quote)  # type: ignore[arg-type]
    if len(word) == 1:
        value = word[0]
        assert isinstance(value, Value)
        if value.conversion is None and value.spec is None:
            return value.code if value.bare_ok else f"str({value.code})"
    for q in (quote, "'" if quote == '"' else '"'):
        try:
            parts = []
            for p in word:
                if isinstance(p, Value):
                    parts.append(_field(p, q))
                else:
                    parts.append(_escape(p, q).replace("{", "{{").replace("}", "}}"))
            return "f" + q + "".join(parts) + q
        except UnsupportedCommand:
            continue
    raise UnsupportedCommand("an argument mixes both quote characters with interpolated values")


def argv_code(words: list[list[Piece]], quote: str = '"') -> str:
    return "[" + ", ".join(word_code(w, quote) for w in words) + "]"
