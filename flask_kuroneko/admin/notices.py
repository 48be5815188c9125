"""The admin notices shown on every admin page and, through ``kuroneko_admin_notice()``, on the
host's own order pages: the newest 決済エラーログ (M22), open 差異 (M25) and 与信 near Yamato's
90-day shipment limit. Three indexed queries, whatever the number of payments."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from .. import payments
from . import common


@dataclass(frozen=True)
class Notices:
    newest_error: str | None       # JST time of the newest error log, None without one
    open_drifts: int
    ship_window_closing: int

    @property
    def any(self) -> bool:
        return bool(self.newest_error or self.open_drifts or self.ship_window_closing)


def newest_error() -> str | None:
    """M22: while any 決済エラーログ exists, the time of the newest (Japan time)."""
    st = common.state()
    newest = st.db.session.scalar(sa.select(sa.func.max(st.models.ErrorLog.created_at)))
    return common.jst(newest) if newest is not None else None


def ship_window_closing() -> int:
    st = common.state()
    P = st.models.Payment
    return st.db.session.scalar(sa.select(sa.func.count(P.id))
                                .where(payments.ship_window_closing(P))) or 0


def current() -> Notices:
    return Notices(newest_error=newest_error(), open_drifts=payments.open_drift_count(),
                   ship_window_closing=ship_window_closing())
