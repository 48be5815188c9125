"""Settling journaled operations from Yamato's own answer (the sweep's recovery), and
``resolve`` (審査中 / SMS / pending: ask Yamato now).

An operation is settled by the process that claims its journal row (journal.claim: one
conditional UPDATE, so one winner among several workers); its payment is then locked as in
every other step. What each operation asks before it resends:

  authorize        KAARS0010 (then KAAST0010); not found → never arrived → resend the same
                   request (same 決済ID: a late first request makes Yamato answer kaara009E, so
                   the resend can never create a second transaction). スマホタイプ: declined.
  capture          KAAST0010 3/5/10/11/12 = done, 1 = resend.
  cancel           KAAST0010 2 = done, else resend (safe once Yamato says it is not cancelled);
                   ``keep_status`` (a declined SMS attempt): nothing held at Yamato = done.
  cancel_shipment  KAAST0010 1 = done, 3/5 = resend.
  change_tracking  resend processDiv 1: OK or kaasl032E (old slip already replaced) = done.
  change_amount    resend KAAKK0010: OK or kaakk049E (already this amount) = done.
  reissue_invoice  queued = resend; unknown = cannot be told → failed, the admin checks.
  verify_sms       KAAST0010 1 = 与信, 30 = still waiting, 31/32 = voided.

A status inquiry that fails leaves the operation open: it is asked again at the next sweep
(with back-off), never marked settled on a guess. A queued row is marked unknown before its
resend is sent, so a worker killed mid-resend leaves an operation that is asked, not resent.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Callable

from ..errors import ApiConnectionError, ApiError, ValidationError
from ..models import PaymentKind, PaymentStatus as S, utcnow
from ..state import current_state
from ..yamato.codes import CreditDecision, Operation as Api, ProcessDiv, TransactionStatus as TS
from ..yamato.datatypes import ShipmentRequest
from . import journal, messages, status
from . import yamato_requests as yreq
from .aftersales import (host_order_data, mark_cancelled, mark_captured,
                         mark_shipment_cancelled, record_amount_change, record_tracking_change,
                         retire_later)
from .authorization import apply_decision, conclude
from .lookups import get_payment
from .pipeline import Tx, ask_yamato, inquire, locked
from .sync import SHIPPED, reconcile, sync_status

logger = logging.getLogger(__name__)

#: How long a worker owns an operation it claimed (longer than any Yamato timeout).
CLAIM_SECONDS = 300
MISSING = "missing"
Resolver = Callable[[Tx, Any, bool], str]


def client() -> Any:
    return current_state().client()


def ask_status(tx: Tx) -> TS | str | None:
    """Yamato's 取引状況, ``MISSING`` when Yamato has no such transaction, None when unknown."""
    answer = inquire("status", tx.payment.order_no)
    if answer.ok:
        return answer.result.status
    if getattr(answer.error, "code", None) == "kaast008E":
        return MISSING
    logger.warning("kuroneko recovery: KAAST0010 %s failed: %s", tx.payment.order_no, answer.error)
    return None


def state_after_failed_resend(exc: Exception | None) -> str:
    """Journal state after a failed resend: still open when unanswered, else failed."""
    if isinstance(exc, ApiConnectionError):
        return journal.UNKNOWN if exc.may_have_reached else journal.QUEUED
    return journal.FAILED


def resolve_authorize(tx: Tx, op: Any, queued: bool) -> str:
    p = tx.payment
    if p.status != S.PENDING.value:
        return journal.DONE
    answer = inquire("credit_result", p.order_no)
    decision = answer.result.decision if answer.ok else None
    if not answer.ok and getattr(answer.error, "code", None) != "kaars008E":
        logger.warning("kuroneko recovery: KAARS0010 %s failed: %s", p.order_no, answer.error)
        return op.state
    if decision is not None:
        apply_decision(tx, decision, label="与信（照会）")
        retire_later(tx)
        return journal.DONE
    found = ask_status(tx)
    if found is None:
        return op.state
    if found != MISSING:          # e.g. KAARS "cancelled": Yamato's admin screen was used
        reconcile(tx, found)
        retire_later(tx)
        return journal.DONE if p.status != S.PENDING.value else op.state
    if p.kind == PaymentKind.SMARTPHONE.value:   # the customer left; no SMS out of the blue
        status.move(p, S.DECLINED)
        tx.history("未登録", label="与信（照会）", detail="決済依頼はヤマトに届いていませんでした。")
        tx.emit("payment_declined", message=messages.MSG_UNAVAILABLE)
        return journal.DONE
    req = yreq.request_from_json(op.params["request"])
    conclude(tx, op, ask_yamato(client().authorize, req))
    retire_later(tx)
    return op.state


def resolve_capture(tx: Tx, op: Any, queued: bool) -> str:
    p, params = tx.payment, op.params
    if p.status == S.CAPTURED.value:
        return journal.DONE
    found = ask_status(tx)
    if found is None:
        return op.state
    if found in SHIPPED:
        mark_captured(tx, params["process_div"], params["tracking_no"], params.get("carrier"))
        return journal.DONE
    if found != TS.APPROVED or p.status != S.AUTHORIZED.value:
        if found != MISSING:
            reconcile(tx, found)
        tx.error_log("売上確定の結果を確認できませんでした。決済状況を確認してください。",
                     code="unresolved", api=Api.SHIPMENT)
        return journal.FAILED
    req = ShipmentRequest(order_no=p.order_no, process_div=ProcessDiv(params["process_div"]),
                          slip_no=params["tracking_no"])
    result, exc = tx.resend(Api.SHIPMENT, client().register_shipment, req)
    if exc is None:
        mark_captured(tx, params["process_div"], params["tracking_no"], params.get("carrier"))
        return journal.DONE
    if isinstance(exc, (ApiError, ValidationError)) and not isinstance(exc, ApiConnectionError):
        p.capture_note = exc.message
    return state_after_failed_resend(exc)


NOTHING_HELD = (MISSING, TS.VOIDED, TS.NOT_AVAILABLE, TS.UNDER_REVIEW)


def resolve_cancel(tx: Tx, op: Any, queued: bool) -> str:
    p, params = tx.payment, op.params
    keep = bool(params.get("keep_status"))
    replaced_by = get_payment(params["replaced_by"]) if params.get("replaced_by") else None
    held = status.is_held(p)
    found = ask_status(tx)
    if found is None:
        return op.state
    if found == TS.CANCELLED:
        if held and not keep:
            mark_cancelled(tx, replaced_by=replaced_by)
        return journal.DONE
    if found in NOTHING_HELD:
        if keep:                  # a declined SMS attempt: nothing approved to cancel
            return journal.DONE
        tx.error_log("取消の結果を確認できませんでした（ヤマトに取消できる取引がありません）。",
                     code="unresolved", api=Api.CANCEL)
        return journal.FAILED
    if found == TS.PAID:
        tx.error_log("入金済みのため取消できませんでした。", code="kaacl015E", api=Api.CANCEL)
        return journal.FAILED
    result, exc = tx.resend(Api.CANCEL, client().cancel, p.order_no)
    if exc is not None:
        return state_after_failed_resend(exc)
    if held and not keep:
        mark_cancelled(tx, replaced_by=replaced_by)
    else:
        tx.history("OK", label="取消")
    return journal.DONE


def resolve_cancel_shipment(tx: Tx, op: Any, queued: bool) -> str:
    p = tx.payment
    found = ask_status(tx)
    if found is None:
        return op.state
    if found == TS.APPROVED:
        if p.status == S.CAPTURED.value:
            mark_shipment_cancelled(tx)
        return journal.DONE
    if found not in (TS.SLIP_REGISTERED, TS.DELIVERY_INVESTIGATION):
        if found != MISSING:
            reconcile(tx, found)
        return journal.FAILED
    req = ShipmentRequest(order_no=p.order_no, process_div=ProcessDiv.CANCEL)
    result, exc = tx.resend(Api.SHIPMENT, client().register_shipment, req)
    if exc is None:
        mark_shipment_cancelled(tx)
        return journal.DONE
    return state_after_failed_resend(exc)


def resolve_change_tracking(tx: Tx, op: Any, queued: bool) -> str:
    params = op.params
    new = params["tracking_no"]
    if tx.payment.tracking_no == new:
        return journal.DONE
    req = ShipmentRequest(order_no=tx.payment.order_no,
                          process_div=ProcessDiv(params["process_div"]), slip_no=new,
                          before_slip_no=params.get("before_tracking_no"))
    result, exc = tx.resend(Api.SHIPMENT, client().register_shipment, req,
                            passthrough=("kaasl032E", "kaasl009E"))
    if exc is None or getattr(exc, "code", None) in ("kaasl032E", "kaasl009E"):
        # OK, or "the old slip is gone / the new one is there": our first request landed
        record_tracking_change(tx, new)
        return journal.DONE
    return state_after_failed_resend(exc)


def resolve_change_amount(tx: Tx, op: Any, queued: bool) -> str:
    p, total = tx.payment, int(op.params["total"])
    if p.amount == total:
        return journal.DONE
    data = host_order_data(p, required=False)
    if data is None or data.total != total:
        tx.error_log("利用額変更の結果を確認できませんでした（受注金額が再び変更されています）。"
                     "利用額変更をやり直してください。", code="unresolved", api=Api.CHANGE_AMOUNT)
        return journal.FAILED
    req = yreq.amount_change_request(data, order_no=p.order_no,
                                       smartphone=p.kind == PaymentKind.SMARTPHONE.value)
    result, exc = tx.resend(Api.CHANGE_AMOUNT, client().change_amount, req,
                            passthrough=("kaakk049E",))
    if exc is not None and getattr(exc, "code", None) != "kaakk049E":
        return state_after_failed_resend(exc)
    record_amount_change(tx, total)          # OK, or "already this amount": it landed
    return journal.DONE


def resolve_reissue(tx: Tx, op: Any, queued: bool) -> str:
    p = tx.payment
    if not queued:
        tx.error_log("請求書再発行の結果を確認できませんでした。ヤマトの管理画面で確認してください。",
                     code="unresolved", api=Api.REISSUE)
        return journal.FAILED
    data = host_order_data(p, required=False)
    if data is None:
        return journal.FAILED
    req = yreq.reissue_request(data, order_no=p.order_no, reason=op.params["reason"],
                               reason_text=op.params.get("reason_text"))
    result, exc = tx.resend(Api.REISSUE, client().reissue_invoice, req)
    if exc is None:
        tx.history("OK", label="請求書再発行")
        return journal.DONE
    return state_after_failed_resend(exc)


def resolve_verify_sms(tx: Tx, op: Any, queued: bool) -> str:
    found = ask_status(tx)
    if found is None:
        return op.state
    if found != MISSING:
        reconcile(tx, found)
    return journal.DONE


RESOLVERS: dict[str, Resolver] = {
    "authorize": resolve_authorize,
    "capture": resolve_capture,
    "cancel": resolve_cancel,
    "cancel_shipment": resolve_cancel_shipment,
    "change_tracking": resolve_change_tracking,
    "change_amount": resolve_change_amount,
    "reissue_invoice": resolve_reissue,
    "verify_sms": resolve_verify_sms,
}


def settle_operation(op_id: int, *, worker_id: str, now: datetime | None = None,
                     force: bool = False, stale_owner: str | None = None) -> str:
    """Claim one journaled operation and settle it; returns its state afterwards
    (``skipped`` when another worker holds it). ``force``: ignore its next_attempt_at;
    ``stale_owner``: take it from that owner, whose process is gone."""
    state = current_state()
    session, models = state.db.session, state.models
    now = now or utcnow()
    if not journal.claim(session, models, op_id, worker_id, seconds=CLAIM_SECONDS, now=now,
                         stale_owner=stale_owner):
        return "skipped"
    op = session.get(models.Operation, op_id, populate_existing=True)
    if not force and op.next_attempt_at > now:
        op.claimed_by = op.claimed_until = None                 # release, keep its schedule
        session.commit()
        return "skipped"
    queued = op.state == journal.QUEUED
    if queued:           # from here on a crash leaves it "maybe sent": asked, not resent
        op.state = journal.UNKNOWN
        session.commit()
    resolver = RESOLVERS.get(op.operation)
    try:
        with locked(op.payment_id, op.operation, actor="sweep", check=False) as tx:
            op = session.get(models.Operation, op_id, populate_existing=True)
            if resolver is None:
                tx.error_log(f"不明な処理「{op.operation}」は自動で確認できません。", code="unresolved")
                result = journal.FAILED
            else:
                result = resolver(tx, op, queued)
            result = finish_attempt(tx, op, result, now)
        return result
    except Exception:
        session.rollback()
        logger.exception("kuroneko recovery: settling operation %s failed", op_id)
        return "error"


def finish_attempt(tx: Tx, op: Any, result: str, now: datetime) -> str:
    """Record the resolver's verdict on the journal row; give up after MAX_ATTEMPTS."""
    if op.state in (journal.DONE, journal.FAILED) and op.resolved_at is not None:
        return op.state                                  # the resolver settled it itself
    if result in (journal.DONE, journal.FAILED):
        journal.settle(op, result, payment=tx.payment, now=now)
        return result
    if (op.attempts or 0) + 1 >= journal.MAX_ATTEMPTS:
        tx.error_log(f"「{tx.label}」の結果を{journal.MAX_ATTEMPTS}回確認しても確定できませんでした。"
                     "ヤマトの管理画面で確認してください。", code="unresolved")
        journal.settle(op, journal.FAILED, payment=tx.payment, now=now, error="gave up")
        return journal.FAILED
    journal.settle(op, result, payment=tx.payment, now=now)
    return result


def check_status(payment_id: int) -> Any:
    """The admin's 「取引状況確認」: an operation whose outcome is unknown (a timeout, a crash) is
    settled first, from Yamato's own answer as the sweep would — unless its request is still in
    flight (a live process holds the claim: then the usual 確認中 refusal) —, then KAAST0010
    refreshes Yamato's side. The merchant need not wait for the next sweep."""
    state = current_state()
    op = journal.open_operation(state.db.session, state.models, int(payment_id))
    if op is not None:
        gone = op.claimed_by if journal.process_gone(op.claimed_by) else None
        settle_operation(op.id, worker_id=journal.claimant("admin"), force=True, stale_owner=gone)
    return sync_status(payment_id)


def resolve(payment_id: int) -> Any:
    """審査中 / waiting SMS / pending: settle from Yamato's answer now (KAARS0010/KAAST0010)."""
    state = current_state()
    op = journal.open_operation(state.db.session, state.models, int(payment_id))
    if op is not None:
        settle_operation(op.id, worker_id=journal.claimant("resolve"), force=True)
        return get_payment(payment_id)
    with locked(payment_id, "resolve", actor="system") as tx:
        p = tx.payment
        if p.status in (S.UNDER_REVIEW.value, S.PENDING.value):
            answer = inquire("credit_result", p.order_no)
            if not answer.ok:
                logger.warning("kuroneko: KAARS0010 for %s failed: %s", p.order_no, answer.error)
                return p
            if answer.result.decision != CreditDecision.UNDER_REVIEW:
                apply_decision(tx, answer.result.decision, label="審査結果")
                retire_later(tx)
            return p
        found = ask_status(tx)
        if found is None or found == MISSING:
            return p
        reconcile(tx, found)
    return tx.payment
