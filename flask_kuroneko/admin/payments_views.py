"""Payments list (M15) and the 「決済情報」 dialog page of one payment (M19–M21).

The dialog offers only the operations ``payments.operations_for`` allows now; every POST goes
through ``payments`` (lock, transition check, Yamato, history). Refusals — an illegal
transition (e.g. a second admin cancelling what the first already cancelled), an operation
still being confirmed, Yamato's business errors — come back as Japanese flash messages.
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
from ..models import KIND_LABELS, STATUS_LABELS, PaymentKind, PaymentStatus
from ..web import safe_path
from . import common
from .forms import REISSUE_CHOICES, ButtonForm, ReissueForm

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
#: The dialog's buttons, in display order (売上確定 happens from the host's order edit, M16).
DIALOG_OPERATIONS = ("cancel", "change_amount", "cancel_shipment", "sync_status",
                     "reissue_invoice")
STATUS_FILTERS = [(s.value, STATUS_LABELS[s]) for s in PaymentStatus]


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/payments", "payments", payments_page)
    bp.add_url_rule("/payments/<kuroneko_id:payment_id>", "payment", payment_page)
    bp.add_url_rule("/payments/<kuroneko_id:payment_id>/<operation>", "payment_operation", operate,
                    methods=["POST"])


def payments_page():
    st = common.state()
    P = st.models.Payment
    query = sa.select(P)
    status = request.args.get("status") or ""
    kind = request.args.get("kind") or ""
    q = (request.args.get("q") or "").strip()
    drift_only = request.args.get("drift") == "1"
    if status in {s.value for s in PaymentStatus}:
        query = query.where(P.status == status)
    if kind in {k.value for k in PaymentKind}:
        query = query.where(P.kind == kind)
    if q:
        query = query.where(sa.or_(P.order_no == q, P.host_order_id == q))
    if drift_only:
        query = query.where(P.drift.is_not(None))
    page = common.int_arg(request.args.get("page"))
    total = st.db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = list(st.db.session.scalars(query.order_by(P.id.desc())
                                      .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    return common.render(
        "payments.html", payments=rows, total=total, page=page,
        pages=max(1, -(-total // PAGE_SIZE)), status_filter=status, kind=kind, q=q,
        drift_only=drift_only, status_filters=STATUS_FILTERS,
        kind_labels={k.value: KIND_LABELS[k] for k in PaymentKind})


def _host_amount(payment: Any) -> tuple[int | None, str | None]:
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
    host_amount, host_problem = _host_amount(payment)
    allowed = payments.operations_for(payment)
    operations = [(op, transitions.LABELS[op]) for op in DIALOG_OPERATIONS if op in allowed]
    return common.render(
        "payment.html", payment=payment, related=related, history=history,
        host_amount=host_amount, host_problem=host_problem, operations=operations,
        button=ButtonForm(), reissue_form=ReissueForm(), reissue_choices=REISSUE_CHOICES,
        kind_label=KIND_LABELS.get(PaymentKind(payment.kind), payment.kind),
        # 「閉じる」 returns to the page that opened the dialog: only a path on this site.
        back_url=safe_path(request.args.get("back")) or url_for(".payments"))


def _run(operation: str, payment_id: int) -> Any:
    if operation == "cancel":
        return payments.cancel(payment_id, actor=common.ACTOR)
    if operation == "change_amount":
        return payments.change_amount(payment_id, actor=common.ACTOR)
    if operation == "cancel_shipment":
        return payments.cancel_shipment(payment_id, actor=common.ACTOR)
    if operation == "sync_status":
        return payments.sync_status(payment_id)
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
        if result is not None and getattr(result, "id", payment_id) != payment_id:
            target = result.id        # 利用額変更 by re-authorization: the new payment
            common.info(f"「{label}」を行いました（新しい決済ID {result.order_no}）。")
        elif operation == "sync_status":
            common.info(f"「{label}」を行いました（現在の状況：{result.status_label}）。")
        else:
            common.info(f"「{label}」を行いました。")
    return redirect(url_for(".payment", payment_id=target))
