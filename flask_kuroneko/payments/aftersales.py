"""After-sales operations: 売上確定 (shipment registration and its rules, M16/M18), 送り状番号
変更, 出荷取消, 取消, 利用額変更 (with the re-authorization of an increase), 請求書再発行.

Each goes through ``pipeline.run`` (journaled ahead, applied through the status writer). The
``mark_*`` functions record a confirmed outcome; the sweep's recovery uses the same ones when it
learns the outcome from Yamato's status instead of from the answer.
"""
from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa

from ..errors import (ApiError, CaptureRefused, InvalidTransition, OperationPending,
                      PaymentNotFound, ValidationError)
from ..models import PaymentKind, PaymentStatus as S
from ..state import current_state
from ..yamato.codes import Operation as Api, ProcessDiv, ReissueReason, TransactionStatus as TS
from ..yamato.datatypes import ShipmentRequest
from . import journal, ship_window, status, yamato_side
from . import yamato_requests as yreq
from .authorization import prepare_attempt, send_attempt
from .lookups import get_payment
from .pipeline import Request, Tx, ask_yamato, locked, run, send_signal, take_over_answer

logger = logging.getLogger(__name__)

#: 配送会社 names that mean Yamato (M16): capture with the 送り状番号 (processDiv 0).
YAMATO_CARRIERS = ("クロネコヤマト", "ヤマト運輸")


def is_yamato_carrier(carrier: str | None) -> bool:
    return (carrier or "").strip() in YAMATO_CARRIERS


def capture_plan(settings: Any, *, delivery_method_id: str | None, carrier: str | None,
                 tracking_no: str | None, order_no: str) -> tuple[ProcessDiv, str]:
    """How to register the shipment (M16/M18), or CaptureRefused with the reason."""
    tracking_no = (tracking_no or "").strip() or None
    if is_yamato_carrier(carrier):
        if delivery_method_id is not None and not settings.is_yamato_delivery(delivery_method_id):
            raise CaptureRefused("配送方法が「クロネコヤマト配送」に設定されていないため、売上確定できません"
                                 "（設定の「クロネコヤマト配送」で配送方法を選んでください）。")
        if tracking_no is None:
            raise CaptureRefused("送り状番号が入力されていないため、売上確定できません"
                                 "（クロネコヤマト配送は送り状番号が必要です）。")
        return ProcessDiv.NEW, tracking_no
    if not (carrier or "").strip():
        raise CaptureRefused("配送会社名が入力されていないため、売上確定できません。")
    if delivery_method_id is not None and settings.is_yamato_delivery(delivery_method_id):
        # M16: a Yamato-delivery order shipped with another carrier is not confirmed.
        raise CaptureRefused(f"配送方法が「クロネコヤマト配送」の注文を配送会社「{carrier.strip()}」で発送したため、"
                             "売上確定しません（クロネコヤマトで発送した場合は配送会社を「クロネコヤマト」に"
                             "して送り状番号を入力してください）。")
    if not settings.other_carrier_enabled:
        raise CaptureRefused("「他社配送オプション」を利用しない設定のため、クロネコヤマト以外の配送では"
                             "売上確定できません。")
    return ProcessDiv.OTHER_CARRIER, tracking_no or order_no


def host_order_data(payment: Any, *, required: bool) -> Any | None:
    """The host order of ``payment`` as OrderData (None when gone and not ``required``)."""
    state = current_state()
    order = state.load_order(payment.host_order_id)
    if order is None:
        if required:
            raise PaymentNotFound(f"注文（{payment.host_order_id}）が見つかりません。")
        return None
    return state.describe(order)


def client() -> Any:
    return current_state().client()


# --------------------------------------------------------------------------- 売上確定


def mark_captured(tx: Tx, process_div: int, tracking_no: str, carrier: str | None) -> None:
    p = tx.payment
    status.move(p, S.CAPTURED)
    yamato_side.learned(p, TS.SLIP_REGISTERED)
    p.capture_note = None
    p.process_div, p.tracking_no, p.carrier = int(process_div), tracking_no.replace("-", ""), carrier
    tx.history("OK", label="売上確定", amount=p.amount, detail=f"送り状番号 {p.tracking_no}")
    tx.emit("sales_confirmed")


def refuse_capture(tx: Tx, exc: CaptureRefused) -> None:
    """A rule of the manual stops the capture: the payment stays 与信, the reason is kept."""
    tx.payment.capture_note = exc.message
    tx.history("保留", detail=exc.message)
    tx.error_log(exc.message, code="capture_rule", api=Api.SHIPMENT)
    tx.emit("payment_error", operation="capture", code="capture_rule", message=exc.message)
    tx.error = exc


def capture(payment_id: int, *, carrier: str | None, tracking_no: str | None,
            actor: str | None = None) -> Any:
    """売上確定: register the shipment (Yamato slip processDiv 0, other carrier 2)."""
    plan: dict[str, Any] = {}

    def prepare(tx: Tx) -> Request | None:
        p = tx.payment
        data = host_order_data(p, required=False)
        try:
            pd, number = capture_plan(current_state().settings(),
                                      delivery_method_id=data.delivery_method_id if data else None,
                                      carrier=carrier, tracking_no=tracking_no,
                                      order_no=p.order_no)
        except CaptureRefused as exc:
            refuse_capture(tx, exc)
            return None
        plan.update(process_div=int(pd), tracking_no=number, carrier=carrier)
        req = ShipmentRequest(order_no=p.order_no, process_div=pd, slip_no=number)
        return Request(Api.SHIPMENT, lambda: client().register_shipment(req), dict(plan))

    def apply(tx: Tx, result: Any) -> None:
        mark_captured(tx, plan["process_div"], plan["tracking_no"], plan["carrier"])

    def refused(tx: Tx, exc: Exception) -> None:
        tx.payment.capture_note = getattr(exc, "message", str(exc))

    return run(payment_id, "capture", actor=actor, prepare=prepare, apply=apply, refused=refused)


def record_tracking_change(tx: Tx, new: str) -> None:
    old, tx.payment.tracking_no = tx.payment.tracking_no, new
    tx.history("OK", label="送り状番号変更", detail=f"送り状番号 {old} → {new}")


def tracking_change_request(payment: Any, new: str) -> ShipmentRequest:
    """pd 1 (変更登録) for a Yamato slip; another carrier re-registers with pd 2."""
    if payment.process_div == int(ProcessDiv.OTHER_CARRIER):
        return ShipmentRequest(order_no=payment.order_no, process_div=ProcessDiv.OTHER_CARRIER,
                               slip_no=new)
    return ShipmentRequest(order_no=payment.order_no, process_div=ProcessDiv.CHANGE, slip_no=new,
                           before_slip_no=payment.tracking_no)


def change_tracking(payment_id: int, tracking_no: str, *, actor: str | None = None) -> Any:
    """送り状番号変更 after 売上確定."""
    new = (tracking_no or "").strip().replace("-", "")

    def prepare(tx: Tx) -> Request:
        p = tx.payment
        if not new or new == p.tracking_no:
            raise InvalidTransition("新しい送り状番号を入力してください（現在の番号と同じです）。",
                                    current=p.status, operation="change_tracking")
        req = tracking_change_request(p, new)
        params = {"process_div": int(req.process_div), "tracking_no": new,
                  "before_tracking_no": req.before_slip_no}
        return Request(Api.SHIPMENT, lambda: client().register_shipment(req), params)

    return run(payment_id, "change_tracking", actor=actor, prepare=prepare,
               apply=lambda tx, result: record_tracking_change(tx, new))


def mark_shipment_cancelled(tx: Tx) -> None:
    p = tx.payment
    status.move(p, S.AUTHORIZED)
    yamato_side.learned(p, TS.APPROVED)
    p.tracking_no = p.process_div = None
    tx.history("OK", label="出荷取消")
    tx.emit("shipment_cancelled")


def cancel_shipment(payment_id: int, *, actor: str | None = None) -> Any:
    """出荷取消 (processDiv 9): back to 与信."""

    def prepare(tx: Tx) -> Request:
        req = ShipmentRequest(order_no=tx.payment.order_no, process_div=ProcessDiv.CANCEL)
        return Request(Api.SHIPMENT, lambda: client().register_shipment(req), {})

    return run(payment_id, "cancel_shipment", actor=actor, prepare=prepare,
               apply=lambda tx, result: mark_shipment_cancelled(tx))


# --------------------------------------------------------------------------- 取消


def mark_cancelled(tx: Tx, *, replaced_by: Any = None) -> None:
    p = tx.payment
    status.move(p, S.CANCELLED)
    yamato_side.learned(p, TS.CANCELLED)
    if replaced_by is not None:
        tx.history("OK", label="取消", amount=p.amount,
                   detail=f"増額の再与信（決済ID {replaced_by.order_no}）に置き換え")
    else:
        tx.history("OK", label="取消", amount=p.amount)
        tx.emit("payment_cancelled")


def cancel(payment_id: int, *, actor: str | None = None, replaced_by: Any = None) -> Any:
    """取消 (KAACL0010) from 与信 or 売上確定. ``replaced_by``: the approved re-authorization
    this payment gives way to (no payment_cancelled signal: the order is still paid)."""

    def prepare(tx: Tx) -> Request:
        order_no = tx.payment.order_no
        params = {"replaced_by": replaced_by.id} if replaced_by is not None else {}
        return Request(Api.CANCEL, lambda: client().cancel(order_no), params)

    return run(payment_id, "cancel", actor=actor, prepare=prepare,
               apply=lambda tx, result: mark_cancelled(tx, replaced_by=replaced_by))


# --------------------------------------------------------------------------- 利用額変更


def retire_replaced(new_id: int) -> None:
    """A re-authorization (amount increase) is approved: cancel the payment it replaces, carry
    its shipment over, announce the new amount. Safe to call again (the sweep does, for a
    retirement a crash interrupted): a payment no longer held is left alone."""
    state = current_state()
    new = get_payment(new_id)
    old = state.db.session.get(state.models.Payment, new.replaces_id) if new.replaces_id else None
    if old is None or not status.is_held(old) or not status.is_held(new):
        return
    old_amount, was_captured = old.amount, old.status == S.CAPTURED.value
    carrier, tracking_no = old.carrier, old.tracking_no
    try:
        cancel(old.id, actor="system", replaced_by=new)
    except (ApiError, ValidationError, OperationPending, InvalidTransition) as exc:
        logger.warning("kuroneko: replaced payment %s not cancelled yet: %s", old.order_no, exc)
    if was_captured and new.status == S.AUTHORIZED.value:
        try:
            capture(new.id, carrier=carrier, tracking_no=tracking_no, actor="system")
        except (ApiError, ValidationError, OperationPending, CaptureRefused,
                InvalidTransition) as exc:
            logger.warning("kuroneko: shipment not carried over to %s: %s", new.order_no, exc)
    if old_amount != new.amount:       # a re-authorization of the same amount changes nothing
        send_signal("payment_amount_changed", get_payment(new_id), old_amount=old_amount,
                    new_amount=new.amount)


def retire_later(tx: Tx) -> None:
    """After the commit, retire the payment an approved re-authorization replaces."""
    p = tx.payment
    if p.replaces_id and status.is_held(p):
        new_id = p.id
        tx.after_commit(lambda: retire_replaced(new_id))


#: Statuses of a replacement payment that make the payment it replaces superseded
#: (re-authorization in progress, or approved and the old payment about to be cancelled).
REPLACING = tuple(s.value for s in status.LIVE)


def replacement_of(tx: Tx) -> Any | None:
    """The re-authorization replacing the locked payment, if any. A locking read: on MariaDB a
    plain SELECT could answer from an older REPEATABLE READ snapshot."""
    P = tx.models.Payment
    return tx.session.scalars(
        sa.select(P).where(P.replaces_id == tx.payment.id, P.status.in_(REPLACING))
        .order_by(P.id).limit(1).with_for_update()).first()


def record_amount_change(tx: Tx, total: int, *, detail: str | None = None) -> None:
    old_amount, tx.payment.amount = tx.payment.amount, total
    tx.history("OK", label="利用額変更", amount=total,
               detail=f"{old_amount:,}円 → {total:,}円" + (f"（{detail}）" if detail else ""))
    tx.emit("payment_amount_changed", old_amount=old_amount, new_amount=total)


def change_amount(payment_id: int, *, actor: str | None = None) -> Any:
    """利用額変更 from the host's current OrderData (KAAKK0010). When Yamato refuses an increase
    (kaakk050E) the order is re-authorized under a new 決済ID; if that is declined, the old
    payment is kept untouched and ApiError is raised.

    The new pending payment is committed while the old payment's row is still locked, so a
    concurrent change_amount (two admins, a double click, the order_updated reaction) finds it
    and is refused: one KAAKK0010 and one re-authorization, never two live payments."""
    with locked(payment_id, "change_amount", actor=actor) as tx:
        p = tx.payment
        replacement = replacement_of(tx)
        if replacement is not None:
            raise InvalidTransition(f"増額のための再与信（決済ID {replacement.order_no}）を処理中のため、"
                                    "利用額変更はできません。", current=p.status,
                                    operation="change_amount")
        data = host_order_data(p, required=True)
        if data.total == p.amount:
            raise InvalidTransition("ご注文金額と利用金額が同じため、利用額変更は不要です。",
                                    current=p.status, operation="change_amount")
        req = yreq.amount_change_request(data, order_no=p.order_no,
                                       smartphone=p.kind == PaymentKind.SMARTPHONE.value)
        op = tx.journal_ahead({"total": data.total})
    op_id, owner = op.id, op.claimed_by
    answer = ask_yamato(client().change_amount, req)
    attempt = None
    with locked(payment_id, "change_amount", actor=actor, check=False) as tx:
        p = tx.payment
        op = tx.take_back(op_id, owner)
        if op is None:
            take_over_answer(tx)
        elif answer.ok:
            record_amount_change(tx, data.total)
            journal.settle(op, journal.DONE, payment=p)
        elif isinstance(answer.error, ApiError) and answer.error.code == "kaakk049E":
            # Yamato already bills this total (changed in Yamato's own screen): adopt it.
            record_amount_change(tx, data.total, detail="ヤマトでは既にこの金額に変更されていました")
            journal.settle(op, journal.DONE, payment=p)
        elif (isinstance(answer.error, ApiError) and answer.error.code == "kaakk050E"
              and p.kind != PaymentKind.SMARTPHONE.value and data.total > p.amount):
            # The increase is refused: re-authorize under a new 決済ID (スマホタイプ would need
            # the customer's SMS code, so it is refused there).
            journal.settle(op, journal.FAILED, payment=p, error=str(answer.error))
            tx.history(answer.error.code, detail=answer.error.message)
            tx.history("再与信", detail=f"増額（{p.amount:,}円 → {data.total:,}円）を新しい決済IDで再与信します。")
            attempt = prepare_attempt(data, method_id=p.method_id, kind=p.kind, sms_phone=None,
                                      replaces=p, actor=actor)
        else:
            tx.fail(op, answer.error, Api.CHANGE_AMOUNT)
    if attempt is None:
        return tx.payment
    return complete_reauthorization(attempt, actor=actor, purpose="増額のための再与信",
                                    unchanged="利用額は変更されていません", code="kaakk050E",
                                    operation="change_amount")


def complete_reauthorization(attempt: Any, *, actor: str | None, purpose: str, unchanged: str,
                             code: str, operation: str) -> Any:
    """Send a re-authorization journaled by the caller's commit (``prepare_attempt`` with
    ``replaces``): approved → the old payment is retired (cancelled at Yamato, shipment carried
    over) and the new one returned; declined → ApiError (the old payment is untouched);
    unknown → OperationPending (the sweep finishes it, retiring the old one on approval)."""
    old_order_no = get_payment(attempt.payment.replaces_id).order_no
    new, message = send_attempt(attempt, actor=actor)
    if status.is_held(new):
        retire_replaced(new.id)
        return get_payment(new.id)
    if new.status == S.DECLINED.value:
        raise ApiError(f"{purpose}が承認されませんでした（{message or ''}）。{unchanged}。",
                       operation=Api.AUTHORIZE.value, code=code, order_no=old_order_no)
    raise OperationPending(f"{purpose}の結果を確認中です。承認されると元の決済は自動で取り消されます。",
                           state=journal.UNKNOWN, operation=operation)


# --------------------------------------------------------------------------- 請求書再発行


def reissue_invoice(payment_id: int, reason: ReissueReason | int, reason_text: str | None = None,
                    *, actor: str | None = None) -> Any:
    """請求書再発行 (KAARR0010) with the host's current billing address and lines."""

    def prepare(tx: Tx) -> Request:
        p = tx.payment
        data = host_order_data(p, required=True)
        if data.total != p.amount:
            raise InvalidTransition(f"ご注文金額（{data.total:,}円）が利用金額（{p.amount:,}円）と一致しません。"
                                    "先に利用額変更を行ってください。", current=p.status,
                                    operation="reissue_invoice")
        req = yreq.reissue_request(data, order_no=p.order_no, reason=reason,
                                   reason_text=reason_text)
        params = {"reason": int(reason), "reason_text": reason_text}
        return Request(Api.REISSUE, lambda: client().reissue_invoice(req), params)

    def apply(tx: Tx, result: Any) -> None:
        tx.history("OK", detail=f"不備事由: {ReissueReason(int(reason)).label}")

    return run(payment_id, "reissue_invoice", actor=actor, prepare=prepare, apply=apply)


# --------------------------------------------------------------------------- 再与信 (90 days)

MSG_NO_SMARTPHONE_REAUTHORIZATION = (
    "スマホタイプの決済は再与信できません（お客様にSMSの認証番号を入力していただく必要があるため）。"
    "お客様に新しいご注文をお願いしてください。")


def reauthorize(payment_id: int, *, actor: str | None = None) -> Any:
    """再与信 before Yamato's 90-day shipment window closes (``ship_window``): a new
    authorization (new 決済ID) for the host's current order; the old payment is cancelled
    when the new one is approved. Returns the new payment."""
    with locked(payment_id, "reauthorize", actor=actor) as tx:
        p = tx.payment
        if p.kind == PaymentKind.SMARTPHONE.value:
            raise InvalidTransition(MSG_NO_SMARTPHONE_REAUTHORIZATION, current=p.status,
                                    operation="reauthorize")
        replacement = replacement_of(tx)
        if replacement is not None:
            raise InvalidTransition(f"再与信（決済ID {replacement.order_no}）を処理中です。",
                                    current=p.status, operation="reauthorize")
        data = host_order_data(p, required=True)
        tx.history("再与信", detail=f"出荷期限（{ship_window.closes_on(p):%Y-%m-%d}）のため、"
                                     "新しい決済IDで再与信します。")
        attempt = prepare_attempt(data, method_id=p.method_id, kind=p.kind, sms_phone=None,
                                  replaces=p, actor=actor)
    return complete_reauthorization(attempt, actor=actor, purpose="再与信",
                                    unchanged="元の決済はそのままです", code="reauthorize",
                                    operation="reauthorize")
