"""The fixes of a 差異 (M25), offered as buttons in the admin's 差異 list and dialog.

For each kind of drift: **send ours** (the shop's state goes to Yamato through the ordinary
operation: 出荷取消, 売上確定 with the order's 送り状番号, 取消, 利用額変更, or ask Yamato again), or
**keep Yamato's** — 「確認済み」: the payment already follows Yamato's facts (drift.py), so keeping
them only needs the merchant's word. A fix is offered only when its operation is legal now
(``lookups.operations_for``); after it the drift is checked again and clears when resolved.
"""
from __future__ import annotations

import logging
from types import MappingProxyType
from typing import Any

from ..errors import InvalidTransition
from . import aftersales, drift
from .lookups import get_payment, operations_for
from .sync import sync_status

logger = logging.getLogger(__name__)

ACKNOWLEDGE = "acknowledge"
#: drift kind -> the operations that send the shop's state to Yamato.
SEND_OURS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType({
    drift.YAMATO_CAPTURED: ("cancel_shipment",),
    drift.YAMATO_SHIPMENT_CANCELLED: ("capture",),
    drift.HOST_CANCELLED: ("cancel",),
    drift.HOST_AMOUNT: ("change_amount",),
    drift.YAMATO_MISSING: ("sync_status",),
    drift.YAMATO_OTHER: ("sync_status",),
})
#: Button text of each fix.
LABELS: MappingProxyType[str, str] = MappingProxyType({
    "cancel_shipment": "出荷取消をヤマトに送信",
    "capture": "売上確定をヤマトに送信",
    "cancel": "取消をヤマトに送信",
    "change_amount": "利用額変更をヤマトに送信",
    "sync_status": "取引状況確認",
    ACKNOWLEDGE: "確認済み（ヤマトの状態のまま）",
})


def fixes_for(payment: Any) -> list[tuple[str, str]]:
    """(fix, button text) offered for the payment's drift now (none without a drift)."""
    if payment.drift_kind is None:
        return []
    legal = operations_for(payment)
    found = [(op, LABELS[op]) for op in SEND_OURS.get(payment.drift_kind, ()) if op in legal]
    if drift.is_open(payment):
        found.append((ACKNOWLEDGE, LABELS[ACKNOWLEDGE]))
    return found


def apply(payment_id: int, fix: str, *, actor: str | None) -> Any:
    """Run one fix, then check the drift again; returns the payment (InvalidTransition when
    the fix is not offered for this payment now)."""
    payment = get_payment(payment_id)
    if fix not in dict(fixes_for(payment)):
        raise InvalidTransition("この差異にはその操作を行えません（画面を再読み込みしてください）。",
                                current=payment.status, operation=fix)
    if fix == ACKNOWLEDGE:
        return drift.acknowledge(payment_id, actor=actor)
    if fix == "cancel_shipment":
        aftersales.cancel_shipment(payment_id, actor=actor)
    elif fix == "capture":
        data = aftersales.host_order_data(payment, required=True)
        aftersales.capture(payment_id, carrier=data.carrier, tracking_no=data.tracking_no,
                           actor=actor)
    elif fix == "cancel":
        aftersales.cancel(payment_id, actor=actor)
    elif fix == "change_amount":
        aftersales.change_amount(payment_id, actor=actor)
    else:
        return sync_status(payment_id)
    return drift.check(payment_id, actor=actor)
