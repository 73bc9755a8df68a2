"""The metrics page is self-contained: inline SVG charts, no script, nothing fetched, names escaped."""

from __future__ import annotations

import re

from agent.metrics.compute import report
from agent.metrics.html import render_html
from agent.metrics.lives import FindingLife
from tests.metrics.test_compute import LIVES, PROPOSALS, UNTIL


def test_page_has_both_charts_and_loads_nothing():
    page = render_html(report(LIVES, PROPOSALS, until=UNTIL))
    for chart in ("velocity-chart", "mttr-chart"):
        figure = page[page.index(f'id="{chart}"'):]
        assert figure.index("<svg") < figure.index("</figure>")
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # no remote resource of any kind
    assert ">2026-01-05<" in page  # week labels are text in the SVG, not paths
    assert "8.8" in page  # the p90 of high × tier 1


def test_names_from_the_store_are_escaped():
    lives = [*LIVES, FindingLife("Z", LIVES[0].first_seen, team="<script>alert(1)</script>")]
    page = render_html(report(lives, PROPOSALS, until=UNTIL, by=["team"]))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_notes_are_listed_and_escaped():
    page = render_html(report([], [], until=UNTIL), ["<img src=x onerror=alert(1)>: no checkout"])
    assert '<ul class="notes"><li>&lt;img src=x onerror=alert(1)&gt;: no checkout</li></ul>' in page
    assert "<img" not in page
