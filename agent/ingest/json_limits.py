"""Limits applied where JSON text from outside (SARIF logs) enters suture.

Two kinds of hostile JSON that the standard library accepts and the rest of suture cannot handle:

- nesting thousands of levels deep: `json.loads` raises RecursionError (a traceback), and every recursive
  consumer after it (schema validation, pydantic) would too. `check_nesting` bounds the depth before parsing,
  in time linear in the input (a few bytes-level passes, no per-byte Python loop), and raises a one-line
  SutureError.
- lone UTF-16 surrogates written as escapes ("\\ud800"): valid JSON, but such a str cannot be encoded as
  UTF-8, so hashing a rule id or storing a message fails later. `scrub_surrogates` replaces each one with
  U+FFFD (the Unicode replacement character) in every string and key of a decoded value.
"""

from __future__ import annotations

import re
from itertools import accumulate

from agent.errors import SutureError

MAX_NESTING = 64  # real SARIF logs nest about 15 levels (codeFlows → … → region.snippet), plus property bags

_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')
_QUOTED = re.compile(rb'"[^"]*"')
_CURLY_AS_SQUARE = bytes.maketrans(b"{}", b"[]")
_STEP = [1 if b == ord("[") else -1 if b == ord("]") else 0 for b in range(256)]
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonLimitError(SutureError):
    """JSON that is well-formed but outside what suture reads (too deeply nested)."""


def nesting_depth(raw: bytes, limit: int = MAX_NESTING) -> int:
    """The deepest array/object nesting in JSON text `raw` (0 for a scalar); brackets inside strings do not
    count. Linear time and no recursion, whatever the input; malformed text gives a meaningless but finite
    number (the parser reports the real error).

    How, in whole-buffer passes: escaped backslashes, then escaped quotes, are removed (JSON has backslashes
    only inside strings, paired from the left, so what is left of a backslash run is one escape); everything
    but brackets and quotes is dropped; every remaining quote delimits a string, so removing two adjacent quotes
    keeps each other byte inside or outside a string as it was, and the strings still left (those holding a
    bracket) are cut out. Of the brackets, `[]` pairs are peeled innermost first: each round lowers the height
    by exactly one. Past `limit` rounds, or once a round removes less than a sixteenth of what is left, the rest
    is counted by a running sum, so a hostile document costs a bounded number of passes."""
    text = raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in text:
        text = _QUOTED.sub(b"", text)
    brackets = text.translate(_CURLY_AS_SQUARE)
    rounds = 0
    while brackets and rounds <= limit:
        peeled = brackets.replace(b"[]", b"")
        removed = len(brackets) - len(peeled)
        brackets, rounds = peeled, rounds + bool(removed)
        if removed * 16 < len(brackets) + removed:
            break  # unbalanced, or peeling slowly (long thin chains): the running sum below is cheaper now
    if not brackets:
        return rounds
    return rounds + max(accumulate(map(_STEP.__getitem__, brackets), initial=0))


def check_nesting(raw: bytes, name: str, limit: int = MAX_NESTING) -> None:
    """Raise JsonLimitError (one line) when `raw` nests arrays/objects deeper than `limit`."""
    depth = nesting_depth(raw)
    if depth > limit:
        raise JsonLimitError(f"{name}: JSON nested {depth} levels deep; suture reads at most {limit}")


def may_hold_surrogates(raw: bytes) -> bool:
    """True when JSON text `raw` has a \\uD800–\\uDFFF escape (paired or not): only then can a decoded
    string hold a lone surrogate (UTF-8 text itself cannot encode one)."""
    return _SURROGATE_ESCAPE.search(raw) is not None


def scrub_text(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD (a valid pair was already joined by the decoder)."""
    return _SURROGATE.sub("\ufffd", text)


def scrub_surrogates(value: object) -> object:
    """Replace lone surrogates in every string and key of a decoded JSON value, in place where possible
    (lists and dicts are modified; the value itself is returned, rebuilt when it is a str). Iterative: no
    recursion, so any nesting depth is safe."""
    if isinstance(value, str):
        return scrub_text(value)
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            bad_keys = [key for key in node if _SURROGATE.search(key)]
            for key in bad_keys:
                node[scrub_text(key)] = node.pop(key)
            for key, item in node.items():
                if isinstance(item, str):
                    if _SURROGATE.search(item):
                        node[key] = scrub_text(item)
                elif isinstance(item, (dict, list)):
                    stack.append(item)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    if _SURROGATE.search(item):
                        node[index] = scrub_text(item)
                elif isinstance(item, (dict, list)):
                    stack.append(item)
    return value
