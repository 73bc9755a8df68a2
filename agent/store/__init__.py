"""suture's store: every record, its state rules and its history (see agent/store/store.py).

`from agent.store import Store, StoreError` is the way in; the parts: base.py (error, write lock), url.py (where
the store is, which repo a row belongs to), schema.py (tables), migrate.py (upgrading an older store),
findings.py, scans.py and proposals.py (the records), store.py (the Store that mixes them).
"""

from agent.store.base import StoreError, writing
from agent.store.store import Store, StoreResponseCache

__all__ = ["Store", "StoreError", "StoreResponseCache", "writing"]
