"""Run a command without a shell: `subprocess.*(..., shell=True)` and `os.system(...)` become argument lists.

Handles: `subprocess.run / call / check_call / check_output / Popen` called with the literal `shell=True`, and
`os.system(...)`, whose command is a string literal, an f-string, a `%`-formatted or `.format`-ed string literal,
or a `+` concatenation of literals and values (any import style: `import subprocess as sp`, `from os import
system`). The static text is split into words like a POSIX shell would (see `shell_split`); every interpolated
value becomes one argument, or part of one word (`f"--name={x}"` stays one f-string element); values that are not
already strings are wrapped in `str(...)`; `shlex.quote(x)` becomes plain `x`, since no shell reads it any more.
`shell=True` is dropped; `os.system(cmd)` becomes `subprocess.run([...]).returncode` (just `subprocess.run([...])`
when the result is unused) and `import subprocess` is added once.

`os.popen(cmd).read()` becomes `subprocess.run([...], stdout=subprocess.PIPE, text=True).stdout` (the same text;
stderr still goes to the caller's stderr, and a failing command still raises nothing).

`--` (end of options) is inserted before the first argument that starts with an interpolated value, so a value
such as `-rf` or `--output=/etc/x` cannot turn into an option, only where that is clearly safe: the program is
a POSIX utility known to honour `--` (ls, cat, rm, cp, mv, grep, head, ...: `END_OF_OPTIONS`), every word
before that argument is a flag that takes no value of its own (`-l`, `-rf`, `--color=auto`), and no word after
it starts with `-` (an option after the operands). Otherwise the argument list is left without it.

Declines: a `shell=` that is not the literal True, `executable=` (with a shell it names the shell), `*args`, a
command that is a list already, an opaque variable, any command whose static text needs the shell (pipes,
redirection, `;`, `&&`, `$(...)`, backticks, globs, `~`, braces, `NAME=value` prefixes, builtins, unbalanced
quotes), and `os.popen` in any shape but `os.popen(cmd).read()` (a write mode, a pipe object kept or closed).
"""

from __future__ import annotations

import ast
import re

import libcst as cst

from agent.engines.builtin.fixers import ast_pieces
from agent.engines.builtin.fixers.ast_view import AstView
from agent.engines.builtin.fixers.base import (
    CallFixer,
    Decline,
    NeededImport,
    ParsedSource,
    Rewrite,
    call_names,
    has_star_args,
    is_name,
    keyword_arg,
    positional_args,
    without_arg,
)
from agent.engines.builtin.fixers.shell_split import (
    Piece,
    UnsupportedCommand,
    Value,
    argv_code,
    command_pieces,
    fstring_refuses,
    split_words,
)

# POSIX utilities that end option parsing at `--`, each with the short options that take a value of their own
END_OF_OPTIONS: dict[str, frozenset[str]] = {
    prog: frozenset(letters) for prog, letters in {
        "ls": "ITw", "cat": "", "rm": "", "cp": "St", "mv": "St", "mkdir": "m", "rmdir": "", "touch": "drt",
        "ln": "St", "head": "nc", "tail": "ncs", "wc": "", "du": "BdtX", "stat": "cf", "file": "eFfmP",
        "grep": "ABCDdefm", "egrep": "ABCDdefm", "fgrep": "ABCDdefm", "sort": "kotST", "uniq": "fsw",
        "md5sum": "", "sha1sum": "", "sha256sum": "", "sha512sum": "", "basename": "s", "dirname": "",
        "readlink": "", "realpath": "", "shred": "nsu",
    }.items()
}
SUBPROCESS_FUNCTIONS = frozenset(
    {"subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output", "subprocess.Popen"}
)
OS_SYSTEM = "os.system"
OS_POPEN = "os.popen"
_AST_TARGETS = SUBPROCESS_FUNCTIONS | {OS_SYSTEM, OS_POPEN}  # `ast_is_target`'s names


def _quote_of(node: cst.BaseExpression) -> str:
    for child in (node, *getattr(node, "children", ())):
        quote = getattr(child, "quote", None)
        if isinstance(quote, str):
            return quote[0]
    return '"'


def _argv(parsed: ParsedSource, command: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(command, (cst.List, cst.Tuple)):
        raise UnsupportedCommand(
            "the command is already a sequence; with shell=True only its first item is run by the shell, so "
            "dropping the shell would change what runs"
        )
    words = with_end_of_options(split_words(command_pieces(parsed, command)))
    return cst.parse_expression(argv_code(words, _quote_of(command)))


def with_end_of_options(words: list[list[Piece]]) -> list[list[Piece]]:
    """`words` with `--` before the first operand that starts with a value, where clearly safe (module docstring)."""
    program = words[0]
    if len(program) != 1 or not isinstance(program[0], str):
        return words
    takes_value = END_OF_OPTIONS.get(program[0].rsplit("/", 1)[-1])
    if takes_value is None:
        return words
    for index, word in enumerate(words[1:], start=1):
        word = [p for p in word if p != ""] or word  # an opening quote leaves an empty text piece
        first = word[0]
        if isinstance(first, Value):
            later_options = any(isinstance(p, str) and p.startswith("-") for w in words[index + 1:] for p in w[:1])
            return words if later_options else [*words[:index], ["--"], *words[index:]]
        if len(word) > 1:  # static text then a value: `--name={x}` keeps its value to itself; stop otherwise
            if first.startswith("--") and "=" in first:
                continue
            return words
        if first == "--" or not (
            re.fullmatch(r"-[A-Za-z0-9]+", first) and not set(first[1:]) & takes_value
            or re.fullmatch(r"--[a-z][a-z0-9-]*=\S*", first)
        ):
            return words  # an operand, an option taking a value, or `--` already: leave the list as it is
    return words


class ShellCommandFixer(CallFixer):
    """subprocess/os.system commands built from strings -> argument lists without a shell (module docstring)."""

    name = "shell_command"
    summary = "Run commands as an argument list instead of through a shell"
    cwe = (78, 77)
    rule_ids = ("B602", "B605", "python-subprocess-shell-nonliteral", "python-os-system-nonliteral")
    references = (
        "https://docs.python.org/3/library/subprocess.html#security-considerations",
        "https://cwe.mitre.org/data/definitions/78.html",
    )
    review_guidance = (
        "Each interpolated value is now exactly one argument: a value that deliberately held several arguments "
        "(such as a string of flags) must be split explicitly. A missing program now raises FileNotFoundError "
        "instead of the shell's exit status 127, and os.system's encoded wait status became a plain exit code."
    )
    target_description = "subprocess call with shell=True or os.system/os.popen call"
    text_needs = ("subprocess", "os")  # its targets: subprocess.* and os.* calls

    def is_target(self, parsed: ParsedSource, call: cst.Call) -> bool:
        return bool(call_names(parsed, call) & (SUBPROCESS_FUNCTIONS | {OS_SYSTEM, OS_POPEN}))

    def plan(self, parsed: ParsedSource, call: cst.Call) -> Rewrite | Decline:
        if has_star_args(call):
            return Decline("the call passes *args or **kwargs, so its arguments cannot be seen")
        try:
            if OS_SYSTEM in call_names(parsed, call):
                return self._plan_os_system(parsed, call)
            if OS_POPEN in call_names(parsed, call):
                return self._plan_os_popen(parsed, call)
            return self._plan_subprocess(parsed, call)
        except UnsupportedCommand as exc:
            return Decline(str(exc))

    def _plan_subprocess(self, parsed: ParsedSource, call: cst.Call) -> Rewrite | Decline:
        shell = keyword_arg(call, "shell")
        if shell is None:
            return Decline("the call does not pass shell=True; there is no shell to remove")
        if not is_name(shell.value, "True"):
            return Decline(f"shell= is `{parsed.code(shell.value).strip()}`, not the constant True")
        if keyword_arg(call, "executable") is not None:
            return Decline("the call passes executable=, which with shell=True names the shell to use")
        positional = positional_args(call)
        command_arg = positional[0] if positional else keyword_arg(call, "args")
        if command_arg is None:
            return Decline("the call has no command argument")
        new_command = command_arg.with_changes(value=_argv(parsed, command_arg.value))
        replaced = call.with_changes(args=[new_command if a is command_arg else a for a in call.args])
        new_shell = next(a for a in replaced.args if a.keyword is not None and a.keyword.value == "shell")
        replaced = without_arg(replaced, new_shell)
        return Rewrite(call, replaced, f"ran `{parsed.code(command_arg.value).strip()}` as an argument list "
                                       "and dropped shell=True")

    def _plan_os_system(self, parsed: ParsedSource, call: cst.Call) -> Rewrite | Decline:
        if len(call.args) != 1 or call.args[0].keyword is not None:
            return Decline("os.system is called with other than one positional argument")
        command = call.args[0].value
        argv = parsed.module.code_for_node(_argv(parsed, command))
        parent = parsed.parent(call)
        result_unused = isinstance(parent, cst.Expr)
        code = f"subprocess.run({argv})" + ("" if result_unused else ".returncode")
        replacement = cst.parse_expression(code).with_changes(lpar=call.lpar, rpar=call.rpar)
        return Rewrite(
            call,
            replacement,
            f"replaced os.system(`{parsed.code(command).strip()}`) with subprocess.run on an argument list",
            (NeededImport("subprocess"),),
        )

    def _plan_os_popen(self, parsed: ParsedSource, call: cst.Call) -> Rewrite | Decline:
        if len(call.args) != 1 or call.args[0].keyword is not None:
            return Decline("os.popen is called with a mode or buffering argument; only reading its output is "
                           "rewritten")
        attribute = parsed.parent(call)
        read = parsed.parent(attribute) if isinstance(attribute, cst.Attribute) else None
        if not (isinstance(attribute, cst.Attribute) and attribute.attr.value == "read"
                and isinstance(read, cst.Call) and read.func is attribute and not read.args):
            return Decline("the pipe from os.popen is used other than as `os.popen(cmd).read()`; a person must "
                           "rewrite how its output is consumed")
        command = call.args[0].value
        argv = parsed.module.code_for_node(_argv(parsed, command))
        replacement = cst.parse_expression(f"subprocess.run({argv}, stdout=subprocess.PIPE, text=True).stdout")
        return Rewrite(
            read,
            replacement.with_changes(lpar=read.lpar, rpar=read.rpar),
            f"replaced os.popen(`{parsed.code(command).strip()}`).read() with subprocess.run on an argument list",
            (NeededImport("subprocess"),),
        )

    def ast_is_target(self, view: AstView, call: ast.Call) -> bool:
        return bool(view.call_names(call) & _AST_TARGETS)

    def ast_plan(self, view: AstView, call: ast.Call) -> bool | None:
        if view.has_star(call):
            return False
        names = view.call_names(call)
        args = view.args(call)
        try:
            if OS_SYSTEM in names or OS_POPEN in names:
                if len(args) != 1 or args[0].keyword is not None:
                    return False
                if OS_SYSTEM not in names:
                    attribute = view.parent_of(call)
                    read = view.parent_of(attribute)
                    if not (isinstance(attribute, ast.Attribute) and attribute.attr == "read"
                            and isinstance(read, ast.Call) and read.func is attribute and not view.args(read)):
                        return False
                _ast_argv(view, args[0].value)
                return True
            shell = view.keyword(call, "shell")
            if shell is None or not view.is_name(shell.value, "True") or view.keyword(call, "executable"):
                return False
            positional = view.positional(call)
            command = positional[0] if positional else view.keyword(call, "args")
            if command is None:
                return False
            _ast_argv(view, command.value)
            return True
        except UnsupportedCommand:
            return False


def _ast_argv(view: AstView, command: ast.expr) -> None:
    """`_argv` on the ast tree, without writing the code: returns where `_argv` returns, raises UnsupportedCommand
    where it does (Unsure where ast cannot tell)."""
    if isinstance(command, (ast.List, ast.Tuple)):
        raise UnsupportedCommand("the command is already a sequence")
    # (`with_end_of_options` only adds a `--` word, which always fits)
    if not argv_fits(split_words(ast_pieces.command_pieces(view, command))):
        raise UnsupportedCommand("an argument mixes both quote characters with interpolated values")


def argv_fits(words: list[list[Piece]]) -> bool:
    """`argv_code(words, quote)` returns (True) or raises UnsupportedCommand (False), for either quote, without
    writing the code: a word fails when it puts values into an f-string (text and values, or one value with a
    conversion or format spec) and, for each quote character, some value's code holds it, a backslash or a
    newline."""
    for word in words:
        word = [p for p in word if p != ""]
        values = [p for p in word if isinstance(p, Value)]
        if not values or len(word) == 1 and values[0].conversion is None and values[0].spec is None:
            continue
        if all(any(fstring_refuses(v.code, q) for v in values) for q in ('"', "'")):
            return False
    return True
