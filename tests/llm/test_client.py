"""complete() over real HTTP: litellm -> openai SDK -> httpx -> the scripted server on loopback."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from agent.llm import client
from agent.llm.cache import MemoryCache
from agent.llm.client import JSON_OBJECT, complete
from agent.llm.errors import ModelError, ModelTruncatedError
from tests.fakes.openai_server import (
    RecordedRequest,
    disconnect,
    hang,
    http_error,
    json_body,
    malformed,
    rate_limited,
    reply,
    respond_with,
    truncated,
)


def test_reply_text_usage_and_what_left_the_machine(openai_server, make_request):
    openai_server.enqueue(reply("hello there", usage={"prompt_tokens": 11, "completion_tokens": 3}))
    result = complete(make_request(temperature=0.3, max_tokens=99))

    assert result.texts == ["hello there"]
    assert result.finish_reasons == ["stop"]
    assert (result.usage.prompt_tokens, result.usage.completion_tokens, result.usage.calls) == (11, 3, 1)
    assert result.cached is False
    assert len(openai_server.requests) == 1
    sent = openai_server.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert sent.json["model"] == "test-model"
    assert sent.json["messages"] == [{"role": "user", "content": "Say something in json."}]
    assert sent.json["temperature"] == 0.3 and sent.json["max_tokens"] == 99
    assert sent.headers.get("x-stainless-retry-count") == "0"
    assert "sk-test" not in repr(make_request())  # the key never shows in logs of the request


def test_unknown_model_has_unknown_cost_and_known_model_is_priced(openai_server, make_request):
    usage = {"prompt_tokens": 1000, "completion_tokens": 500}
    openai_server.enqueue(reply("a", usage=usage), reply("b", usage=usage))
    unknown = complete(make_request())
    priced = complete(make_request(model="openai/gpt-4o-mini"))

    assert (unknown.usage.cost_usd, unknown.usage.cost_known) == (0.0, False)
    assert priced.usage.cost_known is True and priced.usage.cost_usd > 0


def test_n_choices_come_back_in_order(openai_server, make_request):
    openai_server.enqueue(reply(["first", "second", "third"]))
    result = complete(make_request(n=3))
    assert result.texts == ["first", "second", "third"]
    assert openai_server.requests[0].json["n"] == 3


def test_json_mode_is_sent_for_openai_compatible_endpoints(openai_server, make_request):
    openai_server.enqueue(reply("{}"))
    result = complete(make_request(response_format=JSON_OBJECT))
    assert openai_server.requests[0].json["response_format"] == {"type": "json_object"}
    assert result.params["response_format"] == {"type": "json_object"}


def test_endpoint_refusing_json_mode_gets_plain_text_request(openai_server, make_request):
    openai_server.enqueue(
        http_error(400, "Unrecognized request argument supplied: response_format"), reply("ok")
    )
    result = complete(make_request(response_format=JSON_OBJECT))
    assert result.text == "ok"
    assert "response_format" in openai_server.requests[0].json
    assert "response_format" not in openai_server.requests[1].json


def test_429_waits_for_retry_after_then_succeeds(openai_server, make_request):
    openai_server.enqueue(rate_limited(retry_after=0.6), reply("after the wait"))
    result = complete(make_request())

    assert result.text == "after the wait"
    assert len(openai_server.requests) == 2
    waited = openai_server.requests[1].received_at - openai_server.requests[0].received_at
    assert waited >= 0.55


def test_retry_after_is_capped(openai_server, make_request):
    openai_server.enqueue(rate_limited(retry_after=3600), reply("soon"))
    started = time.monotonic()
    assert complete(make_request(retry_after_max=0.2)).text == "soon"
    assert time.monotonic() - started < 60  # far below the 3600 s the server asked for


def test_persistent_500_becomes_one_line_model_error(openai_server, make_request):
    openai_server.enqueue(*[http_error(500, "upstream exploded")] * 3)
    with pytest.raises(ModelError) as caught:
        complete(make_request(max_retries=2))
    message = str(caught.value)
    assert "HTTP 500 three times" in message and "upstream exploded" in message
    assert openai_server.base_url in message and "\n" not in message
    assert len(openai_server.requests) == 3


def test_503_then_success_is_retried(openai_server, make_request):
    openai_server.enqueue(http_error(503), reply("recovered"))
    assert complete(make_request()).text == "recovered"
    assert len(openai_server.requests) == 2


def test_client_errors_are_not_retried(openai_server, make_request):
    openai_server.enqueue(http_error(401, "invalid api key"), reply("never served"))
    with pytest.raises(ModelError, match=r"HTTP 401: invalid api key; check the API key"):
        complete(make_request())
    assert len(openai_server.requests) == 1


def test_hung_endpoint_times_out(openai_server, make_request):
    openai_server.enqueue(hang(30))
    started = time.monotonic()
    with pytest.raises(ModelError, match=r"timed out after 0\.5 s"):
        complete(make_request(timeout=0.5, max_retries=0))
    assert time.monotonic() - started < 15  # the server would hang for 30 s: the timeout cut it short


def test_timeouts_are_retried(openai_server, make_request):
    openai_server.enqueue(hang(30), reply("second try"))
    assert complete(make_request(timeout=0.4, max_retries=1)).text == "second try"
    assert len(openai_server.requests) == 2


def test_malformed_body_is_retried_then_reported(openai_server, make_request):
    openai_server.enqueue(malformed(), malformed())
    with pytest.raises(ModelError, match=r"sent a malformed reply: reply body is not valid JSON .*\(twice\)"):
        complete(make_request(max_retries=1))
    assert len(openai_server.requests) == 2


def test_reply_without_choices_is_an_error(openai_server, make_request):
    openai_server.enqueue(json_body({"id": "x", "object": "chat.completion", "choices": []}))
    with pytest.raises(ModelError, match="no choices"):
        complete(make_request())


def test_dropped_connection_is_retried(openai_server, make_request):
    openai_server.enqueue(disconnect(), reply("fine now"))
    assert complete(make_request()).text == "fine now"
    assert len(openai_server.requests) == 2


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_endpoint_down_is_one_line(make_request):
    base = f"http://127.0.0.1:{_closed_port()}/v1"
    with pytest.raises(ModelError) as caught:
        complete(make_request(api_base=base, max_retries=1))
    assert str(caught.value) == f"model endpoint {base} is unreachable: connection refused (twice)"


def test_cut_off_reply_is_retried_with_double_max_tokens(openai_server, make_request):
    openai_server.enqueue(truncated("half an ans"), reply("the whole answer"))
    result = complete(make_request(max_tokens=50))

    assert result.text == "the whole answer"
    assert [r.json["max_tokens"] for r in openai_server.requests] == [50, 100]
    assert result.usage.calls == 2  # both calls are paid for


def test_reply_cut_off_twice_fails_clearly(openai_server, make_request):
    openai_server.enqueue(truncated("part one"), truncated("part one and two"))
    with pytest.raises(ModelTruncatedError) as caught:
        complete(make_request(max_tokens=40))
    assert "max_tokens=80" in str(caught.value) and "from 40" in str(caught.value)
    assert caught.value.partial_text == "part one and two"
    assert caught.value.usage.calls == 2


def test_cache_hit_makes_no_request_and_costs_nothing(openai_server, make_request):
    cache = MemoryCache()
    openai_server.enqueue(reply("cached answer"))
    first = complete(make_request(), cache=cache)
    second = complete(make_request(), cache=cache)

    assert second.texts == first.texts == ["cached answer"]
    assert len(openai_server.requests) == 1
    assert second.cached is True and first.cached is False
    assert (second.usage.cached_calls, second.usage.calls, second.usage.cost_usd) == (1, 0, 0.0)


def test_cache_misses_when_the_prompt_changes(openai_server, make_request):
    cache = MemoryCache()
    openai_server.enqueue(reply("one"), reply("two"))
    complete(make_request(), cache=cache)
    other = complete(make_request(messages=[{"role": "user", "content": "something else"}]), cache=cache)
    assert other.text == "two" and len(openai_server.requests) == 2


def test_failed_calls_are_not_cached(openai_server, make_request):
    cache = MemoryCache()
    openai_server.enqueue(http_error(500), reply("good"))
    with pytest.raises(ModelError):
        complete(make_request(max_retries=0), cache=cache)
    assert len(cache) == 0
    assert complete(make_request(max_retries=0), cache=cache).text == "good"


def test_concurrency_limit_serialises_calls(openai_server, make_request, concurrency_reset):
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    def slow_answer(request: RecordedRequest):
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.15)
        with lock:
            in_flight -= 1
        return reply("done")

    client.set_concurrency(1)
    openai_server.enqueue(*[respond_with(slow_answer)] * 3)
    threads = [threading.Thread(target=complete, args=(make_request(),)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(openai_server.requests) == 3
    assert peak == 1


def test_invalid_settings_are_rejected_before_any_request(openai_server, make_request):
    with pytest.raises(ModelError, match="invalid model request"):
        complete(make_request(timeout=0))
    with pytest.raises(ModelError, match="at least 1"):
        client.set_concurrency(0)
    assert openai_server.requests == []


def test_missing_api_key_is_a_setup_error_not_an_http_500(openai_server, make_request, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ModelError) as caught:
        complete(make_request(api_key=None))
    assert str(caught.value).startswith("model openai/test-model could not be called: Missing credentials")
    assert "HTTP" not in str(caught.value)
    assert openai_server.requests == []  # nothing was sent, and nothing was retried


def test_model_without_a_provider_is_explained(openai_server, make_request):
    with pytest.raises(ModelError, match=r"cannot tell which provider serves model 'mystery-model'"):
        complete(make_request(model="mystery-model"))
    assert openai_server.requests == []
