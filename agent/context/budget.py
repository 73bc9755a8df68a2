"""Token counting and budget filling for the text suture sends to a model.

Counting uses tiktoken's BPE encodings, strictly offline. tiktoken fetches an encoding from
openaipublic.blob.core.windows.net on first use and caches it under `TIKTOKEN_CACHE_DIR`, keyed by the
sha1 of the download URL. litellm ships those cache files (cl100k_base, o200k_base, p50k_base) in
`litellm/litellm_core_utils/tokenizers`; we locate that folder with `importlib.util.find_spec` (without
importing litellm, which is slow and may touch the network), or use `CUSTOM_TIKTOKEN_CACHE_DIR` when set,
exactly as litellm does. Before handing control to tiktoken we check that the cache file exists and has the
sha256 tiktoken expects, so tiktoken never falls back to a download.

If that is not possible, counting falls back to an ESTIMATE of one token per four characters (rounded up);
`tokenizer_status().exact` is then False and says why. The estimate is only for budgeting, never billing.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

_ENCODING_URLS: dict[str, tuple[str, str]] = {
    # name -> (download URL tiktoken uses, sha256 tiktoken expects); from tiktoken_ext/openai_public.py
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}
_O200K_PREFIXES = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "chatgpt-4o", "o1", "o3", "o4")
CHARS_PER_TOKEN_ESTIMATE = 4
TRUNCATION_MARKER = "… [truncated: {n} more lines]"

DEFAULT_BUDGET = 6000  # unknown or small local models (Ollama, llama.cpp, vLLM with 8k windows)
_FAMILY_BUDGETS: tuple[tuple[tuple[str, ...], int], ...] = (
    (("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "chatgpt-4o", "o1", "o3", "o4"), 24000),
    (("claude", "gemini"), 24000),
    (("gpt-4-turbo", "gpt-4-1106", "gpt-4-0125"), 16000),
    (("gpt-3.5",), 8000),
    (("gpt-4",), 4000),  # the original 8k-window gpt-4
)


def cache_file_name(url: str) -> str:
    """The file name tiktoken uses for a cached download: sha1 of the URL."""
    return hashlib.sha1(url.encode()).hexdigest()


def bundled_tokenizer_dir() -> Path | None:
    """litellm's folder of tiktoken cache files, found without importing litellm (None if not installed)."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = Path(location) / "litellm_core_utils" / "tokenizers"
        if folder.is_dir():
            return folder
    return None


def tiktoken_cache_dir() -> Path | None:
    """The folder tiktoken should read: CUSTOM_TIKTOKEN_CACHE_DIR if set, else litellm's bundled folder."""
    custom = os.environ.get("CUSTOM_TIKTOKEN_CACHE_DIR")
    if custom:
        return Path(custom)
    return bundled_tokenizer_dir()


def encoding_name_for(model: str | None) -> str:
    """o200k_base for gpt-4o / gpt-4.1 / gpt-5 / o-series models, cl100k_base for everything else."""
    if not model:
        return "cl100k_base"
    name = model.lower().rsplit("/", 1)[-1]
    return "o200k_base" if name.startswith(_O200K_PREFIXES) else "cl100k_base"


def default_budget(model: str | None) -> int:
    """Prompt tokens for code context by model family; callers override with an explicit budget."""
    if not model:
        return DEFAULT_BUDGET
    name = model.lower().rsplit("/", 1)[-1]
    for prefixes, budget in _FAMILY_BUDGETS:
        if name.startswith(prefixes):
            return budget
    return DEFAULT_BUDGET


@dataclass(frozen=True)
class TokenizerStatus:
    """Whether counts for an encoding are exact BPE counts, and if not, why they are estimates."""

    encoding: str
    exact: bool
    cache_dir: str | None
    reason: str


def _verified_cache(encoding: str) -> tuple[Path | None, str]:
    folder = tiktoken_cache_dir()
    if folder is None:
        return None, "litellm is not installed and CUSTOM_TIKTOKEN_CACHE_DIR is not set"
    url, sha256 = _ENCODING_URLS[encoding]
    cached = folder / cache_file_name(url)
    if not cached.is_file():
        return None, f"no cached {encoding} in {folder} (expected file {cached.name})"
    if hashlib.sha256(cached.read_bytes()).hexdigest() != sha256:
        return None, f"cached {encoding} in {folder} does not have the sha256 tiktoken expects"
    return folder, f"{encoding} loaded offline from {folder}"


@cache
def _load(encoding: str) -> tuple[Any, TokenizerStatus]:
    folder, reason = _verified_cache(encoding)
    if folder is None:
        return None, TokenizerStatus(encoding, False, None, reason + "; using a chars/4 estimate")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)  # the same value litellm sets when it loads
    try:
        import tiktoken

        enc = tiktoken.get_encoding(encoding)
    except (ImportError, OSError, ValueError, KeyError) as exc:
        return None, TokenizerStatus(
            encoding, False, str(folder), f"tiktoken failed ({exc}); using a chars/4 estimate"
        )
    return enc, TokenizerStatus(encoding, True, str(folder), reason)


def tokenizer_status(model: str | None = None) -> TokenizerStatus:
    """How `count_tokens` counts for this model: exact BPE, or the chars/4 estimate and why."""
    return _load(encoding_name_for(model))[1]


def estimate_tokens(text: str) -> int:
    """The documented fallback: one token per four characters, rounded up."""
    return math.ceil(len(text) / CHARS_PER_TOKEN_ESTIMATE)


def count_tokens(text: str, model: str | None = None) -> int:
    """Tokens in `text` for `model` (exact with tiktoken; the chars/4 estimate if it is unavailable)."""
    if not text:
        return 0
    enc = _load(encoding_name_for(model))[0]
    if enc is None:
        return estimate_tokens(text)
    return len(enc.encode(text, disallowed_special=()))


class Candidate(NamedTuple):
    """A piece of text competing for the budget. Smaller `priority` is kept first (0 = must have).

    `overhead` is the tokens its framing costs in the prompt (a heading line), counted with it.
    """

    label: str
    priority: float
    text: str
    overhead: int = 0


@dataclass(frozen=True)
class Kept:
    label: str
    priority: float
    text: str
    tokens: int  # including overhead
    truncated: bool = False
    omitted_lines: int = 0


@dataclass(frozen=True)
class Dropped:
    label: str
    priority: float
    tokens: int  # what it would have cost, including overhead

    def describe(self) -> str:
        return f"{self.label} (~{self.tokens} tokens, over budget)"


def _truncate(cand: Candidate, room: int, model: str | None, min_lines: int) -> Kept | None:
    """The longest line prefix of `cand.text` that, with the marker, fits in `room` tokens."""
    lines = cand.text.split("\n")

    def cost(n: int) -> int:
        marker = TRUNCATION_MARKER.format(n=len(lines) - n)
        return cand.overhead + count_tokens("\n".join([*lines[:n], marker]), model)

    lo, hi = min_lines, len(lines) - 1  # the largest n in [min_lines, len-1] with cost(n) <= room
    best = None
    while lo <= hi:
        mid = (lo + hi) // 2
        if cost(mid) <= room:
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    if best is None:
        return None
    omitted = len(lines) - best
    text = "\n".join([*lines[:best], TRUNCATION_MARKER.format(n=omitted)])
    return Kept(cand.label, cand.priority, text, cost(best), truncated=True, omitted_lines=omitted)


def fill_budget(
    candidates: Iterable[Candidate | Sequence[Any]],
    budget: int,
    *,
    model: str | None = None,
    min_lines: int = 2,
) -> tuple[list[Kept], list[Dropped]]:
    """Keep candidates in priority order (stable) while they fit in `budget` tokens.

    A candidate that does not fit whole is cut at a line boundary, ending with the marker
    `… [truncated: N more lines]`, if at least `min_lines` of it fit; otherwise it is dropped. Smaller
    candidates after it may still fill what is left. Returns what was kept (in priority order) and dropped.
    """
    ordered = sorted((Candidate(*c) for c in candidates), key=lambda c: c.priority)
    kept: list[Kept] = []
    dropped: list[Dropped] = []
    room = budget
    for cand in ordered:
        tokens = cand.overhead + count_tokens(cand.text, model)
        if tokens <= room:
            kept.append(Kept(cand.label, cand.priority, cand.text, tokens))
            room -= tokens
            continue
        cut = _truncate(cand, room, model, min_lines) if room > cand.overhead else None
        if cut is None:
            dropped.append(Dropped(cand.label, cand.priority, tokens))
            continue
        kept.append(cut)
        room -= cut.tokens
    return kept, dropped
