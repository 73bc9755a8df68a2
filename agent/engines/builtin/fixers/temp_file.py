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

import libcst as cst

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
