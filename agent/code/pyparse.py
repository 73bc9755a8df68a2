"""`ast.parse`, one thread at a time.

CPython 3.11 before 3.11.8 (gh-106905) shares the AST constructor's recursion counter between threads, so two
threads building ASTs at once can fail with "SystemError: AST constructor recursion depth mismatch". suture
parses in worker threads (parallel fixes: context, validation, lint), so every parse in agent/ goes through
`parse_python`, which holds one process-wide lock for the duration of the parse. Parsing is fast next to what
the threads wait on (models, test runs), so the lock costs little.
"""

from __future__ import annotations

import ast
import threading

AST_LOCK = threading.Lock()


def parse_python(source: str | bytes, filename: str = "<unknown>") -> ast.Module:
    """`ast.parse(source, filename)` under `AST_LOCK`; raises what ast.parse raises (SyntaxError, ValueError)."""
    with AST_LOCK:
        return ast.parse(source, filename=filename)
