"""Background work of the payment state machine: ``sweep()`` (CLI ``flask kuroneko sweep`` /
``worker``) and the settling of journaled operations.

Safe on several workers at once: journaled operations are taken with a claim (one conditional
UPDATE, see journal.py) and every payment change goes through the service's row lock and
transition check, so two workers never send the same request twice — the loser of a race sees
the new status and skips. Unknown outcomes are settled from Yamato's own answer:

  authorize        KAARS0010 (then KAAST0010); not found → never arrived → resend the same
                   request (same orderNo: a late first request makes Yamato answer kaara009E,
                   so the resend can never create a second transaction). スマホタイプ: declined.
  capture          KAAST0010 3/5/10/11/12 = done, 1 = resend.
  cancel           KAAST0010 2 = done, else resend (safe once Yamato says it is not cancelled).
  cancel_shipment  KAAST0010 1 = done, 3/5 = resend.
  change_tracking  resend pd 1: OK or kaasl032E (old slip already replaced) = done.
  change_amount    resend KAAKK0010: OK or kaakk049E (already this amount) = done.
  reissue_invoice  queued = resend; unknown = cannot be told → failed, admin checks.
  verify_sms       KAAST0010 1 = authorized, 30 = still waiting, 31/32 = voided.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

import sqlalchemy as sa

from . import journal, service
from . import yamato_requests as yreq
from ..yamato.codes import Operation as Api, ProcessDiv
from ..yamato.codes import TransactionStatus as TS
from ..yamato.datatypes import ShipmentRequest
from ..errors import ApiConnectionError, ApiError, KuronekoError, ValidationError
from ..models import PaymentKind, PaymentStatus as S, utcnow

logger = logging.getLogger(__name__)

#: Open payments are compared with Yamato (KAAST0010) at most this often each.
SYNC_INTERVAL = timedelta(hours=6)
#: At most this many status inquiries per sweep (Yamato is not ours to hammer).
SYNC_BATCH = 50
#: How long a worker owns an operation it claimed (longer than any Yamato timeout).
CLAIM_SECONDS = 300
_MISSING = "missing"


@dataclass
class SweepReport:
    """What one sweep did (printed by the CLI)."""
    sms_expired: int = 0
    reviews_checked: int = 0
    reviews_resolved: int = 0
    operations_settled: int = 0
    operations_retrying: int = 0
    operations_failed: int = 0
    synced: int = 0
    drifts: int = 0
    errors: int = 0

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)

    def __str__(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.as_dict().items())


def _ctx() -> tuple[Any, Any, Any]:
    state = service._state()
    return state, state.db.session, state.models


# --------------------------------------------------------------------------- resolvers


def _ask_status(tx: Any) -> TS | str | None:
    """Yamato's 取引状況, ``_MISSING`` when Yamato has no such transaction, None when unknown."""
    state, _, _ = _ctx()
    try:
        return state.status_client().get_status(tx.payment.order_no).status
    except ApiError as exc:
        if exc.code == "kaast008E":
            return _MISSING
        logger.warning("kuroneko sweep: KAAST0010 %s failed: %s", tx.payment.order_no, exc)
        return None


def _after_call(tx: Any, op: Any) -> str:
    """Journal state after a failed resend: still open when unanswered, else failed."""
    exc = tx.last_exc
    if isinstance(exc, ApiConnectionError):
        return journal.UNKNOWN if exc.may_have_reached else journal.QUEUED
    return journal.FAILED


def _resolve_authorize(tx: Any, op: Any, now: datetime) -> str:
    state, _, _ = _ctx()
    p = tx.payment
    if p.status != S.PENDING.value:
        return journal.DONE
    try:
        decision = state.status_client().get_credit_result(p.order_no).decision
    except ApiError as exc:
        if exc.code != "kaars008E":
            logger.warning("kuroneko sweep: KAARS0010 %s failed: %s", p.order_no, exc)
            return op.state
        decision = None
    if decision is not None:
        service._apply_decision(tx, decision, label="決済依頼（照会）")
        return journal.DONE
    status = _ask_status(tx)
    if status is None:
        return op.state
    if status != _MISSING:          # e.g. KAARS "cancelled": Yamato's admin screen was used
        service.reconcile(tx, status)
        return journal.DONE if p.status != S.PENDING.value else op.state
    if p.kind == PaymentKind.SMARTPHONE.value:   # the customer left; no SMS out of the blue
        p.status = S.DECLINED.value
        tx.history("未登録", label="決済依頼（照会）", detail="決済依頼はヤマトに届いていませんでした。")
        tx.emit("payment_declined", message=service.MSG_UNAVAILABLE)
        return journal.DONE
    req = yreq.request_from_json(op.params["request"])
    try:
        result, exc = state.client().authorize(req), None
    except (ApiError, ValidationError) as error:
        result, exc = None, error
    service._conclude_authorization(tx, op, result, exc)
    return op.state


def _resolve_capture(tx: Any, op: Any, now: datetime) -> str:
    state, _, _ = _ctx()
    p, params = tx.payment, op.params
    if p.status == S.CAPTURED.value:
        return journal.DONE
    status = _ask_status(tx)
    if status is None:
        return op.state
    if status in (TS.SLIP_REGISTERED, TS.DELIVERY_INVESTIGATION, TS.SALES_CONFIRMED,
                  TS.INVOICE_ISSUED, TS.PAID):
        service.mark_captured(tx, params["process_div"], params["slip_no"], params.get("carrier"))
        return journal.DONE
    if status != TS.APPROVED or p.status != S.AUTHORIZED.value:
        if status != _MISSING:
            service.reconcile(tx, status)
        tx.error_log("売上確定の結果を確認できませんでした。決済状況を確認してください。",
                     code="unresolved", api=Api.SHIPMENT)
        return journal.FAILED
    req = ShipmentRequest(order_no=p.order_no, process_div=ProcessDiv(params["process_div"]),
                          slip_no=params["slip_no"])
    if tx.call(Api.SHIPMENT, state.client().register_shipment, req, journal_it=False,
               raise_after=False) is not None:
        service.mark_captured(tx, params["process_div"], params["slip_no"], params.get("carrier"))
        return journal.DONE
    if isinstance(tx.last_exc, (ApiError, ValidationError)) and not isinstance(
            tx.last_exc, ApiConnectionError):
        p.capture_note = tx.last_exc.message
    return _after_call(tx, op)


def _resolve_cancel(tx: Any, op: Any, now: datetime) -> str:
    state, session, models = _ctx()
    p, params = tx.payment, op.params
    keep = bool(params.get("keep_status"))
    replaced_by = session.get(models.Payment, params["replaced_by"]) if params.get("replaced_by") else None
    live = p.status in (S.AUTHORIZED.value, S.CAPTURED.value)
    status = _ask_status(tx)
    if status is None:
        return op.state
    if status == TS.CANCELLED:
        if live and not keep:
            service.mark_cancelled(tx, replaced_by=replaced_by)
        return journal.DONE
    if status in (_MISSING, TS.VOIDED, TS.NOT_AVAILABLE):
        if keep:
            return journal.DONE
        tx.error_log("取消の結果を確認できませんでした（ヤマトに取消できる取引がありません）。",
                     code="unresolved", api=Api.CANCEL)
        return journal.FAILED
    if status == TS.UNDER_REVIEW:
        return op.state if keep else journal.FAILED   # an SMS attempt: wait until it settles
    if status == TS.PAID:
        tx.error_log("入金済みのため取消できませんでした。", code="kaacl015E", api=Api.CANCEL)
        return journal.FAILED
    if tx.call(Api.CANCEL, state.client().cancel, p.order_no, journal_it=False,
               raise_after=False) is not None:
        if live and not keep:
            service.mark_cancelled(tx, replaced_by=replaced_by)
        else:
            tx.history("OK", label="取消")
        return journal.DONE
    return _after_call(tx, op)


def _resolve_cancel_shipment(tx: Any, op: Any, now: datetime) -> str:
    state, _, _ = _ctx()
    p = tx.payment
    status = _ask_status(tx)
    if status is None:
        return op.state
    if status == TS.APPROVED:
        if p.status == S.CAPTURED.value:
            service.mark_shipment_cancelled(tx)
        return journal.DONE
    if status not in (TS.SLIP_REGISTERED, TS.DELIVERY_INVESTIGATION):
        if status != _MISSING:
            service.reconcile(tx, status)
        return journal.FAILED
    req = ShipmentRequest(order_no=p.order_no, process_div=ProcessDiv.CANCEL)
    if tx.call(Api.SHIPMENT, state.client().register_shipment, req, journal_it=False,
               raise_after=False) is not None:
        service.mark_shipment_cancelled(tx)
        return journal.DONE
    return _after_call(tx, op)


def _resolve_change_tracking(tx: Any, op: Any, now: datetime) -> str:
    state, _, _ = _ctx()
    p, params = tx.payment, op.params
    req = ShipmentRequest(order_no=p.order_no, process_div=ProcessDiv(params["process_div"]),
                          slip_no=params["slip_no"], before_slip_no=params.get("before_slip_no"))
    try:
        ok = tx.call(Api.SHIPMENT, state.client().register_shipment, req, journal_it=False,
                     raise_after=False, passthrough=("kaasl032E", "kaasl009E"))
    except ApiError:      # the old slip is gone / the new one is there: our first call landed
        ok = True
    if ok is not None:
        old, p.tracking_no = p.tracking_no, params["slip_no"]
        tx.history("OK", label="送り状番号変更", detail=f"送り状番号 {old} → {p.tracking_no}")
        return journal.DONE
    return _after_call(tx, op)


def _resolve_change_amount(tx: Any, op: Any, now: datetime) -> str:
    state, _, _ = _ctx()
    p, total = tx.payment, int(op.params["total"])
    data = service._host_order_data(p, required=False)
    if data is None or data.total != total:
        tx.error_log("利用額変更の結果を確認できませんでした（受注金額が再び変更されています）。"
                     "利用額変更をやり直してください。", code="unresolved", api=Api.CHANGE_AMOUNT)
        return journal.FAILED
    req = yreq.amount_change_request(data, order_no=p.order_no)
    try:
        ok = tx.call(Api.CHANGE_AMOUNT, state.client().change_amount, req, journal_it=False,
                     raise_after=False, passthrough=("kaakk049E",))
    except ApiError:      # "same as the current amount": our first call landed
        ok = True
    if ok is None:
        return _after_call(tx, op)
    old_amount, p.amount = p.amount, total
    tx.history("OK", label="利用額変更", amount=total, detail=f"{old_amount:,}円 → {total:,}円")
    tx.emit("payment_amount_changed", old_amount=old_amount, new_amount=total)
    return journal.DONE


def _resolve_reissue(tx: Any, op: Any, now: datetime) -> str:
    state, _, _ = _ctx()
    p = tx.payment
    if op.state != journal.QUEUED:
        tx.error_log("請求書再発行の結果を確認できませんでした。ヤマトの管理画面で確認してください。",
                     code="unresolved", api=Api.REISSUE)
        return journal.FAILED
    data = service._host_order_data(p, required=False)
    if data is None:
        return journal.FAILED
    req = yreq.reissue_request(data, order_no=p.order_no, reason=op.params["reason"],
                               reason_text=op.params.get("reason_text"))
    if tx.call(Api.REISSUE, state.client().reissue_invoice, req, journal_it=False,
               raise_after=False) is not None:
        tx.history("OK", label="請求書再発行")
        return journal.DONE
    return _after_call(tx, op)


def _resolve_verify_sms(tx: Any, op: Any, now: datetime) -> str:
    status = _ask_status(tx)
    if status is None:
        return op.state
    if status != _MISSING:
        service.reconcile(tx, status)
    return journal.DONE


RESOLVERS: dict[str, Callable[[Any, Any, datetime], str]] = {
    "authorize": _resolve_authorize,
    "capture": _resolve_capture,
    "cancel": _resolve_cancel,
    "cancel_shipment": _resolve_cancel_shipment,
    "change_tracking": _resolve_change_tracking,
    "change_amount": _resolve_change_amount,
    "reissue_invoice": _resolve_reissue,
    "verify_sms": _resolve_verify_sms,
}


def settle_operation(op_id: int, *, worker_id: str, now: datetime | None = None,
                     force: bool = False) -> str:
    """Claim one journaled operation and settle it; returns its state afterwards
    (``skipped`` when another worker holds it). ``force``: ignore its next_attempt_at."""
    _, session, models = _ctx()
    now = now or utcnow()
    if not journal.claim(session, models, op_id, worker_id, seconds=CLAIM_SECONDS, now=now):
        return "skipped"
    op = session.get(models.Operation, op_id, populate_existing=True)
    if not force and op.next_attempt_at > now:
        op.claimed_by = op.claimed_until = None                 # release, keep its schedule
        session.commit()
        return "skipped"
    resolver = RESOLVERS.get(op.operation)
    try:
        with service._locked(op.payment_id, op.operation, actor="sweep", check=False) as tx:
            op = session.get(models.Operation, op_id, populate_existing=True)
            if resolver is None:
                tx.error_log(f"不明な処理「{op.operation}」は自動で確認できません。", code="unresolved")
                state = journal.FAILED
            else:
                state = resolver(tx, op, now)
            if op.state in (journal.DONE, journal.FAILED) and op.resolved_at is not None:
                state = op.state                     # the resolver settled it itself
            elif state in (journal.DONE, journal.FAILED):
                journal.settle(op, state, payment=tx.payment, now=now)
            elif (op.attempts or 0) + 1 >= journal.MAX_ATTEMPTS:
                tx.error_log(f"「{tx.label}」の結果を{journal.MAX_ATTEMPTS}回確認しても確定できませんでした。"
                             "ヤマトの管理画面で確認してください。", code="unresolved")
                journal.settle(op, journal.FAILED, payment=tx.payment, now=now, error="gave up")
                state = journal.FAILED
            else:
                journal.settle(op, state, payment=tx.payment, now=now)
        return state
    except Exception:
        session.rollback()
        logger.exception("kuroneko sweep: settling operation %s failed", op_id)
        return "error"


# --------------------------------------------------------------------------- sweep


def _ids(query: Any) -> list[int]:
    _, session, _ = _ctx()
    ids = list(session.scalars(query))
    session.rollback()          # end the read transaction: each payment is then locked on its own
    return ids


def _each(ids: list[int], work: Callable[[int], Any], report: SweepReport) -> list[Any]:
    _, session, _ = _ctx()
    results = []
    for payment_id in ids:
        try:
            results.append(work(payment_id))
        except KuronekoError as exc:      # lost a race, or Yamato refused: logged by the service
            session.rollback()
            logger.info("kuroneko sweep: payment %s skipped: %s", payment_id, exc)
        except Exception:
            session.rollback()
            report.errors += 1
            logger.exception("kuroneko sweep: payment %s failed", payment_id)
    return results


def sweep(*, now: datetime | None = None, worker_id: str | None = None,
          sync_interval: timedelta = SYNC_INTERVAL, sync_batch: int = SYNC_BATCH) -> SweepReport:
    """One pass of background work; returns the counts. Safe to run on several workers."""
    state, session, models = _ctx()
    P = models.Payment
    now = now or utcnow()
    worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
    report = SweepReport()

    # 1. スマホタイプ: the 30-minute window passed → 決済不可 (+ cancel at Yamato when needed).
    waiting = [p.id for p in session.scalars(sa.select(P).where(P.status == S.AWAITING_SMS.value))
               if service.sms_window_over(p, now)]
    session.rollback()
    expired = _each(waiting, lambda pid: service.abandon_sms(pid, reason="timeout"), report)
    report.sms_expired = sum(1 for p in expired if p.status == S.DECLINED.value)

    # 2. 審査中: poll the credit decision.
    reviews = _ids(sa.select(P.id).where(P.status == S.UNDER_REVIEW.value).order_by(P.id))
    report.reviews_checked = len(reviews)
    resolved = _each(reviews, service.resolve, report)
    report.reviews_resolved = sum(1 for p in resolved if p.status != S.UNDER_REVIEW.value)

    # 3. Unknown outcomes and queued retries (claimed one by one).
    for op_id in journal.due(session, models, now=now, limit=200):
        outcome = settle_operation(op_id, worker_id=worker_id, now=now)
        if outcome == journal.DONE:
            report.operations_settled += 1
        elif outcome == journal.FAILED:
            report.operations_failed += 1
        elif outcome in journal.OPEN_STATES:
            report.operations_retrying += 1
        elif outcome == "error":
            report.errors += 1

    # 4. Status sync of open payments (throttled), drift detection (M25).
    stale = _ids(sa.select(P.id).where(
        P.status.in_((S.AUTHORIZED.value, S.CAPTURED.value)), P.open_operation.is_(None),
        sa.or_(P.synced_at.is_(None), P.synced_at < now - sync_interval)).order_by(P.synced_at.is_not(None), P.synced_at, P.id).limit(sync_batch))
    before = {pid: session.get(P, pid).drift for pid in stale}
    synced = _each(stale, service.sync_status, report)
    report.synced = len(synced)
    report.drifts = sum(1 for p in synced if p.drift and p.drift != before.get(p.id))
    logger.info("kuroneko sweep by %s: %s", worker_id, report)
    return report
