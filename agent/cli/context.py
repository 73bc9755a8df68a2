"""`suture context`: exactly what a model would be sent for one finding. Nothing leaves the machine."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from agent.cli import render
from agent.cli.options import DbOpt, FormatOpt, ListFmt, RepoOpt, open_session


class PromptTask(str, Enum):
    classify = "classify"
    draft = "draft"


def register(app: typer.Typer) -> None:
    app.command()(context)


def context(
    finding_id: Annotated[str, typer.Argument(help="Finding id or unique prefix (see `suture triage`).")],
    repo: RepoOpt = Path("."), db: DbOpt = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Count tokens, size the budget and price "
                                              "the call for this litellm model (nothing is sent).")] = None,
    task: Annotated[PromptTask, typer.Option("--task", "-t", help="Which prompt: classify (verdict) or draft "
                                             "(fix).")] = PromptTask.draft,
    fmt: FormatOpt = ListFmt.table,
) -> None:
    """Print exactly what would be sent to a model for one finding: the rendered, redacted prompt messages,
    their token count against the budget, and what was cut to fit. Nothing leaves the machine."""
    from agent.app import context as contexts

    preview = contexts.prompt_preview(open_session(repo, db, model=model), finding_id, task.value)
    if fmt == ListFmt.json:
        render.emit_json(preview.as_json())
        return
    c = preview.context
    for message in preview.messages:
        render.rule(f"{message['role']} message", style="dim")
        render.out.print(message["content"], markup=False, highlight=False, soft_wrap=True)
    render.rule("summary", style="dim")
    cost = ("unknown" if preview.estimated_cost_usd is None and preview.model
            else "n/a (no --model)" if preview.estimated_cost_usd is None
            else f"at most ${preview.estimated_cost_usd:.5f} (prompt + max_tokens={preview.max_tokens})")
    share = f" ({c.tokens_used / c.token_budget:.0%})" if c.token_budget else ""
    lines = [
        f"finding {preview.finding_id[:10]}, task {preview.task}, model {preview.model or '(none: default budget)'}",
        (f"prompt: {preview.prompt_tokens} tokens{'' if preview.tokens_exact else ' (estimated)'} in "
        f"{len(preview.messages)} messages; code context {c.tokens_used}/{c.token_budget} budget tokens{share}"),
        f"secrets redacted: {c.redactions}; prompt hash {preview.prompt_hash[:12]}; cost {cost}",
    ]
    lines += [f"dropped (over budget): {d}" for d in c.dropped] or ["dropped: nothing"]
    for line in lines + preview.notes:
        render.line(line)
