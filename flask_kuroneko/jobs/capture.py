"""売上確定 of one job item, through the payments pipeline (``payments.capture``).

Exactly once, also after a crash: the item's runner holds the item's claim; the capture
itself is journaled ahead by the pipeline, which refuses a second operation while one is
open. When an item is taken over from a dead runner (or retried), an unsettled capture of
its payment is settled first — from Yamato's own answer (``payments.settle_operation``: a
status inquiry, a resend only when Yamato never got it) — and the item then reads the
payment as it stands: 売上確定 with our 送り状番号 is the result, nothing is sent again.

Whether an item captured its payment or found it captured: the history row of 売上確定
names its actor (``job:<job id>:<item id>``); after a crash the sweep's recovery writes it
instead, and then the payment's status before the item's first attempt decides.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Sequence

import sqlalchemy as sa

from .. import payments
from ..errors import (ApiError, CaptureRefused, InvalidTransition, KuronekoError,
                      OperationPending, PaymentNotFound, ValidationError)
from ..models import PaymentStatus as S
from ..payments import journal
from ..state import current_state
from ..yamato.codes import ProcessDiv
from . import store
from .outcomes import Outcome
from .store import ItemResult

logger = logging.getLogger(__name__)

YAMATO = payments.YAMATO_CARRIERS[0]
#: Waits before an item whose outcome is being confirmed is looked at again.
RETRY_DELAYS = (5, 15, 30, 60, 120)


class RetryLater(Exception):
    """The item cannot be decided now (Yamato's answer is being confirmed, another operation
    holds the payment): give it back and look again later."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=RETRY_DELAYS[min(max(attempts - 1, 0), len(RETRY_DELAYS) - 1)])


def actor_of(item: Any) -> str:
    """Who the payment history names for this item's operations."""
    return f"job:{item.job_id}:{item.id}"


def settle_open_operation(payment_id: int, worker_id: str) -> bool:
    """Settle the payment's unsettled operation (a capture whose answer was lost with a killed
    runner, …) from Yamato's answer; True when nothing is open any more."""
    state = current_state()
    session, models = state.db.session, state.models
    op = journal.open_operation(session, models, payment_id)
    if op is None:
        session.rollback()
        return True
    owner = op.claimed_by
    stale = owner if owner and journal.process_gone(owner) else None
    op_id = op.id
    session.rollback()
    result = payments.settle_operation(op_id, worker_id=worker_id, force=True, stale_owner=stale)
    logger.info("kuroneko job: open operation %s of payment %s settled: %s", op_id, payment_id,
                result)
    session.expire_all()
    return journal.open_operation(session, models, payment_id) is None


def fresh_payment(payment_id: int) -> Any:
    state = current_state()
    payment = state.db.session.get(state.models.Payment, int(payment_id), populate_existing=True)
    if payment is None:
        raise PaymentNotFound(f"決済（ID {payment_id}）が見つかりません。")
    return payment


def captured_by(item: Any, payment: Any, prior: str | None) -> bool:
    """True when this item captured the payment (not the admin, another job, …); ``prior``:
    the payment's status before the item's first attempt."""
    state = current_state()
    H = state.models.PaymentHistory
    actor = state.db.session.scalar(
        sa.select(H.actor).where(H.payment_id == payment.id, H.operation == "売上確定",
                                 H.result == "OK").order_by(H.id.desc()).limit(1))
    if actor == actor_of(item):
        return True
    if actor is not None and actor.startswith("job:"):
        return False
    return prior == S.AUTHORIZED.value


def slip_text(numbers: Sequence[str]) -> str:
    return "・".join(numbers)


def captured_result(item: Any, payment: Any, slips: Sequence[str], *, ours: bool) -> ItemResult:
    extra = [n for n in slips if n != payment.tracking_no]
    note = (f"（ほかの送り状番号 {slip_text(extra)} は記録のみ。ヤマトには1件目で登録しています）"
            if extra else "")
    how = f"送り状番号 {payment.tracking_no}"
    if payment.process_div == int(ProcessDiv.OTHER_CARRIER):
        how = f"他社配送 {payment.carrier or '（配送会社名なし）'}・登録番号 {payment.tracking_no}"
    if ours:
        return ItemResult(Outcome.CAPTURED, f"{how} で売上確定しました{note}。")
    return ItemResult(Outcome.ALREADY, f"売上確定済みです（{how}）。何もしていません。",
                      code="already")


def host_order(payment: Any) -> tuple[Any, Any] | None:
    """(host order, OrderData) of the payment, or None when the host has no such order."""
    state = current_state()
    order = state.load_order(payment.host_order_id)
    if order is None:
        return None
    return order, state.describe(order)


def capture_item(item: Any, token: str, payment_id: int, *, carrier: str | None,
                 slips: Sequence[str] = (), record_host: bool = False) -> ItemResult:
    """売上確定 of one item's payment. ``slips``: the 送り状番号 of a B2 row (the first is
    registered; none = the host order's own number). ``record_host``: tell the host the order
    shipped (``shipment_recorder``) in the same commit as the capture's journal row."""
    session = current_state().db.session
    payment = fresh_payment(payment_id)
    if payment.open_operation is not None:
        if not settle_open_operation(payment_id, token):
            raise RetryLater("前回の処理の結果をヤマトに確認中です。確認でき次第、続きを行います。")
        payment = fresh_payment(payment_id)
    prior = item.prior_status or payment.status      # before this item's first attempt
    if payment.status == S.CAPTURED.value:
        if slips and payment.tracking_no not in slips:
            return ItemResult(Outcome.SKIPPED, f"別の送り状番号（{payment.tracking_no}）で売上確定済みのため、"
                                               f"ファイルの送り状番号（{slip_text(slips)}）は登録しませんでした。",
                              code="conflict")
        return captured_result(item, payment, slips, ours=captured_by(item, payment, prior))
    if payment.status != S.AUTHORIZED.value:
        return ItemResult(Outcome.SKIPPED, f"決済状況が「{payment.status_label}」のため売上確定できません"
                                           "（「与信」の決済のみ売上確定できます）。", code="status")
    found = host_order(payment)
    if found is None:
        return ItemResult(Outcome.SKIPPED, f"注文（{payment.host_order_id}）が見つかりません。",
                          code="no_order")
    order, data = found
    tracking_no = slips[0] if slips else data.tracking_no
    try:
        payments.capture_plan(current_state().settings(), delivery_method_id=data.delivery_method_id,
                              carrier=carrier, tracking_no=tracking_no, order_no=payment.order_no)
    except CaptureRefused as exc:
        session.rollback()
        return ItemResult(Outcome.SKIPPED, exc.message, code="capture_rule")
    if item.prior_status is None:
        # Written in the capture's first transaction, committed with its journal row (nothing
        # is sent before that commit); an attempt that sent nothing rolls it back and the
        # next attempt records it again. Late, so SQLite's write lock is held briefly.
        store.note(item.id, token, commit=False, prior_status=payment.status)
    if record_host:
        current_state().record_shipment(order, carrier or YAMATO, tracking_no)
    return run_capture(item, payment_id, carrier=carrier, tracking_no=tracking_no, slips=slips)


def run_capture(item: Any, payment_id: int, *, carrier: str | None, tracking_no: str | None,
                slips: Sequence[str]) -> ItemResult:
    session = current_state().db.session
    try:
        payment = payments.capture(payment_id, carrier=carrier, tracking_no=tracking_no,
                                   actor=actor_of(item))
    except OperationPending as exc:
        session.rollback()
        raise RetryLater(exc.message) from None
    except InvalidTransition as exc:
        session.rollback()
        now = fresh_payment(payment_id)
        if now.open_operation is not None or now.status != S.AUTHORIZED.value:
            raise RetryLater(exc.message) from None   # busy, or someone else was quicker
        return ItemResult(Outcome.SKIPPED, exc.message, code="refused")
    except CaptureRefused as exc:
        session.rollback()
        return ItemResult(Outcome.SKIPPED, exc.message, code="capture_rule")
    except ApiError as exc:
        session.rollback()
        return ItemResult(Outcome.ERROR, f"ヤマトのエラー：{exc.message}", code=exc.code or "api")
    except ValidationError as exc:
        session.rollback()
        return ItemResult(Outcome.ERROR, exc.message, code=exc.field or "validation")
    except KuronekoError as exc:          # settings or hook problems: say what to fix
        session.rollback()
        return ItemResult(Outcome.ERROR, getattr(exc, "message", None) or str(exc),
                          code=type(exc).__name__)
    if payment.status != S.CAPTURED.value:      # the pipeline returns the payment as committed
        message = payment.capture_note or "売上確定できませんでした。決済エラーログを確認してください。"
        return ItemResult(Outcome.ERROR, message, code="not_captured")
    return captured_result(item, payment, slips or [payment.tracking_no], ours=True)
