"""スマホタイプ (M12): the 認証番号 check, a new SMS (「再送信」), 「戻る」 and the 30-minute window.

KAASA0020 is journaled ahead like every changing request: a code accepted by Yamato just before
a crash is found by the sweep (KAAST0010 says 承認済み) and the payment becomes 与信 — it is
never declined as expired. Before a waiting payment is expired, Yamato is asked: an accepted
code whose answer was lost makes it 与信 instead.

A declined attempt that Yamato may hold is released by a journaled cancel (``keep_status``),
settled right after the commit and, after a crash, by the sweep.
"""
from __future__ import annotations

import logging
from typing import Any, Mapping

from ..errors import ApiConnectionError, InvalidTransition, PaymentNotFound, ValidationError
from ..models import PaymentStatus as S
from ..state import current_state
from ..yamato.codes import Operation as Api, SmsResult, TransactionStatus as TS
from ..yamato.normalize import normalize_sms_code
from . import journal, messages, status, transitions, yamato_side
from .authorization import prepare_attempt, send_attempt
from .outcomes import SmsOutcome, SmsOutcomeKind as K
from .pipeline import Answer, Tx, ask_yamato, inquire, locked
from .lookups import payment_by_order_no
from .recovery import resolve, settle_operation
from .sms_window import EXPIRED_DETAIL, sms_chain, sms_window_over

logger = logging.getLogger(__name__)

SMS_MAX_ATTEMPTS = 5                # wrong codes before Yamato locks the attempt (kaasa021E)
SMS_MAX_RESTARTS = 3                # new SMS (new 決済ID) per order


def attempts_left(payment: Any) -> int:
    return max(SMS_MAX_ATTEMPTS - (payment.sms_attempts or 0), 0)


def decline(tx: Tx, message: str, detail: str) -> None:
    """決済不可 for an SMS attempt, and a journaled release at Yamato (cancelled there only if
    Yamato approved it meanwhile; see recovery's cancel with ``keep_status``)."""
    p = tx.payment
    status.move(p, S.DECLINED)
    tx.history("決済不可", detail=detail)
    tx.emit("payment_declined", message=message)
    op = journal.add(tx.session, tx.models, p, "cancel", journal.QUEUED, {"keep_status": True})
    tx.session.flush()
    op_id = op.id
    tx.after_commit(lambda: settle_operation(op_id, worker_id=journal.claimant("sms"),
                                             force=True))


def authorize_from_status(tx: Tx, label: str = "取引状況確認") -> None:
    """Yamato shows the attempt 承認済み: the code was accepted (its answer was lost)."""
    tx.history(TS.APPROVED.label, label=label, amount=tx.payment.amount)
    status.move(tx.payment, S.AUTHORIZED)
    tx.emit("payment_authorized")


def expire(tx: Tx, message: str = messages.MSG_SMS_TIMEOUT) -> SmsOutcome:
    """The window is over: ask Yamato first (a lost answer to an accepted code → 与信), else
    決済不可."""
    answer = inquire("status", tx.payment.order_no)
    if not answer.ok:
        logger.info("kuroneko: KAAST0010 before expiring %s: %s", tx.payment.order_no,
                    answer.error)
    if answer.ok and answer.result.status == TS.APPROVED:
        authorize_from_status(tx)
        return SmsOutcome(K.AUTHORIZED, tx.payment)
    decline(tx, message, EXPIRED_DETAIL)
    return SmsOutcome(K.DECLINED, tx.payment, message=message)


def conclude_verification(tx: Tx, op: Any, answer: Answer) -> SmsOutcome:
    """Apply KAASA0020's answer (or its absence) to the waiting payment."""
    p = tx.payment
    if not answer.ok:
        exc = answer.error
        tx.report(exc, Api.VERIFY_SMS)
        if isinstance(exc, ApiConnectionError) and exc.may_have_reached:
            journal.release(op, journal.UNKNOWN, error=str(exc))   # the code may be accepted
            return SmsOutcome(K.PENDING, p, message=messages.MSG_PENDING)
        journal.settle(op, journal.FAILED, payment=p, error=str(exc))
        if isinstance(exc, ApiConnectionError):                   # never reached Yamato
            return SmsOutcome(K.RETRY, p, attempts_left=attempts_left(p),
                              message=messages.MSG_SMS_RETRY)
        decline(tx, messages.MSG_SMS_FAILED, "SMS認証エラー")      # kaasa021E (attempts) …
        return SmsOutcome(K.DECLINED, p, message=messages.MSG_SMS_FAILED)
    result = answer.result.result
    journal.settle(op, journal.DONE, payment=p)
    tx.history(result.label)
    if result == SmsResult.OK:
        status.move(p, S.AUTHORIZED)
        yamato_side.learned(p, TS.APPROVED)
        tx.emit("payment_authorized")
        return SmsOutcome(K.AUTHORIZED, p)
    if result == SmsResult.MISMATCH:
        p.sms_attempts = (p.sms_attempts or 0) + 1
        return SmsOutcome(K.RETRY, p, attempts_left=attempts_left(p),
                          message=messages.MSG_SMS_WRONG)
    if result == SmsResult.EXPIRED:
        yamato_side.learned(p, TS.VOIDED)   # Yamato voided this attempt; 「再送信」 may follow
        return SmsOutcome(K.EXPIRED, p, message=messages.MSG_SMS_EXPIRED)
    if result == SmsResult.NOT_AWAITING:     # e.g. already authenticated: ask Yamato
        found = inquire("status", p.order_no)
        yamato = found.result.status if found.ok else None
        if yamato == TS.APPROVED:
            status.move(p, S.AUTHORIZED)
            tx.emit("payment_authorized")
            return SmsOutcome(K.AUTHORIZED, p)
        if yamato == TS.VOIDED:
            yamato_side.learned(p, TS.VOIDED)
            return SmsOutcome(K.EXPIRED, p, message=messages.MSG_SMS_EXPIRED)
    message = (messages.MSG_SMS_NOT_DELIVERED if result == SmsResult.SMS_NOT_DELIVERED
               else messages.MSG_SMS_FAILED)
    decline(tx, message, result.label)
    return SmsOutcome(K.DECLINED, p, message=message)


def verify_sms(payment_id: int, code: str, *, actor: str = "customer") -> SmsOutcome:
    """Check the customer's 4-digit 認証番号 (KAASA0020)."""
    with locked(payment_id, "verify_sms", actor=actor) as tx:
        p = tx.payment
        if sms_window_over(p):
            return expire(tx)
        if p.yamato_status == int(TS.VOIDED):
            return SmsOutcome(K.EXPIRED, p, message=messages.MSG_SMS_EXPIRED)
        try:
            code = normalize_sms_code(code)
        except ValidationError:
            return SmsOutcome(K.RETRY, p, attempts_left=attempts_left(p),
                              message=messages.MSG_SMS_FORMAT)
        order_no = p.order_no
        op = tx.journal_ahead({})
    op_id, owner = op.id, op.claimed_by
    answer = ask_yamato(current_state().client().verify_sms, order_no, code)
    with locked(payment_id, "verify_sms", actor=actor, check=False) as tx:
        op = tx.take_back(op_id, owner)
        if op is None:
            outcome = SmsOutcome(K.PENDING, tx.payment, message=messages.MSG_PENDING)
        else:
            outcome = conclude_verification(tx, op, answer)
    return outcome


def restart_sms(payment_id: int) -> Any:
    """A new SMS: a new attempt (new 決済ID); the old attempt is superseded (決済不可, no
    payment_declined). The new attempt is journaled in the same commit that supersedes the
    old one, so a crash in between cannot leave the order without an attempt."""
    state = current_state()
    attempt = None
    with locked(payment_id, "restart_sms", actor="customer") as tx:
        old = tx.payment
        if sms_window_over(old):
            expire(tx)
        else:
            if len(sms_chain(old)) > SMS_MAX_RESTARTS:
                raise InvalidTransition(f"認証番号の再送信は{SMS_MAX_RESTARTS}回までです。",
                                        current=old.status, operation="restart_sms")
            order = state.load_order(old.host_order_id)
            if order is None:
                raise PaymentNotFound(f"注文（{old.host_order_id}）が見つかりません。")
            order_data = state.describe(order)
            status.move(old, S.DECLINED)
            tx.history("再送信", detail="新しい決済IDで認証番号を再送信します。")
            attempt = prepare_attempt(order_data, method_id=old.method_id, kind=old.kind,
                                      sms_phone=old.sms_phone, replaces=old, actor="customer")
    if attempt is None:
        return tx.payment
    new, _message = send_attempt(attempt, actor="customer")
    return new


def abandon_sms(payment_id: int, *, reason: str = "back") -> Any:
    """「戻る」 (決済不可) or the 30-minute window passed (Yamato asked first, see :func:`expire`)."""
    actor = "sweep" if reason == "timeout" else "customer"
    with locked(payment_id, "abandon_sms", actor=actor) as tx:
        if reason == "timeout":
            expire(tx)
        else:
            decline(tx, messages.MSG_SMS_BACK, "戻る")
    return tx.payment


def handle_sms_push(form: Mapping[str, str]) -> Any | None:
    """Yamato's SMS result push: never trusted as such, it only triggers ``resolve``."""
    order_no = (form.get("juchuNo") or "").strip()
    payment = payment_by_order_no(order_no) if order_no else None
    if payment is None:
        logger.warning("kuroneko: SMS push for unknown 決済ID %r ignored", order_no)
        return None
    if (form.get("ycfStrNo") or "").strip() != current_state().client().merchant_code:
        logger.warning("kuroneko: SMS push for another merchant ignored (%s)", order_no)
        return None
    if not transitions.allowed("resolve", payment.status):
        return payment
    return resolve(payment.id)
