"""Triage's quick-win question, cheaply: which builtin fixer (if any) would rewrite the code on lines first..last?

The answer is `rewriting_fixer`'s (the same fixers asked in the same order; the first that would rewrite wins),
but it is read off the stdlib `ast` tree the facts layer already parsed: each fixer's `would_rewrite` predicate
mirrors its targets and decline rules without libcst. Only when a predicate cannot be sure (`None` / `Unsure`:
shapes whose rules stay libcst's, see each fixer) is that fixer asked on a libcst parse, and then only up to its
plans (`Fixer.rewrites`: no rewritten module is rendered). Handles any Python module; text that libcst cannot
parse has no rewriting fixer, as for `rewriting_fixer`.

`QUICK_WIN_STATS` counts the answers: "ast" (every fixer answered on the ast tree), "libcst" (some fixer was
unsure), "no tree" (the module did not parse with `ast`).
"""

from __future__ import annotations

import ast
from collections import Counter

from agent.code.file_facts import SHARED_COUNTERS
from agent.engines.builtin.fixers import _fixers_to_ask
from agent.engines.builtin.fixers.ast_view import AstView, Unsure
from agent.engines.builtin.fixers.base import ParsedSource, SourceParseError, parse_source

QUICK_WIN_STATS: Counter[str] = Counter()
SHARED_COUNTERS.append(QUICK_WIN_STATS)  # counted in the facts layer's worker processes too

_last_view: tuple[ast.Module | None, AstView | None] = (None, None)


def _view(text: str, tree: ast.Module) -> AstView:
    """One view per tree (triage asks about many findings of one file in a row; safe across threads)."""
    global _last_view
    last_tree, view = _last_view
    if last_tree is tree and view is not None and view.source is text:
        return view
    view = AstView(text, tree)
    _last_view = (tree, view)
    return view


def quick_win_fixer(text: str, tree: ast.Module | None, tool: str, rule_id: str, cwe: tuple[int, ...], first: int,
                    last: int) -> str | None:
    """The name of the builtin fixer that would rewrite lines first..last of `text` for a finding of `tool` /
    `rule_id` / `cwe`, or None. `tree`: `text` parsed with `ast` (None when it does not parse)."""
    fixers = _fixers_to_ask(tool, rule_id, cwe)
    if not fixers:
        return None
    view = _view(text, tree) if tree is not None else None
    if view is None:
        name, stat = _ask(fixers, text, None, first, last)
        QUICK_WIN_STATS[stat] += 1
        return name
    # many findings of a file (other tools, rule ids, CWEs) put the same fixers to the same lines: ask once
    key = (tuple(fixer.name for fixer in fixers), first, last)
    found = view.quick_wins.get(key)
    if found is None:
        found = view.quick_wins[key] = _ask(fixers, text, view, first, last)
    QUICK_WIN_STATS[found[1]] += 1
    return found[0]


def _ask(fixers: list, text: str, view: AstView | None, first: int, last: int) -> tuple[str | None, str]:
    """(the first of `fixers` that would rewrite lines first..last, or None; the `QUICK_WIN_STATS` key)."""
    parsed: ParsedSource | None = None
    used_libcst = view is None
    for fixer in fixers:
        answer: bool | None = None
        if view is not None:
            try:
                answer = fixer.would_rewrite(view, first, last)
            except (Unsure, RecursionError):
                answer = None
        if answer is None:
            used_libcst = True
            if parsed is None:
                try:
                    parsed = parse_source(text)
                except SourceParseError:
                    return None, "no tree" if view is None else "libcst"
            answer = fixer.rewrites(parsed, first, last)
        if answer:
            break
    return fixer.name if answer else None, "no tree" if view is None else "libcst" if used_libcst else "ast"
