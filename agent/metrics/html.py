"""A metrics report as one self-contained HTML page: tables plus static SVG charts drawn with matplotlib.

The page has no script and loads nothing: charts are inline SVG (text kept as text, so they scale and can be
searched), styles are in the page. Every value from the store (team, repo, engine names…) is escaped by Jinja2's
autoescape. matplotlib is imported here only, so the CLI starts without it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from agent.metrics.compute import MetricsReport

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>suture · remediation metrics</title>
<style>
body{font:14px system-ui,sans-serif;margin:2rem;max-width:72rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:right}
th:first-child,td:first-child{text-align:left}figure{margin:0 0 1.5rem}figcaption{color:#555}
</style></head><body>
<h1>Remediation metrics</h1>
<p>Window: {{ r.since or "all history" }} → {{ r.until }} · {{ r.findings }} findings ·
fixed by suture: {{ r.fixed_by.suture }}, manually: {{ r.fixed_by.manual }}</p>
{% if notes %}<ul class="notes">{% for note in notes %}<li>{{ note }}</li>{% endfor %}</ul>{% endif %}
<h2>Detection vs remediation, per week</h2>
<figure id="velocity-chart">{{ velocity_svg }}<figcaption>new and fixed findings per week; the line is the backlog
</figcaption></figure>
<h2>Time to remediate (days), by {{ r.by | join(" × ") }}</h2>
<figure id="mttr-chart">{{ mttr_svg }}<figcaption>median and p90 days from first seen to fixed</figcaption></figure>
<table><tr>{% for k in r.by %}<th>{{ k }}</th>{% endfor %}<th>fixed</th><th>open</th><th>mean</th><th>median</th>
<th>p90</th></tr>
{% for row in r.mttr %}<tr>{% for k in r.by %}<td>{{ row.group[k] }}</td>{% endfor %}<td>{{ row.fixed }}</td>
<td>{{ row.open }}</td><td>{{ row.days.mean if row.days.mean is not none else "–" }}</td>
<td>{{ row.days.median if row.days.median is not none else "–" }}</td>
<td>{{ row.days.p90 if row.days.p90 is not none else "–" }}</td></tr>{% endfor %}</table>
<h2>SLA compliance</h2>
<table><tr>{% for k in r.by %}<th>{{ k }}</th>{% endfor %}<th>met</th><th>missed</th><th>open</th><th>compliance</th></tr>
{% for row in r.sla %}<tr>{% for k in r.by %}<td>{{ row.group[k] }}</td>{% endfor %}<td>{{ row.met }}</td>
<td>{{ row.missed }}</td><td>{{ row.open }}</td>
<td>{{ "%.0f%%" % (row.compliance * 100) if row.compliance is not none else "–" }}</td></tr>{% endfor %}</table>
<h2>Response</h2>
<p>Time to first proposal: median {{ r.time_to_first_proposal.median if r.time_to_first_proposal.median is not none
else "–" }} days ({{ r.time_to_first_proposal.count }} findings) · time to first review: median
{{ r.time_to_first_review.median if r.time_to_first_review.median is not none else "–" }} days
({{ r.time_to_first_review.count }} findings)</p>
<h2>Proposals by engine, model and prompt</h2>
<table><tr><th>engine</th><th>model</th><th>prompt</th><th>proposals</th><th>approved</th><th>rejected</th>
<th>acceptance</th><th>exported</th><th>merged</th><th>merge rate</th></tr>
{% for row in r.proposals %}<tr><td>{{ row.group.get("engine", "") }}</td><td>{{ row.group.get("model", "") }}</td>
<td>{{ row.group.get("prompt_hash", "")[:12] }}</td><td>{{ row.proposals }}</td><td>{{ row.approved }}</td>
<td>{{ row.rejected }}</td>
<td>{{ "%.0f%%" % (row.acceptance_rate * 100) if row.acceptance_rate is not none else "–" }}</td>
<td>{{ row.exported }}</td><td>{{ row.merged }}</td>
<td>{{ "%.0f%%" % (row.merge_rate * 100) if row.merge_rate is not none else "–" }}</td></tr>{% endfor %}</table>
</body></html>
"""


def render_html(report: MetricsReport, notes: Sequence[str] = ()) -> str:
    """The page; `notes` (what the report could not know, e.g. a repo without a checkout) are listed first."""
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    return env.from_string(_PAGE).render(r=report, notes=list(notes), velocity_svg=Markup(velocity_svg(report)),
                                         mttr_svg=Markup(mttr_svg(report)))


def velocity_svg(report: MetricsReport) -> str:
    """Bars of new and fixed findings per week, and the backlog as a line on a second axis."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 3.2))
    weeks = [row.week for row in report.velocity]
    x = range(len(weeks))
    ax.bar([i - 0.2 for i in x], [row.new for row in report.velocity], width=0.4, label="new", color="#d9534f")
    ax.bar([i + 0.2 for i in x], [row.fixed for row in report.velocity], width=0.4, label="fixed", color="#5cb85c")
    backlog = ax.twinx()
    backlog.plot(list(x), [row.backlog for row in report.velocity], color="#333", marker="o", label="backlog")
    backlog.set_ylabel("backlog")
    step = max(1, -(-len(weeks) // 16))  # at most 16 week labels, so a year of history stays readable
    ax.set_xticks(list(x)[::step], weeks[::step], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("findings per week")
    ax.legend(loc="upper left", fontsize=8)
    return _svg(plt, fig)


def mttr_svg(report: MetricsReport) -> str:
    """Median and p90 days to remediate per group (groups with no fix in the window are left out)."""
    plt = _pyplot()
    rows = [row for row in report.mttr if row.days.count]
    fig, ax = plt.subplots(figsize=(9, 0.4 * max(len(rows), 3) + 1))
    labels = [" × ".join(row.group.values()) for row in rows]
    y = range(len(rows))
    ax.barh([i + 0.2 for i in y], [row.days.p90 or 0 for row in rows], height=0.4, label="p90", color="#f0ad4e")
    ax.barh([i - 0.2 for i in y], [row.days.median or 0 for row in rows], height=0.4, label="median", color="#337ab7")
    ax.set_yticks(list(y), labels, fontsize=8)
    ax.set_xlabel("days from first seen to fixed")
    ax.legend(loc="lower right", fontsize=8)
    return _svg(plt, fig)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display, no GUI toolkit
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"  # text stays text
    return plt


def _svg(plt, fig) -> str:
    fig.tight_layout()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # drop the XML declaration and doctype: the SVG is inlined in HTML
