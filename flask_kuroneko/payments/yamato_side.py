"""Where a payment stands at Yamato (取引状況, ``Payment.yamato_status``) and what Yamato accepts
there (spec §4.9), so the admin is offered only operations Yamato will take.

``yamato_status`` is what we last learned: from a status inquiry (取引状況確認, the sweep's
sync) or from our own operation that moved it (an approval → 承認済み, 売上確定 → 送り状番号登録済み,
出荷取消 → 承認済み, 取消 → 取消済み), recorded by :func:`learned`. Unknown (None, e.g. before the
first answer) restricts nothing. Two Yamato states are final — 取消済み and 入金済み — so an
operation Yamato refuses there is refused before any request (:func:`check`); the others may
have moved on since we looked, and only shape what the dialog offers.
"""
from __future__ import annotations

from datetime import datetime
from types import MappingProxyType
from typing import Any

from ..errors import InvalidTransition
from ..models import utcnow
from ..yamato.codes import TransactionStatus as TS, WarningCode

#: Operation -> Yamato states in which Yamato accepts it (spec §4.9; 請求書再発行: after the
#: sale is confirmed at Yamato; 警報メール送信済み follows CSC's allowlist).
ACCEPTS: MappingProxyType[str, frozenset[TS]] = MappingProxyType({
    "capture": frozenset({TS.APPROVED, TS.SLIP_REGISTERED, TS.DELIVERY_INVESTIGATION}),
    "change_tracking": frozenset({TS.SLIP_REGISTERED, TS.DELIVERY_INVESTIGATION}),
    "cancel_shipment": frozenset({TS.SLIP_REGISTERED, TS.DELIVERY_INVESTIGATION}),
    "cancel": frozenset({TS.APPROVED, TS.SLIP_REGISTERED, TS.DELIVERY_INVESTIGATION,
                         TS.WARNING_MAIL_SENT, TS.SALES_CONFIRMED, TS.INVOICE_ISSUED}),
    "change_amount": frozenset({TS.APPROVED, TS.SLIP_REGISTERED, TS.DELIVERY_INVESTIGATION,
                                TS.SALES_CONFIRMED, TS.INVOICE_ISSUED}),
    "reissue_invoice": frozenset({TS.SALES_CONFIRMED, TS.INVOICE_ISSUED}),
    "reauthorize": frozenset({TS.APPROVED}),
})
#: Yamato states nothing moves again.
FINAL = frozenset({TS.CANCELLED, TS.PAID})


def state_of(payment: Any) -> TS | None:
    try:
        return TS(payment.yamato_status) if payment.yamato_status is not None else None
    except ValueError:
        return None


def accepts(operation: str, payment: Any) -> bool:
    """False when Yamato's last known state refuses ``operation`` (unknown: True)."""
    state = state_of(payment)
    return state is None or operation not in ACCEPTS or state in ACCEPTS[operation]


def check(operation: str, payment: Any, label: str) -> None:
    """Refuse, before any request, what Yamato refuses in a final state (取消済み, 入金済み)."""
    state = state_of(payment)
    if state in FINAL and not accepts(operation, payment):
        raise InvalidTransition(
            f"ヤマトの取引状況が「{state.label}」のため「{label}」はできません。",
            current=payment.status, operation=operation)


def learned(payment: Any, state: TS, *, now: datetime | None = None) -> None:
    """Record Yamato's state after our own operation moved it (or an inquiry told us);
    ``yamato_status_at`` says when we first saw this state (Yamato does not tell when)."""
    if payment.yamato_status != int(state) or payment.yamato_status_at is None:
        payment.yamato_status_at = now or utcnow()
    payment.yamato_status = int(state)


def warned(payment: Any, warning: WarningCode | int, *, now: datetime | None = None) -> None:
    """Record Yamato's 警報 (KAAST0010 ``warning``) and when we first saw it."""
    if payment.yamato_warning != int(warning):
        payment.yamato_warning_at = now or utcnow()
    payment.yamato_warning = int(warning)


def warning_label(payment: Any) -> str:
    """Yamato's 警報 in its words; "" when there is none (or none known)."""
    if not payment.yamato_warning:
        return ""
    try:
        return WarningCode(payment.yamato_warning).label
    except ValueError:
        return WarningCode.UNKNOWN.label


def yamato_label(payment: Any) -> str:
    """The 入金状況 the host's order list shows: Yamato's last known state, in its words."""
    state = state_of(payment)
    if state is None:
        return ""
    return state.label
