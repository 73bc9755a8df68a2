"""Turning untrusted model output into safe edits: parse (SEARCH/REPLACE or unified diff), guard, apply, diff."""

from agent.patch.apply import ApplyError, ApplyResult, apply_edits
from agent.patch.diff import diff_stats, unified_diff
from agent.patch.guards import GuardConfig, GuardError
from agent.patch.parse import parse_model_edits
from agent.patch.search_replace import EditParseError, parse_search_replace
from agent.patch.unified import FilePatch, parse_unified_diff

__all__ = [
    "ApplyError",
    "ApplyResult",
    "EditParseError",
    "FilePatch",
    "GuardConfig",
    "GuardError",
    "apply_edits",
    "diff_stats",
    "parse_model_edits",
    "parse_search_replace",
    "parse_unified_diff",
    "unified_diff",
]
