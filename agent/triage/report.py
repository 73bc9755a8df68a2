"""Renderings of a triage result: JSON rows, CSV, a rich table, and Markdown per team for routing."""

from __future__ import annotations

import csv
import io
from typing import Any

from rich.markup import escape
from rich.table import Table

from agent.triage.service import TriageRow


def row_dict(index: int, row: TriageRow) -> dict[str, Any]:
    f, d = row.finding, row.decision
    return {
        "rank": index, "score": row.rank.score, "id": f.id, "short_id": f.short_id, "tool": f.tool,
        "rule_id": f.rule_id, "severity": f.severity, "confidence": f.confidence, "cwe": f.cwe, "cve": f.cve,
        "path": f.location.path, "line": f.location.start_line, "message": f.message, "status": f.status,
        "team": row.team, "owner_source": row.owner_source, "asset": row.asset,
        "decision": d.label, "lane": d.lane, "due": d.due.date().isoformat() if d.due else None,
        "ssvc": {"exploitation": d.exploitation, "automatable": d.automatable,
                 "technical_impact": d.technical_impact, "mission_impact": d.mission_impact},
        "decision_reasons": d.why, "reason": row.rank.reason,
        "factors": [fa.model_dump() for fa in row.rank.factors],
        "sources": [{"id": m.id, "tool": m.tool, "rule_id": m.rule_id, "line": m.location.start_line, "joined": how}
                    for m, how in row.group.members],
    }


def triage_csv(rows: list[TriageRow]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["rank", "score", "id", "tool", "rule_id", "severity", "confidence", "cwe", "path", "line",
                     "team", "asset", "decision", "lane", "due", "grouped", "reason"])
    for i, r in enumerate(rows, 1):
        d = row_dict(i, r)
        writer.writerow([i, d["score"], d["id"], d["tool"], d["rule_id"], d["severity"], d["confidence"],
                         ";".join(f"CWE-{c}" for c in d["cwe"]), d["path"], d["line"], d["team"], d["asset"] or "",
                         d["decision"], d["lane"], d["due"] or "", len(d["sources"]), d["reason"]])
    return buf.getvalue()


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def triage_markdown(rows: list[TriageRow], by_team: bool) -> str:
    buckets: dict[str, list[tuple[int, TriageRow]]] = {}
    for i, r in enumerate(rows, 1):
        buckets.setdefault(r.team if by_team else "all findings", []).append((i, r))
    parts = []
    for team in sorted(buckets):
        items = buckets[team]
        lanes = {lane: sum(1 for _, r in items if r.decision.lane == lane) for lane in ("now", "batch", "defer")}
        parts.append(f"## {team}\n\n{len(items)} finding(s): {lanes['now']} now, {lanes['batch']} batch, "
                     f"{lanes['defer']} defer.\n")
        parts.append("| # | score | lane | due | decision | finding | location | why |\n"
                     "|---|---|---|---|---|---|---|---|")
        for i, r in items:
            f, d = r.finding, r.decision
            extra = f" (+{len(r.group.members)} grouped)" if r.group.members else ""
            parts.append(f"| {i} | {r.rank.score:.0f} | {d.lane} | {d.due.date() if d.due else '-'} | {d.label} | "
                         f"`{f.short_id}` {_md(f.tool)}:{_md(f.rule_id)}{extra} | "
                         f"`{_md(f.location.path)}:{f.location.start_line}` | {_md(r.rank.reason)} |")
        parts.append("")
    return "\n".join(parts)


LANE_STYLE = {"now": "bold red", "batch": "yellow", "defer": "dim"}


def triage_table(rows: list[TriageRow], total: int) -> Table:
    table = Table(title=f"Open findings, ranked ({len(rows)} of {total} groups)", title_justify="left")
    columns: tuple[tuple[str, dict[str, Any]], ...] = (
        ("#", {"justify": "right"}), ("score", {"justify": "right"}), ("id", {}), ("lane", {}),
        ("due", {}), ("team", {}), ("rule", {}), ("location", {}), ("why", {"overflow": "fold"}))
    for col, kw in columns:
        table.add_column(col, **kw)
    for i, r in enumerate(rows, 1):
        f, d = r.finding, r.decision
        rule = f"{f.tool}:{f.rule_id}" + (f" +{len(r.group.members)}" if r.group.members else "")
        table.add_row(str(i), f"{r.rank.score:.0f}", f.short_id,
                      f"[{LANE_STYLE[d.lane]}]{d.lane}[/] {d.label}", str(d.due.date()) if d.due else "-",
                      escape(r.team), escape(rule), escape(f"{f.location.path}:{f.location.start_line}"),
                      escape(r.rank.reason))
    return table
