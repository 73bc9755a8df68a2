"""What triage counts as production code: a path's kind under the one rule of agent.code.path_kind, with source
and configuration files both production. Ranking (rank.py) and the call graph of reachability.py share it.
"""

from __future__ import annotations

from functools import lru_cache

from agent.code.path_kind import path_kind as shared_path_kind

PRODUCTION_KINDS = frozenset({"source", "config"})


@lru_cache(maxsize=1 << 16)
def path_kind(path: str) -> str | None:
    """'test', 'vendored', 'generated' or 'example' when the path says so (agent.code.path_kind, the rule every part
    of suture uses), else None (production code: source and configuration). Memoized: a large scan reports many
    findings per file."""
    kind = shared_path_kind(path)
    return None if kind in PRODUCTION_KINDS else kind
