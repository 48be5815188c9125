"""The default store: state in this process, with the indexes a call needs.

Transactions are kept as JSON text (so a session always gets private copies and a value
that cannot be stored fails at commit), next to dict indexes by buyer and by slip number
and heaps of due times: a call costs the same with 100 or 100,000 stored transactions.

The due-time heaps use lazy deletion: an entry is valid while the transaction's index still
has that due time. Stale entries are dropped when they reach the top, and the heaps are
rebuilt when stale entries outnumber live ones (amortised O(1) per write).
"""
from __future__ import annotations

import heapq
import json
import logging
from typing import Any, Collection

from .session import Changes, DueEntry, TxKey
from .txindex import TxIndex

logger = logging.getLogger(__name__)

class MemoryStore:
    """State in this process only (the default)."""

    compact_slack = 1024   # stale heap entries tolerated beyond the number of transactions

    def __init__(self) -> None:
        self._meta: dict[str, str] = {}
        self._forget_transactions()
        self._logs: dict[str, list[tuple[TxKey | None, str]]] = {}
        self._log_positions: dict[str, dict[TxKey, list[int]]] = {}   # per log, per key

    def _forget_transactions(self) -> None:
        self._txs: dict[TxKey, str] = {}
        self._index: dict[TxKey, TxIndex] = {}
        self._by_buyer: dict[str, dict[TxKey, int]] = {}
        self._by_slip: dict[tuple[str, str], set[TxKey]] = {}
        self._due: list[DueEntry] = []
        self._auto_due: dict[str, list[DueEntry]] = {}    # per merchant

    def begin(self) -> None:
        pass

    def end(self) -> None:
        pass

    # ------------------------------------------------------------------ reads

    def load_tx(self, key: TxKey) -> dict | None:
        raw = self._txs.get(key)
        return None if raw is None else json.loads(raw)

    def load_txs(self, merchant: str | None = None, *, newest_first: bool = False,
                 limit: int | None = None) -> list[dict]:
        # Keys are inserted at creation and never re-inserted, so dict order is seq order.
        keys = reversed(self._txs) if newest_first else iter(self._txs)
        found = []
        for key in keys:
            if limit is not None and len(found) >= limit:
                break
            if merchant is None or key[0] == merchant:
                found.append(json.loads(self._txs[key]))
        return found

    def buyer_live_totals(self, buyer: str) -> dict[TxKey, int]:
        return dict(self._by_buyer.get(buyer, {}))

    def slip_holders(self, merchant: str, slip: str) -> set[TxKey]:
        return set(self._by_slip.get((merchant, slip), ()))

    def due_entries(self, until: int, auto_merchants: Collection[str]) -> list[DueEntry]:
        found = self._heap_until(self._due, until, "due")
        for merchant in auto_merchants:
            found += self._heap_until(self._auto_due.get(merchant, []), until, "auto_due")
        return sorted(set(found))

    def _heap_until(self, heap: list[DueEntry], until: int, field: str) -> list[DueEntry]:
        """The valid entries <= until, read without changing the heap: a walk down from
        the root that visits only entries <= until (heap order) and their children."""
        found = []
        frontier = [(heap[0], 0)] if heap else []
        while frontier:
            entry, position = heapq.heappop(frontier)
            if entry[0] > until:
                break
            if getattr(self._index.get(entry[2]), field, None) == entry[0]:
                found.append(entry)
            for child in (2 * position + 1, 2 * position + 2):
                if child < len(heap):
                    heapq.heappush(frontier, (heap[child], child))
        return found

    def load_meta(self, name: str) -> Any:
        raw = self._meta.get(name)
        return None if raw is None else json.loads(raw)

    def read_log(self, name: str, key: TxKey | None = None,
                 limit: int | None = None) -> list[dict]:
        log = self._logs.get(name, [])
        if key is None:
            rows = log if limit is None else log[-limit:] if limit else []
            return [json.loads(raw) for _, raw in rows]
        positions = self._log_positions.get(name, {}).get(key, [])
        if limit is not None:
            positions = positions[-limit:] if limit else []
        return [json.loads(log[i][1]) for i in positions]

    # ------------------------------------------------------------------ writes

    def apply(self, changes: Changes) -> None:
        if changes.cleared:
            self._forget_transactions()
        for key, (raw, index) in changes.txs.items():
            self._write(key, raw, index)
        self._meta.update(changes.meta)
        for name in changes.cleared_logs:
            self._logs.pop(name, None)
            self._log_positions.pop(name, None)
        for name, key, raw in changes.logs:
            log = self._logs.setdefault(name, [])
            if key is not None:
                self._log_positions.setdefault(name, {}).setdefault(key, []).append(len(log))
            log.append((key, raw))
        self._prune()

    def _write(self, key: TxKey, raw: str, index: TxIndex) -> None:
        old = self._index.get(key)
        if old is not None:
            if old.live_total is not None:
                self._by_buyer[old.buyer].pop(key, None)
            for slip in old.slips:
                self._by_slip[(key[0], slip)].discard(key)
        self._txs[key] = raw
        self._index[key] = index
        if index.live_total is not None:
            self._by_buyer.setdefault(index.buyer, {})[key] = index.live_total
        for slip in index.slips:
            self._by_slip.setdefault((key[0], slip), set()).add(key)
        if index.due is not None and (old is None or old.due != index.due):
            heapq.heappush(self._due, (index.due, index.seq, key))
        if index.auto_due is not None and (old is None or old.auto_due != index.auto_due):
            heapq.heappush(self._auto_due.setdefault(key[0], []), (index.auto_due, index.seq, key))

    def _prune(self) -> None:
        heaps = [(self._due, "due")] + [(heap, "auto_due") for heap in self._auto_due.values()]
        for heap, field in heaps:
            while heap and getattr(self._index.get(heap[0][2]), field, None) != heap[0][0]:
                heapq.heappop(heap)
        size = len(self._due) + sum(len(heap) for heap in self._auto_due.values())
        if size > 2 * len(self._txs) + self.compact_slack:
            self._rebuild_heaps()

    def _rebuild_heaps(self) -> None:
        self._due = [(i.due, i.seq, k) for k, i in self._index.items() if i.due is not None]
        self._auto_due = {}
        for key, index in self._index.items():
            if index.auto_due is not None:
                self._auto_due.setdefault(key[0], []).append((index.auto_due, index.seq, key))
        heapq.heapify(self._due)
        for heap in self._auto_due.values():
            heapq.heapify(heap)
