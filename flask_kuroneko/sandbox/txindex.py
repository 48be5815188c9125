"""What the stores index about a transaction, derived from its dict in one place.

Both stores keep these values next to the stored JSON and update them on every write, so a
call reads only the transactions it concerns: the buyer's live amounts (credit limit), the
holders of a slip number (kaasl045E), and the due times of clock-driven changes.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from ..yamato.codes import TransactionStatus as S
from .lifecycle import LIVE_STATUSES
from .schedule import due_times

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TxIndex:
    seq: int                      # creation order (listings, tie-break of equal due times)
    buyer: str                    # telNum digits
    live_total: int | None        # current_total while the status counts against the limit
    slips: tuple[str, ...]        # registered paymentNo of a not-cancelled transaction
    due: int | None               # µs: next clock-driven change other than auto_advance
    auto_due: int | None          # µs: next auto_advance step (merchant setting decides)


def index_of(tx: dict) -> TxIndex:
    due, auto_due = due_times(tx)
    live = tx["status"] in LIVE_STATUSES
    slips = () if tx["status"] == S.CANCELLED else tuple(
        dict.fromkeys(slip["paymentNo"] for slip in tx["slips"]))
    return TxIndex(seq=int(tx.get("seq", 0)), buyer=str(tx.get("buyer", "")),
                   live_total=int(tx["current_total"]) if live else None,
                   slips=slips, due=due, auto_due=auto_due)
