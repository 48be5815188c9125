"""Where the simulator keeps its state: in memory (default) or in a SQLite file.

The SQLite store exists so several processes (the example shop's web process and its
``flask kuroneko sweep`` CLI) see the same simulated Yamato. Every API call is one store
session: reads see a consistent snapshot, writes are buffered and applied at commit, so a
failure half-way leaves the state untouched. SQLite sessions take ``BEGIN IMMEDIATE`` so two
processes never interleave one call.
"""
from __future__ import annotations

import copy
import json
import logging
import sqlite3
import threading
from typing import Any, Protocol

logger = logging.getLogger(__name__)

TxKey = tuple[str, str]  # (merchant code, orderNo)


class Backend(Protocol):
    def begin(self) -> None: ...
    def load_tx(self, key: TxKey) -> dict | None: ...
    def load_all_tx(self) -> list[dict]: ...
    def load_meta(self, name: str) -> Any: ...
    def apply(self, cleared: bool, txs: dict[TxKey, dict], meta: dict[str, Any]) -> None: ...
    def end(self) -> None: ...


class Session:
    """A buffered unit of work over a backend; values handed out are private copies."""

    def __init__(self, backend: Backend):
        self._backend = backend
        self._txs: dict[TxKey, dict] = {}
        self._meta: dict[str, Any] = {}
        self._cleared = False

    def get_tx(self, merchant: str, order_no: str) -> dict | None:
        key = (merchant, order_no)
        if key in self._txs:
            return copy.deepcopy(self._txs[key])
        if self._cleared:
            return None
        return self._backend.load_tx(key)

    def put_tx(self, tx: dict) -> None:
        self._txs[(tx["merchant"], tx["orderNo"])] = copy.deepcopy(tx)

    def all_tx(self) -> list[dict]:
        found: dict[TxKey, dict] = {}
        if not self._cleared:
            for tx in self._backend.load_all_tx():
                found[(tx["merchant"], tx["orderNo"])] = tx
        for key, tx in self._txs.items():
            found[key] = copy.deepcopy(tx)
        return sorted(found.values(), key=lambda t: t.get("seq", 0))

    def get_meta(self, name: str, default: Any = None) -> Any:
        if name in self._meta:
            return copy.deepcopy(self._meta[name])
        value = self._backend.load_meta(name)
        return default if value is None else value

    def put_meta(self, name: str, value: Any) -> None:
        self._meta[name] = copy.deepcopy(value)

    def clear_transactions(self) -> None:
        self._cleared = True
        self._txs.clear()

    def commit(self) -> None:
        self._backend.apply(self._cleared, self._txs, self._meta)


class MemoryStore:
    """State in this process only (the default)."""

    def __init__(self) -> None:
        self._txs: dict[TxKey, str] = {}
        self._meta: dict[str, str] = {}

    def begin(self) -> None:
        pass

    def end(self) -> None:
        pass

    def load_tx(self, key: TxKey) -> dict | None:
        raw = self._txs.get(key)
        return None if raw is None else json.loads(raw)

    def load_all_tx(self) -> list[dict]:
        return [json.loads(raw) for raw in self._txs.values()]

    def load_meta(self, name: str) -> Any:
        raw = self._meta.get(name)
        return None if raw is None else json.loads(raw)

    def apply(self, cleared: bool, txs: dict[TxKey, dict], meta: dict[str, Any]) -> None:
        # Serialise first so a non-JSON value fails before anything changes.
        tx_rows = {key: json.dumps(tx, ensure_ascii=False) for key, tx in txs.items()}
        meta_rows = {name: json.dumps(value, ensure_ascii=False) for name, value in meta.items()}
        if cleared:
            self._txs.clear()
        self._txs.update(tx_rows)
        self._meta.update(meta_rows)


class SqliteStore:
    """State in a SQLite file shared by every process that opens the same path."""

    def __init__(self, path: str):
        self.path = str(path)
        self._local = threading.local()
        with self._connect() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS sim_tx (merchant TEXT NOT NULL, "
                         "order_no TEXT NOT NULL, data TEXT NOT NULL, "
                         "PRIMARY KEY (merchant, order_no))")
            conn.execute("CREATE TABLE IF NOT EXISTS sim_meta (name TEXT PRIMARY KEY, "
                         "data TEXT NOT NULL)")
        logger.info("sandbox state file %s", self.path)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    @property
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            raise RuntimeError("SqliteStore used outside a session")
        return conn

    def begin(self) -> None:
        if getattr(self._local, "conn", None) is not None:
            raise RuntimeError("nested SqliteStore session in one thread")
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        self._local.conn = conn

    def end(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()

    def load_tx(self, key: TxKey) -> dict | None:
        row = self._conn.execute("SELECT data FROM sim_tx WHERE merchant=? AND order_no=?",
                                 key).fetchone()
        return None if row is None else json.loads(row[0])

    def load_all_tx(self) -> list[dict]:
        return [json.loads(row[0]) for row in self._conn.execute("SELECT data FROM sim_tx")]

    def load_meta(self, name: str) -> Any:
        row = self._conn.execute("SELECT data FROM sim_meta WHERE name=?", (name,)).fetchone()
        return None if row is None else json.loads(row[0])

    def apply(self, cleared: bool, txs: dict[TxKey, dict], meta: dict[str, Any]) -> None:
        conn = self._conn
        if cleared:
            conn.execute("DELETE FROM sim_tx")
        conn.executemany("INSERT OR REPLACE INTO sim_tx (merchant, order_no, data) VALUES (?,?,?)",
                         [(m, o, json.dumps(tx, ensure_ascii=False))
                          for (m, o), tx in txs.items()])
        conn.executemany("INSERT OR REPLACE INTO sim_meta (name, data) VALUES (?,?)",
                         [(n, json.dumps(v, ensure_ascii=False)) for n, v in meta.items()])
        conn.execute("COMMIT")
