"""The スマホタイプ 30-minute window (M12): it counts from the first SMS of the order, across
the attempts that replaced one another (「再送信」 makes a new attempt under a new 決済ID)."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from ..models import PaymentKind, PaymentStatus as S, utcnow
from ..state import current_state

MAX_CHAIN = 20
#: History detail of an attempt declined because the window ran out (see sms.expire).
EXPIRED_DETAIL = "SMS認証の有効時間切れ"


def sms_chain(payment: Any) -> list[Any]:
    """This attempt and the attempts it replaced (「再送信」), newest first."""
    state = current_state()
    chain = [payment]
    while chain[-1].replaces_id and len(chain) < MAX_CHAIN:
        previous = state.db.session.get(state.models.Payment, chain[-1].replaces_id)
        if previous is None or previous.kind != PaymentKind.SMARTPHONE.value:
            break
        chain.append(previous)
    return chain


def first_attempt(payment: Any) -> Any:
    """The order's first SMS attempt (the window counts from it)."""
    return sms_chain(payment)[-1]


def latest_attempt(payment: Any) -> Any:
    """The newest attempt replacing ``payment`` (「再送信」), or ``payment`` itself: a
    superseded attempt is 決済不可 and has a follower with an SMS page token."""
    state = current_state()
    P = state.models.Payment
    current, seen = payment, {payment.id}
    while current.status == S.DECLINED.value and len(seen) < MAX_CHAIN:
        following = state.db.session.scalar(
            sa.select(P).where(P.replaces_id == current.id, P.checkout_token.is_not(None))
            .order_by(P.id).limit(1))
        if following is None or following.id in seen:
            break
        seen.add(following.id)
        current = following
    return current


def window_minutes() -> int:
    return int(current_app.config.get("KURONEKO_SMS_WINDOW_MINUTES", 30))


def window_started(payment: Any) -> datetime | None:
    sent = [p.sms_sent_at for p in sms_chain(payment) if p.sms_sent_at]
    return min(sent) if sent else None


def window_ends(payment: Any) -> datetime | None:
    """When the order's SMS window ends (naive UTC), counted from its first SMS (or, before
    any SMS went out, from the first attempt's creation)."""
    first = first_attempt(payment)
    started = window_started(payment) or first.created_at
    return started + timedelta(minutes=window_minutes()) if started else None


def sms_window_over(payment: Any, now: datetime | None = None) -> bool:
    """True when the order's SMS window (KURONEKO_SMS_WINDOW_MINUTES, from the first SMS) ended."""
    started = window_started(payment)
    if started is None:
        return False
    return (now or utcnow()) >= started + timedelta(minutes=window_minutes())


def declined_by_timeout(payment: Any) -> bool:
    """True when this attempt was declined because the order's SMS window ran out (the SMS
    page then names the window instead of a generic refusal)."""
    state = current_state()
    H = state.models.PaymentHistory
    return state.db.session.scalar(sa.select(H.id).where(
        H.payment_id == payment.id, H.detail == EXPIRED_DETAIL).limit(1)) is not None
