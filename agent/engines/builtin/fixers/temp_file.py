"""Create temporary files atomically: `path = tempfile.mktemp(...)` becomes `mkstemp` with its descriptor closed.

`tempfile.mktemp` only returns a name; between choosing it and opening it another local user can create that
path (a symlink to a file of the victim's, say). `tempfile.mkstemp` creates the file itself, exclusively and
readable only by its owner, and returns an open descriptor with the path.

Handles: a statement `NAME = tempfile.mktemp(...)` (or `mktemp(...)` imported from tempfile; `suffix`, `prefix`
and `dir` mean the same to both functions). It becomes

    NAME_fd, NAME = tempfile.mkstemp(...)
    os.close(NAME_fd)

so the code after it keeps working with the path, which now names an empty file that already exists;
`import os` is added when missing.

Declines: any other shape (the result used directly, as in `open(tempfile.mktemp(), "w")`, or assigned to an
attribute or several names), a path later handed to something that must create it itself (`os.mkdir`,
`os.makedirs`, `os.mkfifo`, `os.mknod`, `os.symlink`, `os.link`, `shutil.copytree`, `socket.bind`), and
`NAME_fd` already in use.
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
    rename_callee,
)

MKTEMP = "tempfile.mktemp"
CREATES_ITSELF = frozenset({"os.mkdir", "os.makedirs", "os.mkfifo", "os.mknod", "os.symlink", "os.link",
                            "shutil.copytree"})


class TempFileFixer(CallFixer):
    """`path = tempfile.mktemp(...)` -> `path_fd, path = tempfile.mkstemp(...)` + `os.close` (module docstring)."""

    name = "temp_file"
    summary = "Create the temporary file securely with tempfile.mkstemp instead of only picking a name"
    cwe = (377,)
    rule_ids = ("B306",)
    references = (
        "https://docs.python.org/3/library/tempfile.html#tempfile.mkstemp",
        "https://cwe.mitre.org/data/definitions/377.html",
    )
    review_guidance = (
        "The path now names an empty file that already exists (mode 0600) when the code after it runs: code that "
        "expects the path not to exist (os.path.exists checks, tools that refuse to overwrite) must be adapted. "
        "The file is not deleted automatically, just as before."
    )
    target_description = "tempfile.mktemp call"
    text_needs = ("tempfile",)  # its targets: tempfile.mktemp calls

    def is_target(self, parsed: ParsedSource, call: cst.Call) -> bool:
        return MKTEMP in call_names(parsed, call)

    def plan(self, parsed: ParsedSource, call: cst.Call) -> Rewrite | Decline:
        assign = parsed.parent(call)
        statement = parsed.parent(assign) if assign is not None else None
        if not (isinstance(assign, cst.Assign) and len(assign.targets) == 1
                and isinstance(assign.targets[0].target, cst.Name)
                and isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
            return Decline("the name from mktemp is not assigned to a variable on a line of its own; a person must "
                           "restructure the code around tempfile.mkstemp or NamedTemporaryFile")
        name = assign.targets[0].target.value
        fd_name = f"{name}_fd"
        scope = parsed.scope(call)
        if scope is not None and fd_name in scope:
            return Decline(f"the name `{fd_name}` is already used in this scope")
        if scope is not None:
            for access in scope.accesses[name]:
                user = _called_with(parsed, access.node)
                if user:
                    return Decline(f"`{name}` is passed to {user} on line {parsed.span(access.node).start.line}, "
                                   "which creates the path itself and fails if it exists (use tempfile.mkdtemp "
                                   "for directories)")
        new_call, imports = rename_callee(call, "tempfile", "mkstemp")
        new_assign = assign.with_changes(
            targets=[cst.AssignTarget(cst.Tuple(
                elements=[cst.Element(cst.Name(fd_name)), cst.Element(cst.Name(name))], lpar=[], rpar=[]))],
            value=new_call,
        )
        close = cst.parse_statement(f"os.close({fd_name})\n")
        replacement = cst.FlattenSentinel([statement.with_changes(body=[new_assign]), close])
        return Rewrite(statement, replacement,  # type: ignore[arg-type]
                       f"created `{name}` with tempfile.mkstemp and closed its descriptor",
                       (*imports, NeededImport("os")))

    def ast_is_target(self, view: AstView, call: ast.Call) -> bool:
        return MKTEMP in view.call_names(call)

    def ast_plan(self, view: AstView, call: ast.Call) -> bool | None:
        assign = view.parent_of(call)
        if not (isinstance(assign, ast.Assign) and assign.value is call and len(assign.targets) == 1
                and isinstance(assign.targets[0], ast.Name) and alone_on_its_line(view, assign)):
            return False
        name = assign.targets[0].id
        scopes = view.scopes
        scope = scopes.scope(call)
        if scopes.contains(scope, f"{name}_fd"):
            return False
        return not any(_ast_called_with(view, read) for read in scopes.accesses(scope, name))


def _called_with(parsed: ParsedSource, name: cst.CSTNode) -> str | None:
    arg = parsed.parent(name)
    call = parsed.parent(arg) if isinstance(arg, cst.Arg) else None
    if isinstance(call, cst.Call):
        names = call_names(parsed, call) & CREATES_ITSELF
        if names:
            return min(names)
        if isinstance(call.func, cst.Attribute) and call.func.attr.value == "bind":
            return f"{parsed.code(call.func).strip()}"
    return None


def _ast_called_with(view: AstView, name: ast.Name) -> bool:
    """`_called_with` on the ast tree: the name is an argument of a call that creates the path itself."""
    arg = view.parent_of(name)
    call = view.parent_of(arg) if isinstance(arg, (ast.Starred, ast.keyword)) else arg
    if not isinstance(call, ast.Call) or (arg is call and name is call.func):
        return False
    if isinstance(arg, ast.Starred) and arg not in call.args:
        return False
    if view.call_names(call) & CREATES_ITSELF:
        return True
    return isinstance(call.func, ast.Attribute) and call.func.attr == "bind"


def alone_on_its_line(view: AstView, statement: ast.stmt) -> bool:
    """libcst puts the statement alone in a `SimpleStatementLine`: no `;` neighbour, not after `if x:` on one line."""
    if view.text_before(statement).strip():
        return False
    parent = view.parent_of(statement)
    for field in ("body", "orelse", "finalbody", "handlers"):
        siblings = getattr(parent, field, None)
        if isinstance(siblings, list) and statement in siblings:
            index = siblings.index(statement)
            following = siblings[index + 1] if index + 1 < len(siblings) else None
            return following is None or following.lineno != statement.end_lineno
    return True
