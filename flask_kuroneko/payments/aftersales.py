"""After-sales operations of the state machine: 売上確定 (shipment registration and its rules,
M16/M18), tracking change, shipment cancel, 取消, 利用額変更 (with the re-authorization
fallback), 請求書再発行. Split out of ``service.py`` (size); use them through
``flask_kuroneko.payments.service``, which re-exports every public name here.
"""
from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa

from . import journal
from . import yamato_requests as yreq
from ..yamato.codes import Operation as Api, ProcessDiv, ReissueReason
from ..yamato.datatypes import ShipmentRequest
from ..errors import (ApiError, CaptureRefused, InvalidTransition, OperationPending,
                      PaymentNotFound, ValidationError)
from ..models import PaymentKind, PaymentStatus as S, utcnow
from .service import (YAMATO_CARRIERS, _locked, _prepare_attempt, _send, _send_attempt, _state,
                      _Tx, get_payment)

logger = logging.getLogger(__name__)


def _is_yamato(carrier: str | None) -> bool:
    return (carrier or "").strip() in YAMATO_CARRIERS


def capture_plan(settings: Any, *, delivery_method_id: str | None, carrier: str | None,
                 tracking_no: str | None, order_no: str) -> tuple[ProcessDiv, str]:
    """How to register the shipment (M16/M18), or CaptureRefused with the reason."""
    tracking_no = (tracking_no or "").strip() or None
    if _is_yamato(carrier):
        if delivery_method_id is not None and not settings.is_yamato_delivery(delivery_method_id):
            raise CaptureRefused("配送方法が「クロネコヤマト配送」に設定されていないため、売上確定できません"
                                 "（設定の「クロネコヤマト配送」で配送方法を選んでください）。")
        if tracking_no is None:
            raise CaptureRefused("送り状番号が入力されていないため、売上確定できません"
                                 "（クロネコヤマト配送は送り状番号が必要です）。")
        return ProcessDiv.NEW, tracking_no
    if not (carrier or "").strip():
        raise CaptureRefused("配送会社名が入力されていないため、売上確定できません。")
    if not settings.other_carrier_enabled:
        raise CaptureRefused("「他社配送オプション」を利用しない設定のため、クロネコヤマト以外の配送では"
                             "売上確定できません。")
    return ProcessDiv.OTHER_CARRIER, tracking_no or order_no


def _host_order_data(payment: Any, *, required: bool) -> Any | None:
    state = _state()
    order = state.load_order(payment.host_order_id)
    if order is None:
        if required:
            raise PaymentNotFound(f"受注（{payment.host_order_id}）が見つかりません。")
        return None
    return state.describe(order)


def mark_captured(tx: _Tx, process_div: int, slip: str, carrier: str | None) -> None:
    p = tx.payment
    p.status, p.captured_at, p.capture_note = S.CAPTURED.value, utcnow(), None
    p.process_div, p.tracking_no, p.carrier = int(process_div), slip.replace("-", ""), carrier
    tx.history("OK", label="売上確定", amount=p.amount, detail=f"送り状番号 {p.tracking_no}")
    tx.emit("sales_confirmed")


def capture(payment_id: int, *, carrier: str | None, tracking_no: str | None,
            actor: str | None = None) -> Any:
    """売上確定: register the shipment (Yamato slip pd 0, other carrier pd 2)."""
    state = _state()
    with _locked(payment_id, "capture", actor=actor) as tx:
        p = tx.payment
        data = _host_order_data(p, required=False)
        try:
            pd, slip = capture_plan(state.settings(),
                                    delivery_method_id=data.delivery_method_id if data else None,
                                    carrier=carrier, tracking_no=tracking_no, order_no=p.order_no)
        except CaptureRefused as exc:
            p.capture_note = exc.message
            tx.history("保留", detail=exc.message)
            tx.error_log(exc.message, code="capture_rule", api=Api.SHIPMENT)
            tx.emit("payment_error", operation="capture", code="capture_rule", message=exc.message)
            tx.error = exc
            return p
        req = ShipmentRequest(order_no=p.order_no, process_div=pd, slip_no=slip)
        params = {"process_div": int(pd), "slip_no": slip, "carrier": carrier}
        if tx.call(Api.SHIPMENT, state.client().register_shipment, req, params=params) is not None:
            mark_captured(tx, pd, slip, carrier)
        elif isinstance(tx.error, (ApiError, ValidationError)):
            p.capture_note = tx.error.message
    return tx.payment


def change_tracking(payment_id: int, tracking_no: str, *, actor: str | None = None) -> Any:
    """送り状番号変更 after 売上確定 (pd 1; other carriers re-register with pd 2)."""
    state = _state()
    with _locked(payment_id, "change_tracking", actor=actor) as tx:
        p = tx.payment
        new = (tracking_no or "").strip().replace("-", "")
        if not new or new == p.tracking_no:
            raise InvalidTransition("新しい送り状番号を入力してください（現在の番号と同じです）。",
                                    current=p.status, operation="change_tracking")
        if p.process_div == int(ProcessDiv.OTHER_CARRIER):
            req = ShipmentRequest(order_no=p.order_no, process_div=ProcessDiv.OTHER_CARRIER,
                                  slip_no=new)
        else:
            req = ShipmentRequest(order_no=p.order_no, process_div=ProcessDiv.CHANGE, slip_no=new,
                                  before_slip_no=p.tracking_no)
        params = {"process_div": int(req.process_div), "slip_no": new,
                  "before_slip_no": req.before_slip_no}
        if tx.call(Api.SHIPMENT, state.client().register_shipment, req, params=params) is not None:
            old, p.tracking_no = p.tracking_no, new
            tx.history("OK", detail=f"送り状番号 {old} → {new}")
    return tx.payment


def mark_shipment_cancelled(tx: _Tx) -> None:
    p = tx.payment
    p.status, p.captured_at = S.AUTHORIZED.value, None
    p.tracking_no = p.process_div = None
    tx.history("OK", label="出荷取消")


def cancel_shipment(payment_id: int, *, actor: str | None = None) -> Any:
    """出荷取消 (pd 9): back to 与信."""
    state = _state()
    with _locked(payment_id, "cancel_shipment", actor=actor) as tx:
        p = tx.payment
        req = ShipmentRequest(order_no=p.order_no, process_div=ProcessDiv.CANCEL)
        if tx.call(Api.SHIPMENT, state.client().register_shipment, req, params={}) is not None:
            mark_shipment_cancelled(tx)
    return tx.payment


# --------------------------------------------------------------------------- cancel / amount


def mark_cancelled(tx: _Tx, *, replaced_by: Any = None) -> None:
    p = tx.payment
    p.status, p.cancelled_at = S.CANCELLED.value, utcnow()
    if replaced_by is not None:
        tx.history("OK", label="取消", amount=p.amount,
                   detail=f"増額の再与信（決済ID {replaced_by.order_no}）に置き換え")
    else:
        tx.history("OK", label="取消", amount=p.amount)
        tx.emit("payment_cancelled")


def _cancel(payment_id: int, *, actor: str | None, replaced_by: Any = None) -> Any:
    state = _state()
    with _locked(payment_id, "cancel", actor=actor) as tx:
        params = {"replaced_by": replaced_by.id} if replaced_by is not None else {}
        if tx.call(Api.CANCEL, state.client().cancel, tx.payment.order_no,
                   params=params) is not None:
            mark_cancelled(tx, replaced_by=replaced_by)
    return tx.payment


def cancel(payment_id: int, *, actor: str | None = None) -> Any:
    """取消 (KAACL0010) from 与信 or 売上確定."""
    return _cancel(payment_id, actor=actor)


def _retire_replaced(new_id: int) -> None:
    """A re-authorization (amount increase) was approved: cancel the old payment, carry the
    shipment over, announce the new amount. Failures are logged; the sweep retries cancels."""
    session, models = _state().db.session, _state().models
    new = get_payment(new_id)
    old = session.get(models.Payment, new.replaces_id)
    if old is None or old.status not in (S.AUTHORIZED.value, S.CAPTURED.value):
        return
    old_amount, was_captured = old.amount, old.status == S.CAPTURED.value
    carrier, slip = old.carrier, old.tracking_no
    try:
        _cancel(old.id, actor="system", replaced_by=new)
    except (ApiError, ValidationError, OperationPending, InvalidTransition) as exc:
        logger.warning("kuroneko: replaced payment %s not cancelled yet: %s", old.order_no, exc)
    if was_captured:
        try:
            capture(new.id, carrier=carrier, tracking_no=slip, actor="system")
        except (ApiError, ValidationError, OperationPending, CaptureRefused) as exc:
            logger.warning("kuroneko: shipment not carried over to %s: %s", new.order_no, exc)
    _send("payment_amount_changed", get_payment(new_id), old_amount=old_amount,
          new_amount=new.amount)


#: Statuses of a replacement payment that make the payment it replaces superseded
#: (re-authorization in progress, or approved and the old payment about to be cancelled).
REPLACING = (S.PENDING.value, S.AWAITING_SMS.value, S.UNDER_REVIEW.value, S.AUTHORIZED.value,
             S.CAPTURED.value)


def _replacement(tx: _Tx) -> Any | None:
    """The re-authorization replacing the locked payment, if any. A locking read: on MariaDB a
    plain SELECT could answer from an older REPEATABLE READ snapshot."""
    P = tx.models.Payment
    return tx.session.scalars(
        sa.select(P).where(P.replaces_id == tx.payment.id, P.status.in_(REPLACING))
        .order_by(P.id).limit(1).with_for_update()).first()


def change_amount(payment_id: int, *, actor: str | None = None) -> Any:
    """利用額変更 from the host's current OrderData (KAAKK0010). When Yamato refuses an increase
    (kaakk050E) the order is re-authorized under a new orderNo; if that is declined, the old
    payment is kept untouched and ApiError is raised.

    The new pending payment is committed while the old payment's row is still locked, so a
    concurrent change_amount (two admins, a double click, the order_updated reaction) finds it
    and is refused: one KAAKK0010 and one re-authorization, never two live payments."""
    state = _state()
    attempt = None
    with _locked(payment_id, "change_amount", actor=actor) as tx:
        p = tx.payment
        replacement = _replacement(tx)
        if replacement is not None:
            raise InvalidTransition(f"増額のための再与信（決済ID {replacement.order_no}）を処理中のため、"
                                    "利用額変更はできません。", current=p.status,
                                    operation="change_amount")
        data = _host_order_data(p, required=True)
        if data.total == p.amount:
            raise InvalidTransition("ご注文金額と利用金額が同じため、利用額変更は不要です。",
                                    current=p.status, operation="change_amount")
        old_amount = p.amount
        req = yreq.amount_change_request(data, order_no=p.order_no)
        params = {"total": data.total}
        try:
            ok = tx.call(Api.CHANGE_AMOUNT, state.client().change_amount, req, params=params,
                         passthrough=("kaakk050E",))
        except ApiError as exc:                      # kaakk050E: the increase is refused
            if p.kind == PaymentKind.SMARTPHONE.value or data.total <= p.amount:
                tx.failed(exc, Api.CHANGE_AMOUNT)    # (スマホタイプ needs the customer's SMS)
                tx.error = exc
            else:
                tx.history(exc.code, detail=exc.message)
                tx.history("再与信", detail=f"増額（{old_amount:,}円 → {data.total:,}円）を新しい受注番号で再与信します。")
                attempt = _prepare_attempt(data, method_id=p.method_id, kind=p.kind,
                                           sms_phone=None, replaces=p, actor=actor)
            ok = None
        if ok is not None:
            p.amount = data.total
            tx.history("OK", amount=data.total, detail=f"{old_amount:,}円 → {data.total:,}円")
            tx.emit("payment_amount_changed", old_amount=old_amount, new_amount=data.total)
    if attempt is None:
        return tx.payment
    old = get_payment(payment_id)
    new, message = _send_attempt(attempt, actor=actor)
    if new.status in (S.AUTHORIZED.value, S.CAPTURED.value):
        return new
    if new.status == S.DECLINED.value:
        raise ApiError(f"増額のための再与信が承認されませんでした（{message or ''}）。利用額は変更されていません。",
                       operation=Api.AUTHORIZE.value, code="kaakk050E", order_no=old.order_no)
    raise OperationPending("増額のための再与信の結果を確認中です。承認されると元の決済は自動で取り消されます。",
                           state=journal.UNKNOWN, operation="change_amount")


def reissue_invoice(payment_id: int, reason: ReissueReason | int, reason_text: str | None = None,
                    *, actor: str | None = None) -> Any:
    """請求書再発行 (KAARR0010) with the host's current billing address and lines."""
    state = _state()
    with _locked(payment_id, "reissue_invoice", actor=actor) as tx:
        p = tx.payment
        data = _host_order_data(p, required=True)
        if data.total != p.amount:
            raise InvalidTransition(f"ご注文金額（{data.total:,}円）が利用金額（{p.amount:,}円）と一致しません。"
                                    "先に利用額変更を行ってください。", current=p.status,
                                    operation="reissue_invoice")
        req = yreq.reissue_request(data, order_no=p.order_no, reason=reason,
                                   reason_text=reason_text)
        params = {"reason": int(reason), "reason_text": reason_text}
        if tx.call(Api.REISSUE, state.client().reissue_invoice, req, params=params) is not None:
            tx.history("OK", detail=f"不備事由: {ReissueReason(int(reason)).label}")
    return tx.payment
