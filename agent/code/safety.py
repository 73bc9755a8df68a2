"""What a sink call's inputs provably are, beyond "a constant" (stdlib `ast`, one parsed module).

Handles any module `ast.parse` accepts; used by `agent.code.sinks`. Every answer errs towards "not proven":

* `sink_kind(callee)` — "command" (os.system, subprocess.*, os.exec*/spawn*, paramiko exec_command...), "sql"
  (execute, executemany, raw, read_sql, text...), "code" (eval, exec, compile) or "" — by the called name;
* `command_inputs(call)` — the inputs that matter for a command: every positional argument and every keyword but
  the ones that only steer how the process runs (check, timeout, stdout...); `input=` counts (a shell reads it);
* `shell_program(values)` — the shell or interpreter an argument vector starts (`sh`, `/bin/bash`, `cmd`,
  `powershell`, `python`, `node`, `env sh`, `sudo bash`...) when a later element of the vector is not constant:
  such a program runs its argument as code, so a list without `shell=True` is no evidence of safety;
* `safe_reason(node)` — why a non-constant value cannot carry an injection: a builtin number conversion
  (`int(x)`, `len(x)`), a choice between safe values (`"cls" if nt else "clear"`), a lookup in a constant
  mapping or sequence (`{"asc": "ASC"}[order]`), placeholders joined
  (`",".join("?" * len(ids))`), or a name checked against a constant allow-list by an `if` that dominates the sink
  (`if col not in ALLOWED: raise ...` before it, or the sink inside `if col in ALLOWED:`);
* `mutated_names()` — names whose object is changed in place somewhere (`x.append(...)`, `x[i] = ...`): a list
  bound once to constants is not constant when it is mutated.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from agent.code.nodes import children

COMMAND_CALLEES = frozenset({"system", "popen", "popen2", "popen3", "popen4", "run", "call", "check_call",
                             "check_output", "Popen", "getoutput", "getstatusoutput", "exec_command",
                             "startfile", "create_subprocess_exec", "create_subprocess_shell",
                             "execl", "execle", "execlp", "execlpe", "execv", "execve", "execvp", "execvpe",
                             "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe"})
SQL_CALLEES = frozenset({"execute", "executemany", "executescript", "raw", "read_sql", "read_sql_query", "text",
                         "extra", "RawSQL", "mogrify", "exec_driver_sql"})
CODE_CALLEES = frozenset({"eval", "exec", "compile"})
HARMLESS_KEYWORDS = frozenset({"shell", "check", "capture_output", "text", "timeout", "stdout", "stderr", "stdin",
                               "encoding", "errors", "universal_newlines", "close_fds", "start_new_session",
                               "bufsize", "cwd", "env", "creationflags", "restore_signals", "pass_fds"})
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "csh", "tcsh", "fish", "ash", "busybox", "cmd",
                    "powershell", "pwsh", "python", "python2", "python3", "pypy", "pypy3", "node", "nodejs", "deno",
                    "bun", "perl", "ruby", "php", "lua", "tclsh", "osascript", "rscript", "jshell", "groovy",
                    "awk", "gawk", "xargs", "ssh", "su", "script"})
WRAPPERS = frozenset({"env", "sudo", "doas", "nice", "nohup", "timeout", "stdbuf", "setsid", "time", "exec",
                      "ionice", "chroot", "runuser", "unbuffer", "flock"})
NUMBER_BUILTINS = frozenset({"int", "float", "len", "bool", "abs", "round", "hash", "ord"})
MUTATORS = frozenset({"append", "extend", "insert", "update", "add", "setdefault", "__setitem__", "__iadd__"})
_EXITS = (ast.Raise, ast.Return, ast.Continue, ast.Break)
_EXIT_CALLS = frozenset({"abort", "exit", "_exit", "fail", "raise_for_status"})


def sink_kind(callee: str) -> str:
    name = callee.rsplit(".", 1)[-1]
    if name in COMMAND_CALLEES:
        return "command"
    if name in SQL_CALLEES:
        return "sql"
    if name in CODE_CALLEES:
        return "code"
    return ""


def command_inputs(call: ast.Call) -> list[ast.expr]:
    values = [a.value if isinstance(a, ast.Starred) else a for a in call.args]
    return values + [k.value for k in call.keywords if k.arg not in HARMLESS_KEYWORDS]


def program_name(text: str) -> str:
    """`/usr/bin/Bash.exe -l` → `bash`; `python3.11` → `python3`."""
    word = text.strip().split()[0] if text.strip() else ""
    base = word.replace("\\", "/").rsplit("/", 1)[-1].lower().removesuffix(".exe")
    if base.startswith("python") and base[6:].replace(".", "").isdigit():
        return "python3" if base[6:7] == "3" else "python"
    return base


def shell_program(values: list[ast.expr], is_constant: Callable[[ast.expr], bool]) -> str:
    """The shell or interpreter at the head of an argument vector that is handed a non-constant element ("" if
    none). `values`: the vector's elements (a list argument) or the call's positional arguments."""
    strings = [(v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else None, v) for v in values]
    for index, (text, _) in enumerate(strings):
        if text is None:
            continue
        name = program_name(text)
        if name in WRAPPERS or "=" in text or text.startswith("-") or text.isdigit():
            continue  # env VAR=1, sudo -u x, timeout 5: the program comes later
        if name in SHELLS and any(not is_constant(v) for _, v in strings[index + 1:]):
            return name
        if name not in SHELLS:
            return ""
    return ""


class Safety:
    """Per-module helper: `parent` gives a node's parent (None at the top), `qualified` the dotted names of an
    expression, `binding` the single constant binding of a name (or None), `bindings` the number of bindings of a
    name read."""

    def __init__(self, tree: ast.Module, parent: Callable[[ast.AST], ast.AST | None],
                 qualified: Callable[[ast.expr], set[str]], binding: Callable[[ast.Name], ast.expr | None],
                 bindings: Callable[[ast.Name], int]) -> None:
        self.tree, self.parent, self.qualified, self.binding, self.bindings = (
            tree, parent, qualified, binding, bindings)
        self._mutated: set[str] | None = None

    def mutated_names(self) -> set[str]:
        if self._mutated is None:
            found: set[str] = set()
            stack: list[ast.AST] = [self.tree]
            call, subscript, attribute, name, load = ast.Call, ast.Subscript, ast.Attribute, ast.Name, ast.Load
            while stack:
                node = stack.pop()
                cls = node.__class__
                if cls is call:
                    func = node.func  # type: ignore[attr-defined]
                    if func.__class__ is attribute and func.attr in MUTATORS and func.value.__class__ is name:
                        found.add(func.value.id)
                elif cls is subscript and node.ctx.__class__ is not load and (  # type: ignore[attr-defined]
                        node.value.__class__ is name):  # type: ignore[attr-defined]
                    found.add(node.value.id)  # type: ignore[attr-defined]
                stack += children(node)
            self._mutated = found
        return self._mutated

    def safe_reason(self, node: ast.expr, is_constant: Callable[[ast.expr], bool], seen: frozenset[str] = frozenset()
                    ) -> str | None:
        """Why `node` cannot carry an injection though it is not constant (module docstring), else None."""
        if is_constant(node):
            return "constant"
        if isinstance(node, ast.JoinedStr):
            reasons = [self.safe_reason(p.value, is_constant, seen) for p in node.values
                       if isinstance(p, ast.FormattedValue)]
            return _combine(reasons)
        if isinstance(node, ast.BinOp):
            right = node.right.elts if isinstance(node.right, ast.Tuple) and isinstance(node.op, ast.Mod) else [
                node.right]
            return _combine([self.safe_reason(v, is_constant, seen) for v in [node.left, *right]])
        if isinstance(node, ast.IfExp):
            return _combine([self.safe_reason(v, is_constant, seen) for v in (node.body, node.orelse)])
        if isinstance(node, ast.Call):
            return self._call_reason(node, is_constant, seen)
        if isinstance(node, ast.Subscript) and self._constant_container(node.value, is_constant):
            return f"`{_text(node)}` is looked up in a constant table"
        if isinstance(node, ast.Name) and node.id not in seen:
            bound = self.binding(node)
            if isinstance(bound, ast.List | ast.Dict | ast.Set) and node.id in self.mutated_names():
                bound = None  # changed in place somewhere: its literal says nothing
            if bound is not None:
                inner = self.safe_reason(bound, is_constant, seen | {node.id})
                if inner is not None:
                    return inner
            return self._allow_listed(node, is_constant)
        return None

    def _call_reason(self, node: ast.Call, is_constant, seen) -> str | None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in NUMBER_BUILTINS and not self.qualified(func):
            return f"`{_text(node)}` is a number"
        if not isinstance(func, ast.Attribute):
            return None
        if func.attr == "join" and len(node.args) == 1 and is_constant(func.value) and self._placeholders(
                node.args[0], is_constant):
            return f"`{_text(node)}` joins placeholders only"
        if func.attr == "get" and self._constant_container(func.value, is_constant) and (
                len(node.args) < 2 or is_constant(node.args[1])):
            return f"`{_text(node)}` is looked up in a constant table"
        if func.attr == "format":
            values = [func.value, *node.args, *(k.value for k in node.keywords)]
            return _combine([self.safe_reason(v, is_constant, seen) for v in values])
        return None

    def _placeholders(self, node: ast.expr, is_constant) -> bool:
        """`"?" * n`, `["%s"] * n`, `("?" for _ in xs)`, `["?" for _ in xs]`: an iterable of constant strings."""
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            seq = node.left if is_constant(node.left) else node.right if is_constant(node.right) else None
            other = node.right if seq is node.left else node.left
            return seq is not None and isinstance(seq, ast.Constant | ast.List | ast.Tuple | ast.Name) and (
                self.safe_reason(other, is_constant) is not None or _is_number_expr(other))
        if isinstance(node, ast.GeneratorExp | ast.ListComp):
            return is_constant(node.elt)
        return is_constant(node)

    def _constant_container(self, node: ast.expr, is_constant) -> bool:
        if isinstance(node, ast.Name):
            if node.id in self.mutated_names():
                return False
            node = self.binding(node) or node
        if isinstance(node, ast.Dict):
            return all(v is not None and is_constant(v) for v in node.values)
        return isinstance(node, ast.List | ast.Tuple) and is_constant(node)

    def _allow_set(self, node: ast.expr, is_constant) -> bool:
        if isinstance(node, ast.Name):
            if node.id in self.mutated_names():
                return False
            node = self.binding(node) or node
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in (
                "set", "frozenset", "tuple", "list") and len(node.args) == 1 and not node.keywords:
            node = node.args[0]
        if isinstance(node, ast.Set | ast.List | ast.Tuple):
            return is_constant(ast.Tuple(elts=list(node.elts), ctx=ast.Load()))
        if isinstance(node, ast.Dict):
            return all(k is not None and is_constant(k) for k in node.keys)
        return False

    def _allow_listed(self, name: ast.Name, is_constant) -> str | None:
        """A dominating `if name not in ALLOWED: <exit>` / enclosing `if name in ALLOWED:`; the name bound once."""
        if self.bindings(name) != 1:
            return None
        child: ast.AST = name
        parent = self.parent(child)
        while parent is not None:
            # (`in` / `index` on a list of nodes compare by identity: nodes have no __eq__ of their own)
            if isinstance(parent, ast.If) and self._membership(parent.test, name.id, ast.In, is_constant) and (
                    child in parent.body):
                return f"`{name.id}` is checked against a constant allow-list on line {parent.lineno}"
            for block in ("body", "orelse", "finalbody"):
                stmts = getattr(parent, block, None)
                if isinstance(stmts, list) and child in stmts:
                    for stmt in stmts[: stmts.index(child)]:
                        if isinstance(stmt, ast.If) and not stmt.orelse and self._membership(
                                stmt.test, name.id, ast.NotIn, is_constant) and _exits(stmt.body):
                            return f"`{name.id}` is checked against a constant allow-list on line {stmt.lineno}"
            if isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
                return None
            child, parent = parent, self.parent(parent)
        return None

    def _membership(self, test: ast.expr, name: str, op: type, is_constant) -> bool:
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and op is ast.NotIn:
            return self._membership(test.operand, name, ast.In, is_constant)
        return (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], op)
                and isinstance(test.left, ast.Name) and test.left.id == name
                and self._allow_set(test.comparators[0], is_constant))


def _exits(body: list[ast.stmt]) -> bool:
    last = body[-1] if body else None
    if isinstance(last, _EXITS):
        return True
    if isinstance(last, ast.Expr) and isinstance(last.value, ast.Call):
        func = last.value.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        return name in _EXIT_CALLS
    return False


def _is_number_expr(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in NUMBER_BUILTINS


def _combine(reasons: list[str | None]) -> str | None:
    if any(r is None for r in reasons):
        return None
    specific = [r for r in reasons if r is not None and r != "constant"]
    return "; ".join(dict.fromkeys(specific)) if specific else "constant"


def _text(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except (ValueError, TypeError, RecursionError):
        return "…"
    return text if len(text) <= 80 else text[:79] + "…"
