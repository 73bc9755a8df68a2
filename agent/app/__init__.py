"""Use cases behind the CLI, the web UI and workers: each takes plain values, returns records or typed views
(agent.app.views, each with `to_json()`), renders nothing. One module per area:

- session: open a project (`open_session`), its store and settings; `reviewer_identity`
- ingest: `ingest_file(s)`, `scan_project` (SARIF and scanners into the store)
- fix: `select_findings`, `make_engine`, `fix.fix`, a run's `queue`
- triage: `triage.triage`, `ranked_open_findings`, `accept_risk`, `import_feeds`, `sarif_log`
- review: `review_queue` (filters, risk sort, counts), `show`, `approve`, `reject`
- export: `export.export`; classify: `classify_targets`, `classify.classify`; context: `prompt_preview`;
  audit: `audit.verify`; evaluate: `plan_eval`, `run_eval`

Call them by area (`app.review.approve(session, ...)`); the names most callers need are also here
(`app.open_session`, `app.ingest_file`, ...). Submodules load on first use, so importing agent.app (or the light
agent.app.views) costs nothing at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.app.fix import make_engine, same_spot, select_findings
    from agent.app.ingest import IngestReport, ingest_file, ingest_files, path_map_for, scan_project
    from agent.app.review import review_queue
    from agent.app.session import Session, head_files, head_tree, open_session, reviewer_identity
    from agent.app.triage import ranked_open_findings

_HOMES = {
    "Session": "session", "open_session": "session", "head_tree": "session", "head_files": "session",
    "reviewer_identity": "session",
    "IngestReport": "ingest", "ingest_file": "ingest", "ingest_files": "ingest", "path_map_for": "ingest",
    "scan_project": "ingest",
    "select_findings": "fix", "same_spot": "fix", "make_engine": "fix",
    "ranked_open_findings": "triage", "review_queue": "review",
}

__all__ = ["IngestReport", "Session", "head_files", "head_tree", "ingest_file", "ingest_files", "make_engine", "open_session",
           "path_map_for", "ranked_open_findings", "review_queue", "reviewer_identity", "same_spot", "scan_project",
           "select_findings"]


def __getattr__(name: str) -> Any:
    """Load the use-case modules on first use and hand out an area module or a re-exported name."""
    import agent.app.audit
    import agent.app.classify
    import agent.app.context
    import agent.app.evaluate
    import agent.app.export
    import agent.app.fix
    import agent.app.ingest
    import agent.app.review
    import agent.app.session
    import agent.app.triage
    import agent.app.views

    package = agent.app  # every area module is now an attribute of the package: found without this function
    if name in _HOMES:
        return getattr(getattr(package, _HOMES[name]), name)
    if name in package.__dict__:
        return package.__dict__[name]
    raise AttributeError(f"module 'agent.app' has no attribute {name!r}")
