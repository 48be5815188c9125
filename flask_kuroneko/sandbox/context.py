"""One store session as the API handlers and the lifecycle rules see it.

``Context`` carries the session, the simulated now, the merchants and the pushes queued for
delivery after the session; the simulator creates one per call. Handlers read and write
transactions through ``get_tx``/``save`` so the time-dependent 警報情報区分 is always that
of now, and ``apply_due`` applies the clock-driven changes that fell due, in due-time order,
touching only those transactions.
"""
from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass, field
from datetime import datetime

from . import lifecycle, schedule
from .clock import micros
from .config import MerchantConfig
from .session import Session, TxKey

logger = logging.getLogger(__name__)

MERCHANTS_META = "merchants"
MAX_STEPS_PER_CALL = 16     # a transaction has at most 4 timed steps; more means a rule loops
OUTBOX_LOG = "outbox"
PUSH_LOG = "push_log"


def merchant_of(session: Session, defaults: dict[str, MerchantConfig],
                code: str) -> MerchantConfig | None:
    """A merchant as configured in the store (``configure_merchant``), else in ``defaults``."""
    stored = session.get_meta(MERCHANTS_META, {}).get(code)
    if stored is not None:
        return MerchantConfig.from_dict(stored)
    return defaults.get(code)


@dataclass
class Context:
    """One store session plus what the operations need from the simulator."""
    session: Session
    now: datetime
    defaults: dict[str, MerchantConfig]
    pushes: list[tuple[str, dict, dict]] = field(default_factory=list)
    merchants: dict[str, MerchantConfig | None] = field(default_factory=dict)

    def merchant(self, code: str) -> MerchantConfig | None:
        if code not in self.merchants:
            self.merchants[code] = merchant_of(self.session, self.defaults, code)
        return self.merchants[code]

    def merchant_codes(self) -> set[str]:
        return set(self.defaults) | set(self.session.get_meta(MERCHANTS_META, {}))

    def next_seq(self, name: str = "tx") -> int:
        seqs = self.session.get_meta("seq", {})
        seqs[name] = seqs.get(name, 0) + 1
        self.session.put_meta("seq", seqs)
        return seqs[name]

    # ------------------------------------------------------------------ transactions

    def get_tx(self, merchant: str, order_no: str) -> dict | None:
        tx = self.session.get_tx(merchant, order_no)
        if tx is not None:
            tx["warning"] = lifecycle.current_warning(tx, self.now)
        return tx

    def save(self, tx: dict) -> None:
        tx["warning"] = lifecycle.current_warning(tx, self.now)
        self.session.put_tx(tx)

    def auto_advance(self, merchant: str) -> bool:
        m = self.merchant(merchant)
        return m is not None and m.auto_advance

    def apply_due(self) -> None:
        """Apply every clock-driven change due by now, across transactions in due-time
        order (ties: creation order), each dated at its own due time."""
        until = micros(self.now)
        auto = {code for code in self.merchant_codes() if self.auto_advance(code)}
        queue = self.session.due_entries(until, auto)
        queued: dict[TxKey, int] = {}
        steps: dict[TxKey, int] = {}
        for fire, _, key in queue:
            queued.setdefault(key, fire)          # entries are sorted: the first is the earliest
        heapq.heapify(queue)
        while queue:
            fire, seq, key = heapq.heappop(queue)
            if queued.get(key) != fire:
                continue                          # a duplicate or superseded entry
            del queued[key]
            tx = self.session.get_tx(*key)
            if tx is None:
                continue
            change = schedule.next_change(tx, auto_advance=self.auto_advance(key[0]))
            if change is None or change.fire > until:
                continue
            if change.fire > fire:                # not yet: wait for its own turn
                queued[key] = change.fire
                heapq.heappush(queue, (change.fire, seq, key))
                continue
            steps[key] = steps.get(key, 0) + 1
            if steps[key] > MAX_STEPS_PER_CALL:
                raise RuntimeError(f"sandbox schedule of {key} does not advance: a rule in "
                                   "schedule.py applies without changing the transaction")
            change.apply(self, tx)
            self.save(tx)
            following = schedule.next_change(tx, auto_advance=self.auto_advance(key[0]))
            if following is not None and following.fire <= until:
                queued[key] = following.fire
                heapq.heappush(queue, (following.fire, seq, key))

    # ------------------------------------------------------------------ side effects

    def sms_sent(self, message: dict) -> None:
        self.session.append_log(OUTBOX_LOG, message, (message["merchant"], message["orderNo"]))

    def push(self, tx: dict, data: dict) -> None:
        m = self.merchant(tx["merchant"])
        if m is None or not m.notify_url:
            logger.debug("no notify_url for %s: push not sent", tx["merchant"])
            return
        self.pushes.append((m.notify_url, data, {"at": self.now.isoformat()}))
