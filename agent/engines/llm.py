"""The LLM engine: verdicts and fixes from any litellm-supported model, through the prompt files in prompts/.

`classify` renders prompts/classify and reads a JSON verdict; `draft` renders prompts/draft (or prompts/repair
when the previous attempt failed) and parses the reply into search/replace edits. The reply is untrusted: edits
are passed on for the patch layer to guard, never applied or trusted for a path here. Endpoint failures raise
`ModelError` (the run cannot go on without the model); a reply that yields no edits is a `Draft` with `error`
set and the raw reply kept, so the pipeline can decide on a repair round. `draft_candidates` asks for k answers
at once (n=k; providers that ignore n are sampled again with temperature > 0). A shared `SpendGuard` checks
every call that leaves the machine against the run's budget before it is sent.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

from agent.context.redact import Redactor
from agent.engines.base import BaseEngine, Draft, Feedback, RegressionDraft
from agent.errors import SutureError
from agent.llm.budget import SpendGuard
from agent.llm.cache import ResponseCache
from agent.llm.client import JSON_OBJECT, ModelReply, ModelRequest, complete
from agent.llm.errors import ModelError, ModelTruncatedError
from agent.llm.prompts import render
from agent.llm.verdict import parse_verdict
from agent.models import Context, Finding, Usage, Verdict
from agent.patch.parse import EditParseError, parse_model_edits
from agent.patch.search_replace import clean_path, looks_like_path

_BLOCK_START = re.compile(r"^\s{0,3}<{5,9} ?(SEARCH|ORIGINAL)\b", re.IGNORECASE)
_BLOCK_END = re.compile(r"^\s{0,3}>{5,9} ?(REPLACE|UPDATED)\b", re.IGNORECASE)
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_DIFF_START = re.compile(r"^(diff --git |--- \S)")
SAMPLING_TEMPERATURE = 0.7  # used for k > 1 candidates when the configured temperature is 0 (all alike)


def prompt_messages(
    task: str, finding: Finding, context: Context, feedback: Feedback | None = None,
    prompts_root: Path | None = None,
) -> tuple[list[dict[str, str]], str]:
    """The exact chat messages (and prompt hash) the engine sends for `task` ("classify", "draft", "repair")."""
    if task == "repair":
        if feedback is None:
            raise ValueError("the repair prompt needs feedback")
        return render("repair", prompts_root, finding=finding, context=context, feedback=_redacted(feedback))
    return render(task, prompts_root, finding=finding, context=context)


class LLMEngine(BaseEngine):
    """Classify and draft with one model. `cache` (any ResponseCache) makes repeated identical calls free."""

    calls_model = True

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
        spend: SpendGuard | None = None,
    ) -> None:
        self.model: str = model  # always a model (the Engine protocol allows None for engines without one)
        self.name = f"llm:{model}"
        self.cache = cache
        self.spend = spend or SpendGuard()
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
        self._usage_lock = threading.Lock()
        self.last_classify: tuple[str, Usage] | None = None  # (prompt hash, usage) of the latest verdict

    # Engine protocol --------------------------------------------------------------------------------------
    def classify(self, finding: Finding, context: Context, project_root: Path) -> Verdict | None:
        """The model's verdict; raises ModelError when the endpoint fails or the reply holds no valid verdict."""
        verdict, usage, prompt_hash = self.classify_with_usage(finding, context)
        self.last_classify = (prompt_hash, usage)
        return verdict

    def classify_with_usage(self, finding: Finding, context: Context,
                            project_root: Path | None = None) -> tuple[Verdict, Usage, str]:
        """(verdict, usage, prompt hash) for one finding; safe to call from several threads at once."""
        messages, prompt_hash = prompt_messages("classify", finding, context, prompts_root=self.prompts_root)
        reply = self._complete(messages, response_format=JSON_OBJECT)
        return parse_verdict(reply.text, source=self.name), reply.usage, prompt_hash

    def draft(
        self, finding: Finding, context: Context, project_root: Path, feedback: Feedback | None = None
    ) -> Draft:
        """Edits from the model for this finding; `feedback` switches to the repair prompt."""
        return self.draft_candidates(finding, context, project_root, feedback, k=1)[0]

    def draft_candidates(
        self, finding: Finding, context: Context, project_root: Path, feedback: Feedback | None = None, k: int = 1
    ) -> list[Draft]:
        """Up to `k` drafts: one request with n=k, then single samples (temperature > 0) for any choices a
        provider did not return. The first draft carries the usage of the shared call."""
        task = "draft" if feedback is None else "repair"
        messages, prompt_hash = prompt_messages(task, finding, context, feedback, self.prompts_root)
        known_paths = sorted({snippet.path for snippet in context.snippets} | {finding.location.path})
        temperature = self._request_options["temperature"]
        if k > 1 and temperature == 0:
            temperature = SAMPLING_TEMPERATURE
        drafts: list[Draft] = []
        sample = 0
        while len(drafts) < k:
            n = k - len(drafts) if sample == 0 else 1
            try:
                reply = self._complete(messages, n=n, temperature=temperature, sample=sample)
            except ModelTruncatedError as exc:
                drafts.append(Draft(usage=exc.usage, prompt_hash=prompt_hash, model_params=self._params(None),
                                    raw_reply=exc.partial_text, error=str(exc)))
            else:
                for index, text in enumerate(reply.texts or [""]):
                    usage = reply.usage if index == 0 else Usage()
                    drafts.append(_parsed_draft(text, known_paths, usage, prompt_hash, self._params(reply)))
            sample += 1
            if sample >= k:  # never more requests than candidates asked for
                break
        return drafts[:k]

    def regression_test(self, finding: Finding, context: Context, diff: str, path: str, project_root: Path,
                        draft: Draft) -> RegressionDraft:
        """A security regression test for the drafted fix `diff`: the model's edits, which should create `path`
        (prompts/regression_test; a call of its own, after the patch: the reply cannot change the patch, and
        agent.validate.regression refuses any edit but that one new file). An endpoint failure or a spent budget
        is a reason, not an error: the patch is kept without a test."""
        try:
            messages, prompt_hash = render("regression_test", self.prompts_root, finding=finding, context=context,
                                           diff=Redactor().redact(diff).text, path=path)
            reply = self._complete(messages)
        except ModelTruncatedError as exc:
            return RegressionDraft(reason=f"the model's reply has no usable test: {exc}", usage=exc.usage)
        except SutureError as exc:
            return RegressionDraft(reason=f"the model could not write one: {exc}")
        parsed = _parsed_draft(reply.text, [path], reply.usage, prompt_hash, self._params(reply))
        if parsed.error:
            return RegressionDraft(reason=f"the model's reply has no usable test: {parsed.error}", usage=reply.usage)
        return RegressionDraft(edits=parsed.edits, source=self.name, usage=reply.usage)

    def spend_notes(self) -> list[str]:
        return list(self.spend.notes)

    def fingerprint(self) -> dict[str, Any]:
        return {"engine": self.name, "model": self.model, "api_base": self._request_options["api_base"],
                "instructions": self.instructions()}

    def instructions(self) -> str:
        """The hash of every prompt the engine may send for a fix or a verdict (classify, draft, repair)."""
        from agent.llm.prompts import prompt_hash

        return "prompts:" + ",".join(f"{task}={prompt_hash(task, self.prompts_root)}"
                                     for task in ("classify", "draft", "repair"))

    def repeats_itself(self) -> bool:
        """Only with the response cache on: a model asked again answers anew."""
        return self.cache is not None

    # helpers ----------------------------------------------------------------------------------------------
    def _complete(
        self, messages: list[dict[str, str]], response_format: dict | None = None, n: int = 1,
        temperature: float | None = None, sample: int = 0,
    ) -> ModelReply:
        options = dict(self._request_options)
        if temperature is not None:
            options["temperature"] = temperature
        request = ModelRequest(
            model=self.model, messages=messages, response_format=response_format, n=n, sample=sample, **options
        )

        def check_budget(outgoing: ModelRequest) -> None:
            self.spend.check(outgoing.model, outgoing.messages, outgoing.max_tokens, outgoing.n)

        try:
            reply = complete(request, cache=self.cache, before_call=check_budget)
        except ModelError as exc:
            self.spend.record(exc.usage)  # a failed call may still have billed tokens (e.g. a cut-off reply)
            with self._usage_lock:
                self.usage = self.usage.add(exc.usage)
            raise
        self.spend.record(reply.usage)
        with self._usage_lock:
            self.usage = self.usage.add(reply.usage)
        return reply

    def _params(self, reply: ModelReply | None) -> dict[str, Any]:
        params = {
            k: v for k, v in self._request_options.items() if k in ("api_base", "temperature", "max_tokens")
        }
        params["model"] = self.model
        if reply is not None:
            params.update({k: v for k, v in reply.params.items()
                           if k in ("max_tokens", "response_format", "temperature", "n")})
            params["cached"] = reply.cached
        return params


def _parsed_draft(text: str, known_paths: list[str], usage: Usage, prompt_hash: str, params: dict) -> Draft:
    try:
        edits = parse_model_edits(text, known_paths=known_paths)
    except EditParseError as exc:
        return Draft(rationale=prose_outside_edits(text), error=str(exc), usage=usage, prompt_hash=prompt_hash,
                     model_params=params, raw_reply=text)
    return Draft(edits=edits, rationale=prose_outside_edits(text), usage=usage, prompt_hash=prompt_hash,
                 model_params=params, raw_reply=text)


def _redacted(feedback: Feedback) -> Feedback:
    """Test logs and earlier replies can echo secrets; redact them like the rest of the prompt."""
    redactor = Redactor()
    previous = redactor.redact(feedback.previous_reply).text if feedback.previous_reply else None
    return Feedback(
        attempt=feedback.attempt, previous_reply=previous, failure=redactor.redact(feedback.failure).text,
        coverage=redactor.redact(feedback.coverage).text if feedback.coverage else None,
        regression=redactor.redact(feedback.regression).text if feedback.regression else None,
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
