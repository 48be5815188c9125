"""Bulk 「発送済み」 (M18) as a job: the shop ticks orders, sets them 発送済み and calls
``kuroneko.start_bulk_ship(order_ids)``; each order's payment is captured the way a single
発送済み would capture it (M16/M18 rules, ``payments.capture_plan``):

* another carrier with 「他社配送オプション」 → 売上確定 (processDiv 2);
* クロネコヤマト with a 送り状番号 → 売上確定 with that number;
* クロネコヤマト without 送り状番号, another carrier without the option, a payment that is not
  「与信」, an order that is not paid with 後払い → skipped, with the reason (the manual: bulk
  confirmation for Yamato delivery goes through B2).
"""
from __future__ import annotations

import logging
from typing import Any, Iterable

from .. import payments
from ..state import current_state
from . import dispatch, store
from .capture import capture_item
from .outcomes import JobKind, Outcome
from .store import ItemResult, ItemSpec

logger = logging.getLogger(__name__)

MAX_ORDERS = 10_000
B2_HINT = "（クロネコヤマト配送の一括売上確定は「B2出荷データ取込」で行います）"


def start(order_ids: Iterable[Any], *, actor: str | None) -> Any:
    """Create the job for these host order ids (repeats dropped, order kept)."""
    ids = list(dict.fromkeys(str(i).strip() for i in order_ids if str(i).strip()))
    if len(ids) > MAX_ORDERS:
        raise ValueError(f"at most {MAX_ORDERS} orders per bulk job (got {len(ids)})")
    specs = [ItemSpec(key=order_id[:64], host_order_id=order_id[:64]) for order_id in ids]
    job = store.create(JobKind.BULK_SHIP, specs, created_by=actor, params={"orders": len(ids)},
                       runner=dispatch.choose_runner())
    dispatch.submit(job)
    return job


def run_item(item: Any, token: str) -> ItemResult:
    state = current_state()
    order = state.load_order(item.host_order_id)
    if order is None:
        return ItemResult(Outcome.SKIPPED, f"注文（{item.host_order_id}）が見つかりません。",
                          code="no_order")
    payment = payments.current_payment(item.host_order_id)
    if payment is None:
        return ItemResult(Outcome.SKIPPED, "クロネコ代金後払いの注文ではないため、売上確定はありません。",
                          code="not_atobarai")
    store.note(item.id, token, payment_id=payment.id, order_no=payment.order_no)
    data = state.describe(order)
    result = capture_item(item, token, payment.id, carrier=data.carrier)
    if (result.code == "capture_rule" and payments.is_yamato_carrier(data.carrier)
            and not (data.tracking_no or "").strip()):
        return ItemResult(result.outcome, result.message + B2_HINT, code=result.code)
    return result
