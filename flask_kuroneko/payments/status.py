"""The one status writer: the only code that assigns ``Payment.status``.

Every move is checked against :data:`MOVES` (from → to); any other move raises
``IllegalStatusMove`` — a programming error, never a customer's or merchant's input (those are
refused earlier by ``transitions.check`` with a Japanese message). The writer also stamps the
dates that belong to a status, so no caller can forget one:

  → 与信 (authorized)       authorized_at (first approval; a cancelled shipment keeps it)
  → 売上確定 (captured)     captured_at
  売上確定 → 与信           captured_at cleared (出荷取消, or Yamato shows the slip gone)
  → 取消済み (cancelled)    cancelled_at
  → 審査中 (awaiting_sms)   sms_sent_at (the SMS went out with this attempt)

``tests/test_layering.py`` fails on a status assignment anywhere else in the package.
"""
from __future__ import annotations

import logging
from datetime import datetime
from types import MappingProxyType
from typing import Any

from ..errors import IllegalStatusMove
from ..models import PaymentStatus as S, utcnow

logger = logging.getLogger(__name__)

#: Legal moves: status -> the statuses it may become.
MOVES: MappingProxyType[S, frozenset[S]] = MappingProxyType({
    # a request in flight / its outcome unknown: Yamato's answer decides
    S.PENDING: frozenset({S.AWAITING_SMS, S.UNDER_REVIEW, S.AUTHORIZED, S.DECLINED}),
    # スマホタイプ: the code is accepted, or the attempt fails / expires / is replaced
    S.AWAITING_SMS: frozenset({S.AUTHORIZED, S.DECLINED}),
    S.UNDER_REVIEW: frozenset({S.AUTHORIZED, S.DECLINED}),
    # 売上確定, 取消, or a late NG seen at Yamato (status sync)
    S.AUTHORIZED: frozenset({S.CAPTURED, S.CANCELLED, S.DECLINED}),
    # 出荷取消 (back to 与信) or 取消
    S.CAPTURED: frozenset({S.AUTHORIZED, S.CANCELLED}),
    S.DECLINED: frozenset(),
    S.CANCELLED: frozenset(),
})

#: Statuses in which Yamato holds an approved transaction of ours.
HELD = frozenset({S.AUTHORIZED, S.CAPTURED})
#: Statuses whose outcome is still open (a request in flight, a review, an SMS code).
OPEN = frozenset({S.PENDING, S.UNDER_REVIEW, S.AWAITING_SMS})
#: Statuses that stand for a live payment of the order (held or still open).
LIVE = HELD | OPEN
#: Final statuses: nothing moves them again.
FINAL = frozenset(s for s, targets in MOVES.items() if not targets)


def status_of(payment: Any) -> S:
    return S(payment.status)


def is_held(payment: Any) -> bool:
    return status_of(payment) in HELD


def is_open(payment: Any) -> bool:
    return status_of(payment) in OPEN


def can_move(current: S | str, new: S | str) -> bool:
    return S(new) in MOVES[S(current)]


def move(payment: Any, new: S, *, now: datetime | None = None) -> None:
    """Change ``payment.status`` to ``new`` (the caller holds the payment's row lock)."""
    current, new = status_of(payment), S(new)
    if new not in MOVES[current]:
        raise IllegalStatusMove(
            f"payment {payment.order_no}: {current.value} -> {new.value} is not a legal move "
            f"(allowed from {current.value}: "
            f"{', '.join(sorted(s.value for s in MOVES[current])) or 'none'}).")
    now = now or utcnow()
    if new is S.AUTHORIZED:
        if current is S.CAPTURED:
            payment.captured_at = None
        else:
            payment.authorized_at = now
    elif new is S.CAPTURED:
        payment.captured_at = now
    elif new is S.CANCELLED:
        payment.cancelled_at = now
    elif new is S.AWAITING_SMS:
        payment.sms_sent_at = now
    payment.status = new.value
    logger.info("kuroneko payment %s: %s -> %s", payment.order_no, current.value, new.value)
