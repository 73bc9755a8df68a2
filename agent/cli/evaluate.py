"""`suture eval`: measure an engine (builtin, a model, or a reference engine) on the eval cases; compare runs."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from agent.cli import render
from agent.cli.progress import task_bar
from agent.engines.registry import ENGINE_NAMES

# every engine agent/engines/registry.py registers, so a new engine needs no line here
EngineName = Enum("EngineName", {name: name for name in ENGINE_NAMES}, type=str)  # type: ignore[misc]


class Split(str, Enum):
    smoke = "smoke"
    real = "real"


class OutFmt(str, Enum):
    table = "table"
    json = "json"


eval_cli = typer.Typer(
    help="Measure fix and verdict quality on labelled cases (--split smoke: evals/cases; --split real: evals/real, "
         "published CVEs in real projects): gates G0 apply (code only), G1 imports, G2 functional tests re-run, G3 "
         "hidden exploit tests, G4 re-scan; fix@k, classification, calibration, cost, "
         "context recall; markdown/JSON/HTML reports. Subcommands: `compare RUN_A RUN_B`, `rescore RUN`, "
         "`leaderboard RUN...`.",
    invoke_without_command=True,
)


@eval_cli.callback()
def eval_main(
    ctx: typer.Context,
    cases: Annotated[Path | None, typer.Option("--cases", help="Cases folder (default: the split's folder of "
                                               "this checkout).")] = None,
    split: Annotated[Split, typer.Option("--split", help="smoke: the small synthetic cases (evals/cases, what CI "
                                         "runs); real: published vulnerabilities in real projects (evals/real; "
                                         "fetches each project's pinned sdist with pip once, then uses the "
                                         "cache).")] = Split.smoke,
    engine: Annotated[EngineName, typer.Option("--engine", "-e", help="builtin (no model), llm (needs --model), "
                                               "or a reference engine: oracle, null, saboteur.")]
    = EngineName["builtin"],
    model: Annotated[list[str] | None, typer.Option("--model", "-m", help="litellm model string for --engine llm;"
                                                    " repeat to evaluate several models (one run each).")] = None,
    api_base: Annotated[str | None, typer.Option("--api-base", envvar="SUTURE_API_BASE",
                                                 help="OpenAI-compatible endpoint URL.")] = None,
    k: Annotated[int, typer.Option("-k", min=1, max=20, help="Samples per case for fix@k (models only; needs "
                                   "--temperature above 0).")] = 1,
    temperature: Annotated[float, typer.Option("--temperature", min=0.0, max=2.0, help="Model sampling "
                                               "temperature (models only).")] = 0.0,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Names the sample set: runs with another seed draw "
                                      "(and cache) new samples; recorded in run.json.")] = 0,
    only: Annotated[list[str] | None, typer.Option("--case", help="Only these case ids (or prefixes).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Run folder (default evals/results/<engine>-"
                                             "<time>); re-using one replays cached model answers.")] = None,
    workers: Annotated[int | None, typer.Option("--workers", "-j", min=1, help="Cases in parallel "
                                                "(default: CPU count).")] = None,
    fmt: Annotated[OutFmt, typer.Option("--format", "-f", help="table for people, json for machines.")]
    = OutFmt.table,
) -> None:
    """Run the eval: every case through the real pipeline, scored on gates G0–G4 and verdict quality."""
    if ctx.invoked_subcommand is not None:
        return
    from agent.app import evaluate

    selected, runs = evaluate.plan_eval(engine.value, model, cases, split.value, only, api_base, k, temperature,
                                        seed, workers, out)
    results = []
    for run in runs:
        with task_bar(f"eval {run.spec.engine}", evaluate.samples(selected, run), quiet=fmt == OutFmt.json) as bar:
            def done(case, outcome, bar=bar) -> None:
                result = "fixed" if outcome.get("fixed") else "dismissed" if outcome.get("dismissed") else "not fixed"
                bar.status(f"{case.id}: {result}")
                bar.advance()

            results.append((run.run_dir, evaluate.run_eval(selected, run, done)))
    _print_results(results, fmt)


def _print_results(results, fmt: OutFmt) -> None:
    from agent.evals.report import summary_lines

    if fmt == OutFmt.json:
        render.emit_json([{"run": str(d), "metrics": m} for d, m in results])
        return
    for run_dir, metrics in results:
        render.out.print(f"[bold]{render.escape(str(run_dir))}[/]")
        for line in summary_lines({}, metrics["overall"]):
            render.out.print(render.escape(line.replace("**", "")))
        render.line(f"reports: {run_dir / 'report.md'}, {run_dir / 'report.html'}, {run_dir / 'metrics.json'}")


@eval_cli.command("rescore")
def eval_rescore(run: Annotated[Path, typer.Argument(help="A finished run folder.")],
                 fmt: Annotated[OutFmt, typer.Option("--format", "-f")] = OutFmt.table) -> None:
    """Recompute metrics and reports from a run's recorded outcomes (no model call, no case re-run)."""
    from agent.evals.harness import rescore

    _print_results([(run, rescore(run))], fmt)


@eval_cli.command("compare")
def eval_compare(
    run_a: Annotated[Path, typer.Argument(help="Baseline run folder.")],
    run_b: Annotated[Path, typer.Argument(help="Candidate run folder.")],
    alpha: Annotated[float, typer.Option("--alpha", min=0.0, max=1.0, help="Significance level.")] = 0.05,
    allow_changed: Annotated[bool, typer.Option("--allow-changed-cases", help="Compare even when the runs used "
                                                "different case versions (a loud warning is printed).")] = False,
    fmt: Annotated[OutFmt, typer.Option("--format", "-f")] = OutFmt.table,
) -> None:
    """Paired comparison over shared cases (exact McNemar): is B better than A, worse, or noise? Refuses runs
    over different case versions unless --allow-changed-cases."""
    from agent.evals.compare import compare_runs

    c = compare_runs(run_a, run_b, alpha, allow_changed)
    for warning in c.warnings:
        render.err.print(f"[bold red]{render.escape(warning)}[/]")
    if fmt == OutFmt.json:
        render.emit_json(c.as_dict())
        return
    render.out.print(f"A = {render.escape(c.a)}\nB = {render.escape(c.b)}")
    render.out.print(f"{c.cases} shared cases: {c.both} solved by both, {c.neither} by neither, "
                     f"{len(c.only_a)} only by A, {len(c.only_b)} only by B; exact McNemar p = {c.p_value:.4g}")
    for label, ids in (("only A", c.only_a), ("only B", c.only_b)):
        if ids:
            render.line(f"  {label}: {', '.join(ids)}")
    render.out.print(f"[bold]B is {c.verdict}[/]" + (" than A" if c.verdict != "noise" else
                                                     " (no significant difference)"))


@eval_cli.command("leaderboard")
def eval_leaderboard(
    runs: Annotated[list[Path], typer.Argument(help="Finished run folders (any engines and models).")],
    fmt: Annotated[OutFmt, typer.Option("--format", "-f")] = OutFmt.table,
) -> None:
    """One line per run, best solved rate first: fix rate, fix@k, FP filtered, TP dismissed, abstentions, Brier,
    cost per validated fix. Warns when the runs used different case versions."""
    from agent.evals.compare import leaderboard

    rows, warnings = leaderboard(runs)
    for warning in warnings:
        render.err.print(f"[bold red]{render.escape(warning)}[/]")
    if fmt == OutFmt.json:
        render.emit_json({"runs": rows, "warnings": warnings})
        return

    def pct(v):
        return "–" if v is None else f"{v:.0%}"

    render.out.print("| run | dataset | solved | fix | fix@k | insecure+functional | FP filtered | TP dismissed | "
                     "abstained | Brier (n) | $/fix |")
    for r in rows:
        at_k = ", ".join(f"{k} {pct(v)}" for k, v in r["fix_at_k"].items()) or "–"
        brier = "–" if r["brier"] is None else f"{r['brier']:.3f} ({r['brier_n']})"
        cost = "–" if r["cost_per_fix"] is None else f"{r['cost_per_fix']:.4f}"
        render.out.print(render.escape(
            f"| {r['label']} ({r['run']}) | {r['dataset']} | {pct(r['solved'])} | {pct(r['fix_rate'])} | {at_k} | "
            f"{pct(r['insecure_but_functional'])} | {pct(r['fp_filtered'])} | {pct(r['tp_dismissed'])} | "
            f"{r['abstained']} | {brier} | {cost} |"))


def register(app: typer.Typer) -> None:
    app.add_typer(eval_cli, name="eval")
