"""The LLM engine: verdicts and fixes from any litellm-supported model, through the prompt files in prompts/.

`classify` renders prompts/classify and reads a JSON verdict; `draft` renders prompts/draft (or prompts/repair
when the previous attempt failed) and parses the reply into search/replace edits. The reply is untrusted: edits
are passed on for the patch layer to guard, never applied or trusted for a path here. Endpoint failures raise
`ModelError` (the run cannot go on without the model); a reply that yields no edits is a `Draft` with `error`
set and the raw reply kept, so the pipeline can decide on a repair round.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from agent.context.redact import Redactor
from agent.engines.base import Draft, Feedback
from agent.llm.cache import ResponseCache
from agent.llm.client import JSON_OBJECT, ModelReply, ModelRequest, complete
from agent.llm.errors import ModelTruncatedError
from agent.llm.prompts import render
from agent.llm.verdict import parse_verdict
from agent.models import Context, Finding, Usage, Verdict
from agent.patch.parse import EditParseError, parse_model_edits
from agent.patch.search_replace import clean_path, looks_like_path

_BLOCK_START = re.compile(r"^\s{0,3}<{5,9} ?(SEARCH|ORIGINAL)\b", re.IGNORECASE)
_BLOCK_END = re.compile(r"^\s{0,3}>{5,9} ?(REPLACE|UPDATED)\b", re.IGNORECASE)
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_DIFF_START = re.compile(r"^(diff --git |--- \S)")


class LLMEngine:
    """Classify and draft with one model. `cache` (any ResponseCache) makes repeated identical calls free."""

    def __init__(
        self,
        model: str,
        api_base: str | None = None,
        temperature: float = 0.0,
        max_tokens: int = 2048,
        timeout: float = 60.0,
        cache: ResponseCache | None = None,
        *,
        api_key: str | None = None,
        max_retries: int = 2,
        backoff_base: float = 1.0,
        retry_after_max: float = 60.0,
        prompts_root: Path | None = None,
    ) -> None:
        self.model = model
        self.name = f"llm:{model}"
        self.cache = cache
        self.prompts_root = prompts_root
        self._request_options: dict[str, Any] = {
            "api_base": api_base,
            "api_key": api_key,
            "temperature": temperature,
            "max_tokens": max_tokens,
            "timeout": timeout,
            "max_retries": max_retries,
            "backoff_base": backoff_base,
            "retry_after_max": retry_after_max,
        }
        self.usage = Usage()  # running total over every call this engine made
        self.last_classify: tuple[str, Usage] | None = None  # (prompt hash, usage) of the latest verdict

    # Engine protocol --------------------------------------------------------------------------------------
    def classify(self, finding: Finding, context: Context, project_root: Path) -> Verdict | None:
        """The model's verdict; raises ModelError when the endpoint fails or the reply holds no valid verdict."""
        messages, prompt_hash = render("classify", self.prompts_root, finding=finding, context=context)
        reply = self._complete(messages, response_format=JSON_OBJECT)
        self.last_classify = (prompt_hash, reply.usage)
        return parse_verdict(reply.text, source=self.name)

    def draft(
        self, finding: Finding, context: Context, project_root: Path, feedback: Feedback | None = None
    ) -> Draft:
        """Edits from the model for this finding; `feedback` switches to the repair prompt."""
        if feedback is None:
            messages, prompt_hash = render("draft", self.prompts_root, finding=finding, context=context)
        else:
            messages, prompt_hash = render(
                "repair", self.prompts_root, finding=finding, context=context, feedback=_redacted(feedback)
            )
        try:
            reply = self._complete(messages)
        except ModelTruncatedError as exc:
            return Draft(
                usage=exc.usage,
                prompt_hash=prompt_hash,
                model_params=self._params(None),
                raw_reply=exc.partial_text,
                error=str(exc),
            )
        known_paths = sorted({snippet.path for snippet in context.snippets} | {finding.location.path})
        common = {
            "usage": reply.usage,
            "prompt_hash": prompt_hash,
            "model_params": self._params(reply),
            "raw_reply": reply.text,
        }
        try:
            edits = parse_model_edits(reply.text, known_paths=known_paths)
        except EditParseError as exc:
            return Draft(rationale=prose_outside_edits(reply.text), error=str(exc), **common)
        return Draft(edits=edits, rationale=prose_outside_edits(reply.text), **common)

    # helpers ----------------------------------------------------------------------------------------------
    def _complete(self, messages: list[dict[str, str]], response_format: dict | None = None) -> ModelReply:
        request = ModelRequest(
            model=self.model, messages=messages, response_format=response_format, **self._request_options
        )
        reply = complete(request, cache=self.cache)
        self.usage = self.usage.add(reply.usage)
        return reply

    def _params(self, reply: ModelReply | None) -> dict[str, Any]:
        params = {
            k: v for k, v in self._request_options.items() if k in ("api_base", "temperature", "max_tokens")
        }
        params["model"] = self.model
        if reply is not None:
            params.update({k: v for k, v in reply.params.items() if k in ("max_tokens", "response_format")})
            params["cached"] = reply.cached
        return params


def _redacted(feedback: Feedback) -> Feedback:
    """Test logs and earlier replies can echo secrets; redact them like the rest of the prompt."""
    redactor = Redactor()
    previous = redactor.redact(feedback.previous_reply).text if feedback.previous_reply else None
    return Feedback(
        attempt=feedback.attempt, previous_reply=previous, failure=redactor.redact(feedback.failure).text
    )


def prose_outside_edits(text: str) -> str:
    """The explanation around the edits: every line that is not inside a block, its path line or its fence."""
    lines = text.replace("\r\n", "\n").split("\n")
    drop: set[int] = set()
    index = 0
    while index < len(lines):
        if _DIFF_START.match(lines[index]):  # a unified diff runs to the end; keep only the prose before it
            first = index - 1 if index > 0 and _FENCE.match(lines[index - 1]) else index
            drop.update(range(first, len(lines)))
            break
        if not _BLOCK_START.match(lines[index]):
            index += 1
            continue
        above = index - 1
        for _ in range(2):  # the path line and an opening fence, in either order
            if above >= 0 and (_FENCE.match(lines[above]) or looks_like_path(clean_path(lines[above]))):
                drop.add(above)
                above -= 1
        end = index
        while end < len(lines) - 1 and not _BLOCK_END.match(lines[end]):
            end += 1
        drop.update(range(index, end + 1))
        if end + 1 < len(lines) and _FENCE.match(lines[end + 1]):
            drop.add(end + 1)
        index = end + 1
    kept = [line for number, line in enumerate(lines) if number not in drop]
    return _drop_empty_fences("\n".join(kept)).strip()


def _drop_empty_fences(text: str) -> str:
    text = re.sub(r"^\s{0,3}(`{3,}|~{3,})[^\n]*\n(\s*\n)*\s{0,3}\1\s*$", "", text, flags=re.MULTILINE)
    return re.sub(r"\n{3,}", "\n\n", text)
