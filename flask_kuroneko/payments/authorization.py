"""与信: KAARA0010 for a host order (both types), and what Yamato's credit decision means.

An authorization is journaled ahead like every changing request (pipeline.py), with one
difference: the payment row does not exist before, so it is created — pending, with its
journal row claimed by this request — and committed together with the host's order before the
request leaves (a crash at any later point leaves something the sweep settles). The journal
keeps the exact request, so a resend after "never reached Yamato" repeats the same 決済ID:
Yamato's duplicate check (kaara009E) makes a resend harmless even if the first one arrived.

A double click (two ``authorize`` of one order at once) sends one KAARA0010: the check "does
the order already have a live payment?" and the creation of the pending payment run under a
checkout lock (:func:`checkout_lock`).
"""
from __future__ import annotations

import logging
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Iterator, Mapping

import sqlalchemy as sa
from flask import current_app, url_for
from werkzeug.routing import BuildError

from .. import rules
from ..errors import (ApiConnectionError, ApiError, AuthenticationError, InvalidTransition,
                      ValidationError)
from ..models import PaymentKind, PaymentStatus as S, utcnow
from ..state import current_state
from ..yamato.codes import CreditDecision, Operation as Api, TransactionStatus as TS
from . import history, journal, messages, status, yamato_side
from . import yamato_requests as yreq
from .lookups import current_payment, is_live
from .outcomes import OutcomeKind, PaymentOutcome
from .pipeline import Answer, Tx, ask_yamato, local_lock, locked

logger = logging.getLogger(__name__)

#: Name of the スマホタイプ form field holding the mobile number (form_data key).
SMS_PHONE_FIELD = "sms_phone"
#: An unanswered KAARA0010 is first looked up after this long (a late request must land first).
AUTHORIZE_GRACE = timedelta(seconds=60)
#: Yamato's system errors (例外エラー): nothing the customer typed.
_SYSTEM_ERROR_PREFIX = "err"


def new_order_no(session: Any, models: Any) -> str:
    """A fresh 決済ID: 10 random digits, unique among our payments."""
    while True:
        candidate = f"{secrets.randbelow(10 ** 10):010d}"
        if session.scalar(sa.select(models.Payment.id).where(
                models.Payment.order_no == candidate)) is None:
            return candidate


def sms_page_url(payment: Any) -> str | None:
    if not payment.checkout_token:
        return None
    try:
        return url_for("kuroneko_checkout.sms", token=payment.checkout_token)
    except (BuildError, RuntimeError):
        prefix = current_app.config.get("KURONEKO_CHECKOUT_URL_PREFIX", "/kuroneko")
        return f"{prefix.rstrip('/')}/sms/{payment.checkout_token}"


def fee_inside(settings: Any, order_data: Any) -> int:
    """The 後払い fee the host put on the order: the adjustment equal to fee_for(rest)."""
    for adj in order_data.adjustments:
        if adj.amount > 0 and settings.fee_for(order_data.total - adj.amount) == adj.amount:
            return adj.amount
    return 0


def customer_message(exc: Exception) -> str:
    """What the customer reads when KAARA0010 was refused: their own input problem, or "not
    available now" for our settings (merchant code, password: AuthenticationError) and
    Yamato's system errors — never a settings problem presented as the customer's input."""
    if isinstance(exc, ValidationError):
        return exc.message
    if isinstance(exc, AuthenticationError) or (
            getattr(exc, "code", "") or "").startswith(_SYSTEM_ERROR_PREFIX):
        return messages.MSG_UNAVAILABLE
    return f"決済できませんでした（{getattr(exc, 'message', exc)}）。ご入力内容をご確認ください。"


def outcome_of(payment: Any, message: str | None = None) -> PaymentOutcome:
    current = status.status_of(payment)
    if current in status.HELD:
        return PaymentOutcome(OutcomeKind.AUTHORIZED, payment)
    if current is S.UNDER_REVIEW:
        return PaymentOutcome(OutcomeKind.UNDER_REVIEW, payment, message=messages.MSG_REVIEW)
    if current is S.AWAITING_SMS:
        return PaymentOutcome(OutcomeKind.REDIRECT, payment, redirect_url=sms_page_url(payment))
    if current is S.PENDING:
        return PaymentOutcome(OutcomeKind.PENDING, payment, message=messages.MSG_PENDING,
                              redirect_url=sms_page_url(payment))
    return PaymentOutcome(OutcomeKind.DECLINED, payment, message=message or messages.MSG_DECLINED)


def replaced_payment(tx: Tx) -> Any | None:
    """The still-held payment a replacement re-authorizes (amount increase), else None."""
    replaced_id = tx.payment.replaces_id
    if not replaced_id:
        return None
    old = tx.session.get(tx.models.Payment, replaced_id)
    return old if old is not None and status.is_held(old) else None


def apply_decision(tx: Tx, decision: CreditDecision, *, label: str = "与信") -> str | None:
    """Move a pending / 審査中 payment to what Yamato's credit decision means; returns the
    customer's message for a decline. An approved re-authorization is not announced here: the
    replaced payment is retired by ``reauthorization.retire_replaced`` (its caller)."""
    p = tx.payment
    tx.history(decision.label, label=label, amount=p.amount)
    reauthorization = replaced_payment(tx) is not None
    if decision == CreditDecision.APPROVED:
        status.move(p, S.AUTHORIZED)
        yamato_side.learned(p, TS.APPROVED)
        if not reauthorization:
            tx.emit("payment_authorized")
        return None
    if decision in (CreditDecision.DECLINED, CreditDecision.LIMIT_EXCEEDED):
        message = (messages.MSG_LIMIT if decision == CreditDecision.LIMIT_EXCEEDED
                   else messages.MSG_DECLINED)
        status.move(p, S.DECLINED)
        if reauthorization:
            text = (f"増額のための再与信が承認されませんでした（{decision.label}）。"
                    "利用額は変更されていません。")
            tx.error_log(text, code=f"result{int(decision)}", api=Api.AUTHORIZE)
            tx.emit("payment_error", operation="change_amount", code=f"result{int(decision)}",
                    message=text)
        else:
            tx.emit("payment_declined", message=message)
        return message
    if status.status_of(p) is S.PENDING:     # 審査中, or the SMS went out (スマホタイプ)
        status.move(p, S.AWAITING_SMS if p.kind == PaymentKind.SMARTPHONE.value
                    else S.UNDER_REVIEW)
        yamato_side.learned(p, TS.UNDER_REVIEW)
        tx.emit("payment_under_review")
    return None


def conclude(tx: Tx, op: Any, answer: Answer) -> str | None:
    """Apply KAARA0010's answer (or its absence) to a pending payment; returns a message."""
    p, now = tx.payment, utcnow()
    if answer.ok:
        journal.settle(op, journal.DONE, payment=p, now=now)
        return apply_decision(tx, answer.result.decision)
    exc = answer.error
    if isinstance(exc, ApiConnectionError):
        tx.report(exc, Api.AUTHORIZE)
        if exc.may_have_reached:
            journal.release(op, journal.UNKNOWN, error=str(exc), now=now + AUTHORIZE_GRACE)
            return messages.MSG_PENDING
        if p.kind == PaymentKind.SMARTPHONE.value:   # the customer is here: let them retry now
            journal.settle(op, journal.FAILED, payment=p, now=now, error=str(exc))
            status.move(p, S.DECLINED)
            tx.emit("payment_declined", message=messages.MSG_UNAVAILABLE)
            return messages.MSG_UNAVAILABLE
        journal.release(op, journal.QUEUED, error=str(exc), now=now + journal.backoff(0))
        return messages.MSG_PENDING
    if isinstance(exc, ApiError) and exc.code == "kaara009E":
        # Only a resend can meet its own 決済ID: the first request did arrive. Ask later.
        journal.release(op, journal.UNKNOWN, error=str(exc), now=now)
        tx.history("受付済み", detail="同じ決済IDの決済依頼がヤマトに登録済みです。結果を照会します。")
        return messages.MSG_PENDING
    tx.report(exc, Api.AUTHORIZE)
    journal.settle(op, journal.FAILED, payment=p, now=now, error=str(exc))
    status.move(p, S.DECLINED)
    message = customer_message(exc)
    if replaced_payment(tx) is None:
        tx.emit("payment_declined", message=message)
    return message


@dataclass
class Attempt:
    """A pending payment whose KAARA0010 is journaled ahead (``op``), not sent yet; or one
    refused before sending (``refused``: declined; its ``tx`` finishes after the commit)."""
    payment: Any
    order_data: Any
    op: Any = None
    request: Any = None
    tx: Any = None
    refused: str | None = None


def prepare_attempt(order_data: Any, *, method_id: int | None, kind: str,
                    sms_phone: str | None, replaces: Any = None,
                    actor: str | None) -> Attempt:
    """Add a pending payment and its journaled KAARA0010 to the session (the caller commits,
    then calls :func:`send_attempt`). Committing it together with the replaced payment's
    history, under that payment's row lock, is what makes a re-authorization visible to the
    next operation on the old payment (no second re-authorization)."""
    state = current_state()
    session, models, settings = state.db.session, state.models, state.settings()
    order_no = new_order_no(session, models)
    order_date = rules.jst_date(order_data.placed_at)
    ship_date = rules.planned_ship_date(order_date, ship_within_days=settings.ship_within_days,
                                        desired_delivery_date=order_data.desired_delivery_date)
    payment = models.Payment(
        order_no=order_no, host_order_id=str(order_data.order_id), method_id=method_id,
        kind=kind, status=S.PENDING.value, amount=order_data.total,
        initial_amount=order_data.total, fee=fee_inside(settings, order_data),
        order_date=order_date, ship_date=ship_date, sms_phone=sms_phone,
        checkout_token=secrets.token_urlsafe(24) if kind == PaymentKind.SMARTPHONE.value else None,
        replaces_id=replaces.id if replaces is not None else None)
    session.add(payment)
    session.flush()
    tx = Tx(session, models, payment, "authorize", actor)
    try:
        request = yreq.authorization_request(order_data, order_no=order_no,
                                             order_date=order_date, ship_date=ship_date,
                                             sms_phone=sms_phone)
        state.client().build_form(Api.AUTHORIZE, request)   # validate before anything goes out
    except ValidationError as exc:
        tx.report(exc, Api.AUTHORIZE)
        status.move(payment, S.DECLINED)
        if replaced_payment(tx) is None:
            tx.emit("payment_declined", message=exc.message)
        return Attempt(payment, order_data, tx=tx, refused=exc.message)
    op = tx.journal_ahead({"request": yreq.request_to_json(request)})
    if settings.prepayment_log_enabled:      # M23, committed with the journal row
        history.add_prepayment_log(session, models, order_no=order_no,
                                   host_order_id=payment.host_order_id, kind=kind,
                                   amount=order_data.total, order_data=order_data)
    return Attempt(payment, order_data, op=op, request=request)


def send_attempt(attempt: Attempt, *, actor: str | None) -> tuple[Any, str | None]:
    """After the commit of :func:`prepare_attempt`: call KAARA0010, apply the answer."""
    payment = attempt.payment
    if attempt.refused is not None:
        attempt.tx.finish()
        return payment, attempt.refused
    state = current_state()
    op_id, owner = attempt.op.id, attempt.op.claimed_by
    answer = ask_yamato(state.client().authorize, attempt.request)
    with locked(payment.id, "authorize", actor=actor, check=False) as tx:
        op = tx.take_back(op_id, owner)
        message = messages.MSG_PENDING if op is None else conclude(tx, op, answer)
    return tx.payment, message


def start_attempt(order_data: Any, *, method_id: int | None, kind: str, sms_phone: str | None,
                  replaces: Any = None, actor: str | None) -> tuple[Any, str | None]:
    """Create a pending payment, journal it ahead with the M23 log, commit, call KAARA0010."""
    attempt = prepare_attempt(order_data, method_id=method_id, kind=kind, sms_phone=sms_phone,
                              replaces=replaces, actor=actor)
    current_state().db.session.commit()   # pending payment + journal: nothing at Yamato unknown
    return send_attempt(attempt, actor=actor)


@contextmanager
def checkout_lock(session: Any, models: Any, host_order_id: Any) -> Iterator[None]:
    """Serialise "does this order have a live payment? else create one" across requests, so a
    double click (two start_payment of one order at once) sends one KAARA0010. PostgreSQL and
    MariaDB: the payment-method rows, locked in id order until the caller's commit (a short
    critical section: no Yamato call inside). SQLite: a process-local lock per order."""
    if session.get_bind().dialect.name == "sqlite":
        with local_lock(session, ("order", str(host_order_id))):
            yield
        return
    session.execute(sa.select(models.PaymentMethod.id).order_by(models.PaymentMethod.id)
                    .with_for_update()).all()
    yield


def authorize(order: Any, method_id: int,
              form_data: Mapping[str, Any] | None = None) -> PaymentOutcome:
    """Start the payment of a host order (flushed, maybe uncommitted) → PaymentOutcome."""
    state = current_state()
    session, models, settings = state.db.session, state.models, state.settings()
    method = session.get(models.PaymentMethod, int(method_id))
    if method is None or not method.active or (
            method.kind == PaymentKind.SMARTPHONE.value and not settings.smartphone_enabled):
        raise InvalidTransition("選択された支払方法は現在ご利用いただけません。", operation="authorize")
    order_data = state.describe(order)
    sms_phone = None
    if method.kind == PaymentKind.SMARTPHONE.value:
        sms_phone = str((form_data or {}).get(SMS_PHONE_FIELD) or "")
    with checkout_lock(session, models, order_data.order_id):
        existing = current_payment(order_data.order_id, lock=True)
        if existing is not None and is_live(existing):
            logger.info("kuroneko: order %s already has payment %s (%s); not authorizing twice",
                        order_data.order_id, existing.order_no, existing.status)
            return outcome_of(existing)
        attempt = prepare_attempt(order_data, method_id=method.id, kind=method.kind,
                                  sms_phone=sms_phone, actor="customer")
        session.commit()     # order + pending payment + journal; ends the checkout lock
    payment, message = send_attempt(attempt, actor="customer")
    return outcome_of(payment, message)
