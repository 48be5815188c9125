"""Reading payments: by id, by 決済ID (Yamato's orderNo), by SMS page token, the payment that
stands for a host order, and the operations the admin may start."""
from __future__ import annotations

from typing import Any, Iterable

import sqlalchemy as sa

from ..errors import PaymentNotFound
from ..state import current_state
from . import ship_window, transitions, yamato_side
from .status import HELD, LIVE

_HELD_VALUES = tuple(s.value for s in HELD)
_LIVE_VALUES = tuple(s.value for s in LIVE)


def get_payment(payment_id: int) -> Any:
    state = current_state()
    payment = state.db.session.get(state.models.Payment, int(payment_id))
    if payment is None:
        raise PaymentNotFound(f"決済（ID {payment_id}）が見つかりません。")
    return payment


def payment_by_order_no(order_no: str) -> Any | None:
    """The payment with this 決済ID (the orderNo Yamato knows it by), or None."""
    state = current_state()
    P = state.models.Payment
    return state.db.session.scalar(sa.select(P).where(P.order_no == str(order_no)))


def payment_by_token(token: str) -> Any | None:
    """The payment bound to an SMS page token (None for unknown tokens)."""
    if not token:
        return None
    state = current_state()
    P = state.models.Payment
    return state.db.session.scalar(sa.select(P).where(P.checkout_token == str(token)))


def standing(rows: list[Any]) -> Any | None:
    """Of one order's payments (in id order), the one that stands for it: the newest held,
    else the newest still open, else the newest."""
    held = [p for p in rows if p.status in _HELD_VALUES]
    if held:
        return held[-1]
    live = [p for p in rows if p.status in _LIVE_VALUES]
    return (live or rows or [None])[-1]


def payments_for(host_order_ids: Iterable[Any]) -> dict[str, Any]:
    """The payment standing for each of these host orders, in one query (for an order list):
    ``{order id as str: Payment}``; orders without a payment are absent."""
    state = current_state()
    P = state.models.Payment
    ids = sorted({str(i) for i in host_order_ids})
    found: dict[str, list[Any]] = {}
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        for p in state.db.session.scalars(
                sa.select(P).where(P.host_order_id.in_(chunk)).order_by(P.id)):
            found.setdefault(p.host_order_id, []).append(p)
    return {order_id: standing(rows) for order_id, rows in found.items()}


def payments_of_order(host_order_id: Any) -> list[Any]:
    """Every payment of a host order, oldest first."""
    state = current_state()
    P = state.models.Payment
    return list(state.db.session.scalars(
        sa.select(P).where(P.host_order_id == str(host_order_id)).order_by(P.id)))


def current_payment(host_order_id: Any, *, lock: bool = False) -> Any | None:
    """The payment that stands for the host order now: the newest 与信/売上確定 one (a
    replacement awaiting its re-authorization does not take over before it is approved), else
    the newest one still in progress, else the newest. ``lock``: a locking read (latest
    committed rows even under MariaDB's REPEATABLE READ), rows locked until the commit."""
    state = current_state()
    P = state.models.Payment
    query = sa.select(P).where(P.host_order_id == str(host_order_id)).order_by(P.id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return standing(list(state.db.session.scalars(query)))


def operations_for(payment: Any) -> list[str]:
    """Operations the admin may start now (none while an earlier one is unsettled)."""
    if payment.open_operation is not None:
        return ["sync_status"] if transitions.allowed("sync_status", payment.status) else []
    return [op for op in transitions.operations_for(payment.status)
            if yamato_side.accepts(op, payment)
            and (op != "reauthorize" or ship_window.closing_soon(payment))]


def is_live(payment: Any) -> bool:
    return payment.status in _LIVE_VALUES


def is_held(payment: Any) -> bool:
    return payment.status in _HELD_VALUES

