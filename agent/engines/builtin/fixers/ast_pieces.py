"""`shell_split.command_pieces` on the stdlib `ast` tree: the same pieces (static text and interpolated values, split
at the same places) for the same expression, so the pure parts (`split_words`, `sql_text.parameterize`,
`word_code`) decide the same way. Used by the shell and SQL fixers' `would_rewrite` predicates.

libcst sees implicitly concatenated literals as a chain of separate literals and f-strings, where `ast` merges
them into one node: the literal's tokens are read back from the source to split them the same way. A value whose
code libcst would read differently (parentheses of its own: libcst's code keeps them, and what is inside them)
raises `Unsure`.
"""

from __future__ import annotations

import ast
import io
import re
import string
import tokenize

from agent.engines.builtin.fixers.ast_view import AstView, Unsure
from agent.engines.builtin.fixers.shell_split import Piece, UnsupportedCommand, Value

_QUOTE_FUNCS = {"shlex.quote", "pipes.quote"}
_CONVERSIONS = {-1: None, 115: "s", 114: "r", 97: "a"}


def _is_libcst_name(node: ast.AST) -> bool:
    """A libcst `Name`: a name, or True / False / None."""
    return isinstance(node, ast.Name) or (isinstance(node, ast.Constant) and (
        node.value is True or node.value is False or node.value is None))


def _is_integer(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int


def _value(view: AstView, node: ast.expr, *, bare_ok: bool, conversion: str | None = None,
           spec: str | None = None) -> Value:
    if isinstance(node, ast.Call) and view.call_names(node) & _QUOTE_FUNCS:
        args = view.positional(node)
        if len(args) == 1 and len(view.args(node)) == 1:
            node, bare_ok = args[0].value, True
    if view.is_simple_string(node) or (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                                       and node.func.id == "str"):
        bare_ok = True
    code = _code(view, node)
    atomic = isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)) or _is_libcst_name(node) or \
        _is_integer(node) or view.is_simple_string(node)
    return Value(code, atomic, conversion, spec, bare_ok)


def _code(view: AstView, node: ast.AST) -> str:
    """libcst's `code_for_node(node).strip()`, or Unsure for a node in parentheses of its own."""
    if view.grouped(node):
        raise Unsure("a value in parentheses of its own")
    return view.segment(node).strip()


_F_STRING_PARTS = frozenset(getattr(tokenize, n) for n in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")
                            if hasattr(tokenize, n))


def _tokens(view: AstView, node: ast.AST) -> list[str]:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO("(" + view.segment(node) + ")").readline))
    except (tokenize.TokenError, SyntaxError) as exc:
        raise Unsure("a string literal the tokenizer cannot read") from exc
    if any(t.type in _F_STRING_PARTS for t in tokens):
        raise Unsure("f-string tokens of Python >= 3.12")  # one STRING token per literal is what this reads
    return [t.string for t in tokens if t.type == tokenize.STRING]


def _is_fstring_token(token: str) -> bool:
    return "f" in token[: len(token) - len(token.lstrip("rRbBuUfF"))].lower()


def literal_text(view: AstView, node: ast.AST) -> str | None:
    """`shell_split._literal_text`: the value of plain (possibly concatenated) string literals, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, bytes):
        raise UnsupportedCommand("the command is a bytes literal")
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and view.string_tokens(node) > 1:
        for token in _tokens(view, node):  # libcst reads the parts left to right and stops at an f-string
            if _is_fstring_token(token):
                return None
    return None


def _fstring_pieces(view: AstView, node: ast.JoinedStr) -> list[Piece]:
    pieces: list[Piece] = []
    for part in node.values:
        if isinstance(part, ast.Constant):
            pieces.append(str(part.value))
            continue
        assert isinstance(part, ast.FormattedValue)
        after = view._next(part.value.end_lineno, part.value.end_col_offset)[2]  # type: ignore[arg-type]
        if after == b"=":
            raise UnsupportedCommand("an f-string field uses the debugging form `{x=}`")
        spec = None
        if part.format_spec is not None:
            assert isinstance(part.format_spec, ast.JoinedStr)
            if any(not isinstance(p, ast.Constant) for p in part.format_spec.values):
                raise UnsupportedCommand("an f-string field has a computed format spec")
            spec = "".join(str(p.value) for p in part.format_spec.values if isinstance(p, ast.Constant))
            if "\\" in spec or "{" in spec or "}" in spec:
                raise Unsure("a format spec libcst reads as raw source text")
        pieces.append(_value(view, part.value, bare_ok=False, conversion=_CONVERSIONS.get(part.conversion),
                             spec=spec))
    return pieces


def _concatenated_pieces(view: AstView, node: ast.AST) -> list[Piece]:
    """The pieces of implicitly concatenated literals, one literal or f-string token at a time (as libcst)."""
    pieces: list[Piece] = []
    tokens = _tokens(view, node)
    for index, token in enumerate(tokens):
        if not any(_is_fstring_token(t) for t in tokens[index:]):  # libcst nests to the right: the plain
            values = [ast.literal_eval(t) for t in tokens[index:]]  # literals after the last f-string are one
            if any(isinstance(v, bytes) for v in values):
                raise UnsupportedCommand("the command is a bytes literal")
            pieces.append("".join(values))
            break
        if _is_fstring_token(token):
            mini = AstView("(" + token + ")", ast.parse("(" + token + ")"))
            inner = mini.tree.body[0]
            assert isinstance(inner, ast.Expr) and isinstance(inner.value, ast.JoinedStr)
            pieces.extend(_fstring_pieces(mini, inner.value))
        else:
            value = ast.literal_eval(token)
            if isinstance(value, bytes):
                raise UnsupportedCommand("the command is a bytes literal")
            pieces.append(value)
    return pieces


def _percent_pieces(view: AstView, template: str, right: ast.expr) -> list[Piece]:
    specs = re.findall(r"%(.)", template)
    if any(s == "(" for s in specs):
        raise UnsupportedCommand("mapping-style formatting")
    fields = [s for s in specs if s != "%"]
    if isinstance(right, ast.Tuple):
        values: list[ast.expr] = list(right.elts)
        if any(isinstance(e, ast.Starred) for e in right.elts):
            raise UnsupportedCommand("unpacked values")
    elif len(fields) == 1:
        values = [right]
    else:
        raise UnsupportedCommand("the `%` values cannot be seen statically")
    if len(values) != len(fields):
        raise UnsupportedCommand("the number of `%` fields and values differ")
    pieces: list[Piece] = []
    texts = re.split(r"%.", template)
    field_iter = iter(zip(fields, values, strict=True))
    for index, text in enumerate(texts):
        pieces.append(text)
        if index == len(specs):
            break
        if specs[index] == "%":
            pieces.append("%")
            continue
        kind, node = next(field_iter)
        if kind == "s":
            pieces.append(_value(view, node, bare_ok=False))
        elif kind == "r":
            pieces.append(_value(view, node, bare_ok=False, conversion="r"))
        elif kind in "di":
            code = _code(view, node)
            pieces.append(Value(f"int({code})", True))
        else:
            raise UnsupportedCommand(f"the `%{kind}` conversion")
    return [p for p in pieces if p != ""]


def _format_pieces(view: AstView, template: str, call: ast.Call) -> list[Piece]:
    if view.has_star(call):
        raise UnsupportedCommand("`.format` with *args or **kwargs")
    positional = [a.value for a in view.positional(call)]
    keywords = {a.keyword: a.value for a in view.args(call) if a.keyword is not None}
    used: list[ast.expr] = []
    pieces: list[Piece] = []
    auto = 0
    try:
        parsed_template = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise UnsupportedCommand("the template does not parse") from exc
    for text, field, spec, conversion in parsed_template:
        if text:
            pieces.append(text)
        if field is None:
            continue
        if spec and "{" in spec:
            raise UnsupportedCommand("a computed format spec")
        if field == "":
            field, auto = str(auto), auto + 1
        if field.isdigit() and int(field) < len(positional):
            node = positional[int(field)]
        elif field in keywords:
            node = keywords[field]
        else:
            raise UnsupportedCommand("not a plain argument reference")
        used.append(node)
        pieces.append(_value(view, node, bare_ok=False, conversion=conversion, spec=spec or None))
    for node in [*positional, *keywords.values()]:
        count = sum(1 for u in used if u is node)
        if count != 1 and not (_is_libcst_name(node) or view.is_simple_string(node) or _is_integer(node)):
            raise UnsupportedCommand("an argument used other than once")
    return pieces


def command_pieces(view: AstView, node: ast.expr) -> list[Piece]:
    """`shell_split.command_pieces` of the same expression (module docstring); UnsupportedCommand likewise."""
    literal = literal_text(view, node)
    if literal is not None:
        return [literal]
    if view.is_formatted_string(node):
        assert isinstance(node, ast.JoinedStr)
        return _fstring_pieces(view, node)
    if view.is_concatenated_string(node):
        return _concatenated_pieces(view, node)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        template = literal_text(view, node.left)
        if template is None:
            raise UnsupportedCommand("the `%` template is not a string literal")
        return _percent_pieces(view, template, node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        template = literal_text(view, node.func.value)
        if template is None:
            raise UnsupportedCommand("the `.format` template is not a string literal")
        return _format_pieces(view, template, node)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        pieces: list[Piece] = []
        for operand in (node.left, node.right):
            is_sum = isinstance(operand, ast.BinOp) and isinstance(operand.op, ast.Add)
            if is_sum or literal_text(view, operand) is not None or view.is_formatted_string(operand):
                pieces.extend(command_pieces(view, operand))
            else:
                pieces.append(_value(view, operand, bare_ok=True))
        if all(isinstance(p, Value) for p in pieces):
            raise UnsupportedCommand("a sum of variables with no visible text")
        return pieces
    raise UnsupportedCommand("not a string built from visible parts")
