"""Reacting to the host (DESIGN "Host integration", inbound signals): the signal handlers.

``extension.py`` connects these to ``signals.order_status_changed`` / ``order_updated`` for
the sending app. A reaction never raises into the host: Yamato refusals and unreachable calls
are already in the error log (and the journal, where a retry is safe) when the service returns;
anything else is logged here and reported with ``payment_error``. The host's save goes through
either way — as in the manual, an order saved as 発送済み without a tracking number simply stays
「与信」, with the reason in ``Payment.capture_note``.

Hosts send these signals after flushing (or committing) their own change; the reaction first
commits ``db.session`` (so the host's save is durable before Yamato is called), then the
pipeline commits each payment change on its own.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from ..errors import KuronekoError
from ..models import PaymentStatus as S
from ..state import current_state
from . import aftersales, drift, history
from .lookups import current_payment
from .pipeline import send_signal

logger = logging.getLogger(__name__)


def _settings_and_config(app: Flask) -> tuple[Any, tuple[str, ...], tuple[str, ...]]:
    state = current_state()
    return (state.settings(), tuple(app.config.get("KURONEKO_SHIPPED_STATUSES") or ()),
            tuple(app.config.get("KURONEKO_CANCELLED_STATUSES") or ()))


def _guard(app: Flask, operation: str, payment: Any, fn, *args: Any, **kwargs: Any) -> Any:
    """Run one payment operation for a reaction; never let it escape into the host's save."""
    try:
        return fn(*args, **kwargs)
    except KuronekoError as exc:       # logged (error log + payment_error) by the service
        logger.info("kuroneko reaction %s for %s: %s", operation,
                    getattr(payment, "order_no", None), exc)
    except Exception as exc:
        logger.exception("kuroneko reaction %s failed", operation)
        _report(payment, operation, exc)
    return None


def _report(payment: Any, operation: str, exc: Exception) -> None:
    """Error log + payment_error for an unexpected failure (after discarding our half-work)."""
    _record(payment, operation, "internal",
            f"「{operation}」の自動処理でエラーが発生しました（{type(exc).__name__}）。")


def _record(payment: Any, operation: str, code: str, message: str) -> None:
    """A reaction that could not do its work: 決済エラーログ + payment_error, committed."""
    state = current_state()
    session = state.db.session
    try:
        if not session.is_active:      # a failed flush: nothing of this transaction can stay
            session.rollback()
        history.log_error(session, state.models, message=message,
                          order_no=getattr(payment, "order_no", None),
                          kind=getattr(payment, "kind", None), operation=operation, code=code)
        session.commit()
        send_signal("payment_error", payment, operation=operation, code=code, message=message)
    except Exception:
        logger.exception("kuroneko: could not record the failed reaction %s", operation)


def _ship(app: Flask, data: Any, payment: Any) -> None:
    """発送済み: capture (M16/M18), or register a changed tracking number after capture."""
    if payment.status == S.AUTHORIZED.value:
        _guard(app, "capture", payment, aftersales.capture, payment.id, carrier=data.carrier,
               tracking_no=data.tracking_no, actor="order")
    elif payment.status in (S.PENDING.value, S.UNDER_REVIEW.value, S.AWAITING_SMS.value):
        # Shipped before the credit decision: nothing can be captured yet, and nobody would
        # notice later — say so where the admin looks (決済エラーログ) and to the host.
        _record(payment, "capture", "capture_rule",
                f"決済状況が「{payment.status_label}」のため売上確定できません。与信になった後、"
                "決済の画面で「売上確定」を行ってください。")
    elif (payment.status == S.CAPTURED.value and data.tracking_no
          and data.tracking_no.replace("-", "").strip() != (payment.tracking_no or "")
          and aftersales.is_yamato_carrier(data.carrier) == (payment.process_div == 0)):
        _guard(app, "change_tracking", payment, aftersales.change_tracking, payment.id,
               data.tracking_no, actor="order")


def _review_drift(app: Flask, data: Any) -> None:
    """After the reaction's own work: a 差異 the host's change made or resolved (drift.py)."""
    payment = current_payment(data.order_id)
    if payment is not None and (payment.drift_kind is not None or payment.status in (
            S.AUTHORIZED.value, S.CAPTURED.value)):
        _guard(app, "check_drift", payment, drift.check, payment.id, data=data)


def _payment_and_data(app: Flask, order: Any) -> tuple[Any, Any]:
    state = current_state()
    # The host's change is made durable first: whatever happens to the payment afterwards
    # (a refusal, an unexpected error and its rollback) cannot take the host's save away.
    state.db.session.commit()
    data = state.describe(order)
    return current_payment(data.order_id), data


def on_order_status_changed(app: Flask, order: Any, old: Any = None, new: Any = None,
                            **extra: Any) -> None:
    """発送済み → 売上確定; キャンセル → 取消 when 「受注キャンセルで取消」 is on."""
    if old == new:
        return
    payment = None
    try:
        payment, data = _payment_and_data(app, order)
        if payment is None:
            return                       # not paid with 後払い
        settings, shipped, cancelled = _settings_and_config(app)
        if new in shipped:
            _ship(app, data, payment)
        elif new in cancelled and settings.cancel_with_order and payment.status in (
                S.AUTHORIZED.value, S.CAPTURED.value):
            _guard(app, "cancel", payment, aftersales.cancel, payment.id, actor="order")
        _review_drift(app, data)
    except Exception as exc:
        logger.exception("kuroneko: reaction to a status change failed")
        _report(payment, "order_status_changed", exc)


def on_order_updated(app: Flask, order: Any, **extra: Any) -> None:
    """Tracking number entered/edited → capture or 変更登録; amount edited → 利用額変更 when
    「受注金額変更で利用額変更」 is on."""
    payment = None
    try:
        payment, data = _payment_and_data(app, order)
        if payment is None:
            return
        settings, shipped, _ = _settings_and_config(app)
        if data.status in shipped:
            _ship(app, data, payment)
            payment = current_payment(data.order_id)
        if (settings.change_amount_with_order and data.total != payment.amount
                and payment.status in (S.AUTHORIZED.value, S.CAPTURED.value)):
            _guard(app, "change_amount", payment, aftersales.change_amount, payment.id, actor="order")
        _review_drift(app, data)
    except Exception as exc:
        logger.exception("kuroneko: reaction to an order update failed")
        _report(payment, "order_updated", exc)
