"""Where one payment stands, on both sides, for the screens: our status, Yamato's 取引状況 and
警報 with the times we learned them, the 差異, the 90-day shipment limit and "do not ship".

Read by the admin's list, dialog and 差異 list, the host's 「決済情報」 panel and the 入金状況
column of the host's order list (``kuroneko.payment_state``). Reads the row only: no query.
Times are aware datetimes in Japan time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from ..yamato.timezone import JST
from . import drift, ship_window, yamato_side


def jst(moment: datetime | None) -> datetime | None:
    """A naive-UTC time of our tables as an aware Japan time."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(JST)


@dataclass(frozen=True)
class PaymentState:
    """One payment as the merchant reads it (see the module docstring)."""
    order_no: str
    status: str                     # our status code (PaymentStatus value)
    status_label: str               # 与信, 売上確定 …
    yamato_label: str               # Yamato's 取引状況 ("" before the first answer)
    yamato_at: datetime | None      # when we learned it
    warning_label: str              # Yamato's 警報 ("" none)
    warning_at: datetime | None
    synced_at: datetime | None      # last 取引状況確認
    drift: str | None               # what disagrees (Japanese), None without a 差異
    drift_label: str                # its kind in the 差異 list's words
    drift_at: datetime | None
    drift_open: bool                # not marked 「確認済み」
    ship_window_warning: str | None  # near or past Yamato's 90-day shipment limit
    ship_window_closes: date | None  # the last day Yamato takes the shipment (与信 only)
    do_not_ship: str | None         # the goods must not ship (late NG, cancelled at Yamato)

    @property
    def needs_attention(self) -> bool:
        return bool(self.drift_open or self.ship_window_warning or self.do_not_ship
                    or self.warning_label)


def state_of(payment: Any, today: date | None = None) -> PaymentState:
    authorized = payment.status == "authorized"
    return PaymentState(
        order_no=payment.order_no, status=payment.status, status_label=payment.status_label,
        yamato_label=yamato_side.yamato_label(payment), yamato_at=jst(payment.yamato_status_at),
        warning_label=yamato_side.warning_label(payment),
        warning_at=jst(payment.yamato_warning_at) if payment.yamato_warning else None,
        synced_at=jst(payment.synced_at),
        drift=payment.drift, drift_label=drift.label(payment.drift_kind),
        drift_at=jst(payment.drift_at), drift_open=drift.is_open(payment),
        ship_window_warning=ship_window.warning(payment, today),
        ship_window_closes=ship_window.closes_on(payment) if authorized else None,
        do_not_ship=drift.do_not_ship(payment))
