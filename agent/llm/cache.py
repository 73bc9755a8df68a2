"""Response caching for model calls: a tiny protocol, a key function, and an in-memory implementation.

litellm no longer ships a disk cache, so suture keeps its own. Anything with `get`/`put` on JSON-able dicts is a
cache: the store provides a persistent one; `MemoryCache` serves tests and single runs. A key covers everything
that shapes the answer (model, endpoint, messages, sampling parameters) and nothing secret (never the API key).
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class ResponseCache(Protocol):
    def get(self, key: str) -> dict | None:
        """The cached value for `key`, or None on a miss."""
        ...

    def put(self, key: str, value: dict) -> None:
        """Remember `value` (a JSON-serialisable dict) under `key`."""
        ...


def cache_key(model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of model, messages and params: equal inputs give equal keys."""
    canonical = json.dumps(
        {"model": model, "messages": messages, "params": params},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class MemoryCache:
    """A thread-safe dict-backed ResponseCache; values are copied in and out so callers cannot mutate them."""

    def __init__(self) -> None:
        self._data: dict[str, str] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> dict | None:
        with self._lock:
            raw = self._data.get(key)
            if raw is None:
                self.misses += 1
                return None
            self.hits += 1
        return json.loads(raw)

    def put(self, key: str, value: dict) -> None:
        raw = json.dumps(value)
        with self._lock:
            self._data[key] = raw

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)
