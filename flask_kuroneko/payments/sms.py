"""スマホタイプ (M12) operations of the state machine: SMS code check, new SMS, 「戻る」 /
30-minute window, Yamato's push. Split out of ``service.py`` (size); use them through
``flask_kuroneko.payments.service``, which re-exports every public name here.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Mapping

from flask import current_app

from . import journal, transitions
from ..yamato.codes import Operation as Api, SmsResult
from ..yamato.codes import TransactionStatus as TS
from ..errors import (ApiConnectionError, ApiError, InvalidTransition, PaymentNotFound,
                      ValidationError)
from ..models import PaymentKind, PaymentStatus as S, utcnow
from .service import (MSG_PENDING, MSG_SMS_BACK, MSG_SMS_EXPIRED, MSG_SMS_FAILED,
                      MSG_SMS_FORMAT, MSG_SMS_NOT_DELIVERED, MSG_SMS_TIMEOUT, MSG_SMS_WRONG,
                      SMS_MAX_ATTEMPTS, SMS_MAX_RESTARTS, SmsOutcome, _locked, _start_attempt,
                      _state, _Tx, payment_by_order_no, resolve)

logger = logging.getLogger(__name__)


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
    from ..yamato.normalize import normalize_sms_code
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
