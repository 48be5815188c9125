"""A store session: one buffered unit of work over a backend (``MemoryStore``/``SqliteStore``).

Every API call is one session. Reads see the backend's committed state overlaid with what
this session wrote; writes are buffered and handed to the backend in one ``apply`` at commit
(serialised first, so a value that cannot be stored fails before anything changes). Values
handed out are private copies.

Queries go through the backend's indexes (``txindex.TxIndex``): by key, by buyer, by slip
number, by due time. Nothing here loads every transaction except the listings, whose job
that is.
"""
from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Collection, Protocol

from .txindex import TxIndex, index_of

logger = logging.getLogger(__name__)

TxKey = tuple[str, str]            # (merchant code, orderNo)
DueEntry = tuple[int, int, TxKey]  # (due time in µs, seq, key)


@dataclass
class Changes:
    """What one session hands to ``Backend.apply`` (all JSON already serialised)."""
    cleared: bool = False                                        # forget every transaction first
    txs: dict[TxKey, tuple[str, TxIndex]] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)
    cleared_logs: set[str] = field(default_factory=set)          # emptied before the appends
    logs: list[tuple[str, TxKey | None, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.cleared or self.txs or self.meta or self.cleared_logs or self.logs)


class Backend(Protocol):
    """Committed state plus its indexes. ``begin``/``end`` bracket one session."""

    def begin(self) -> None: ...
    def end(self) -> None: ...
    def load_tx(self, key: TxKey) -> dict | None: ...
    def load_txs(self, merchant: str | None = None, *, newest_first: bool = False,
                 limit: int | None = None) -> list[dict]: ...
    def buyer_live_totals(self, buyer: str) -> dict[TxKey, int]: ...
    def slip_holders(self, merchant: str, slip: str) -> set[TxKey]: ...
    def due_entries(self, until: int, auto_merchants: Collection[str]) -> list[DueEntry]: ...
    def load_meta(self, name: str) -> Any: ...
    def read_log(self, name: str, key: TxKey | None = None,
                 limit: int | None = None) -> list[dict]: ...
    def apply(self, changes: Changes) -> None: ...


def key_of(tx: dict) -> TxKey:
    return (tx["merchant"], tx["orderNo"])


class Session:
    """A buffered unit of work over a backend; values handed out are private copies."""

    def __init__(self, backend: Backend):
        self._backend = backend
        self._txs: dict[TxKey, dict] = {}
        self._index: dict[TxKey, TxIndex] = {}
        self._meta: dict[str, Any] = {}
        self._logs: list[tuple[str, TxKey | None, dict]] = []
        self._cleared_logs: set[str] = set()
        self._cleared = False

    # ------------------------------------------------------------------ transactions

    def get_tx(self, merchant: str, order_no: str) -> dict | None:
        key = (merchant, order_no)
        if key in self._txs:
            return copy.deepcopy(self._txs[key])
        if self._cleared:
            return None
        return self._backend.load_tx(key)

    def put_tx(self, tx: dict) -> None:
        key = key_of(tx)
        self._txs[key] = copy.deepcopy(tx)
        self._index[key] = index_of(tx)

    def all_tx(self, merchant: str | None = None) -> list[dict]:
        """Every transaction (of ``merchant``), oldest first: the listings only."""
        found = {} if self._cleared else {
            key_of(tx): tx for tx in self._backend.load_txs(merchant)}
        found.update((key, copy.deepcopy(tx)) for key, tx in self._txs.items()
                     if merchant is None or key[0] == merchant)
        return sorted(found.values(), key=lambda tx: tx.get("seq", 0))

    def latest_tx(self, limit: int, merchant: str | None = None) -> list[dict]:
        """The ``limit`` most recently created transactions, newest first."""
        found = {} if self._cleared else {
            key_of(tx): tx for tx in self._backend.load_txs(merchant, newest_first=True,
                                                            limit=limit)}
        found.update((key, copy.deepcopy(tx)) for key, tx in self._txs.items()
                     if merchant is None or key[0] == merchant)
        return sorted(found.values(), key=lambda tx: tx.get("seq", 0), reverse=True)[:limit]

    def buyer_live_total(self, buyer: str, *, exclude: TxKey | None = None) -> int:
        """Σ current_total of the buyer's transactions that count against the credit limit."""
        totals = {} if self._cleared else self._backend.buyer_live_totals(buyer)
        for key, index in self._index.items():
            totals.pop(key, None)
            if index.buyer == buyer and index.live_total is not None:
                totals[key] = index.live_total
        totals.pop(exclude, None)
        return sum(totals.values())

    def slip_holders(self, merchant: str, slip: str) -> set[TxKey]:
        """Keys of the merchant's not-cancelled transactions that carry ``slip``."""
        holders = set() if self._cleared else self._backend.slip_holders(merchant, slip)
        for key, index in self._index.items():
            holders.discard(key)
            if key[0] == merchant and slip in index.slips:
                holders.add(key)
        return holders

    def due_entries(self, until: int, auto_merchants: Collection[str]) -> list[DueEntry]:
        """Transactions with a clock-driven change due at or before ``until`` (µs): the
        plain changes of all, the auto_advance steps of ``auto_merchants``; by due time."""
        entries = [] if self._cleared else [
            entry for entry in self._backend.due_entries(until, auto_merchants)
            if entry[2] not in self._index]
        for key, index in self._index.items():
            if index.due is not None and index.due <= until:
                entries.append((index.due, index.seq, key))
            if (index.auto_due is not None and index.auto_due <= until
                    and key[0] in auto_merchants):
                entries.append((index.auto_due, index.seq, key))
        return sorted(entries)

    def clear_transactions(self) -> None:
        self._cleared = True
        self._txs.clear()
        self._index.clear()

    # ------------------------------------------------------------------ meta and logs

    def get_meta(self, name: str, default: Any = None) -> Any:
        if name in self._meta:
            return copy.deepcopy(self._meta[name])
        value = self._backend.load_meta(name)
        return default if value is None else value

    def put_meta(self, name: str, value: Any) -> None:
        self._meta[name] = copy.deepcopy(value)

    def append_log(self, name: str, entry: dict, key: TxKey | None = None) -> None:
        """Add to an append-only log (SMS outbox, push log); ``key`` makes it findable."""
        self._logs.append((name, key, copy.deepcopy(entry)))

    def read_log(self, name: str, key: TxKey | None = None,
                 limit: int | None = None) -> list[dict]:
        """The log's entries (for ``key`` only, when given), oldest first; with ``limit``
        only the last ``limit`` of them."""
        stored = [] if name in self._cleared_logs else self._backend.read_log(name, key, limit)
        pending = [copy.deepcopy(entry) for log, entry_key, entry in self._logs
                   if log == name and (key is None or entry_key == key)]
        entries = stored + pending
        return entries[-limit:] if limit is not None else entries

    def clear_log(self, name: str) -> None:
        self._cleared_logs.add(name)
        self._logs = [log for log in self._logs if log[0] != name]

    # ------------------------------------------------------------------ commit

    def commit(self) -> None:
        """Hand the buffered writes to the backend; nothing to write, nothing to do."""
        changes = Changes(
            cleared=self._cleared,
            txs={key: (json.dumps(tx, ensure_ascii=False), self._index[key])
                 for key, tx in self._txs.items()},
            meta={name: json.dumps(value, ensure_ascii=False)
                  for name, value in self._meta.items()},
            cleared_logs=set(self._cleared_logs),
            logs=[(name, key, json.dumps(entry, ensure_ascii=False))
                  for name, key, entry in self._logs])
        if changes:
            self._backend.apply(changes)
