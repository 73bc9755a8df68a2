"""Who decides, and how any stored text is shown: reviewer names are checked before they are recorded, and every
name or comment is escaped before it reaches a terminal, a commit message or a PR text.

Classes of input handled: any Python `str` (lone surrogates included). Character classes come from the Unicode
database (`unicodedata.category`, `unicodedata.bidirectional`), not from a hand-made list.
"""

from __future__ import annotations

import unicodedata

from agent.errors import SutureError

MAX_NAME = 200
# categories that never belong in a one-line name: controls (newline, ESC…), format characters (zero-width space,
# bidi overrides…), line/paragraph separators, surrogates, private use and unassigned code points
_REFUSED = {"Cc": "a control character", "Cf": "an invisible format character", "Zl": "a line separator",
            "Zp": "a paragraph separator", "Cs": "a lone surrogate", "Co": "a private-use character",
            "Cn": "an unassigned character"}
# categories that draw nothing by themselves
_INVISIBLE = {"Zs", "Mn", "Me", "Cf", "Cc"}


class IdentityError(SutureError):
    """A reviewer name that cannot be recorded as someone's identity."""


def _describe(ch: str) -> str:
    name = unicodedata.name(ch, "") if unicodedata.category(ch) != "Cs" else ""
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


def check_reviewer(name: str | None) -> str:
    """The reviewer name as it will be recorded (surrounding spaces removed), or IdentityError.

    Refused: empty names, names with nothing visible, names of more than one line, and names holding controls
    (ANSI escapes), format characters (zero-width, bidi controls), separators, surrogates, private-use or
    unassigned code points, or spaces other than the plain space."""
    text = (name or "").strip()
    if not text:
        raise IdentityError("a reviewer name is required: pass --reviewer 'Name <email>' or set git config user.name")
    for ch in text:
        category = unicodedata.category(ch)
        if category in _REFUSED:
            raise IdentityError(f"reviewer name {escape_text(text)!r} contains {_REFUSED[category]} "
                                f"({_describe(ch)}); use a plain one-line name")
        if category == "Zs" and ch != " ":
            raise IdentityError(f"reviewer name {escape_text(text)!r} contains an unusual space ({_describe(ch)}); "
                                "use plain spaces")
    if all(unicodedata.category(ch) in _INVISIBLE for ch in text):
        raise IdentityError(f"reviewer name {escape_text(text)!r} has no visible characters")
    if len(text) > MAX_NAME:
        raise IdentityError(f"reviewer name is {len(text)} characters long; at most {MAX_NAME}")
    return text


def _needs_escape(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category in _REFUSED or (category == "Zs" and ch != " ") or unicodedata.bidirectional(ch) in (
        "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI")


def escape_text(text: str | None, lines: bool = False) -> str:
    """`text` with every control, format, separator, surrogate or unassigned character written as an escape
    (`\\n`, `\\x1b`, `\\u200b`): safe to print on one line of a terminal, a commit or a PR. Plain text is unchanged.
    With `lines`, newlines and tabs stay as they are (for multi-line text such as a rationale or a diff)."""
    if not text:
        return text or ""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if not _needs_escape(ch) or (lines and ch in "\n\t"):
            out.append(ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return "".join(out)
