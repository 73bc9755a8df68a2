"""Static checks of a patch's changed Python lines: it must compile, and add no new pyflakes finding.

Handles any set of changed files given as path -> (old text, new text) ("" old text for a new file); files that
are not Python are skipped. Nothing here runs the patched code: `compile()` only builds code objects and pyflakes
only reads the syntax tree. What fails a patch:
- a changed Python file that no longer compiles (syntax errors, and errors only the compiler sees, such as
  `return` outside a function), unless the file did not compile before the patch either;
- a pyflakes finding of the kinds below (ruff's F401, F811, F821, F822, F823, F841) that sits on a line the patch
  added or changed and that the unpatched file did not already have (compared by kind and names, so findings that
  merely moved with the lines around them do not count).
pyflakes (the library behind ruff's F rules) is used in-process: no subprocess, no configuration the repository
could use to switch a rule off.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Mapping

from pyflakes import checker, messages

from agent.code.pyparse import parse_python

COUNTED: dict[type, str] = {
    messages.UnusedImport: "F401 unused import",
    messages.RedefinedWhileUnused: "F811 redefinition of an unused name",
    messages.UndefinedName: "F821 undefined name",
    messages.UndefinedExport: "F822 undefined name in __all__",
    messages.UndefinedLocal: "F823 local variable used before assignment",
    messages.UnusedVariable: "F841 unused local variable",
}
_PYTHON = (".py", ".pyw")


def changed_lines(old: str, new: str) -> list[int]:
    """Line numbers (1-based, in `new`) the change added or replaced; a pure deletion marks the line now standing
    where the deleted lines were (or the last line, at the end of the file)."""
    a, b = old.splitlines(), new.splitlines()
    lines: set[int] = set()
    for tag, _i1, _i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag in ("replace", "insert"):
            lines.update(range(j1 + 1, j2 + 1))
        elif tag == "delete" and b:
            lines.add(min(j1 + 1, len(b)))
    return sorted(lines)


def _compile_error(path: str, text: str) -> str | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings (invalid escapes) are not errors
            compile(text, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        return f"{getattr(exc, 'msg', None) or exc}" + (f" (line {line})" if line else "")
    return None


def _flakes(path: str, text: str) -> list[tuple[str, tuple, int]]:
    """(kind, names, line) of the counted pyflakes findings in `text`; [] when it does not parse."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = parse_python(text, filename=path)
    except (SyntaxError, ValueError):
        return []
    found = checker.Checker(tree, filename=path).messages
    return [(COUNTED[type(m)], tuple(str(a) for a in m.message_args), m.lineno) for m in found
            if type(m) in COUNTED]


def lint_reasons(changed: Mapping[str, tuple[str, str]]) -> list[str]:
    """Validation failure reasons for the changed Python files (path -> (old, new)); [] when all are clean."""
    reasons: list[str] = []
    for path, (old, new) in sorted(changed.items()):
        if not path.lower().endswith(_PYTHON):
            continue
        error = _compile_error(path, new)
        if error is not None:
            if not old or _compile_error(path, old) is None:
                reasons.append(f"{path} does not compile after the patch: {error}")
            continue
        lines = set(changed_lines(old, new))
        before = {(kind, names) for kind, names, _ in _flakes(path, old)} if old else set()
        new_findings = sorted({(line, kind, names) for kind, names, line in _flakes(path, new)
                               if line in lines and (kind, names) not in before})
        if new_findings:
            listed = "; ".join(f"{path}:{line}: {kind} {', '.join(repr(n) for n in names)}"
                               for line, kind, names in new_findings[:5])
            more = f" (+{len(new_findings) - 5} more)" if len(new_findings) > 5 else ""
            reasons.append(f"the patch adds {len(new_findings)} lint finding(s) on its changed lines: {listed}{more}")
    return reasons
