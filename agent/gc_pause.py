"""`paused_gc()`: run bulk record work without Python's cyclic garbage collector.

Ingest, the store and triage each build or read hundreds of thousands of small, long-lived objects (SARIF JSON,
Findings). The collector would rescan all of them again and again while they are being made, which doubles the
time at 100,000 findings; none of that work makes reference cycles that need collecting before it returns. On the way out the block's
objects join the oldest generation unscanned (they are long-lived: that is why the collector was paused).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic GC inside the block (nesting is fine); restore the previous state on exit."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            # what the block made moves to the oldest generation without a scan (freeze, then unfreeze): the
            # young generations' counters would otherwise make the next collection walk all of it at once.
            # Cycles made inside the block are then freed at the next full collection, not the next young one.
            gc.freeze()
            gc.unfreeze()
            gc.enable()
