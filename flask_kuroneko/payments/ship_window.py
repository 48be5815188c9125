"""Yamato's shipment window: a 与信 must be shipped (売上確定, KAASL0010 with a 出荷予定日) within
90 days of its authorization request (spec §3.1/§3.6, kaasl042E). A payment near the end of
its window is flagged (``KURONEKO_SHIP_WINDOW_WARNING_DAYS``) and may be re-authorized: a new
KAARA0010 under a new 決済ID for the host's current order, the old payment cancelled once the
new one is approved — the same machinery as the re-authorization of an amount increase.

The re-authorization itself is ``aftersales.reauthorize``; a スマホタイプ payment cannot be
re-authorized by the shop (Yamato would send the customer a new SMS code to enter).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from .. import config
from ..models import PaymentStatus as S
from ..yamato.timezone import JST, now_jst

#: Days from the authorization request within which Yamato takes the shipment.
WINDOW_DAYS = 90


def request_day(payment: Any) -> date:
    """The JST day of the payment's authorization request (its row was created with it)."""
    return payment.created_at.replace(tzinfo=timezone.utc).astimezone(JST).date()


def closes_on(payment: Any) -> date:
    """The last day Yamato takes this payment's shipment."""
    return request_day(payment) + timedelta(days=WINDOW_DAYS)


def days_left(payment: Any, today: date | None = None) -> int:
    return (closes_on(payment) - (today or now_jst().date())).days


def closing_soon(payment: Any, today: date | None = None) -> bool:
    """A 与信 whose window ends within KURONEKO_SHIP_WINDOW_WARNING_DAYS (or has ended)."""
    return (payment.status == S.AUTHORIZED.value
            and days_left(payment, today) <= config.get("SHIP_WINDOW_WARNING_DAYS"))


def warning(payment: Any, today: date | None = None) -> str | None:
    """The Japanese flag for the admin, or None."""
    if not closing_soon(payment, today):
        return None
    left = days_left(payment, today)
    if left < 0:
        return (f"出荷期限（{closes_on(payment):%Y-%m-%d}）を過ぎています。売上確定するには再与信してください。")
    return (f"出荷期限（{closes_on(payment):%Y-%m-%d}）まであと{left}日です。期限までに発送できない場合は"
            "再与信してください。")


def closing_condition(P: Any, today: date | None = None) -> Any:
    """SQL: the 与信 payments :func:`closing_soon` flags (the admin's list filter and notice).
    Their JST request day is at most ``today + warning days - 90``, i.e. they were created
    before the next JST midnight after that day (naive UTC in the table)."""
    last_day = (today or now_jst().date()) + timedelta(
        days=config.get("SHIP_WINDOW_WARNING_DAYS") - WINDOW_DAYS)
    midnight = datetime.combine(last_day + timedelta(days=1), time(), tzinfo=JST)
    before = midnight.astimezone(timezone.utc).replace(tzinfo=None)
    return (P.status == S.AUTHORIZED.value) & (P.created_at < before)
