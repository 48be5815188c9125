"""Writers of the three logs the admin reads: payment history (M21), 決済エラーログ (M22) and
決済直前ログ (M23).

History and error rows are added to the caller's session and commit with the payment change
they describe ("what we did" next to "where it stands"). The pre-payment log commits with the
pending payment and its journal row, before KAARA0010 leaves, so it survives whatever the
request does afterwards. Nothing here ever receives the merchant password.
"""
from __future__ import annotations

import dataclasses
import logging
from datetime import date, datetime
from typing import Any

from sqlalchemy import orm

from ..models import utcnow
from ..orderdata import OrderData

logger = logging.getLogger(__name__)

#: Fields of an ErrorLog detail that are never stored, whatever a caller passes.
_SECRET_KEYS = frozenset({"password", "KURONEKO_PASSWORD", "passwd"})


def record(session: orm.Session, models, payment, operation: str, result: str, *,
           amount: int | None = None, detail: str | None = None,
           actor: str | None = None):
    """Add one history row (決済ID, 処理区分, 処理日時, amount, result) for ``payment``."""
    row = models.PaymentHistory(
        payment_id=payment.id, order_no=payment.order_no, operation=operation[:40],
        occurred_at=utcnow(), amount=amount, result=(result or "")[:40], detail=detail,
        actor=(actor or None) and str(actor)[:64])
    session.add(row)
    return row


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if k not in _SECRET_KEYS}
    if isinstance(value, (list, tuple)):
        return [_scrub(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def log_error(session: orm.Session, models, *, message: str, order_no: str | None = None,
              kind: str | None = None, operation: str | None = None, code: str | None = None,
              detail: dict | None = None):
    """Add a 決済エラーログ row (Yamato's code and message, or our own reason)."""
    row = models.ErrorLog(
        created_at=utcnow(), order_no=order_no, kind=kind,
        operation=(operation or None) and operation[:16], code=(code or None) and code[:16],
        message=message, detail=_scrub(detail) if detail else None)
    session.add(row)
    logger.warning("kuroneko error log: order_no=%s operation=%s code=%s", order_no, operation,
                   code)
    return row


def order_data_to_json(order_data: OrderData) -> dict:
    """OrderData as a JSON-able dict (dates as ISO strings) for the 決済直前ログ snapshot."""
    return _scrub(dataclasses.asdict(order_data))


def add_prepayment_log(session: orm.Session, models, *, order_no: str,
                       host_order_id: str | None, kind: str, amount: int,
                       order_data: OrderData):
    """Add a 決済直前ログ row to ``session``: the caller commits it together with the pending
    payment and its journal row, before KAARA0010 leaves — so it survives whatever happens to
    the request afterwards (a later rollback cannot take back a commit). DESIGN wanted a
    session of its own for this; one commit with the journal gives the same guarantee and
    saves a second database commit on every checkout."""
    row = models.PrepaymentLog(
        created_at=utcnow(), order_no=order_no, host_order_id=host_order_id, kind=kind,
        amount=amount, snapshot=order_data_to_json(order_data))
    session.add(row)
    logger.info("kuroneko pre-payment log added: order_no=%s", order_no)
    return row
