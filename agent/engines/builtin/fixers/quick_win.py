"""Triage's quick-win question, cheaply: which builtin fixer (if any) would rewrite the code on lines first..last?

The answer is `rewriting_fixer`'s (the same fixers asked in the same order; the first that would rewrite wins),
but it is read off the stdlib `ast` tree the facts layer already parsed: each fixer's `would_rewrite` predicate
mirrors its targets and decline rules without libcst. Only when a predicate cannot be sure (`None` / `Unsure`:
shapes whose rules stay libcst's, see each fixer) is that fixer asked on a libcst parse, and then only up to its
plans (`Fixer.rewrites`: no rewritten module is rendered). Handles any Python module; text that libcst cannot
parse has no rewriting fixer, as for `rewriting_fixer`.

A fixer whose `text_needs` words are all missing from the module's text rewrites nothing in it (in libcst or on
the ast tree: its targets are chosen by names the source spells out), so it is passed over without a look at the
lines. The answer stays the one asking it would give: when a later fixer would rewrite, the ones passed over
before it are asked after all, as in turn (an unsure one sends the question to libcst, and text libcst cannot
parse then has no answer, see `_ask`).

Python reads identifiers NFKC-normalized (`ｒａｎｄｏｍ.random()` calls `random.random`), `ast` reports them so,
and libcst as spelled: in a module that spells a name NFKC changes, names on the tree may not be the names the
fixers see, so libcst answers there.

`QUICK_WIN_STATS` counts the answers: "ast" (every fixer answered on the ast tree), "libcst" (some fixer was
unsure), "no tree" (the module did not parse with `ast`), "respelled" (it spells a name NFKC changes).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
import unicodedata
from collections import Counter

from agent.code.file_facts import SHARED_COUNTERS
from agent.engines.builtin.fixers import _fixers_to_ask
from agent.engines.builtin.fixers.ast_view import AstView, Unsure
from agent.engines.builtin.fixers.base import Fixer, ParsedSource, SourceParseError, parse_source

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


_RUN = re.compile(r"[0-9A-Za-z_\x80-\U0010ffff]+")  # what CPython's tokenizer may read as a name
_last_spelling: tuple[str | None, bool] = (None, False)


def _respelled(text: str) -> bool:
    """Whether `text` spells a name that NFKC normalization changes (`ｒａｎｄｏｍ`, `ﬁle`), so that it reads
    otherwise on the ast tree than in the source libcst keeps. "…", a no-break space, full-width punctuation or
    "™" in a comment or string change under NFKC too, but are no names: only text with a run that could be one
    (`_RUN`, NFKC changes it and it is still a name after) is tokenized to tell. Remembered for the last text."""
    global _last_spelling
    if text.isascii():
        return False
    last, found = _last_spelling
    if last is not text:
        found = any(not run.isascii() and (norm := unicodedata.normalize("NFKC", run)) != run
                    and norm.lstrip("0123456789").isidentifier() for run in _RUN.findall(text)) \
            and _names_respelled(text)
        _last_spelling = (text, found)
    return found


def _names_respelled(text: str) -> bool:
    """Whether a NAME token of `text` changes under NFKC (True also when the text does not tokenize)."""
    try:
        return any(token.type == tokenize.NAME and not token.string.isascii()
                   and unicodedata.normalize("NFKC", token.string) != token.string
                   for token in tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return True


def fixers_to_ask(tool: str, rule_id: str, cwe: tuple[int, ...]) -> tuple[Fixer, ...]:
    """The fixers the quick-win question asks for a finding of `tool` / `rule_id` / `cwe`, in order (those
    `fixers_for` may select: a fixer rewrites only what it detects, so the first of them that would rewrite is
    `rewriting_fixer`'s answer); empty when there is none."""
    return tuple(_fixers_to_ask(tool, rule_id, cwe))


def quick_win_fixer(text: str, tree: ast.Module | None, tool: str, rule_id: str, cwe: tuple[int, ...], first: int,
                    last: int) -> str | None:
    """The name of the builtin fixer that would rewrite lines first..last of `text` for a finding of `tool` /
    `rule_id` / `cwe`, or None. `tree`: `text` parsed with `ast` (None when it does not parse)."""
    return quick_win(text, tree, fixers_to_ask(tool, rule_id, cwe), first, last)


def quick_win(text: str, tree: ast.Module | None, fixers: tuple[Fixer, ...], first: int, last: int) -> str | None:
    """The first of `fixers` (`fixers_to_ask`) that would rewrite lines first..last of `text`, or None. `tree`:
    `text` parsed with `ast` (None when it does not parse)."""
    if not fixers:
        return None
    if tree is None or _respelled(text):
        name, stat = _ask(fixers, text, None, first, last)
        QUICK_WIN_STATS[stat if tree is None else "respelled"] += 1
        return name
    view = _view(text, tree)
    # many findings of a file (other tools, rule ids, CWEs) put the same fixers to the same lines: ask once
    key = (fixers, first, last)
    found = view.quick_wins.get(key)
    if found is None:
        found = view.quick_wins[key] = _ask(fixers, text, view, first, last)
    QUICK_WIN_STATS[found[1]] += 1
    return found[0]


def _ask(fixers: tuple[Fixer, ...], text: str, view: AstView | None, first: int,
         last: int) -> tuple[str | None, str]:
    """(the first of `fixers` that would rewrite lines first..last, or None; the `QUICK_WIN_STATS` key)."""
    parsed: list[ParsedSource] = []  # libcst's parse of the text, once one fixer needed it
    used_libcst = view is None

    def answer_of(fixer: Fixer) -> bool | None:
        """Whether `fixer` would rewrite the lines: on the ast tree, else (unsure there) on libcst's parse; None
        when libcst cannot parse the text (then the question has no answer)."""
        nonlocal used_libcst
        answer = _ast_answer(fixer, view, first, last) if view is not None else None
        if answer is not None:
            return answer
        used_libcst = True
        if not parsed:
            try:
                parsed.append(parse_source(text))
            except SourceParseError:
                return None
        return fixer.rewrites(parsed[0], first, last)

    asked, passed_over = _worth_asking(view, fixers) if view is not None else (fixers, ())
    winner: Fixer | None = None
    for fixer in asked:
        answer = answer_of(fixer)
        if answer is None:
            return None, "no tree" if view is None else "libcst"
        if answer:
            winner = fixer
            break
    if winner is not None and passed_over and view is not None:
        # asked in turn, a fixer passed over before the winner would have been asked first: ask it as the loop
        # above would (rarely needed: a rewrite on these lines). It rewrites nothing here (`text_needs`), but an
        # unsure one sends the question to libcst, and text libcst cannot parse has no answer.
        for fixer in fixers:
            if fixer is winner:
                break
            if fixer not in passed_over:
                continue
            answer = answer_of(fixer)
            if answer is None:
                return None, "libcst"
            if answer:
                return fixer.name, "libcst" if used_libcst else "ast"
    return winner.name if winner is not None else None, "no tree" if view is None else \
        "libcst" if used_libcst else "ast"


def _worth_asking(view: AstView, fixers: tuple[Fixer, ...]) -> tuple[tuple[Fixer, ...], tuple[Fixer, ...]]:
    """(the fixers whose `text_needs` the module's text meets, in order; those it passes over), once per list."""
    found = view.worth_asking.get(fixers)
    if found is None:
        kept = tuple(f for f in fixers if not f.text_needs or view.mentions(f.text_needs))
        found = view.worth_asking[fixers] = (kept, tuple(f for f in fixers if f not in kept))
    return found


def _ast_answer(fixer: Fixer, view: AstView, first: int, last: int) -> bool | None:
    """`fixer.would_rewrite` on the ast tree, None when it cannot be sure (once per fixer and lines: lists of
    fixers that share one ask it again)."""
    key = (fixer, first, last)
    if key in view.answers:
        return view.answers[key]
    try:
        answer = fixer.would_rewrite(view, first, last)
    except (Unsure, RecursionError):
        answer = None
    view.answers[key] = answer
    return answer
