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
other operation keeps the old status and journals the operation; ``sweep.py`` settles it.
"""
from __future__ import annotations

import logging
import secrets
import threading
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Mapping

import sqlalchemy as sa
from flask import current_app, url_for
from werkzeug.routing import BuildError

from . import history, journal, rules, transitions
from . import yamato_requests as yreq
from .codes import CreditDecision, Operation as Api, ProcessDiv, ReissueReason, SmsResult
from .codes import TransactionStatus as TS
from .datatypes import ShipmentRequest
from .errors import (ApiConnectionError, ApiError, AuthenticationError, CaptureRefused,
                     InvalidTransition, KuronekoError, OperationPending, PaymentNotFound,
                     ValidationError)
from .models import PaymentKind, PaymentStatus as S, utcnow

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
    from .extension import current_state
    return current_state()


def _settings() -> Any:
    return _state().settings()


_STRIPES = tuple(threading.RLock() for _ in range(64))


def _local_lock(session: Any, payment_id: int):
    """Per-payment lock for SQLite (no row locks); a no-op on servers with FOR UPDATE."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return nullcontext()
    return _STRIPES[hash((str(bind.url), int(payment_id))) % len(_STRIPES)]


def _send(name: str, payment: Any, **extra: Any) -> None:
    """Send an outbound signal; a failing receiver must not undo a committed payment change."""
    from . import signals
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

    def failed(self, exc: Exception, api: Api, *, name: str | None = None) -> None:
        """History + error log + payment_error for a refused or unanswered call."""
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
            self.failed(exc, api, name=name)
            if isinstance(exc, ApiConnectionError) and journal_it:
                state = journal.UNKNOWN if exc.may_have_reached else journal.QUEUED
                journal.add(self.session, self.models, self.payment, name, state,
                            params or {}, error=str(exc))
                exc = OperationPending(self.signals[-1][1]["message"], state=state,
                                       operation=name)
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


def current_payment(host_order_id: Any) -> Any | None:
    """The payment that stands for the host order now: the oldest live one (a replacement
    awaiting its re-authorization does not take over before it is approved), else the latest."""
    models, session = _state().models, _state().db.session
    P = models.Payment
    rows = list(session.scalars(sa.select(P).where(P.host_order_id == str(host_order_id))
                                .order_by(P.id)))
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
            tx.followups.append(lambda: _retire_replaced(new_id))
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


def _start_attempt(order_data: Any, *, method_id: int | None, kind: str, sms_phone: str | None,
                   replaces: Any = None, actor: str | None) -> tuple[Any, str | None]:
    """Create a pending payment, journal it ahead, commit, log M23, call KAARA0010."""
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
        if replaces is None or replaces.kind == PaymentKind.SMARTPHONE.value:
            tx.emit("payment_declined", message=exc.message)
        session.commit()
        tx.finish()
        return payment, exc.message
    timeout = float(current_app.config.get("KURONEKO_TIMEOUT", 20.0))
    op = journal.add(session, models, payment, "authorize", journal.UNKNOWN,
                     {"request": yreq.request_to_json(req)},
                     claimed_by=f"request-{secrets.token_hex(6)}", claim_seconds=timeout + 60)
    session.commit()     # order + pending payment + journal: nothing at Yamato we do not know
    if settings.prepayment_log_enabled:
        try:
            history.write_prepayment_log(state.db.engine, models, order_no=order_no,
                                         host_order_id=payment.host_order_id, kind=kind,
                                         amount=order_data.total, order_data=order_data)
        except Exception:   # the order is committed already; the log is a second safety net
            logger.exception("kuroneko: pre-payment log for %s could not be written", order_no)
    message = _send_authorization(payment.id, op.id, req, actor=actor)
    return payment, message


def authorize(order: Any, method_id: int, form_data: Mapping[str, Any] | None = None) -> PaymentOutcome:
    """Start the payment of a host order (flushed, maybe uncommitted) → PaymentOutcome."""
    state = _state()
    session, models, settings = state.db.session, state.models, state.settings()
    method = session.get(models.PaymentMethod, int(method_id))
    if method is None or not method.active or (
            method.kind == PaymentKind.SMARTPHONE.value and not settings.smartphone_enabled):
        raise InvalidTransition("選択された支払方法は現在ご利用いただけません。", operation="authorize")
    order_data = state.describe(order)
    existing = current_payment(order_data.order_id)
    if existing is not None and existing.status in LIVE:
        logger.info("kuroneko: order %s already has payment %s (%s); not authorizing twice",
                    order_data.order_id, existing.order_no, existing.status)
        return _outcome(existing)
    sms_phone = None
    if method.kind == PaymentKind.SMARTPHONE.value:
        sms_phone = str((form_data or {}).get(SMS_PHONE_FIELD) or "")
    payment, message = _start_attempt(order_data, method_id=method.id, kind=method.kind,
                                      sms_phone=sms_phone, actor="customer")
    return _outcome(payment, message)


# --------------------------------------------------------------------------- スマホタイプ


def _sms_chain(session: Any, models: Any, payment: Any) -> list[Any]:
    """This attempt and the attempts it replaced (restart_sms), newest first."""
    chain = [payment]
    while chain[-1].replaces_id and len(chain) < 20:
        previous = session.get(models.Payment, chain[-1].replaces_id)
        if previous is None or previous.kind != PaymentKind.SMARTPHONE.value:
            break
        chain.append(previous)
    return chain


def sms_window_over(payment: Any, now: Any = None) -> bool:
    """True when the order's SMS window (KURONEKO_SMS_WINDOW_MINUTES, from the first SMS) ended."""
    state = _state()
    now = now or utcnow()
    sent = [p.sms_sent_at for p in _sms_chain(state.db.session, state.models, payment) if p.sms_sent_at]
    if not sent:
        return False
    minutes = int(current_app.config.get("KURONEKO_SMS_WINDOW_MINUTES", 30))
    return now >= min(sent) + timedelta(minutes=minutes)


def _decline_sms(tx: _Tx, message: str, detail: str) -> None:
    """決済不可 for an SMS attempt; cancel at Yamato only when Yamato approved it meanwhile."""
    p = tx.payment
    client = _state().client()
    unknown, yamato = False, None
    try:
        yamato = client.get_status(p.order_no).status
    except ApiConnectionError:
        unknown = True
    except ApiError as exc:      # kaast008E: Yamato has nothing to cancel
        logger.info("kuroneko: KAAST0010 for abandoned %s: %s", p.order_no, exc.code)
    if unknown:                  # let the sweep ask again and cancel if Yamato holds it
        journal.add(tx.session, tx.models, p, "cancel", journal.UNKNOWN, {"keep_status": True},
                    error="status unknown while declining the SMS attempt")
    elif yamato is not None and yamato not in NOT_HELD:
        tx.call(Api.CANCEL, client.cancel, p.order_no, params={"keep_status": True},
                name="cancel", raise_after=False)
    p.status = S.DECLINED.value
    tx.history("決済不可", detail=detail)
    tx.emit("payment_declined", message=message)


#: Yamato statuses in which Yamato holds no approved transaction to cancel.
NOT_HELD = (TS.UNDER_REVIEW, TS.VOIDED, TS.NOT_AVAILABLE, TS.CANCELLED)


def verify_sms(payment_id: int, code: str, *, actor: str = "customer") -> SmsOutcome:
    """Check the customer's 4-digit code (KAASA0020)."""
    from .normalize import normalize_sms_code
    with _locked(payment_id, "verify_sms", actor=actor) as tx:
        p = tx.payment
        if sms_window_over(p):
            _decline_sms(tx, MSG_SMS_TIMEOUT, "SMS認証の有効時間切れ")
            return SmsOutcome("declined", p, message=MSG_SMS_TIMEOUT)
        if p.yamato_status == int(TS.VOIDED):
            return SmsOutcome("expired", p, message=MSG_SMS_EXPIRED)
        try:
            code = normalize_sms_code(code)
        except ValidationError:
            return SmsOutcome("retry", p, attempts_left=SMS_MAX_ATTEMPTS - p.sms_attempts,
                              message=MSG_SMS_FORMAT)
        client = _state().client()
        try:
            res = client.verify_sms(p.order_no, code)
        except ApiConnectionError as exc:
            tx.failed(exc, Api.VERIFY_SMS)
            if exc.may_have_reached:     # the code may have been accepted: ask Yamato later
                journal.add(tx.session, tx.models, p, "verify_sms", journal.UNKNOWN, {},
                            error=str(exc))
                return SmsOutcome("pending", p, message=MSG_PENDING)
            return SmsOutcome("retry", p, attempts_left=SMS_MAX_ATTEMPTS - (p.sms_attempts or 0),
                              message="通信エラーが発生しました。もう一度認証コードを入力してください。")
        except (ApiError, ValidationError) as exc:      # kaasa021E (attempts exceeded) …
            tx.failed(exc, Api.VERIFY_SMS)
            _decline_sms(tx, MSG_SMS_FAILED, "SMS認証エラー")
            return SmsOutcome("declined", p, message=MSG_SMS_FAILED)
        tx.history(res.result.label)
        if res.result == SmsResult.OK:
            p.status, p.authorized_at = S.AUTHORIZED.value, utcnow()
            tx.emit("payment_authorized")
            return SmsOutcome("authorized", p)
        if res.result == SmsResult.MISMATCH:
            p.sms_attempts = (p.sms_attempts or 0) + 1
            left = max(SMS_MAX_ATTEMPTS - p.sms_attempts, 0)
            return SmsOutcome("retry", p, attempts_left=left, message=MSG_SMS_WRONG)
        if res.result == SmsResult.EXPIRED:
            p.yamato_status = int(TS.VOIDED)   # Yamato voided this attempt; restart_sms may follow
            return SmsOutcome("expired", p, message=MSG_SMS_EXPIRED)
        if res.result == SmsResult.NOT_AWAITING:     # e.g. already authenticated: ask Yamato
            try:
                yamato = client.get_status(p.order_no).status
            except ApiError:
                yamato = None
            if yamato == TS.APPROVED:
                p.status, p.authorized_at = S.AUTHORIZED.value, utcnow()
                tx.emit("payment_authorized")
                return SmsOutcome("authorized", p)
            if yamato == TS.VOIDED:
                p.yamato_status = int(TS.VOIDED)
                return SmsOutcome("expired", p, message=MSG_SMS_EXPIRED)
        message = MSG_SMS_NOT_DELIVERED if res.result == SmsResult.SMS_NOT_DELIVERED else MSG_SMS_FAILED
        _decline_sms(tx, message, res.result.label)
        return SmsOutcome("declined", p, message=message)


def restart_sms(payment_id: int) -> Any:
    """A new SMS: a new attempt row (new orderNo = new リンクキー); the old attempt is voided."""
    state = _state()
    with _locked(payment_id, "restart_sms", actor="customer") as tx:
        old = tx.payment
        if sms_window_over(old):
            _decline_sms(tx, MSG_SMS_TIMEOUT, "SMS認証の有効時間切れ")
            timed_out = True
        else:
            timed_out = False
            if len(_sms_chain(tx.session, tx.models, old)) > SMS_MAX_RESTARTS:
                raise InvalidTransition(f"認証コードの再送信は{SMS_MAX_RESTARTS}回までです。",
                                        current=old.status, operation="restart_sms")
            order = state.load_order(old.host_order_id)
            if order is None:
                raise PaymentNotFound(f"受注（{old.host_order_id}）が見つかりません。")
            order_data = state.describe(order)
            old.status = S.DECLINED.value          # superseded: no payment_declined signal
            tx.history("再送信", detail="新しい受注番号で認証コードを再送信します。")
    if timed_out:
        return old
    new, _message = _start_attempt(order_data, method_id=old.method_id, kind=old.kind,
                                   sms_phone=old.sms_phone, replaces=old, actor="customer")
    return new


def abandon_sms(payment_id: int, *, reason: str = "back") -> Any:
    """「戻る」 or the 30-minute window passed → 決済不可 (cancel at Yamato when needed)."""
    message = MSG_SMS_TIMEOUT if reason == "timeout" else MSG_SMS_BACK
    actor = "sweep" if reason == "timeout" else "customer"
    with _locked(payment_id, "abandon_sms", actor=actor) as tx:
        _decline_sms(tx, message, "有効時間切れ" if reason == "timeout" else "戻る")
    return tx.payment


def handle_sms_push(form: Mapping[str, str]) -> Any | None:
    """Yamato's SMS result push: never trusted as such, it only triggers ``resolve``."""
    order_no = (form.get("juchuNo") or "").strip()
    payment = payment_by_order_no(order_no) if order_no else None
    if payment is None:
        logger.warning("kuroneko: SMS push for unknown order_no %r ignored", order_no)
        return None
    if (form.get("ycfStrNo") or "").strip() != _state().client().merchant_code:
        logger.warning("kuroneko: SMS push for another merchant ignored (%s)", order_no)
        return None
    if not transitions.allowed("resolve", payment.status):
        return payment
    return resolve(payment.id)


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
        p.yamato_status, p.synced_at = int(status), utcnow()
        if status == TS.APPROVED:
            p.status, p.authorized_at = S.AUTHORIZED.value, utcnow()
            tx.history("判定OK", label="SMS認証")
            tx.emit("payment_authorized")
        elif status in (TS.VOIDED, TS.NOT_AVAILABLE) and not sms_window_over(p):
            pass   # code expired at Yamato: the customer may still ask for a new SMS
        elif status in (TS.VOIDED, TS.NOT_AVAILABLE, TS.CANCELLED):
            p.status = S.DECLINED.value
            tx.history("決済不可", label="SMS認証", detail=status.label)
            tx.emit("payment_declined", message=MSG_SMS_FAILED)
    return tx.payment


# --------------------------------------------------------------------------- shipment (売上確定)


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


def change_amount(payment_id: int, *, actor: str | None = None) -> Any:
    """利用額変更 from the host's current OrderData (KAAKK0010). When Yamato refuses an increase
    (kaakk050E) the order is re-authorized under a new orderNo; if that is declined, the old
    payment is kept untouched and ApiError is raised."""
    state = _state()
    reauthorize = None
    with _locked(payment_id, "change_amount", actor=actor) as tx:
        p = tx.payment
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
        except ApiError as exc:
            tx.history(exc.code, detail=exc.message)
            if p.kind == PaymentKind.SMARTPHONE.value or data.total <= p.amount:
                tx.failed(exc, Api.CHANGE_AMOUNT)
                tx.error = exc
            else:
                tx.history("再与信", detail=f"増額（{old_amount:,}円 → {data.total:,}円）を新しい受注番号で再与信します。")
                reauthorize = data
            ok = None
        if ok is not None:
            p.amount = data.total
            tx.history("OK", amount=data.total, detail=f"{old_amount:,}円 → {data.total:,}円")
            tx.emit("payment_amount_changed", old_amount=old_amount, new_amount=data.total)
    if reauthorize is None:
        return tx.payment
    old = get_payment(payment_id)
    new, message = _start_attempt(reauthorize, method_id=old.method_id, kind=old.kind,
                                  sms_phone=None, replaces=old, actor=actor)
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
        if yamato == TS.APPROVED:
            _apply_decision(tx, CreditDecision.APPROVED, label="取引状況確認")
        elif yamato == TS.NOT_AVAILABLE or (yamato == TS.VOIDED and sms_window_over(p, now)):
            _apply_decision(tx, CreditDecision.DECLINED, label="取引状況確認")
        return
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
