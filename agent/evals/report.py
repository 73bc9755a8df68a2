"""Reports of an eval run: `report.md` for people and PRs, `report.html` (self-contained: inline SVG charts, no
scripts, no external assets), next to `metrics.json` (machine-readable; written by the harness)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.evals.metrics import GATES


def _pct(rate: dict | float | None) -> str:
    if isinstance(rate, dict):
        if rate.get("rate") is None:
            return "–"
        lo, hi = rate["ci95"]
        return f"{rate['rate']:.0%} ({rate['hits']}/{rate['n']}; 95% CI {lo:.0%}–{hi:.0%})"
    return "–" if rate is None else f"{rate:.2f}"


def _num(value: float | None, fmt: str = "{:.2f}") -> str:
    return "–" if value is None else fmt.format(value)


def summary_lines(meta: dict, m: dict) -> list[str]:
    c = m["classification"]
    lines = [
        f"- **fix rate** (true positives passing G0–G4): {_pct(m['fix_rate'])}",
        *(f"- **{key}**: {m[key]['rate']:.0%} over {m[key]['n_cases']} cases" for key in m if key.startswith("fix@")),
        f"- **insecure but functional** (G0–G2 pass, G3 or G4 fails): {_pct(m['insecure_but_functional'])}",
        f"- **solved** (TP fixed or FP dismissed): {_pct(m['solved'])}",
        (f"- **classification**: {c.get('verdicts', '?')} verdicts, **{c.get('abstained', '?')} abstained** "
         f"(coverage {_num(c.get('coverage'), '{:.0%}')}); precision {_num(c['precision'])} (over verdicts), "
         f"recall {_num(c['recall'])} (abstaining on a real case is a miss), F1 {_num(c['f1'])}; "
         f"false positives filtered {_pct(c['fp_filter_rate'])}; **real vulnerabilities dismissed** "
         f"{_pct(c['tp_miss_rate'])}; Brier {_num(c['brier'], '{:.3f}')} over {c['brier_n']} of {m['samples']} "
         f"outcomes (coverage {_num(c.get('brier_coverage'), '{:.0%}')})"),
        (f"- **diff size vs reference**: {_num(m['diff_size_ratio']['mean'])}× (n={m['diff_size_ratio']['n']}); "
         f"**context recall** {_num(m['context_recall']['mean'])} (n={m['context_recall']['n']})"),
        f"- **tokens** {m['tokens']['prompt']} prompt / {m['tokens']['completion']} completion in "
        f"{m['tokens']['calls']} calls ({m['tokens']['cached_calls']} cached); **cost** this run "
        f"${m['cost_usd']['total']:.4f}, as first produced ${m['cost_usd'].get('original', m['cost_usd']['total']):.4f}"
        + (f", **per validated fix** ${m['cost_usd']['per_validated_fix']:.4f}"
           if m["cost_usd"].get("per_validated_fix") is not None else "")
        + ("" if m["cost_usd"]["known"] else " (some model prices unknown)"),
        _latency_line(m),
    ]
    if m["invalid_cases"]:
        lines.append(f"- **invalid cases (scored as failures)**: {', '.join(m['invalid_cases'])}")
    return lines


def _latency_line(m: dict) -> str:
    calls = m.get("calls") or {}
    parts = [f"{kind} {s['n']} call(s), p50 {_num(s['latency_p50'], '{:.3f}')} s, p90 "
             f"{_num(s['latency_p90'], '{:.3f}')} s, {s['prompt_tokens']}+{s['completion_tokens']} tokens"
             for kind, s in calls.items() if kind != "all" and s["n"]]
    return (f"- **engine latency** per case p50 {_num(m['latency_s']['p50'])} s, p90 {_num(m['latency_s']['p90'])} s"
            + (f"; per call: {'; '.join(parts)}" if parts else ""))


CONTAMINATION = (
    "**Contamination.** The smoke split is synthetic and lives in this public repository; real-split cases are "
    "published vulnerabilities whose advisories, fixes and tests predate most models' training data. A model may "
    "have seen either, so these numbers can overstate what it does on unseen code. Prompts' worked examples are "
    "checked not to mirror a case. Compare models on the same dataset version, and treat a result on cases "
    "published before a model's training cut-off as an upper bound.")


def markdown(meta: dict, outcomes: list[dict], metrics: dict[str, Any]) -> str:
    m = metrics["overall"]
    out = [f"# suture eval: {meta['engine']}" + (f" ({meta['model']})" if meta.get("model") else ""),
           "", f"{len(meta['cases'])} cases, {meta.get('samples', 1)} sample(s) each; started {meta['started']}.",
           "", _run_line(meta),
           "", *summary_lines(meta, m), "", "## Gates (true-positive samples)", "",
           "| gate | meaning | pass rate |", "|---|---|---|"]
    meaning = {"G0": "edits apply, to code only", "G1": "code compiles and imports",
               "G2": "functional tests re-run: baseline's ids, all pass",
               "G3": "hidden exploit tests: baseline's ids, all pass", "G4": "re-scan clean, nothing new"}
    out += [f"| {g} | {meaning[g]} | {_pct(m['gates'][g])} |" for g in GATES]
    out += ["", "## Per CWE: real vulnerabilities", "",
            "| CWE | cases | fix rate | insecure but functional | dismissed (missed) | abstained |", "|---|---|---|---|---|---|"]
    for cwe, s in metrics.get("per_cwe_real", {}).items():
        c = s["classification"]
        out.append(f"| {cwe} | {s['samples']} | {_short(s['fix_rate'])} | {_short(s['insecure_but_functional'])} | "
                   f"{_short(c['tp_miss_rate'])} | {c.get('abstained', '–')} |")
    out += ["", "## Per CWE: false positives", "", "| CWE | cases | filtered (dismissed) | abstained |",
            "|---|---|---|---|"]
    for cwe, s in metrics.get("per_cwe_false_positive", {}).items():
        c = s["classification"]
        out.append(f"| {cwe} | {s['samples']} | {_short(c['fp_filter_rate'])} | {c.get('abstained', '–')} |")
    out += ["", "## Cases", "", "| case | label | verdict | " + " | ".join(GATES) + " | result | note |",
            "|---|---|---|" + "---|" * len(GATES) + "---|---|"]
    for o in outcomes:
        gates = " | ".join("✓" if o["gates"].get(g) else "✗" for g in GATES)
        result = ("fixed" if o.get("fixed") else "dismissed" if o.get("dismissed") else "not fixed")
        note = (o.get("error") or next((v for g, v in (o.get("gate_details") or {}).items()
                                        if not o["gates"].get(g)), "") or "").replace("|", "/").replace("\n", " ")
        out.append(f"| {o['case_id']}" + (f" #{o['sample']}" if o.get("sample") else "") + f" | {o['label']} | "
                   f"{o.get('predicted') or '–'} | {gates} | {result} | {note[:120]} |")
    out += ["", CONTAMINATION]
    return "\n".join(out) + "\n"


def _run_line(meta: dict) -> str:
    data = meta.get("dataset") or {}
    sampling = (f"k={meta.get('k', 1)} samples at temperature {meta.get('temperature', 0)}, seed {meta.get('seed', 0)}"
                if meta.get("sampled") else "one draw per case (fix@k not defined)")
    return (f"Dataset: split {data.get('split', '?')}, version {data.get('version', 'unknown')}; {sampling}.")


def _short(rate: dict) -> str:
    return "–" if rate.get("rate") is None else f"{rate['rate']:.0%} ({rate['hits']}/{rate['n']})"


def bar_chart(title: str, rows: Sequence[tuple[str, float | None, tuple[float, float] | None]],
              width: int = 560) -> str:
    """Horizontal bars (0–100%) with 95% CI whiskers, as inline SVG."""
    row_h, label_w, top = 22, 150, 26
    plot_w = width - label_w - 60
    height = top + row_h * len(rows) + 10
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
              f'aria-label="{html.escape(title)}">'), f'<text x="0" y="16" font-weight="bold">{html.escape(title)}</text>']
    for i, (label, value, ci) in enumerate(rows):
        y = top + i * row_h
        parts.append(f'<text x="0" y="{y + 14}" font-size="12">{html.escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{plot_w}" height="14" fill="#eee"/>')
        if value is not None:
            parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{plot_w * value:.1f}" height="14" fill="#3b7dd8"/>')
            parts.append(f'<text x="{label_w + plot_w + 6}" y="{y + 14}" font-size="12">{value:.0%}</text>')
        if ci is not None and value is not None:
            x1, x2 = label_w + plot_w * ci[0], label_w + plot_w * ci[1]
            parts.append(f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{y + 10}" y2="{y + 10}" stroke="#222"/>')
    parts.append("</svg>")
    return "".join(parts)


def html_page(meta: dict, outcomes: list[dict], metrics: dict[str, Any]) -> str:
    m = metrics["overall"]
    gate_rows = [(g, m["gates"][g]["rate"], tuple(m["gates"][g]["ci95"])) for g in GATES]
    gate_rows.append(("fix (all gates)", m["fix_rate"]["rate"], tuple(m["fix_rate"]["ci95"])))
    cwe_rows = [(cwe, s["solved"]["rate"], tuple(s["solved"]["ci95"])) for cwe, s in metrics["per_cwe"].items()]
    c = m["classification"]
    cls_rows = [("FP filtered", c["fp_filter_rate"]["rate"], tuple(c["fp_filter_rate"]["ci95"])),
                ("TP dismissed", c["tp_miss_rate"]["rate"], tuple(c["tp_miss_rate"]["ci95"]))]
    md = markdown(meta, outcomes, metrics)
    summary = "".join(f"<li>{html.escape(line[2:]).replace('**', '')}</li>" for line in summary_lines(meta, m))
    table = _cases_table(outcomes)
    title = html.escape(f"suture eval: {meta['engine']}" + (f" ({meta['model']})" if meta.get("model") else ""))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>"
            "body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em}"
            "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px}"
            ".ok{background:#dfd}.no{background:#fdd}svg{display:block;margin:1em 0}</style></head><body>"
            f"<h1>{title}</h1><p>{len(meta['cases'])} cases, {meta.get('samples', 1)} sample(s); "
            f"started {html.escape(meta['started'])}</p><ul>{summary}</ul>"
            + bar_chart("Gate pass rates (true positives, 95% CI)", gate_rows)
            + bar_chart("Solved per CWE (TP fixed or FP dismissed)", cwe_rows)
            + bar_chart("Classification", cls_rows)
            + f"<h2>Cases</h2>{table}<details><summary>Markdown report</summary><pre>{html.escape(md)}</pre>"
            "</details></body></html>\n")


def _cases_table(outcomes: list[dict]) -> str:
    head = "<tr><th>case</th><th>CWE</th><th>label</th><th>verdict</th>" + "".join(f"<th>{g}</th>" for g in GATES) \
        + "<th>result</th></tr>"
    rows = []
    for o in outcomes:
        cells = "".join(f"<td class='{'ok' if o['gates'].get(g) else 'no'}' title='"
                        f"{html.escape(str((o.get('gate_details') or {}).get(g, '')), quote=True)}'>"
                        f"{'✓' if o['gates'].get(g) else '✗'}</td>" for g in GATES)
        result = "fixed" if o.get("fixed") else "dismissed" if o.get("dismissed") else "not fixed"
        rows.append(f"<tr><td>{html.escape(o['case_id'])}</td><td>{o['cwe']}</td><td>{o['label']}</td>"
                    f"<td>{html.escape(str(o.get('predicted') or '–'))}</td>{cells}<td>{result}</td></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def write_reports(run_dir: Path, meta: dict, outcomes: list[dict], metrics: dict[str, Any]) -> None:
    (run_dir / "report.md").write_text(markdown(meta, outcomes, metrics), encoding="utf-8")
    (run_dir / "report.html").write_text(html_page(meta, outcomes, metrics), encoding="utf-8")
