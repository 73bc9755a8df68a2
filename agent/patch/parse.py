"""One entry point for a model's drafting reply: whichever edit format it used, get `Edit`s back.

SEARCH/REPLACE blocks (the format our prompts ask for) win when present; otherwise a unified diff is accepted,
because models fall back to diffs on their own. Anything else is an `EditParseError` the repair prompt can
send back verbatim.
"""

from __future__ import annotations

from agent.models import Edit
from agent.patch.search_replace import EditParseError, has_search_replace_blocks, parse_search_replace
from agent.patch.unified import has_unified_diff, parse_unified_diff

NO_EDITS_MESSAGE = (
    "no edit blocks found in the reply: write each change as the file path on its own line, then "
    "`<<<<<<< SEARCH`, the exact lines to find, `=======`, the new lines, and `>>>>>>> REPLACE`"
)


def parse_model_edits(text: str, known_paths: list[str] | None = None) -> list[Edit]:
    """The edits in a model reply, in order; `EditParseError` with a model-facing reason when there are none."""
    if has_search_replace_blocks(text):
        edits = parse_search_replace(text, known_paths)
    elif has_unified_diff(text):
        edits = [edit for patch in parse_unified_diff(text, known_paths) for edit in patch.edits]
    else:
        edits = []
    if not edits:
        raise EditParseError(NO_EDITS_MESSAGE)
    return edits


__all__ = ["NO_EDITS_MESSAGE", "EditParseError", "parse_model_edits"]
