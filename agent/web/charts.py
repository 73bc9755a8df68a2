"""A campaign's progress as one static SVG (matplotlib, drawn the way agent.metrics.html draws the metrics
charts): how many of its findings reached each step, and its burn-down. Only numbers, dates and the fixed step
names are drawn: no text that came from a user, a repository or a model reaches the image.
"""

from __future__ import annotations

from datetime import date, timedelta

from agent.campaign.views import StatusView
from agent.metrics.html import _pyplot, _svg

STEP_COLOURS = {"selected": "#8a94a6", "drafted": "#f0ad4e", "validated": "#5cb85c", "unproven": "#e6c35c",
                "approved": "#2e8b57", "exported": "#337ab7", "merged": "#1e3a8a", "fixed": "#14532d"}


def campaign_svg(status: StatusView) -> str:
    """Left: a bar per step (agent.campaign.status.STEPS) with how many findings reached it. Right: findings
    still open at the end of each day since the campaign began; with a due date, the straight line from the
    selection down to zero on that day (the pace that meets it)."""
    plt = _pyplot()
    from matplotlib.dates import DateFormatter
    from matplotlib.ticker import MaxNLocator

    fig, (steps, burn) = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [1, 1.3]})
    names = list(status.steps)
    counts = [status.total.get(step, 0) for step in names]
    y = range(len(names))
    steps.barh(list(y), counts, color=[STEP_COLOURS.get(n, "#8a94a6") for n in names])
    steps.set_yticks(list(y), names, fontsize=8)
    steps.invert_yaxis()
    for i, n in enumerate(counts):
        steps.text(n, i, f" {n}", va="center", fontsize=8)
    steps.set_xlim(0, max(max(counts, default=0), 1) * 1.15)
    steps.xaxis.set_major_locator(MaxNLocator(integer=True))
    steps.set_xlabel("findings that reached the step")

    bd = status.burn_down
    series = bd.get("series") or []
    days = [date.fromisoformat(p["date"]) for p in series] or [status.campaign.created_at.date()]
    remaining = [p["remaining"] for p in series] or [bd.get("total", 0)]
    burn.plot(days, remaining, marker="o", color="#333", label="open findings")
    right = days[-1] + timedelta(days=1)
    due = status.campaign.due
    if due is not None:
        # the pace that meets the due date, shown as far as the due date or as long again as the campaign ran
        right = max(right, min(due.date(), days[-1] + timedelta(days=max(14, (days[-1] - days[0]).days))))
        burn.plot([days[0], due.date()], [bd.get("total", 0), 0], linestyle="--", color="#d9534f",
                  label=f"pace to the due date ({due.date().isoformat()})")
    burn.set_xlim(days[0] - timedelta(days=1), right)
    burn.set_ylim(0, max(bd.get("total", 0), 1) * 1.1)
    burn.yaxis.set_major_locator(MaxNLocator(integer=True))
    burn.xaxis.set_major_formatter(DateFormatter("%Y-%m-%d"))
    burn.tick_params(axis="x", labelrotation=30, labelsize=8)
    burn.set_ylabel("open findings")
    burn.legend(loc="upper right", fontsize=8)
    return _svg(plt, fig)
