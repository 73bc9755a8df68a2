"""Pass values to SQL as query parameters: `cursor.execute(f"... '{name}'")` -> `cursor.execute("... ?", (name,))`.

Handles: `<anything>.execute(query)` and `.executemany(query)` (a cursor, a connection, `self.db`, ...) in a module
that imports a DB-API driver, whose query is an f-string, a `%`-formatted or `.format`-ed string literal or a `+`
concatenation (see `shell_split.command_pieces`), also triple-quoted and multi-line. The placeholder style comes
from the driver import: `?` for sqlite3 (and aiosqlite), `%s` for psycopg2, psycopg (3), pymysql, MySQLdb,
mysql.connector and Django's `django.db` connection. Which values can become parameters is decided by
`sql_text.parameterize` (a value in a quoted literal, or after `=`, LIKE, IN (...), VALUES (...), LIMIT, ...).

The two-line shape is handled too, whether the finding points at the line that builds the query or the one that
runs it: `query = f"..."` followed (in the same function) by `cursor.execute(query)`. The assignment keeps its
place and gets the placeholder text, a new `query_params = (...)` line right after it evaluates the values at the
same point as before, and the call becomes `cursor.execute(query, query_params)`.

Declines: identifiers, ORDER BY targets and SQL fragments (see `sql_text`), no driver import or several drivers
with different placeholder styles, a call that already passes parameters, `*args`/`**kwargs`, a query variable
assigned more than once, used anywhere else, assigned after the call or from other than a string build, and
`<name>_params` already taken.
"""

from __future__ import annotations

import ast

import libcst as cst
from libcst.metadata import Scope

from agent.engines.builtin.fixers import ast_pieces
from agent.engines.builtin.fixers.ast_view import Arg as AstArg
from agent.engines.builtin.fixers.ast_view import AstView, Unsure
from agent.engines.builtin.fixers.base import (
    CallFixer,
    Decline,
    FixResult,
    ParsedSource,
    Rewrite,
    any_rewrite,
    combine,
    has_star_args,
    keyword_arg,
    positional_args,
)
from agent.engines.builtin.fixers.shell_split import UnsupportedCommand, command_pieces, word_code
from agent.engines.builtin.fixers.sql_text import Parameterized, parameterize
from agent.engines.builtin.fixers.temp_file import alone_on_its_line

EXECUTE_METHODS = frozenset({"execute", "executemany"})
DRIVER_STYLES = {
    "sqlite3": "qmark", "aiosqlite": "qmark", "psycopg2": "format", "psycopg": "format", "pymysql": "format",
    "MySQLdb": "format", "mysql.connector": "format", "mysql": "format", "django.db": "format",
}
_QUERY_KEYWORDS = ("sql", "query", "operation")
_PARAM_KEYWORDS = ("parameters", "params", "args", "seq_of_parameters", "vars", "vars_list")
_BUILT = (cst.FormattedString, cst.BinaryOperation, cst.Call, cst.ConcatenatedString)


def detect_paramstyle(parsed: ParsedSource) -> str:
    """`qmark` or `format` from the module's driver imports, or UnsupportedCommand saying why neither."""
    found: dict[str, str] = {}
    imported = [parsed.code(a.name) for i in parsed.nodes_on_lines(cst.Import, 1, 10**9) for a in i.names]
    imported += [parsed.code(i.module) for i in parsed.nodes_on_lines(cst.ImportFrom, 1, 10**9) if i.module]
    for module in imported:
        for driver, style in DRIVER_STYLES.items():
            if module == driver or module.startswith(driver + "."):
                found[driver] = style
    styles = set(found.values())
    if not styles:
        raise UnsupportedCommand(
            "the module imports no DB-API driver (sqlite3, psycopg, pymysql, MySQLdb, mysql.connector, django.db), "
            "so the placeholder style (`?` or `%s`) is unknown"
        )
    if len(styles) > 1:
        raise UnsupportedCommand(f"the module imports drivers with different placeholder styles "
                                 f"({', '.join(sorted(found))})")
    return styles.pop()


def _query_arg(call: cst.Call) -> cst.Arg | None:
    positional = positional_args(call)
    if positional:
        return positional[0]
    return next((a for k in _QUERY_KEYWORDS if (a := keyword_arg(call, k)) is not None), None)


def _quote_of(node: cst.CSTNode) -> str:
    """The quote of the first string literal in `node` (`"`, `'`, or a triple quote), `"` when there is none."""
    quotes: list[str] = []

    class _First(cst.CSTVisitor):
        def on_visit(self, child: cst.CSTNode) -> bool:
            if isinstance(child, (cst.SimpleString, cst.FormattedString)) and not quotes:
                quotes.append(child.quote)
            return not quotes

    node.visit(_First())
    return quotes[0] if quotes else '"'


def _sql_literal(sql: str, quote: str) -> cst.BaseExpression:
    """A Python string literal for `sql`: triple-quoted with its newlines kept when the original was."""
    if len(quote) == 3 and "\n" in sql and all(ch.isprintable() or ch in "\n\t" for ch in sql):
        body = sql.replace("\\", "\\\\").replace(quote[0], "\\" + quote[0])
        return cst.SimpleString(quote + body + quote)
    return cst.parse_expression(word_code([sql], quote[0]))


def _params_tuple(params: tuple[str, ...]) -> cst.BaseExpression:
    return cst.parse_expression(f"({params[0]},)" if len(params) == 1 else f"({', '.join(params)})")


def _with_params(call: cst.Call, query: cst.Arg, params: cst.BaseExpression) -> cst.Call:
    """`call` with `params` as a new positional argument right after `query`, following the call's layout."""
    args = list(call.args)
    index = args.index(query)
    new_arg = cst.Arg(value=params, comma=query.comma)  # the query's comma: a separator, or the trailing one
    if index + 1 == len(args):
        separator = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        if isinstance(call.whitespace_before_args, cst.ParenthesizedWhitespace):  # one argument per line
            separator = cst.Comma(whitespace_after=call.whitespace_before_args)
        args[index] = query.with_changes(comma=separator, whitespace_after_arg=cst.SimpleWhitespace(""))
        new_arg = new_arg.with_changes(whitespace_after_arg=query.whitespace_after_arg)
    args.insert(index + 1, new_arg)
    return call.with_changes(args=args)


class SqlParameterizeFixer(CallFixer):
    """Interpolated values in DB-API execute() queries -> placeholders + parameters (module docstring)."""

    name = "sql_parameterize"
    summary = "Pass values to the SQL driver as query parameters instead of formatting them into the query"
    cwe = (89,)
    rule_ids = ("B608", "python-sql-string-built-query")
    references = (
        "https://peps.python.org/pep-0249/#paramstyle",
        "https://docs.python.org/3/library/sqlite3.html#sqlite3-placeholders",
        "https://www.psycopg.org/docs/usage.html#passing-parameters-to-sql-queries",
        "https://cwe.mitre.org/data/definitions/89.html",
    )
    review_guidance = (
        "Values that sat inside quotes in the SQL are passed as str(...) so the database compares the same text; "
        "drop str() where the value is already a string. Unquoted values are passed as they are (an int stays an "
        "int). A value used as a table/column name or ORDER BY target cannot be a parameter and was left alone."
    )
    target_description = "execute/executemany call with a query built from interpolated values"
    text_needs = ("execute",)  # its targets: execute()/executemany() calls

    def is_target(self, parsed: ParsedSource, call: cst.Call) -> bool:
        if not (isinstance(call.func, cst.Attribute) and call.func.attr.value in EXECUTE_METHODS):
            return False
        query = _query_arg(call)
        if query is None:
            return False
        value = query.value
        return isinstance(value, cst.Name) or (isinstance(value, _BUILT) and _has_string(value))

    def targets(self, parsed: ParsedSource, first_line: int, last_line: int) -> list[cst.Call]:
        calls = super().targets(parsed, first_line, last_line)
        for assign in parsed.nodes_on_lines(cst.Assign, first_line, last_line):
            call = _execute_using(parsed, assign)
            if call is not None and self.is_target(parsed, call) and all(c is not call for c in calls):
                calls.append(call)
        return calls

    def fix_parsed(self, parsed: ParsedSource, first_line: int, last_line: int) -> FixResult:
        calls = self.targets(parsed, first_line, last_line)
        if not calls:
            return FixResult(None, self.not_found(first_line, last_line))
        plans: list[tuple[cst.CSTNode, Rewrite | Decline]] = []
        for call in calls:
            try:
                plans.extend((call, p) for p in self._plan(parsed, call))
            except UnsupportedCommand as exc:  # shell_split's messages speak of "the command"
                plans.append((call, Decline(str(exc).replace("the command", "the query"))))
        return combine(parsed, plans)

    def plan(self, parsed: ParsedSource, call: cst.Call) -> Rewrite | Decline:
        """The rewrite of the call alone (the one-line shape); `fix_parsed` also handles the two-line shape."""
        try:
            rewrites = self._plan(parsed, call)
        except UnsupportedCommand as exc:
            return Decline(str(exc).replace("the command", "the query"))
        if len(rewrites) > 1:
            return Decline("the query is built on another line; fix_parsed rewrites both lines together")
        return rewrites[0]

    def _plan(self, parsed: ParsedSource, call: cst.Call) -> list[Rewrite]:
        if has_star_args(call):
            raise UnsupportedCommand("the call passes *args or **kwargs, so its parameters cannot be seen")
        query = _query_arg(call)
        assert query is not None
        if len(positional_args(call)) > 1 or any(keyword_arg(call, k) for k in _PARAM_KEYWORDS):
            raise UnsupportedCommand(
                "the call already passes parameters; the values formatted into the query must be merged into them "
                "by a person"
            )
        style = detect_paramstyle(parsed)
        if isinstance(query.value, cst.Name):
            return self._plan_two_lines(parsed, call, query, style)
        result = parameterize(command_pieces(parsed, query.value), style, '"')
        new_query = query.with_changes(value=_sql_literal(result.sql, _quote_of(query.value)))
        if query.keyword is not None:  # `execute(sql=...)`: the parameters follow it positionally
            if call.args[0] is not query:
                raise UnsupportedCommand("the query is passed by keyword after other arguments")
            new_query = new_query.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT)
        new_call = _with_params(call.with_changes(args=[new_query if a is query else a for a in call.args]),
                                new_query, _params_tuple(result.params))
        return [Rewrite(call, new_call, _summary(result))]

    def _plan_two_lines(self, parsed: ParsedSource, call: cst.Call, query: cst.Arg, style: str) -> list[Rewrite]:
        name = query.value
        assert isinstance(name, cst.Name)
        assign = _single_assignment(parsed, name)
        scope = parsed.scope(call)
        params_name = f"{name.value}_params"
        if scope is not None and params_name in scope:
            raise UnsupportedCommand(f"the name `{params_name}` is already used in this scope")
        statement = parsed.parent(assign)
        assert isinstance(statement, cst.SimpleStatementLine)
        if len(statement.body) != 1:
            raise UnsupportedCommand(f"`{name.value}` is assigned in a line with several statements")
        result = parameterize(command_pieces(parsed, assign.value), style, '"')
        new_assign = assign.with_changes(value=_sql_literal(result.sql, _quote_of(assign.value)))
        params_line = cst.SimpleStatementLine(body=[cst.Assign(
            targets=[cst.AssignTarget(cst.Name(params_name))], value=_params_tuple(result.params))])
        new_statement = cst.FlattenSentinel([statement.with_changes(body=[new_assign]), params_line])
        new_call = _with_params(call, query, cst.Name(params_name))
        return [
            Rewrite(statement, new_statement, f"{_summary(result)} in `{name.value}`, "  # type: ignore[arg-type]
                                              f"collected in `{params_name}`"),
            Rewrite(call, new_call, f"passed `{params_name}` to {parsed.code(call.func).strip()}"),
        ]

    def rewrites(self, parsed: ParsedSource, first_line: int, last_line: int) -> bool:
        for call in self.targets(parsed, first_line, last_line):
            try:
                self._plan(parsed, call)
                return True
            except UnsupportedCommand:
                continue
        return False

    def ast_is_target(self, view: AstView, call: ast.Call) -> bool:
        if not (isinstance(call.func, ast.Attribute) and call.func.attr in EXECUTE_METHODS):
            return False
        query = _ast_query_arg(view, call)
        if query is None:
            return False
        return isinstance(query.value, ast.Name) or (_ast_built(view, query.value) and view.has_string(query.value))

    def ast_plan(self, view: AstView, call: ast.Call) -> bool | None:
        try:
            self._ast_plan(view, call)
            return True
        except UnsupportedCommand:
            return False

    def would_rewrite(self, view: AstView, first_line: int, last_line: int) -> bool | None:
        calls = view.call_targets(lambda c: self.ast_is_target(view, c), first_line, last_line)
        for assign in view.nodes_on_lines(ast.Assign, first_line, last_line):
            call = _ast_execute_using(view, assign)
            if call is not None and self.ast_is_target(view, call) and all(c is not call for c in calls):
                calls.append(call)
        return any_rewrite(self.ast_plan(view, c) for c in calls)

    def _ast_plan(self, view: AstView, call: ast.Call) -> None:
        """`_plan` on the ast tree: returns when it would rewrite, raises UnsupportedCommand when it would not."""
        if view.has_star(call):
            raise UnsupportedCommand("*args or **kwargs")
        query = _ast_query_arg(view, call)
        assert query is not None
        if len(view.positional(call)) > 1 or any(view.keyword(call, k) for k in _PARAM_KEYWORDS):
            raise UnsupportedCommand("the call already passes parameters")
        style = _ast_paramstyle(view)
        if isinstance(query.value, ast.Name):
            assign = _ast_single_assignment(view, query.value)
            scopes = view.scopes
            if scopes.contains(scopes.scope(call), f"{query.value.id}_params"):
                raise UnsupportedCommand("the params name is taken")
            if not alone_on_its_line(view, assign):
                raise UnsupportedCommand("the query is assigned in a line with several statements")
            parameterize(ast_pieces.command_pieces(view, assign.value), style, '"')
            return
        parameterize(ast_pieces.command_pieces(view, query.value), style, '"')
        if query.keyword is not None and view.args(call)[0] is not query:
            raise UnsupportedCommand("the query is passed by keyword after other arguments")


def _summary(result: Parameterized) -> str:
    return (f"replaced {len(result.params)} interpolated value(s) with query parameters "
            f"({', '.join(f'`{p}`' for p in result.params)})")


def _has_string(node: cst.CSTNode) -> bool:
    found = False

    class _Find(cst.CSTVisitor):
        def visit_SimpleString(self, _: cst.SimpleString) -> None:
            nonlocal found
            found = True

        def visit_FormattedString(self, _: cst.FormattedString) -> None:
            nonlocal found
            found = True

    node.visit(_Find())
    return found


def _execute_using(parsed: ParsedSource, assign: cst.Assign) -> cst.Call | None:
    """The execute() call that runs the query `assign` builds (the build line of the two-line shape)."""
    if len(assign.targets) != 1 or not isinstance(assign.targets[0].target, cst.Name):
        return None
    if not (isinstance(assign.value, _BUILT) and _has_string(assign.value)):
        return None
    scope = parsed.scope(assign)
    if scope is None:
        return None
    target = assign.targets[0].target
    for access in scope.accesses[target.value]:
        arg = parsed.parent(access.node)
        call = parsed.parent(arg) if isinstance(arg, cst.Arg) else None
        if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and \
                call.func.attr.value in EXECUTE_METHODS and _query_arg(call) is arg:
            return call
    return None


def _single_assignment(parsed: ParsedSource, name: cst.Name) -> cst.Assign:
    scope: Scope | None = parsed.scope(name)
    if scope is None:
        raise UnsupportedCommand(f"the query variable `{name.value}` cannot be resolved")
    assignments = list(scope.assignments[name.value])
    if len(assignments) != 1:
        raise UnsupportedCommand(
            f"the query is the variable `{name.value}`, assigned {len(assignments)} times in this scope "
            "(or a parameter of the function); rewrite the place that builds it"
        )
    node = assignments[0].node  # type: ignore[attr-defined]  # a local variable's binding is an Assignment
    target = parsed.parent(node)
    assign = parsed.parent(target) if isinstance(target, cst.AssignTarget) else None
    if not isinstance(assign, cst.Assign) or len(assign.targets) != 1 or not isinstance(parsed.parent(assign),
                                                                                        cst.SimpleStatementLine):
        raise UnsupportedCommand(f"`{name.value}` is not set by a plain `{name.value} = ...` assignment")
    if not (isinstance(assign.value, _BUILT) and _has_string(assign.value)):
        raise UnsupportedCommand(f"`{name.value}` is set from `{parsed.code(assign.value).strip()}`, not a string "
                                 "built from visible parts")
    if parsed.span(assign).start.line >= parsed.span(name).start.line:
        raise UnsupportedCommand(f"`{name.value}` is assigned after the call")
    others = [a for a in scope.accesses[name.value] if a.node is not name]
    if others:
        line = parsed.span(others[0].node).start.line
        raise UnsupportedCommand(f"`{name.value}` is also used on line {line}; changing its text there too must "
                                 "be checked by a person")
    return assign


def _ast_query_arg(view: AstView, call: ast.Call) -> AstArg | None:
    positional = view.positional(call)
    if positional:
        return positional[0]
    return next((a for k in _QUERY_KEYWORDS if (a := view.keyword(call, k)) is not None), None)


def _ast_built(view: AstView, node: ast.AST) -> bool:
    """libcst FormattedString, BinaryOperation, Call or ConcatenatedString."""
    return isinstance(node, (ast.JoinedStr, ast.BinOp, ast.Call)) or view.is_concatenated_string(node)


def _ast_paramstyle(view: AstView) -> str:
    imported = [a.name for i in view.nodes_on_lines(ast.Import, 1, 10**9) for a in i.names]
    imported += [i.module for i in view.nodes_on_lines(ast.ImportFrom, 1, 10**9) if i.module]
    styles = {style for module in imported for driver, style in DRIVER_STYLES.items()
              if module == driver or module.startswith(driver + ".")}
    if len(styles) != 1:
        raise UnsupportedCommand("no driver import, or drivers with different placeholder styles")
    return styles.pop()


def _ast_execute_using(view: AstView, assign: ast.Assign) -> ast.Call | None:
    """`_execute_using` on the ast tree."""
    if len(assign.targets) != 1 or not isinstance(assign.targets[0], ast.Name):
        return None
    if not (_ast_built(view, assign.value) and view.has_string(assign.value)):
        return None
    scopes = view.scopes
    calls = []
    for read in scopes.accesses(scopes.scope(assign), assign.targets[0].id):
        holder = view.parent_of(read)
        call = view.parent_of(holder) if isinstance(holder, ast.keyword) else holder
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr in EXECUTE_METHODS:
            query = _ast_query_arg(view, call)
            if query is not None and query.value is read:
                calls.append(call)
    if len(calls) > 1:
        raise Unsure("libcst picks one of several execute calls in set order")
    return calls[0] if calls else None


def _ast_single_assignment(view: AstView, name: ast.Name) -> ast.Assign:
    """`_single_assignment` on the ast tree (UnsupportedCommand likewise)."""
    scopes = view.scopes
    scope = scopes.scope(name)
    scopes.accesses(scope, name.id)  # Unsure for global/nonlocal names
    bindings = scope.bindings.get(name.id, [])
    if len(bindings) != 1:
        raise UnsupportedCommand("assigned other than once in this scope")
    binding = bindings[0]
    assign = view.parent_of(binding.node) if binding.kind == "assign" else None
    if not isinstance(assign, ast.Assign) or len(assign.targets) != 1 or assign.targets[0] is not binding.node:
        raise UnsupportedCommand("not a plain assignment")
    if not (_ast_built(view, assign.value) and view.has_string(assign.value)):
        raise UnsupportedCommand("not a string built from visible parts")
    if assign.lineno >= name.lineno:
        raise UnsupportedCommand("assigned after the call")
    if any(read is not name for read in scopes.accesses(scope, name.id)):
        raise UnsupportedCommand("also used elsewhere")
    return assign
