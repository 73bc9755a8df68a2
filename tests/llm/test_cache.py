"""cache_key and MemoryCache: equal requests share a key, anything that shapes the answer changes it."""

from __future__ import annotations

from agent.llm.cache import MemoryCache, ResponseCache, cache_key
from agent.llm.client import ModelRequest

MESSAGES = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]


def test_key_ignores_dict_order_but_not_content():
    params = {"temperature": 0.0, "max_tokens": 10}
    key = cache_key("m", MESSAGES, params)
    assert key == cache_key(
        "m", [dict(reversed(list(m.items()))) for m in MESSAGES], dict(reversed(params.items()))
    )
    assert len(key) == 64 and int(key, 16) >= 0
    assert key != cache_key("m2", MESSAGES, params)
    assert key != cache_key("m", MESSAGES[::-1], params)
    assert key != cache_key("m", MESSAGES, {**params, "temperature": 0.5})


def test_request_key_covers_endpoint_and_sampling_but_never_the_api_key():
    base = ModelRequest(model="openai/x", messages=MESSAGES, api_base="http://a/v1", api_key="sk-one")

    def key(request: ModelRequest) -> str:
        return cache_key(request.model, request.messages, request.cache_params())

    assert key(base) == key(
        ModelRequest(model="openai/x", messages=MESSAGES, api_base="http://a/v1", api_key="sk-2")
    )
    assert key(base) != key(ModelRequest(model="openai/x", messages=MESSAGES, api_base="http://b/v1"))
    assert key(base) != key(ModelRequest(model="openai/x", messages=MESSAGES, api_base="http://a/v1", n=2))
    assert "sk-one" not in str(base.cache_params())


def test_memory_cache_round_trip_and_isolation():
    cache = MemoryCache()
    assert isinstance(cache, ResponseCache)
    assert cache.get("k") is None
    value = {"texts": ["a"]}
    cache.put("k", value)
    value["texts"].append("mutated after put")
    got = cache.get("k")
    assert got == {"texts": ["a"]}
    got["texts"].clear()
    assert cache.get("k") == {"texts": ["a"]}
    assert (cache.hits, cache.misses, len(cache)) == (2, 1, 1)
