"""Run a command without a shell: `subprocess.*(..., shell=True)` and `os.system(...)` become argument lists.

Handles: `subprocess.run / call / check_call / check_output / Popen` called with the literal `shell=True`, and
`os.system(...)`, whose command is a string literal, an f-string, a `%`-formatted or `.format`-ed string literal,
or a `+` concatenation of literals and values (any import style: `import subprocess as sp`, `from os import
system`). The static text is split into words like a POSIX shell would (see `shell_split`); every interpolated
value becomes one argument, or part of one word (`f"--name={x}"` stays one f-string element); values that are not
already strings are wrapped in `str(...)`; `shlex.quote(x)` becomes plain `x`, since no shell reads it any more.
`shell=True` is dropped; `os.system(cmd)` becomes `subprocess.run([...]).returncode` (just `subprocess.run([...])`
when the result is unused) and `import subprocess` is added once.

Declines: a `shell=` that is not the literal True, `executable=` (with a shell it names the shell), `*args`, a
command that is a list already, an opaque variable, and any command whose static text needs the shell (pipes,
redirection, `;`, `&&`, `$(...)`, backticks, globs, `~`, braces, `NAME=value` prefixes, builtins, unbalanced
quotes).
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
    has_star_args,
    is_name,
    keyword_arg,
    positional_args,
    without_arg,
)
from agent.engines.builtin.fixers.shell_split import (
    UnsupportedCommand,
    argv_code,
    command_pieces,
    split_words,
)

SUBPROCESS_FUNCTIONS = frozenset(
    {"subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output", "subprocess.Popen"}
)
OS_SYSTEM = "os.system"


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
    words = split_words(command_pieces(parsed, command))
    return cst.parse_expression(argv_code(words, _quote_of(command)))


class ShellCommandFixer(CallFixer):
    """subprocess/os.system commands built from strings -> argument lists without a shell (module docstring)."""

    name = "shell_command"
    summary = "Run commands as an argument list instead of through a shell"
    cwe = (78, 77)
    rule_ids = ("B602", "B605")
    references = (
        "https://docs.python.org/3/library/subprocess.html#security-considerations",
        "https://cwe.mitre.org/data/definitions/78.html",
    )
    review_guidance = (
        "Each interpolated value is now exactly one argument: a value that deliberately held several arguments "
        "(such as a string of flags) must be split explicitly. A missing program now raises FileNotFoundError "
        "instead of the shell's exit status 127, and os.system's encoded wait status became a plain exit code."
    )
    target_description = "subprocess call with shell=True or os.system call"

    def is_target(self, parsed: ParsedSource, call: cst.Call) -> bool:
        return bool(call_names(parsed, call) & (SUBPROCESS_FUNCTIONS | {OS_SYSTEM}))

    def plan(self, parsed: ParsedSource, call: cst.Call) -> Rewrite | Decline:
        if has_star_args(call):
            return Decline("the call passes *args or **kwargs, so its arguments cannot be seen")
        try:
            if OS_SYSTEM in call_names(parsed, call):
                return self._plan_os_system(parsed, call)
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
