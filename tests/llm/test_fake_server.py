"""The scripted OpenAI-compatible server itself, spoken to with plain urllib."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from tests.fakes.openai_server import ScriptedOpenAIServer, hang, rate_limited, reply


def _post(url: str, payload: dict, timeout: float = 5) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json", "X-Probe": "1"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_scripted_reply_copies_for_n_and_records_the_raw_request(openai_server):
    openai_server.enqueue("same text")
    payload = {"model": "m", "n": 2, "messages": [{"role": "user", "content": "one two three"}]}
    status, _, body = _post(openai_server.base_url + "/chat/completions", payload)

    assert status == 200
    assert [c["message"]["content"] for c in body["choices"]] == ["same text", "same text"]
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    recorded = openai_server.requests[0]
    assert recorded.json == payload and recorded.body == json.dumps(payload).encode()
    assert recorded.headers["x-probe"] == "1"


def test_unprefixed_path_rate_limit_and_empty_queue(openai_server):
    base = f"http://127.0.0.1:{openai_server.port}"
    openai_server.enqueue(rate_limited(retry_after=7), reply("x"))
    status, headers, _ = _post(base + "/chat/completions", {"messages": []})
    assert (status, headers["Retry-After"]) == (429, "7")
    assert _post(base + "/v1/chat/completions", {"messages": []})[0] == 200
    assert openai_server.pending == 0

    status, _, body = _post(base + "/v1/chat/completions", {"messages": []})
    assert status == 500 and "no answer left" in body["error"]["message"]
    assert openai_server.unexpected == 1
    assert _post(base + "/v1/embeddings", {})[0] == 404
    assert len(openai_server.requests) == 3  # unknown routes are not chat requests


def test_stopping_the_server_ends_a_hang_early():
    server = ScriptedOpenAIServer().start()
    server.enqueue(hang(30))
    started = time.monotonic()

    caught: list[BaseException] = []

    def call() -> None:
        try:
            _post(server.base_url + "/chat/completions", {"messages": []}, timeout=20)
        except (OSError, urllib.error.URLError) as exc:
            caught.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    while not server.requests:
        time.sleep(0.01)
    server.stop()
    thread.join(timeout=10)
    assert not thread.is_alive() and time.monotonic() - started < 10
    assert caught  # the client saw the connection end without an answer


@pytest.mark.parametrize("finish_reason", ["stop", "length", "content_filter"])
def test_finish_reason_is_passed_through(openai_server, finish_reason):
    openai_server.enqueue(reply("t", finish_reason=finish_reason))
    assert (
        _post(openai_server.base_url + "/chat/completions", {"messages": []})[2]["choices"][0][
            "finish_reason"
        ]
        == finish_reason
    )
