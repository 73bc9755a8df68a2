"""A unified diff as HTML rows: per file, old and new line numbers, the change marker, and the line's code
highlighted with the file's language (Pygments, CSS classes only: no inline styles, so the CSP holds).

Handles any text: control, bidi and invisible characters are written as escapes first (as `suture review show`
does), so a "Trojan Source" line shows what it really holds, then Pygments HTML-escapes every token. A diff
unidiff cannot parse is shown whole, highlighted as a diff.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import DiffLexer, TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound
from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from agent.review.identity import escape_text

_FORMATTER = HtmlFormatter(nowrap=True)
MAX_LINES = 5000  # a diff longer than this is shown as plain highlighted text (the page must stay usable)


@dataclass
class Row:
    kind: str  # "add", "del", "ctx", "hunk"
    old: int | None
    new: int | None
    html: Markup


@dataclass
class FileDiff:
    path: str
    added: int
    removed: int
    rows: list[Row] = field(default_factory=list)


def _code(text: str, lexer) -> Markup:
    out = highlight(text, lexer, _FORMATTER)
    return Markup(out.rstrip("\n"))  # Pygments HTML-escaped every token (of text already control-escaped)


def _lexer_for(path: str):
    try:
        lexer = get_lexer_for_filename(path, stripnl=False, ensurenl=False)
    except ClassNotFound:
        lexer = TextLexer(stripnl=False, ensurenl=False)
    return lexer


def render_diff(diff: str) -> tuple[list[FileDiff], Markup | None]:
    """(files with their rows, None), or ([], the whole diff highlighted as one block) when it cannot be parsed."""
    if not diff:
        return [], None
    safe_text = escape_text(diff, lines=True)
    try:
        patch = PatchSet(safe_text)
    except (UnidiffParseError, ValueError, IndexError):
        patch = None
    if patch is None or not len(patch) or safe_text.count("\n") > MAX_LINES:
        return [], _code(safe_text, DiffLexer(stripnl=False))
    files = []
    for pf in patch:
        path = pf.path
        lexer = _lexer_for(path)
        fd = FileDiff(path, pf.added, pf.removed)
        for hunk in pf:
            header = f"@@ -{hunk.source_start},{hunk.source_length} +{hunk.target_start},{hunk.target_length} @@"
            fd.rows.append(Row("hunk", None, None, Markup.escape(header + (f" {hunk.section_header}"
                                                                           if hunk.section_header else ""))))
            for line in hunk:
                kind = "add" if line.is_added else "del" if line.is_removed else "ctx"
                fd.rows.append(Row(kind, line.source_line_no, line.target_line_no,
                                   _code(line.value.rstrip("\n"), lexer)))
        files.append(fd)
    return files, None


def pygments_css() -> str:
    """The stylesheet for the highlighted code (the static file agent/web/static/pygments.css holds it)."""
    return HtmlFormatter(style="default").get_style_defs(".code")
