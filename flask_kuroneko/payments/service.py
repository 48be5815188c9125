"""The payment state machine: the only module that changes a payment's status.

Every operation follows one path (``_locked`` + ``_Tx``): lock the payment row, check the
transitions table and that no earlier operation is still unsettled, call Yamato at most once
per changing request, write the history row, log business errors (決済エラーログ), commit, and
only then send the outbound signal and raise what the caller must know.

Locking: ``SELECT … FOR UPDATE`` (``with_for_update()``) on PostgreSQL and MariaDB. SQLite has
no row locks, so on SQLite the same code path is additionally serialised per payment with a
process-local re-entrant lock (striped over 64 locks). That makes SQLite safe for threads of
one process (the development server, tests); several processes on one SQLite file are not
serialised — run the worker and the web process on PostgreSQL/MariaDB in production.

Unknown outcomes are never guessed. An authorization is journaled *before* KAARA0010 (the
order, the pending payment and a claimed ``Operation`` row are committed first), so even a
crash mid-call leaves something the sweep resolves from Yamato's own answer. A timeout on any
other operation keeps the old status and journals the operation; ``sweep.py`` settles it. (A
process that dies during such a call leaves the old status without a journal row; the status
sync then finds Yamato's state and records it as drift, M25.)

Module map (kept small): this file holds the machinery, authorization, resolution and status
sync; ``sms_flow.py`` the スマホタイプ operations and ``aftersales.py`` capture/cancel/amount/
reissue — both re-exported here, so callers only use ``flask_kuroneko.payments.service``. Helpers:
``transitions.py`` (table), ``journal.py`` (operations + claims), ``history.py`` (logs),
``yamato_requests.py`` (OrderData → requests), ``sweep.py``, ``reactions.py``.
"""
from __future__ import annotations

import logging
import secrets
import threading
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module
from typing import Any, Callable, Mapping

import sqlalchemy as sa
from flask import current_app, url_for
from werkzeug.routing import BuildError

from . import history, journal, transitions
from .. import rules
from . import yamato_requests as yreq
from ..yamato.codes import CreditDecision, Operation as Api
from ..yamato.codes import TransactionStatus as TS
from ..errors import (ApiConnectionError, ApiError, AuthenticationError, InvalidTransition,
                      KuronekoError, OperationPending, PaymentNotFound, ValidationError)
from ..models import PaymentKind, PaymentStatus as S, utcnow

logger = logging.getLogger(__name__)

YAMATO_CARRIERS = ("クロネコヤマト", "ヤマト運輸")
SMS_PHONE_FIELD = "sms_phone"       # same key as checkout_api.SmartphoneForm
SMS_MAX_ATTEMPTS = 5                # wrong codes before Yamato locks the attempt (kaasa021E)
SMS_MAX_RESTARTS = 3                # new SMS (new orderNo) per order
#: An unanswered KAARA0010 is first looked up after this long (a late request must land first).
AUTHORIZE_GRACE = timedelta(seconds=60)

MSG_DECLINED = ("申し訳ありません。今回のご注文ではクロネコ代金後払いをご利用いただけません。"
                "別のお支払い方法をお選びください。")
MSG_LIMIT = ("ご利用限度額を超えているため、クロネコ代金後払いをご利用いただけません。"
             "別のお支払い方法をお選びください。")
MSG_REVIEW = "ただいま与信審査中です。審査結果はあらためてお知らせします。"
MSG_PENDING = "決済処理中です。結果が確定しましたらお知らせします。"
MSG_UNAVAILABLE = ("ただいまクロネコ代金後払いをご利用いただけません。時間をおいて再度お試しいただくか、"
                   "別のお支払い方法をお選びください。")
MSG_SMS_WRONG = "認証コードが間違っています。"
MSG_SMS_EXPIRED = "認証コードの有効期限が切れています。認証コードを再送信してください。"
MSG_SMS_NOT_DELIVERED = "認証コードの受信に失敗しました。"
MSG_SMS_FAILED = "認証に失敗しました。"
MSG_SMS_FORMAT = "認証コードは4桁の半角数字で入力してください。"
MSG_SMS_TIMEOUT = "30分以内に認証が完了しなかったため、ご注文は決済不可となりました。"
MSG_SMS_BACK = "認証を中止されたため、ご注文は決済不可となりました。"


@dataclass
class PaymentOutcome:
    """Result of ``authorize``: authorized | under_review | redirect | declined | pending."""
    kind: str
    payment: Any
    redirect_url: str | None = None
    message: str | None = None


@dataclass
class SmsOutcome:
    """Result of ``verify_sms``: authorized | retry | expired | declined | pending."""
    kind: str
    payment: Any
    attempts_left: int | None = None
    message: str | None = None


# --------------------------------------------------------------------------- app context


def _state() -> Any:
    from ..extension import current_state
    return current_state()


_STRIPES = tuple(threading.RLock() for _ in range(64))


def _local_lock(session: Any, payment_id: int):
    """Per-payment lock for SQLite (no row locks); a no-op on servers with FOR UPDATE."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return nullcontext()
    return _STRIPES[hash((str(bind.url), int(payment_id))) % len(_STRIPES)]


def _send(name: str, payment: Any, **extra: Any) -> None:
    """Send an outbound signal; a failing receiver must not undo a committed payment change."""
    from .. import signals
    try:
        getattr(signals, name).send(current_app._get_current_object(), payment=payment,
                                    order_id=payment.host_order_id if payment else None, **extra)
    except Exception:
        logger.exception("kuroneko: a receiver of %s failed (the payment change is committed)",
                         name)


class _Tx:
    """One locked payment operation: history, error log, signals after commit."""

    def __init__(self, session: Any, models: Any, payment: Any, operation: str,
                 actor: str | None):
        self.session, self.models, self.payment = session, models, payment
        self.operation, self.actor = operation, actor
        self.signals: list[tuple[str, dict]] = []
        self.followups: list[Callable[[], None]] = []
        self.error: Exception | None = None
        self.last_exc: Exception | None = None      # what the last ``call`` failed with

    @property
    def label(self) -> str:
        return transitions.LABELS.get(self.operation, self.operation)

    def emit(self, name: str, **extra: Any) -> None:
        self.signals.append((name, extra))

    def history(self, result: str, *, label: str | None = None, amount: int | None = None,
                detail: str | None = None) -> None:
        history.record(self.session, self.models, self.payment, label or self.label, result,
                       amount=amount, detail=detail, actor=self.actor)

    def error_log(self, message: str, *, code: str | None = None, api: Api | None = None,
                  detail: dict | None = None) -> None:
        history.log_error(self.session, self.models, message=message,
                          order_no=self.payment.order_no, kind=self.payment.kind,
                          operation=api.value if api else self.operation, code=code,
                          detail=detail)

    def failed(self, exc: Exception, api: Api, *, name: str | None = None) -> str:
        """History + error log + payment_error for a refused or unanswered call; returns the
        Japanese message recorded."""
        name = name or self.operation
        if isinstance(exc, ApiConnectionError):
            unknown = exc.may_have_reached
            code = "timeout" if unknown else "connection"
            message = (f"ヤマトからの応答がないため「{self.label}」の結果を確認中です。自動で確認します。"
                       if unknown else
                       f"ヤマトに接続できなかったため「{self.label}」は送信されていません。自動で再試行します。")
            self.history("不明" if unknown else "未送信", detail=message)
        elif isinstance(exc, ValidationError):
            code, message = exc.field, exc.message
            self.history("入力エラー", detail=message)
        else:
            code, message = getattr(exc, "code", None), getattr(exc, "message", str(exc))
            self.history(code or "NG", detail=message)
        self.error_log(message, code=code, api=api)
        self.emit("payment_error", operation=name, code=code, message=message)
        return message

    def call(self, api: Api, fn: Callable[..., Any], *args: Any, params: dict | None = None,
             name: str | None = None, raise_after: bool = True, journal_it: bool = True,
             passthrough: tuple[str, ...] = ()) -> Any:
        """A changing Yamato call; None when it failed (then journaled/logged, error kept).

        Yamato refusals whose code is in ``passthrough`` are re-raised untouched (the caller
        has a plan B, e.g. kaakk050E → re-authorization)."""
        name = name or self.operation
        self.last_exc = None
        try:
            return fn(*args)
        except (ApiError, ValidationError) as exc:
            if (isinstance(exc, ApiError) and not isinstance(exc, ApiConnectionError)
                    and exc.code in passthrough):
                raise
            self.last_exc = exc
            message = self.failed(exc, api, name=name)
            if isinstance(exc, ApiConnectionError) and journal_it:
                state = journal.UNKNOWN if exc.may_have_reached else journal.QUEUED
                journal.add(self.session, self.models, self.payment, name, state,
                            params or {}, error=str(exc))
                exc = OperationPending(message, state=state, operation=name)
            if raise_after:
                self.error = exc
            return None

    def finish(self) -> None:
        for name, extra in self.signals:
            _send(name, self.payment, **extra)
        for followup in self.followups:
            followup()
        if self.error is not None:
            raise self.error


def _load_locked(session: Any, models: Any, payment_id: int) -> Any:
    payment = session.execute(
        sa.select(models.Payment).where(models.Payment.id == int(payment_id))
        .with_for_update().execution_options(populate_existing=True)).scalar_one_or_none()
    if payment is None:
        raise PaymentNotFound(f"決済（ID {payment_id}）が見つかりません。")
    return payment


@contextmanager
def _locked(payment_id: int, operation: str, *, actor: str | None = None, check: bool = True):
    """Lock, check, yield a _Tx; commit on success, then send signals and raise tx.error."""
    state = _state()
    session, models = state.db.session, state.models
    with _local_lock(session, payment_id):
        payment = _load_locked(session, models, payment_id)
        if check:
            transitions.check(operation, payment.status)
            pending = payment.open_operation       # read with the row lock: never stale
            if pending is not None:
                raise InvalidTransition(
                    f"前回の「{transitions.LABELS.get(pending, pending)}」の結果を"
                    "ヤマトに確認中のため、今は操作できません。しばらくしてから再度お試しください。",
                    current=payment.status, operation=operation)
        tx = _Tx(session, models, payment, operation, actor)
        try:
            yield tx
            session.commit()
        except KuronekoError:
            # Refusals are raised before anything is written: keep the caller's own pending
            # work (a host mid-save), only forget unflushed changes to the payment.
            session.expire(payment)
            raise
        except BaseException:
            session.rollback()
            raise
    tx.finish()


# --------------------------------------------------------------------------- lookups


def get_payment(payment_id: int) -> Any:
    payment = _state().db.session.get(_state().models.Payment, int(payment_id))
    if payment is None:
        raise PaymentNotFound(f"決済（ID {payment_id}）が見つかりません。")
    return payment


def payment_by_order_no(order_no: str) -> Any | None:
    models = _state().models
    return _state().db.session.scalar(
        sa.select(models.Payment).where(models.Payment.order_no == str(order_no)))


def payment_by_token(token: str) -> Any | None:
    """The payment bound to an SMS page token (None for unknown tokens)."""
    if not token:
        return None
    models = _state().models
    return _state().db.session.scalar(
        sa.select(models.Payment).where(models.Payment.checkout_token == str(token)))


LIVE = (S.AUTHORIZED.value, S.CAPTURED.value, S.PENDING.value, S.UNDER_REVIEW.value,
        S.AWAITING_SMS.value)


def current_payment(host_order_id: Any, *, lock: bool = False) -> Any | None:
    """The payment that stands for the host order now: the newest 与信/売上確定 one (a
    replacement awaiting its re-authorization does not take over before it is approved), else
    the newest one still in progress, else the newest. ``lock``: a locking read (latest
    committed rows even under MariaDB's REPEATABLE READ), rows locked until the commit."""
    models, session = _state().models, _state().db.session
    P = models.Payment
    query = sa.select(P).where(P.host_order_id == str(host_order_id)).order_by(P.id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    rows = list(session.scalars(query))
    settled = [p for p in rows if p.status in (S.AUTHORIZED.value, S.CAPTURED.value)]
    if settled:
        return settled[-1]
    live = [p for p in rows if p.status in LIVE]
    return (live or rows or [None])[-1]


def operations_for(payment: Any) -> list[str]:
    """Operations the admin may start now (none while an earlier one is unsettled)."""
    if payment.open_operation is not None:
        return ["sync_status"] if transitions.allowed("sync_status", payment.status) else []
    return transitions.operations_for(payment.status)


# --------------------------------------------------------------------------- authorization


def _new_order_no(session: Any, models: Any) -> str:
    while True:
        candidate = f"{secrets.randbelow(10 ** 10):010d}"
        if session.scalar(sa.select(models.Payment.id).where(
                models.Payment.order_no == candidate)) is None:
            return candidate


def _sms_url(payment: Any) -> str | None:
    if not payment.checkout_token:
        return None
    try:
        return url_for("kuroneko_checkout.sms", token=payment.checkout_token)
    except (BuildError, RuntimeError):
        prefix = current_app.config.get("KURONEKO_CHECKOUT_URL_PREFIX", "/kuroneko")
        return f"{prefix.rstrip('/')}/sms/{payment.checkout_token}"


def _fee_inside(settings: Any, order_data: Any) -> int:
    """The 後払い fee the host put on the order: the adjustment equal to fee_for(rest)."""
    for adj in order_data.adjustments:
        if adj.amount > 0 and settings.fee_for(order_data.total - adj.amount) == adj.amount:
            return adj.amount
    return 0


def _customer_message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return exc.message
    if isinstance(exc, AuthenticationError) or (getattr(exc, "code", "") or "").startswith("err"):
        return MSG_UNAVAILABLE
    return f"決済できませんでした（{getattr(exc, 'message', exc)}）。ご入力内容をご確認ください。"


def _outcome(payment: Any, message: str | None = None) -> PaymentOutcome:
    status = payment.status
    if status == S.AUTHORIZED.value or status == S.CAPTURED.value:
        return PaymentOutcome("authorized", payment)
    if status == S.UNDER_REVIEW.value:
        return PaymentOutcome("under_review", payment, message=MSG_REVIEW)
    if status == S.AWAITING_SMS.value:
        return PaymentOutcome("redirect", payment, redirect_url=_sms_url(payment))
    if status == S.PENDING.value:
        return PaymentOutcome("pending", payment, message=MSG_PENDING,
                              redirect_url=_sms_url(payment))
    return PaymentOutcome("declined", payment, message=message or MSG_DECLINED)


def _is_reauthorization(tx: _Tx) -> Any | None:
    """The still-live payment a replacement re-authorizes (amount increase), else None."""
    replaced_id = tx.payment.replaces_id
    if not replaced_id:
        return None
    old = tx.session.get(tx.models.Payment, replaced_id)
    return old if old is not None and old.status in (S.AUTHORIZED.value, S.CAPTURED.value) else None


def _apply_decision(tx: _Tx, decision: CreditDecision, *, label: str = "決済依頼") -> str | None:
    """Move a pending/under-review payment to the status Yamato's decision means."""
    p, now = tx.payment, utcnow()
    tx.history(decision.label, label=label, amount=p.amount)
    if decision == CreditDecision.APPROVED:
        p.status, p.authorized_at = S.AUTHORIZED.value, now
        if _is_reauthorization(tx) is not None:
            new_id = p.id
            tx.followups.append(lambda: aftersales._retire_replaced(new_id))
        else:
            tx.emit("payment_authorized")
        return None
    if decision in (CreditDecision.DECLINED, CreditDecision.LIMIT_EXCEEDED):
        message = MSG_LIMIT if decision == CreditDecision.LIMIT_EXCEEDED else MSG_DECLINED
        p.status = S.DECLINED.value
        if _is_reauthorization(tx) is not None:
            text = f"増額のための再与信が承認されませんでした（{decision.label}）。利用額は変更されていません。"
            tx.error_log(text, code=f"result{int(decision)}", api=Api.AUTHORIZE)
            tx.emit("payment_error", operation="change_amount", code=f"result{int(decision)}",
                    message=text)
        else:
            tx.emit("payment_declined", message=message)
        return message
    if p.kind == PaymentKind.SMARTPHONE.value:
        p.status, p.sms_sent_at = S.AWAITING_SMS.value, now
    else:
        p.status = S.UNDER_REVIEW.value
    tx.emit("payment_under_review")
    return None


def _conclude_authorization(tx: _Tx, op: Any, result: Any, exc: Exception | None) -> str | None:
    """Apply KAARA0010's answer (or its absence) to a pending payment; returns a message."""
    p, now = tx.payment, utcnow()
    if result is not None:
        journal.settle(op, journal.DONE, payment=p, now=now)
        return _apply_decision(tx, result.decision)
    if isinstance(exc, ApiConnectionError):
        tx.failed(exc, Api.AUTHORIZE)
        op.claimed_by = op.claimed_until = None
        op.last_error = str(exc)
        if exc.may_have_reached:
            op.state, op.next_attempt_at = journal.UNKNOWN, now + AUTHORIZE_GRACE
            return MSG_PENDING
        if p.kind == PaymentKind.SMARTPHONE.value:   # the customer is here: let them retry now
            journal.settle(op, journal.FAILED, payment=p, now=now)
            p.status = S.DECLINED.value
            tx.emit("payment_declined", message=MSG_UNAVAILABLE)
            return MSG_UNAVAILABLE
        op.state, op.next_attempt_at = journal.QUEUED, now + journal.backoff(0)
        return MSG_PENDING
    if isinstance(exc, ApiError) and exc.code == "kaara009E":
        # Only a resend can meet its own orderNo: the first request did arrive. Ask later.
        op.claimed_by = op.claimed_until = None
        op.state, op.next_attempt_at = journal.UNKNOWN, now
        tx.history("受付済み", detail="同じ受注番号の決済依頼がヤマトに登録済みです。結果を照会します。")
        return MSG_PENDING
    tx.failed(exc, Api.AUTHORIZE)
    journal.settle(op, journal.FAILED, payment=p, now=now, error=str(exc))
    p.status = S.DECLINED.value
    message = _customer_message(exc)
    if _is_reauthorization(tx) is None:
        tx.emit("payment_declined", message=message)
    return message


def _send_authorization(payment_id: int, op_id: int, req: Any, *, actor: str | None) -> str | None:
    """KAARA0010 for a pending payment whose journal row is committed and claimed by us."""
    state = _state()
    try:
        result, exc = state.client().authorize(req), None
    except (ApiError, ValidationError) as error:
        result, exc = None, error
    with _locked(payment_id, "authorize", actor=actor, check=False) as tx:
        op = tx.session.get(tx.models.Operation, op_id, populate_existing=True)
        return _conclude_authorization(tx, op, result, exc)


@dataclass
class _Attempt:
    """A pending payment whose KAARA0010 is journaled ahead (``op``), not sent yet; or one
    refused before sending (``refused``: declined, its ``tx`` finished after the commit)."""
    payment: Any
    order_data: Any
    op: Any = None
    req: Any = None
    tx: Any = None
    refused: str | None = None


def _prepare_attempt(order_data: Any, *, method_id: int | None, kind: str,
                     sms_phone: str | None, replaces: Any = None,
                     actor: str | None) -> _Attempt:
    """Add a pending payment and its journaled KAARA0010 to the session (the caller commits,
    then calls :func:`_send_attempt`). Committing it together with the replaced payment's
    history, under that payment's row lock, is what makes a re-authorization visible to the
    next operation on the old payment (no second re-authorization)."""
    state = _state()
    session, models, settings = state.db.session, state.models, state.settings()
    order_no = _new_order_no(session, models)
    order_date = rules.jst_date(order_data.placed_at)
    ship_date = rules.planned_ship_date(order_date, ship_within_days=settings.ship_within_days,
                                        desired_delivery_date=order_data.desired_delivery_date)
    payment = models.Payment(
        order_no=order_no, host_order_id=str(order_data.order_id), method_id=method_id,
        kind=kind, status=S.PENDING.value, amount=order_data.total,
        initial_amount=order_data.total, fee=_fee_inside(settings, order_data),
        order_date=order_date, ship_date=ship_date, sms_phone=sms_phone,
        checkout_token=secrets.token_urlsafe(24) if kind == PaymentKind.SMARTPHONE.value else None,
        replaces_id=replaces.id if replaces is not None else None)
    session.add(payment)
    session.flush()
    tx = _Tx(session, models, payment, "authorize", actor)
    try:
        req = yreq.authorization_request(order_data, order_no=order_no, order_date=order_date,
                                          ship_date=ship_date, sms_phone=sms_phone)
        state.client().build_form(Api.AUTHORIZE, req)      # validate before anything goes out
    except ValidationError as exc:
        tx.failed(exc, Api.AUTHORIZE)
        payment.status = S.DECLINED.value
        if _is_reauthorization(tx) is None:
            tx.emit("payment_declined", message=exc.message)
        return _Attempt(payment, order_data, tx=tx, refused=exc.message)
    timeout = float(current_app.config.get("KURONEKO_TIMEOUT", 20.0))
    op = journal.add(session, models, payment, "authorize", journal.UNKNOWN,
                     {"request": yreq.request_to_json(req)},
                     claimed_by=f"request-{secrets.token_hex(6)}", claim_seconds=timeout + 60)
    return _Attempt(payment, order_data, op=op, req=req)


def _send_attempt(attempt: _Attempt, *, actor: str | None) -> tuple[Any, str | None]:
    """After the commit of :func:`_prepare_attempt`: log M23, call KAARA0010."""
    payment = attempt.payment
    if attempt.refused is not None:
        attempt.tx.finish()
        return payment, attempt.refused
    state = _state()
    if state.settings().prepayment_log_enabled:
        try:
            history.write_prepayment_log(state.db.engine, state.models, order_no=payment.order_no,
                                         host_order_id=payment.host_order_id, kind=payment.kind,
                                         amount=attempt.order_data.total,
                                         order_data=attempt.order_data)
        except Exception:   # the order is committed already; the log is a second safety net
            logger.exception("kuroneko: pre-payment log for %s could not be written",
                             payment.order_no)
    message = _send_authorization(payment.id, attempt.op.id, attempt.req, actor=actor)
    return payment, message


def _start_attempt(order_data: Any, *, method_id: int | None, kind: str, sms_phone: str | None,
                   replaces: Any = None, actor: str | None) -> tuple[Any, str | None]:
    """Create a pending payment, journal it ahead, commit, log M23, call KAARA0010."""
    attempt = _prepare_attempt(order_data, method_id=method_id, kind=kind, sms_phone=sms_phone,
                               replaces=replaces, actor=actor)
    _state().db.session.commit()  # order + pending payment + journal: nothing at Yamato we do not know
    return _send_attempt(attempt, actor=actor)


def authorize(order: Any, method_id: int, form_data: Mapping[str, Any] | None = None) -> PaymentOutcome:
    """Start the payment of a host order (flushed, maybe uncommitted) → PaymentOutcome."""
    state = _state()
    session, models, settings = state.db.session, state.models, state.settings()
    method = session.get(models.PaymentMethod, int(method_id))
    if method is None or not method.active or (
            method.kind == PaymentKind.SMARTPHONE.value and not settings.smartphone_enabled):
        raise InvalidTransition("選択された支払方法は現在ご利用いただけません。", operation="authorize")
    order_data = state.describe(order)
    sms_phone = None
    if method.kind == PaymentKind.SMARTPHONE.value:
        sms_phone = str((form_data or {}).get(SMS_PHONE_FIELD) or "")
    with _checkout_lock(session, models, order_data.order_id):
        existing = current_payment(order_data.order_id, lock=True)
        if existing is not None and existing.status in LIVE:
            logger.info("kuroneko: order %s already has payment %s (%s); not authorizing twice",
                        order_data.order_id, existing.order_no, existing.status)
            return _outcome(existing)
        attempt = _prepare_attempt(order_data, method_id=method.id, kind=method.kind,
                                   sms_phone=sms_phone, actor="customer")
        session.commit()     # order + pending payment + journal; ends the checkout lock
    payment, message = _send_attempt(attempt, actor="customer")
    return _outcome(payment, message)


@contextmanager
def _checkout_lock(session: Any, models: Any, host_order_id: Any):
    """Serialise "does this order have a live payment? else create one" across requests, so a
    double click (two start_payment of one order at once) sends one KAARA0010. PostgreSQL and
    MariaDB: the payment-method rows, locked in id order until the caller's commit (a short
    critical section: no Yamato call inside). SQLite: a process-local lock per order."""
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        with _STRIPES[hash((str(bind.url), "order", str(host_order_id))) % len(_STRIPES)]:
            yield
        return
    session.execute(sa.select(models.PaymentMethod.id).order_by(models.PaymentMethod.id)
                    .with_for_update()).all()
    yield


# --------------------------------------------------------------------------- resolution


def resolve(payment_id: int) -> Any:
    """審査中 / awaiting SMS / pending: settle from Yamato's answer (KAARS0010/KAAST0010)."""
    from . import sweep
    state = _state()
    op = journal.open_operation(state.db.session, state.models, int(payment_id))
    if op is not None:
        sweep.settle_operation(op.id, worker_id=f"resolve-{secrets.token_hex(4)}", force=True)
        return get_payment(payment_id)
    with _locked(payment_id, "resolve", actor="system") as tx:
        p = tx.payment
        client = state.status_client()
        if p.status == S.UNDER_REVIEW.value or p.status == S.PENDING.value:
            try:
                decision = client.get_credit_result(p.order_no).decision
            except ApiError as exc:
                logger.warning("kuroneko: KAARS0010 for %s failed: %s", p.order_no, exc)
                return p
            if decision != CreditDecision.UNDER_REVIEW:
                _apply_decision(tx, decision, label="審査結果")
            return p
        try:
            status = client.get_status(p.order_no).status
        except ApiError as exc:
            logger.warning("kuroneko: KAAST0010 for %s failed: %s", p.order_no, exc)
            return p
        reconcile(tx, status)
    return tx.payment


# --------------------------------------------------------------------------- status sync (M25)

#: Our status -> Yamato statuses that agree with it.
AGREEING = {
    S.AUTHORIZED.value: {1, 6},
    S.CAPTURED.value: {3, 5, 6, 10, 11, 12},
    S.CANCELLED.value: {2},
    S.DECLINED.value: {2, 31, 32},
}


def reconcile(tx: _Tx, yamato: TS) -> None:
    """Compare Yamato's 取引状況 with ours; record drift (M25) and follow Yamato's facts."""
    p, now = tx.payment, utcnow()
    p.yamato_status, p.synced_at = int(yamato), now
    if p.status in (S.UNDER_REVIEW.value, S.AWAITING_SMS.value, S.PENDING.value):
        if int(yamato) in AGREEING[S.AUTHORIZED.value] | AGREEING[S.CAPTURED.value]:
            _apply_decision(tx, CreditDecision.APPROVED, label="取引状況確認")
        elif yamato in (TS.NOT_AVAILABLE, TS.CANCELLED) or (
                yamato == TS.VOIDED and sms_flow.sms_window_over(p, now)):
            _apply_decision(tx, CreditDecision.DECLINED, label="取引状況確認")
        return      # 審査中 (30), or an expired code the customer may still replace (31)
    if int(yamato) in AGREEING.get(p.status, ()):
        return
    text = (f"ヤマトの取引状況は「{yamato.label}」ですが、当店の決済状況は「{S(p.status).label}」です。"
            "ヤマトの管理画面で操作された可能性があります。")
    p.drift = f"{now:%Y-%m-%d %H:%M} {text}"
    tx.history("状態不一致", label="取引状況確認", detail=text)
    tx.error_log(text, code="drift", api=Api.STATUS)
    tx.emit("payment_error", operation="sync_status", code="drift", message=text)
    if yamato == TS.CANCELLED:
        p.status, p.cancelled_at = S.CANCELLED.value, now
        tx.emit("payment_cancelled")
    elif yamato in (TS.SLIP_REGISTERED, TS.DELIVERY_INVESTIGATION, TS.SALES_CONFIRMED,
                    TS.INVOICE_ISSUED, TS.PAID) and p.status == S.AUTHORIZED.value:
        p.status, p.captured_at = S.CAPTURED.value, now
        tx.emit("sales_confirmed")
    elif yamato == TS.APPROVED and p.status == S.CAPTURED.value:
        p.status, p.captured_at, p.tracking_no, p.process_div = S.AUTHORIZED.value, None, None, None
    elif yamato in (TS.NOT_AVAILABLE, TS.VOIDED) and p.status == S.AUTHORIZED.value:
        p.status = S.DECLINED.value
        tx.emit("payment_declined", message=MSG_DECLINED)


def sync_status(payment_id: int) -> Any:
    """取引状況確認 (KAAST0010): refresh Yamato's status, record drift (M25)."""
    state = _state()
    with _locked(payment_id, "sync_status", actor="system") as tx:
        p = tx.payment
        try:
            result = state.status_client().get_status(p.order_no)
        except ApiError as exc:
            if exc.code == "kaast008E" and p.status in AGREEING:
                text = "ヤマトにこの決済の取引が見つかりません。"
                p.drift, p.synced_at = f"{utcnow():%Y-%m-%d %H:%M} {text}", utcnow()
                tx.history("状態不一致", detail=text)
                tx.error_log(text, code=exc.code, api=Api.STATUS)
            else:
                logger.warning("kuroneko: KAAST0010 for %s failed: %s", p.order_no, exc)
                tx.error = exc
            return p
        p.yamato_warning = int(result.warning)
        reconcile(tx, result.status)
    return tx.payment


def sweep(*, now: Any = None, worker_id: str | None = None, **options: Any) -> Any:
    """Background work (SMS expiry, 審査中, unknown outcomes, retries, status sync): see sweep.py
    (``options``: sync_interval, sync_batch)."""
    from . import sweep as sweeper
    return sweeper.sweep(now=now, worker_id=worker_id, **options)


# --------------------------------------------------------------------------- split modules

#: Public operations living in sibling modules (kept small), re-exported here so callers
#: only ever use ``flask_kuroneko.payments.service``.
_ELSEWHERE = {
    **dict.fromkeys(("sms_window_over", "verify_sms", "restart_sms", "abandon_sms",
                     "handle_sms_push", "NOT_HELD"), "sms"),
    **dict.fromkeys(("capture_plan", "capture", "change_tracking", "cancel_shipment", "cancel",
                     "change_amount", "reissue_invoice", "mark_captured",
                     "mark_shipment_cancelled", "mark_cancelled", "_is_yamato",
                     "_host_order_data"), "aftersales"),
}


def __getattr__(name: str) -> Any:
    module = _ELSEWHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__package__}.{module}"), name)


from . import aftersales, sms as sms_flow  # noqa: E402  (siblings import this module's core first)
