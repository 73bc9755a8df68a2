"""`suture context`: exactly what would be sent to a model for one finding, before anything is paid for.

Builds the context the way a fix does (`agent.attempt.prepare`: same code gathering, static hints, redaction
and token budget, from a clean checkout of HEAD) and renders the classify or draft prompt with the LLM engine's
own templates. Nothing is sent anywhere. With a model whose price litellm knows, the most the call could cost
is estimated from the prompt tokens and max_tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from agent.attempt import prepare
from agent.config import Settings
from agent.context.budget import count_tokens, tokenizer_status
from agent.models import Context, Finding

Task = Literal["classify", "draft"]


@dataclass
class PromptPreview:
    finding_id: str
    task: str
    model: str | None
    prompt_hash: str
    messages: list[dict[str, str]]
    prompt_tokens: int  # all messages, counted with the model's tokenizer (or the chars/4 estimate)
    tokens_exact: bool
    context: Context
    max_tokens: int
    estimated_cost_usd: float | None = None  # None: no model given, or litellm has no price for it
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        c = self.context
        return {
            "finding_id": self.finding_id, "task": self.task, "model": self.model, "prompt_hash": self.prompt_hash,
            "prompt_tokens": self.prompt_tokens, "tokens_exact": self.tokens_exact,
            "context_tokens": c.tokens_used, "token_budget": c.token_budget, "dropped": c.dropped,
            "redactions": c.redactions, "max_tokens": self.max_tokens,
            "estimated_cost_usd": self.estimated_cost_usd, "notes": self.notes, "messages": self.messages,
        }


def preview_prompt(finding: Finding, source_dir: Path, settings: Settings, task: Task = "draft") -> PromptPreview:
    """The rendered, redacted messages for `task` on `finding` in the checkout `source_dir`, with counts."""
    from agent.engines.llm import prompt_messages

    prepared = prepare(finding, source_dir, settings)
    messages, digest = prompt_messages(task, prepared.view, prepared.context)
    tokens = sum(count_tokens(m["content"], settings.model) for m in messages)
    preview = PromptPreview(
        finding_id=finding.id, task=task, model=settings.model, prompt_hash=digest, messages=messages,
        prompt_tokens=tokens, tokens_exact=tokenizer_status(settings.model).exact, context=prepared.context,
        max_tokens=settings.max_tokens,
    )
    if not preview.tokens_exact:
        preview.notes.append(f"token counts are estimates: {tokenizer_status(settings.model).reason}")
    if settings.model:
        from agent.llm.budget import estimate_call

        estimate = estimate_call(settings.model, messages, settings.max_tokens,
                                 settings.k if task == "draft" else 1)
        if estimate.cost_known:
            preview.estimated_cost_usd = estimate.cost_usd
        else:
            preview.notes.append(f"litellm has no price for {settings.model}; cost unknown")
    return preview


def preview_in_head(ws, store, finding_id: str, settings: Settings, task: Task = "draft") -> PromptPreview:
    """`preview_prompt` for a stored finding (id or unique prefix), in a throw-away worktree of HEAD."""
    from agent.validate.worktree import Worktree

    finding = store.get_finding(finding_id)
    with Worktree(ws.project, ws.project.head) as wt:
        return preview_prompt(finding, wt.project_path, settings, task)
