"""取引状況確認 (KAAST0010): compare Yamato's 取引状況 with ours, follow Yamato's facts, and
record a drift (M25: something was done in Yamato's own admin screen; drift.py keeps it until
it is resolved or marked 「確認済み」).

A status inquiry changes nothing at Yamato, so it runs in one locked step without a journal
row (pipeline.py); everything it changes goes through the status writer.
"""
from __future__ import annotations

import logging
from typing import Any

from ..models import PaymentStatus as S, utcnow
from ..yamato.codes import CreditDecision, TransactionStatus as TS
from . import drift, messages, status, yamato_side
from .aftersales import retire_later
from .authorization import apply_decision
from .pipeline import Answer, Tx, inquire, locked
from .sms_window import sms_window_over

logger = logging.getLogger(__name__)

#: Our status -> Yamato statuses that agree with it.
AGREEING = {
    S.AUTHORIZED.value: {TS.APPROVED, TS.WARNING_MAIL_SENT},
    S.CAPTURED.value: {TS.SLIP_REGISTERED, TS.DELIVERY_INVESTIGATION, TS.WARNING_MAIL_SENT,
                       TS.SALES_CONFIRMED, TS.INVOICE_ISSUED, TS.PAID},
    S.CANCELLED.value: {TS.CANCELLED},
    S.DECLINED.value: {TS.CANCELLED, TS.VOIDED, TS.NOT_AVAILABLE},
}
#: Yamato statuses that mean a shipment is registered (売上確定 on our side).
SHIPPED = frozenset({TS.SLIP_REGISTERED, TS.DELIVERY_INVESTIGATION, TS.SALES_CONFIRMED,
                     TS.INVOICE_ISSUED, TS.PAID})


def settle_open(tx: Tx, yamato: TS, now: Any) -> None:
    """A pending / 審査中 / SMS-waiting payment: Yamato's status decides it when it can."""
    p = tx.payment
    if yamato in AGREEING[S.AUTHORIZED.value] | AGREEING[S.CAPTURED.value]:
        apply_decision(tx, CreditDecision.APPROVED, label="取引状況確認")
        retire_later(tx)
    elif yamato in (TS.NOT_AVAILABLE, TS.CANCELLED) or (
            yamato == TS.VOIDED and sms_window_over(p, now)):
        apply_decision(tx, CreditDecision.DECLINED, label="取引状況確認")
    # else 審査中 (30), or an expired code the customer may still replace (31)


def drift_text(current: S, yamato: TS) -> tuple[str, str]:
    """(drift kind, Japanese text) for a disagreement between us and Yamato."""
    if yamato in (TS.NOT_AVAILABLE, TS.VOIDED) and current is S.AUTHORIZED:
        return drift.LATE_NG, ("与信の後、ヤマトの審査で「決済不可」になりました。この注文の商品は発送しないで"
                               "ください（お客様には別のお支払い方法をご案内ください）。")
    text = (f"ヤマトの取引状況は「{yamato.label}」ですが、当店の決済状況は「{current.label}」です。"
            "ヤマトの管理画面で操作された可能性があります。")
    if yamato == TS.CANCELLED and current in status.HELD:
        return drift.YAMATO_CANCELLED, text + "この注文は発送しないでください。"
    if yamato in SHIPPED and current is S.AUTHORIZED:
        return drift.YAMATO_CAPTURED, text
    if yamato == TS.APPROVED and current is S.CAPTURED:
        return drift.YAMATO_SHIPMENT_CANCELLED, text
    return drift.YAMATO_OTHER, text


def reconcile(tx: Tx, yamato: TS) -> None:
    """Compare Yamato's 取引状況 with ours; record drift (M25) and follow Yamato's facts. When
    Yamato agrees, a recorded drift is checked and cleared if resolved (drift.review)."""
    p, now = tx.payment, utcnow()
    yamato_side.learned(p, yamato, now=now)
    p.synced_at = now
    if status.is_open(p):
        settle_open(tx, yamato, now)
        return
    if yamato in AGREEING.get(p.status, ()):
        drift.review(tx, yamato_agrees=True)
        return
    current = status.status_of(p)
    kind, text = drift_text(current, yamato)
    if not drift.record(tx, kind, text, now=now,
                        code="late_ng" if kind == drift.LATE_NG else "drift"):
        return                                   # known already, nothing new to follow
    if yamato == TS.CANCELLED and status.can_move(current, S.CANCELLED):
        status.move(p, S.CANCELLED, now=now)
        tx.emit("payment_cancelled")
    elif yamato in SHIPPED and current is S.AUTHORIZED:
        status.move(p, S.CAPTURED, now=now)
        tx.emit("sales_confirmed")
    elif yamato == TS.APPROVED and current is S.CAPTURED:
        status.move(p, S.AUTHORIZED, now=now)
        p.tracking_no = p.process_div = None
    elif yamato in (TS.NOT_AVAILABLE, TS.VOIDED) and current is S.AUTHORIZED:
        status.move(p, S.DECLINED, now=now)
        tx.emit("payment_declined", message=messages.MSG_DECLINED, do_not_ship=True)


def apply_status_answer(tx: Tx, answer: Answer) -> None:
    """Apply a KAAST0010 answer (or its failure) to the locked payment."""
    p = tx.payment
    if not answer.ok:
        exc = answer.error
        if getattr(exc, "code", None) == "kaast008E" and p.status in AGREEING:
            p.synced_at = utcnow()
            drift.record(tx, drift.YAMATO_MISSING, "ヤマトにこの決済の取引が見つかりません。",
                         code=exc.code)
        else:
            logger.warning("kuroneko: KAAST0010 for %s failed: %s", p.order_no, exc)
            tx.error = exc
        return
    yamato_side.warned(p, answer.result.warning)
    reconcile(tx, answer.result.status)


def sync_status(payment_id: int) -> Any:
    """取引状況確認 (KAAST0010): refresh Yamato's status, record drift (M25)."""
    with locked(payment_id, "sync_status", actor="system") as tx:
        apply_status_answer(tx, inquire("status", tx.payment.order_no))
    return tx.payment


def apply_answer(payment_id: int, answer: Answer) -> Any:
    """取引状況確認 with an answer already received (the batch sync asked concurrently)."""
    with locked(payment_id, "sync_status", actor="system") as tx:
        apply_status_answer(tx, answer)
    return tx.payment
