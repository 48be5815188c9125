"""The 「決済情報」 dialog page of one payment (M19–M21) and its buttons (the list is
payment_list.py).

The dialog shows both sides (our status, Yamato's 取引状況 and 警報 with their times), the 差異
with its fixes, the 90-day shipment limit and "do not ship", and offers only the operations
``payments.operations_for`` allows now; every POST goes through ``payments`` (lock, transition
check, Yamato, history). Refusals — an illegal transition (e.g. a second admin cancelling what
the first already cancelled), an operation still being confirmed, Yamato's business errors —
come back as Japanese flash messages. A POST with ``back`` (a path on this site: the host's
order page that holds the 「決済情報」 panel) returns there.
"""
from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, request, url_for

from .. import payments
from ..payments import transitions
from ..yamato.codes import ReissueReason
from ..errors import (ApiError, CaptureRefused, ConfigurationError, InvalidTransition,
                      KuronekoError, OperationPending, PaymentNotFound, ValidationError)
from ..models import KIND_LABELS, PaymentKind
from ..web import safe_path
from . import common
from .forms import REISSUE_CHOICES, ButtonForm, ReissueForm

logger = logging.getLogger(__name__)

#: The dialog's buttons, in display order (売上確定 happens from the host's order edit, M16;
#: 再与信 only near Yamato's 90-day shipment limit).
DIALOG_OPERATIONS = ("cancel", "change_amount", "cancel_shipment", "reauthorize", "sync_status",
                     "reissue_invoice")


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/payments/<kuroneko_id:payment_id>", "payment", payment_page)
    bp.add_url_rule("/payments/<kuroneko_id:payment_id>/<operation>", "payment_operation", operate,
                    methods=["POST"])
    bp.add_url_rule("/payments/<kuroneko_id:payment_id>/drift/<fix>", "payment_drift_fix",
                    fix_drift, methods=["POST"])


def host_amount_of(payment: Any) -> tuple[int | None, str | None]:
    """利用金額 as the host's order says now (M20), or why it cannot be shown."""
    st = common.state()
    try:
        order = st.load_order(payment.host_order_id)
        if order is None:
            return None, f"受注（{payment.host_order_id}）が見つかりません。"
        return st.describe(order).total, None
    except ConfigurationError as exc:
        logger.error("payment dialog: %s", exc)
        return None, "受注データを読み込めません（アプリケーションのフック設定を確認してください）。"


def payment_page(payment_id: int):
    st = common.state()
    payment = st.db.session.get(st.models.Payment, payment_id)
    if payment is None:
        abort(404)
    P, H = st.models.Payment, st.models.PaymentHistory
    related = list(st.db.session.scalars(
        sa.select(P).where(P.host_order_id == payment.host_order_id).order_by(P.id)))
    history = list(st.db.session.scalars(
        sa.select(H).where(H.payment_id.in_([p.id for p in related]))
        .order_by(H.occurred_at, H.id)))
    host_amount, host_problem = host_amount_of(payment)
    back = safe_path(request.args.get("back"))
    return common.render(
        "payment.html", payment=payment, related=related, history=history,
        host_amount=host_amount, host_problem=host_problem, operations=operations_of(payment),
        state=payments.payment_state(payment), fixes=payments.drift_fix_options(payment),
        button=ButtonForm(), reissue_form=ReissueForm(), reissue_choices=REISSUE_CHOICES,
        kind_label=KIND_LABELS.get(PaymentKind(payment.kind), payment.kind), back=back,
        # 「閉じる」 returns to the page that opened the dialog: only a path on this site.
        back_url=back or url_for(".payments"))


def operations_of(payment: Any) -> list[tuple[str, str]]:
    """(operation, label) of the dialog's buttons allowed now."""
    allowed = payments.operations_for(payment)
    return [(op, transitions.LABELS[op]) for op in DIALOG_OPERATIONS if op in allowed]


def _run(operation: str, payment_id: int) -> Any:
    if operation == "cancel":
        return payments.cancel(payment_id, actor=common.ACTOR)
    if operation == "change_amount":
        return payments.change_amount(payment_id, actor=common.ACTOR)
    if operation == "cancel_shipment":
        return payments.cancel_shipment(payment_id, actor=common.ACTOR)
    if operation == "sync_status":
        return payments.check_status(payment_id)
    if operation == "reauthorize":
        return payments.reauthorize(payment_id, actor=common.ACTOR)
    form = ReissueForm(request.form)
    try:
        reason = ReissueReason(int(form.reason.data))
    except (TypeError, ValueError):
        raise InvalidTransition("不備事由を選んでください。", operation=operation) from None
    return payments.reissue_invoice(payment_id, reason, (form.reason_text.data or "").strip() or None,
                                   actor=common.ACTOR)


def _message(exc: KuronekoError) -> str:
    if isinstance(exc, ApiError) and not isinstance(exc, OperationPending):
        code = f"（{exc.code}）" if exc.code else ""
        return f"ヤマトのエラー{code}：{exc.message}"
    return getattr(exc, "message", None) or str(exc)


def operate(payment_id: int, operation: str):
    if operation not in DIALOG_OPERATIONS:
        abort(404)
    form = ReissueForm(request.form) if operation == "reissue_invoice" else ButtonForm(request.form)
    if not form.validate():
        return common.csrf_refused()
    label = transitions.LABELS[operation]
    target = payment_id
    try:
        result = _run(operation, payment_id)
    except PaymentNotFound:
        abort(404)
    except (InvalidTransition, OperationPending, ApiError, ValidationError, CaptureRefused,
            ConfigurationError) as exc:
        logger.info("admin %s on payment %s refused: %s", operation, payment_id, type(exc).__name__)
        common.error(f"「{label}」できませんでした：{_message(exc)}")
    else:
        settle_drift(payment_id)
        if result is not None and getattr(result, "id", payment_id) != payment_id:
            target = result.id        # 利用額変更 / 再与信 by re-authorization: the new payment
            common.info(f"「{label}」を行いました（新しい決済ID {result.order_no}）。")
        elif operation == "sync_status":
            common.info(f"「{label}」を行いました（現在の状況：{result.status_label}）。")
        else:
            common.info(f"「{label}」を行いました。")
    return back_to(target)


def settle_drift(payment_id: int) -> None:
    """An operation may have resolved the payment's 差異 (利用額変更 after the order's total
    changed, 取消 after it was cancelled): check it now rather than at the next sweep."""
    if payments.get_payment(payment_id).drift_kind is not None:
        try:
            payments.check_drift(payment_id, actor=common.ACTOR)
        except KuronekoError as exc:
            logger.info("drift check of payment %s after an operation: %s", payment_id, exc)


def back_to(payment_id: int):
    """After a POST: the page that holds the button (``back``), else the dialog."""
    back = safe_path(request.form.get("back"))
    if back:
        return redirect(back)
    # the dialog again, still knowing where 「閉じる」 leads
    return redirect(url_for(".payment", payment_id=payment_id,
                            back=safe_path(request.form.get("dialog_back")) or None))


def fix_drift(payment_id: int, fix: str):
    """A button of the 差異: send ours, or 「確認済み」 (payments.drift_fixes)."""
    if not ButtonForm(request.form).validate():
        return common.csrf_refused()
    label = payments.DRIFT_FIX_LABELS.get(fix)
    if label is None:
        abort(404)
    try:
        payments.fix_drift(payment_id, fix, actor=common.ACTOR)
    except PaymentNotFound:
        abort(404)
    except (InvalidTransition, OperationPending, ApiError, ValidationError, CaptureRefused,
            ConfigurationError) as exc:
        logger.info("admin drift fix %s on payment %s refused: %s", fix, payment_id,
                    type(exc).__name__)
        common.error(f"「{label}」できませんでした：{_message(exc)}")
    else:
        common.info(f"「{label}」を行いました。")
    return back_to(payment_id)
