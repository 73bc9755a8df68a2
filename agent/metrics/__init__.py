"""Remediation metrics for security teams (issue 15): how fast findings are fixed, against how fast they arrive.

`lives.py` holds the plain records the metrics are computed from (one per finding, one per proposal), built by the
application layer from the store's history; `compute.py` turns them into a `MetricsReport` (pure functions, no
I/O: every number can be checked by hand); `html.py` renders a report as one self-contained HTML page with
static SVG charts (no script, no network at view time).
"""
