"""One store session as the API handlers and the lifecycle rules see it.

``Context`` carries the session, the simulated now, the merchants and the pushes queued for
delivery after the session; the simulator creates one per call.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from . import lifecycle
from .config import MerchantConfig
from .store import Session

logger = logging.getLogger(__name__)

MERCHANTS_META = "merchants"


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

    def next_seq(self, name: str = "tx") -> int:
        seqs = self.session.get_meta("seq", {})
        seqs[name] = seqs.get(name, 0) + 1
        self.session.put_meta("seq", seqs)
        return seqs[name]

    def sms_sent(self, message: dict) -> None:
        outbox = self.session.get_meta("outbox", [])
        outbox.append(message)
        self.session.put_meta("outbox", outbox)

    def push(self, tx: dict, data: dict) -> None:
        m = self.merchant(tx["merchant"])
        if m is None or not m.notify_url:
            logger.debug("no notify_url for %s: push not sent", tx["merchant"])
            return
        self.pushes.append((m.notify_url, data, {"at": self.now.isoformat()}))

    def evolve_all(self) -> None:
        for tx in self.session.all_tx():
            if lifecycle.evolve(self, tx, self.merchant(tx["merchant"])):
                self.session.put_tx(tx)
