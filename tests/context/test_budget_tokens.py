"""Token counting (real tiktoken BPE, offline from litellm's bundled cache) and budget filling."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agent.context.budget import (
    DEFAULT_BUDGET,
    Candidate,
    bundled_tokenizer_dir,
    count_tokens,
    default_budget,
    encoding_name_for,
    estimate_tokens,
    fill_budget,
    tokenizer_status,
)

URL = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"

# Run in a fresh interpreter whose sockets refuse to connect: any download attempt would raise.
_OFFLINE_PROBE = textwrap.dedent(
    """\
    import json, socket, sys

    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    socket.socket.connect = refuse
    socket.create_connection = refuse
    from agent.context.budget import count_tokens, tokenizer_status
    out = {
        "cl100k": count_tokens("hello world"),
        "o200k": count_tokens("hello world", "openai/gpt-4o"),
        "status": tokenizer_status().__dict__,
        "litellm_imported": "litellm" in sys.modules,
    }
    print(json.dumps(out))
    """
)


def _probe(env_overrides: dict[str, str]) -> dict:
    env = {
        k: v for k, v in os.environ.items() if k not in ("TIKTOKEN_CACHE_DIR", "CUSTOM_TIKTOKEN_CACHE_DIR")
    }
    env.update(env_overrides)
    done = subprocess.run(
        [sys.executable, "-c", _OFFLINE_PROBE],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_bundled_cache_has_files_keyed_by_sha1_of_the_url():
    folder = bundled_tokenizer_dir()
    if folder is None:
        pytest.skip("litellm is not installed")
    for name in ("cl100k_base", "o200k_base"):
        assert (folder / hashlib.sha1(URL.format(name).encode()).hexdigest()).is_file()


def test_counts_are_real_bpe_counts_offline_without_importing_litellm(tmp_path: Path):
    result = _probe({"TIKTOKEN_CACHE_DIR": str(tmp_path)})  # a stale user value is replaced, as litellm does
    assert result["status"]["exact"] is True
    assert result["cl100k"] == 2 and result["o200k"] == 2
    assert result["litellm_imported"] is False
    assert Path(result["status"]["cache_dir"]) == bundled_tokenizer_dir()


def test_custom_cache_dir_without_files_falls_back_to_the_estimate_without_network(tmp_path: Path):
    result = _probe({"CUSTOM_TIKTOKEN_CACHE_DIR": str(tmp_path)})
    assert result["status"]["exact"] is False
    assert "chars/4 estimate" in result["status"]["reason"]
    assert result["cl100k"] == 3  # ceil(len("hello world") / 4)
    assert list(tmp_path.iterdir()) == []  # nothing was downloaded into it


def test_in_process_counts_use_the_right_encoding():
    assert tokenizer_status().exact and tokenizer_status("gpt-4o").exact
    text = "Привет, как дела? 你好世界"
    assert count_tokens(text, "gpt-4o") < count_tokens(text, "gpt-3.5-turbo")  # o200k is denser here
    assert count_tokens(text) != estimate_tokens(text)
    assert count_tokens("") == 0
    assert count_tokens("<|endoftext|>") > 1  # special-token text is counted as text, not rejected


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o-mini", "o200k_base"),
        ("openai/gpt-4.1", "o200k_base"),
        ("azure/o3-mini", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("ollama/qwen2.5-coder:7b", "cl100k_base"),
        (None, "cl100k_base"),
    ],
)
def test_encoding_by_model(model, encoding):
    assert encoding_name_for(model) == encoding


def test_default_budgets_by_family():
    assert default_budget(None) == DEFAULT_BUDGET == default_budget("ollama/llama3.1:8b")
    assert default_budget("openai/gpt-4.1") > DEFAULT_BUDGET
    assert default_budget("anthropic/claude-sonnet-4") > DEFAULT_BUDGET
    assert default_budget("gpt-4") < DEFAULT_BUDGET  # 8k window


def _lines(prefix: str, n: int) -> str:
    return "\n".join(f"{prefix} line number {i} with some words" for i in range(n))


def test_fill_budget_keeps_by_priority_truncates_with_marker_and_records_drops():
    a, b, c = _lines("alpha", 5), _lines("beta", 40), _lines("gamma", 30)
    budget = count_tokens(a) + count_tokens(b) // 2
    kept, dropped = fill_budget([("gamma", 3, c), ("beta", 2, b), ("alpha", 1, a)], budget)
    assert [k.label for k in kept] == ["alpha", "beta"]
    assert kept[0].text == a and not kept[0].truncated
    cut = kept[1]
    assert cut.truncated and cut.text.startswith("beta line number 0 ")
    shown = cut.text.splitlines()
    assert shown[-1] == f"… [truncated: {cut.omitted_lines} more lines]"
    assert len(shown) - 1 + cut.omitted_lines == 40
    assert sum(k.tokens for k in kept) <= budget
    assert [d.label for d in dropped] == ["gamma"] and dropped[0].tokens == count_tokens(c)
    assert "gamma" in dropped[0].describe()


def test_fill_budget_drops_what_cannot_keep_two_lines_but_fills_with_smaller_items():
    big, small = _lines("big", 50), "tiny"
    kept, dropped = fill_budget([Candidate("big", 0, big), Candidate("small", 1, small)], 8)
    assert [k.label for k in kept] == ["small"] and [d.label for d in dropped] == ["big"]


def test_fill_budget_counts_overhead():
    text = _lines("x", 3)
    kept, _ = fill_budget([Candidate("x", 0, text, overhead=7)], 1000)
    assert kept[0].tokens == count_tokens(text) + 7
    _, dropped = fill_budget([Candidate("x", 0, text, overhead=1000)], 1000)
    assert [d.label for d in dropped] == ["x"]
