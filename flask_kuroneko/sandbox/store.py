"""Where the simulator keeps its state: in memory (default) or in a SQLite file.

``MemoryStore`` (``memory_store.py``) and ``SqliteStore`` (``sqlite_store.py``) implement the
``Backend`` protocol of ``session.py``; the simulator works through one ``Session`` per call.
This module names them in one place for the package's imports.
"""
from __future__ import annotations

import logging

from .memory_store import MemoryStore
from .session import Backend, Session, TxKey
from .sqlite_store import SqliteStore

logger = logging.getLogger(__name__)

__all__ = ["Backend", "MemoryStore", "Session", "SqliteStore", "TxKey"]
