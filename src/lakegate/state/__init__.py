"""Run state on SQLAlchemy Core: runs, watermarks, loaded files, locks and check results.

``StateStore(url)`` works on a SQLite file (the default, ``sqlite:///.lakegate/state.db``)
or on PostgreSQL for state shared between machines.
"""

from __future__ import annotations

from lakegate.state.records import (
    Boundary,
    CheckRecord,
    LockInfo,
    RunRecord,
    RunStart,
    RunStatus,
    Watermark,
)
from lakegate.state.store import (
    DEFAULT_LOCK_TTL_SECONDS,
    DEFAULT_URL,
    Lock,
    LockHeldError,
    LockLostError,
    StateStore,
    StateStoreError,
)

__all__ = [
    "DEFAULT_LOCK_TTL_SECONDS",
    "DEFAULT_URL",
    "Boundary",
    "CheckRecord",
    "Lock",
    "LockHeldError",
    "LockInfo",
    "LockLostError",
    "RunRecord",
    "RunStart",
    "RunStatus",
    "StateStore",
    "StateStoreError",
    "Watermark",
]
