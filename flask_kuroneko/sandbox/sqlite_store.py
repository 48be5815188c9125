"""State in a SQLite file shared by every process that opens the same path.

The SQLite store exists so several processes (the example shop's web process and its
``flask kuroneko sweep`` CLI) see the same simulated Yamato. Sessions take ``BEGIN
IMMEDIATE`` so two processes never interleave one call; a session that wrote nothing ends
with a rollback (no disk write). The file is in WAL mode (see ``_connect``).

Each transaction row carries its index columns (``txindex.TxIndex``): partial indexes by
buyer (live amounts), by due time and by merchant + auto-advance due time, and a table of
slip numbers, so every query of a call is an index lookup — no full-table loads except the
listings. The SMS outbox and the push log are append-only rows, not one growing value.

A state file written before these columns existed (``PRAGMA user_version`` 0) is migrated
when opened: the columns are added and filled from the stored JSON.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from typing import Any, Collection, Iterable

from .session import Changes, DueEntry, TxKey
from .txindex import TxIndex, index_of

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS sim_tx (merchant TEXT NOT NULL, order_no TEXT NOT NULL, "
    "data TEXT NOT NULL, PRIMARY KEY (merchant, order_no))",
    "CREATE TABLE IF NOT EXISTS sim_meta (name TEXT PRIMARY KEY, data TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS sim_slip (merchant TEXT NOT NULL, payment_no TEXT NOT NULL, "
    "order_no TEXT NOT NULL, PRIMARY KEY (merchant, payment_no, order_no))",
    "CREATE TABLE IF NOT EXISTS sim_log (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "name TEXT NOT NULL, merchant TEXT, order_no TEXT, data TEXT NOT NULL)",
)
INDEX_COLUMNS = (("seq", "INTEGER NOT NULL DEFAULT 0"), ("buyer", "TEXT"),
                 ("live_total", "INTEGER"), ("due", "INTEGER"), ("auto_due", "INTEGER"))
INDEXES = (
    "CREATE INDEX IF NOT EXISTS sim_tx_seq ON sim_tx (seq)",
    "CREATE INDEX IF NOT EXISTS sim_tx_buyer ON sim_tx (buyer) WHERE live_total IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS sim_tx_due ON sim_tx (due) WHERE due IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS sim_tx_auto ON sim_tx (merchant, auto_due) "
    "WHERE auto_due IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS sim_slip_order ON sim_slip (merchant, order_no)",
    "CREATE INDEX IF NOT EXISTS sim_log_key ON sim_log (name, merchant, order_no)",
)
LOGS_IN_META = ("outbox", "push_log")   # where version 0 kept the logs


class SqliteStore:
    """State in a SQLite file shared by every process that opens the same path."""

    def __init__(self, path: str):
        self.path = str(path)
        self._local = threading.local()
        conn = self._connect()
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("BEGIN IMMEDIATE")     # one process creates or migrates at a time
            self._create_or_migrate(conn)
            conn.execute("COMMIT")
        finally:
            conn.close()
        logger.info("sandbox state file %s", self.path)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                               check_same_thread=False)   # closed by whichever thread drops it
        # WAL: a commit appends to the log instead of rewriting pages behind an fsync'd
        # journal; NORMAL: no fsync per commit (the state survives a crash of the process,
        # a power cut may lose the last calls — fine for a simulator). The journal mode is
        # stored in the file, so every process sharing it uses WAL.
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _create_or_migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"{self.path} was written by a newer flask_kuroneko (sandbox "
                               f"state version {version}); upgrade, or use another file.")
        for statement in SCHEMA:
            conn.execute(statement)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(sim_tx)")}
        added = [name for name, _ in INDEX_COLUMNS if name not in columns]
        for name, kind in INDEX_COLUMNS:
            if name in added:
                conn.execute(f"ALTER TABLE sim_tx ADD COLUMN {name} {kind}")
        for statement in INDEXES:
            conn.execute(statement)
        if version < SCHEMA_VERSION:
            self._migrate_rows(conn)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _migrate_rows(self, conn: sqlite3.Connection) -> None:
        """Version 0 → 1: index columns and slips from the JSON; logs out of sim_meta."""
        rows = conn.execute("SELECT data FROM sim_tx").fetchall()
        for (raw,) in rows:
            tx = json.loads(raw)
            key, index = (tx["merchant"], tx["orderNo"]), index_of(tx)
            conn.execute("UPDATE sim_tx SET seq=?, buyer=?, live_total=?, due=?, auto_due=? "
                         "WHERE merchant=? AND order_no=?", (index.seq, index.buyer,
                                                             index.live_total, index.due,
                                                             index.auto_due, *key))
            self._write_slips(conn, key, index)
        for name in LOGS_IN_META:
            row = conn.execute("SELECT data FROM sim_meta WHERE name=?", (name,)).fetchone()
            if row is not None:
                self._append(conn, [(name, _log_key(name, entry),
                                     json.dumps(entry, ensure_ascii=False))
                                    for entry in json.loads(row[0])])
                conn.execute("DELETE FROM sim_meta WHERE name=?", (name,))
        if rows:
            logger.info("sandbox state file %s migrated (%d transactions)", self.path, len(rows))

    # ------------------------------------------------------------------ sessions

    @property
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "session", None)
        if conn is None:
            raise RuntimeError("SqliteStore used outside a session")
        return conn

    def begin(self) -> None:
        if getattr(self._local, "session", None) is not None:
            raise RuntimeError("nested SqliteStore session in one thread")
        # One connection per thread, kept between sessions: opening one per call would
        # re-read the schema and, in WAL mode, checkpoint the log whenever the last
        # connection closes. The holder closes it when the thread ends.
        holder = getattr(self._local, "holder", None)
        if holder is not None and holder.pid != os.getpid():
            holder.abandon()       # inherited through fork(): never use nor close it here
            holder = None
        if holder is None:
            holder = self._local.holder = ConnectionHolder(self._connect())
        holder.conn.execute("BEGIN IMMEDIATE")
        self._local.session = holder.conn

    def end(self) -> None:
        conn = getattr(self._local, "session", None)
        self._local.session = None
        if conn is not None and conn.in_transaction:
            conn.execute("ROLLBACK")

    def close(self) -> None:
        """Close this thread's connection (other threads' close when those threads end)."""
        holder = getattr(self._local, "holder", None)
        self._local.holder = self._local.session = None
        if holder is not None:
            holder.close()

    # ------------------------------------------------------------------ reads

    def load_tx(self, key: TxKey) -> dict | None:
        row = self._conn.execute("SELECT data FROM sim_tx WHERE merchant=? AND order_no=?",
                                 key).fetchone()
        return None if row is None else json.loads(row[0])

    def load_txs(self, merchant: str | None = None, *, newest_first: bool = False,
                 limit: int | None = None) -> list[dict]:
        sql = "SELECT data FROM sim_tx"
        args: list[Any] = []
        if merchant is not None:
            sql += " WHERE merchant=?"
            args.append(merchant)
        sql += " ORDER BY seq DESC" if newest_first else " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [json.loads(row[0]) for row in self._conn.execute(sql, args)]

    def buyer_live_totals(self, buyer: str) -> dict[TxKey, int]:
        rows = self._conn.execute("SELECT merchant, order_no, live_total FROM sim_tx "
                                  "WHERE buyer=? AND live_total IS NOT NULL", (buyer,))
        return {(m, o): total for m, o, total in rows}

    def slip_holders(self, merchant: str, slip: str) -> set[TxKey]:
        rows = self._conn.execute("SELECT order_no FROM sim_slip WHERE merchant=? AND "
                                  "payment_no=?", (merchant, slip))
        return {(merchant, order_no) for (order_no,) in rows}

    def due_entries(self, until: int, auto_merchants: Collection[str]) -> list[DueEntry]:
        conn = self._conn
        found = [(due, seq, (m, o)) for due, seq, m, o in conn.execute(
            "SELECT due, seq, merchant, order_no FROM sim_tx WHERE due IS NOT NULL "
            "AND due <= ?", (until,))]
        for merchant in auto_merchants:
            found += [(due, seq, (merchant, o)) for due, seq, o in conn.execute(
                "SELECT auto_due, seq, order_no FROM sim_tx WHERE auto_due IS NOT NULL "
                "AND merchant=? AND auto_due <= ?", (merchant, until))]
        return sorted(found)

    def load_meta(self, name: str) -> Any:
        row = self._conn.execute("SELECT data FROM sim_meta WHERE name=?", (name,)).fetchone()
        return None if row is None else json.loads(row[0])

    def read_log(self, name: str, key: TxKey | None = None,
                 limit: int | None = None) -> list[dict]:
        sql, args = "SELECT data FROM sim_log WHERE name=?", [name]
        if key is not None:
            sql += " AND merchant=? AND order_no=?"
            args += list(key)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        rows = self._conn.execute(sql, args).fetchall()
        return [json.loads(row[0]) for row in reversed(rows)]

    # ------------------------------------------------------------------ writes

    def apply(self, changes: Changes) -> None:
        conn = self._conn
        if changes.cleared:
            conn.execute("DELETE FROM sim_tx")
            conn.execute("DELETE FROM sim_slip")
        conn.executemany(
            "INSERT OR REPLACE INTO sim_tx (merchant, order_no, data, seq, buyer, live_total, "
            "due, auto_due) VALUES (?,?,?,?,?,?,?,?)",
            [(m, o, raw, i.seq, i.buyer, i.live_total, i.due, i.auto_due)
             for (m, o), (raw, i) in changes.txs.items()])
        for key, (_, index) in changes.txs.items():
            self._write_slips(conn, key, index)
        conn.executemany("INSERT OR REPLACE INTO sim_meta (name, data) VALUES (?,?)",
                         list(changes.meta.items()))
        for name in changes.cleared_logs:
            conn.execute("DELETE FROM sim_log WHERE name=?", (name,))
        self._append(conn, changes.logs)
        conn.execute("COMMIT")

    @staticmethod
    def _write_slips(conn: sqlite3.Connection, key: TxKey, index: TxIndex) -> None:
        conn.execute("DELETE FROM sim_slip WHERE merchant=? AND order_no=?", key)
        conn.executemany("INSERT INTO sim_slip (merchant, payment_no, order_no) VALUES (?,?,?)",
                         [(key[0], slip, key[1]) for slip in index.slips])

    @staticmethod
    def _append(conn: sqlite3.Connection,
                entries: Iterable[tuple[str, TxKey | None, str]]) -> None:
        conn.executemany("INSERT INTO sim_log (name, merchant, order_no, data) VALUES (?,?,?,?)",
                         [(name, *(key or (None, None)), raw) for name, key, raw in entries])


class ConnectionHolder:
    """Owns one thread's connection and closes it when the thread's locals are dropped."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn: sqlite3.Connection | None = conn
        self.pid = os.getpid()

    def abandon(self) -> None:
        """Forget a connection of the parent process (SQLite forbids using it after fork;
        closing it could release the parent's locks)."""
        self.conn = None

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()

    def __del__(self) -> None:
        self.close()


def _log_key(name: str, entry: dict) -> TxKey | None:
    """The transaction a version-0 log entry belongs to."""
    if name == "outbox":
        return (entry.get("merchant", ""), entry.get("orderNo", ""))
    data = entry.get("data") or {}
    return (data.get("ycfStrNo", ""), data.get("juchuNo", ""))
