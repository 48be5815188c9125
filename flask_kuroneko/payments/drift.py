"""差異 (M25): the shop and Yamato disagree about a payment.

The manual tells merchants never to act in Yamato's own admin screen; when they do anyway (or
the host's order moves on without its payment), the disagreement is recorded on the payment —
``drift`` (what, in Japanese), ``drift_kind`` (:data:`LABELS`), ``drift_at`` — and stays in
the admin's 差異 list and notice until it is **resolved** (the disagreement is gone: it is then
cleared, with a history row) or the merchant marks it **「確認済み」** (kept on the payment,
no longer counted as open).

Two sides:

* Yamato's side, found by 取引状況確認 (``sync.reconcile``): cancelled, shipped or shipment
  cancelled at Yamato, an approval that turned NG (late NG), a transaction Yamato does not know,
  any other state we cannot follow. The payment follows Yamato's facts at once (Yamato's state
  is where the money is); the drift stays until the host's order agrees with it too (e.g. the
  order is cancelled after a late NG) or the merchant sends ours (drift_fixes).
* The host's side, found when the host's order changes (the inbound signals' reactions) and
  by the sweep: the order is cancelled, or its total differs from 利用金額, while Yamato still
  holds the payment.

Yamato's amount cannot be read (KAAST0010 answers the status and the warning only, spec §2.5):
an amount changed in Yamato's screen shows up when the shop sends its own amount
(``aftersales.change_amount`` adopts Yamato's answer "already this amount", kaakk049E).
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .. import config
from ..errors import ConfigurationError
from ..models import PaymentStatus as S, utcnow
from ..state import current_state
from ..yamato.codes import Operation as Api
from . import status
from .pipeline import Tx, locked

logger = logging.getLogger(__name__)

YAMATO_CANCELLED = "yamato_cancelled"
YAMATO_CAPTURED = "yamato_captured"
YAMATO_SHIPMENT_CANCELLED = "yamato_unshipped"
LATE_NG = "late_ng"
YAMATO_MISSING = "yamato_missing"
YAMATO_OTHER = "yamato_other"
HOST_CANCELLED = "host_cancelled"
HOST_AMOUNT = "host_amount"

#: drift_kind -> its name in the 差異 list.
LABELS = {
    YAMATO_CANCELLED: "ヤマトで取消",
    YAMATO_CAPTURED: "ヤマトで出荷登録",
    YAMATO_SHIPMENT_CANCELLED: "ヤマトで出荷取消",
    LATE_NG: "与信後の決済不可",
    YAMATO_MISSING: "ヤマトに取引なし",
    YAMATO_OTHER: "取引状況の不一致",
    HOST_CANCELLED: "注文キャンセル",
    HOST_AMOUNT: "注文金額の変更",
}
HOST_KINDS = frozenset({HOST_CANCELLED, HOST_AMOUNT})
#: Kinds whose payment must not be shipped (Yamato holds no approved transaction).
DO_NOT_SHIP = frozenset({YAMATO_CANCELLED, LATE_NG})
#: The history's 処理区分 of drift rows.
HISTORY_LABEL = "差異"


def label(kind: str | None) -> str:
    return LABELS.get(kind or "", kind or "")


def is_open(payment: Any) -> bool:
    """A drift the merchant has not marked 「確認済み」 (counted by the admin notice)."""
    return payment.drift_kind is not None and payment.drift_acknowledged_at is None


def recorded_filter(P: Any) -> Any:
    """SQL: a drift is recorded. A range on the drift_kind index (``> ''``, kinds are never
    empty): SQLite's planner scans the whole table for ``IS NOT NULL``."""
    return P.drift_kind > ""


def open_filter(P: Any) -> Any:
    """SQL: an open drift (recorded, not 「確認済み」)."""
    return sa.and_(recorded_filter(P), P.drift_acknowledged_at.is_(None))


def open_count() -> int:
    """How many payments have an open drift (the admin notice, stats)."""
    state = current_state()
    P = state.models.Payment
    return state.db.session.scalar(sa.select(sa.func.count(P.id)).where(open_filter(P))) or 0


# --------------------------------------------------------------------------- record / clear


def record(tx: Tx, kind: str, text: str, *, now: datetime | None = None,
           code: str | None = None) -> bool:
    """Record a drift on the locked payment. The same drift found again changes nothing (no
    second history row, error log or signal); a new one re-opens a 「確認済み」 payment.
    Yamato-side drifts go to the 決済エラーログ and send ``payment_error`` (``code``: the error
    log's code); host-side ones are the host's own doing and are only listed."""
    p = tx.payment
    if p.drift_kind == kind and p.drift == text:
        return False
    p.drift, p.drift_kind, p.drift_at = text, kind, now or utcnow()
    p.drift_acknowledged_at = p.drift_acknowledged_by = None
    tx.history("決済不可" if kind == LATE_NG else "状態不一致", label=HISTORY_LABEL, detail=text)
    if kind not in HOST_KINDS:
        tx.error_log(text, code=code or kind, api=Api.STATUS)
        tx.emit("payment_error", operation="sync_status", code=code or kind, message=text)
    logger.info("kuroneko drift on %s: %s", p.order_no, kind)
    return True


def clear(tx: Tx, detail: str) -> None:
    """The disagreement is gone: forget the drift (history says why)."""
    p = tx.payment
    if p.drift_kind is None and p.drift is None:
        return
    p.drift = p.drift_kind = p.drift_at = None
    p.drift_acknowledged_at = p.drift_acknowledged_by = None
    tx.history("状態一致", label=HISTORY_LABEL, detail=detail)
    logger.info("kuroneko drift on %s resolved", p.order_no)


def acknowledge(payment_id: int, *, actor: str | None) -> Any:
    """「確認済み」: the merchant has seen the drift and keeps things as they are."""
    with locked(payment_id, "acknowledge_drift", actor=actor, check=False) as tx:
        p = tx.payment
        if p.drift_kind is not None and p.drift_acknowledged_at is None:
            p.drift_acknowledged_at, p.drift_acknowledged_by = utcnow(), (actor or "")[:64]
            tx.history("確認済み", label=HISTORY_LABEL, detail=p.drift)
    return tx.payment


# --------------------------------------------------------------------------- the host's side


def host_order_data(payment: Any) -> Any | None:
    """The host's order of ``payment`` as OrderData, or None (gone, or no hooks)."""
    state = current_state()
    try:
        order = state.load_order(payment.host_order_id)
        return state.describe(order) if order is not None else None
    except ConfigurationError as exc:
        logger.warning("kuroneko drift check of %s: %s", payment.order_no, exc)
        return None


def statuses() -> tuple[frozenset[str], frozenset[str]]:
    """(shipped, cancelled) host statuses from the configuration."""
    return (frozenset(config.get("SHIPPED_STATUSES") or ()),
            frozenset(config.get("CANCELLED_STATUSES") or ()))


def host_disagreement(payment: Any, data: Any) -> tuple[str, str] | None:
    """(kind, text) when Yamato holds the payment but the host's order says otherwise."""
    if data is None or not status.is_held(payment) or payment.open_operation is not None:
        return None
    _, cancelled = statuses()
    if data.status in cancelled:
        return HOST_CANCELLED, (f"注文は「{data.status}」ですが、決済は「{payment.status_label}」のままです"
                                "（ヤマトでは取消されていません）。")
    if data.total != payment.amount:
        return HOST_AMOUNT, (f"ご注文金額（{data.total:,}円）と利用金額（{payment.amount:,}円）が"
                             "異なります（ヤマトには利用金額で登録されています）。")
    return None


def resolved(payment: Any, data: Any, *, yamato_agrees: bool | None = None) -> bool:
    """True when the recorded drift no longer holds. ``yamato_agrees``: a status inquiry
    just found Yamato agreeing with our status (None: not asked now)."""
    kind, p = payment.drift_kind, payment
    shipped, cancelled = statuses()
    host_status = data.status if data is not None else None
    if kind in (YAMATO_CANCELLED, LATE_NG):
        # Nothing to ship and nothing to collect: settled once the order is cancelled too
        # (or gone), or another payment of the order stands for it now.
        return (status.is_held(p) or data is None or host_status in cancelled
                or replaced_by_another(p))
    if kind == YAMATO_CAPTURED:
        return status.status_of(p) is not S.CAPTURED or host_status in shipped
    if kind == YAMATO_SHIPMENT_CANCELLED:
        return status.status_of(p) is not S.AUTHORIZED or host_status not in shipped
    if kind in (YAMATO_MISSING, YAMATO_OTHER):
        return bool(yamato_agrees)
    if kind in HOST_KINDS:
        found = host_disagreement(p, data)
        return found is None or found[0] != kind
    return False


def replaced_by_another(payment: Any) -> bool:
    """True when a newer held payment stands for the same order."""
    state = current_state()
    P = state.models.Payment
    held = tuple(s.value for s in status.HELD)
    return state.db.session.scalar(
        sa.select(sa.func.count(P.id)).where(P.host_order_id == payment.host_order_id,
                                             P.id != payment.id, P.status.in_(held))) > 0


RESOLVED_TEXT = {
    YAMATO_CANCELLED: "注文がキャンセルされ、ヤマトの取消と一致しました。",
    LATE_NG: "注文がキャンセルされ、ヤマトの決済不可と一致しました。",
    YAMATO_CAPTURED: "当店とヤマトの出荷状況が一致しました。",
    YAMATO_SHIPMENT_CANCELLED: "当店とヤマトの出荷状況が一致しました。",
    HOST_CANCELLED: "注文と決済の状況が一致しました。",
    HOST_AMOUNT: "ご注文金額と利用金額が一致しました。",
}


def review(tx: Tx, *, data: Any = None, yamato_agrees: bool | None = None) -> None:
    """Re-check the locked payment: clear a drift that is resolved, record a host-side one.
    ``data``: the host's OrderData when the caller has it (else loaded through the hooks)."""
    p = tx.payment
    if p.drift_kind is None and not status.is_held(p):
        return
    data = data if data is not None else host_order_data(p)
    if p.drift_kind is not None:
        if not resolved(p, data, yamato_agrees=yamato_agrees):
            return
        clear(tx, RESOLVED_TEXT.get(p.drift_kind, "ヤマトの取引状況と一致しました。"))
    found = host_disagreement(p, data)
    if found is not None:
        record(tx, *found)


def check(payment_id: int, *, data: Any = None, actor: str | None = "system") -> Any:
    """:func:`review` in its own locked step (after the host's order changed; the sweep)."""
    with locked(payment_id, "check_drift", actor=actor, check=False) as tx:
        review(tx, data=data)
    return tx.payment


#: Kinds only Yamato's answer resolves (取引状況確認), not the host's order.
NEEDS_YAMATO = (YAMATO_MISSING, YAMATO_OTHER)


def review_recorded(limit: int = 200) -> int:
    """Re-check the open drifts the host's order may have resolved (the sweep: a host that
    changed its order without sending a signal); returns how many were resolved. 「確認済み」
    ones are left to the reactions and the status sync."""
    state = current_state()
    session, P = state.db.session, state.models.Payment
    ids = list(session.scalars(sa.select(P.id).where(open_filter(P),
                                                     P.drift_kind.not_in(NEEDS_YAMATO))
                               .order_by(P.drift_at, P.id).limit(limit)))
    session.rollback()
    solved = 0
    for payment_id in ids:
        try:
            if check(payment_id).drift_kind is None:
                solved += 1
        except Exception:            # one host order failing to load must not stop the rest
            session.rollback()
            logger.exception("kuroneko drift check of payment %s failed", payment_id)
    return solved


def do_not_ship(payment: Any) -> str | None:
    """The Japanese warning when the goods of this payment's order must not ship: Yamato
    turned an approval into NG, or cancelled the transaction behind the shop's back."""
    if payment is None:
        return None
    late_ng = payment.status == S.DECLINED.value and payment.authorized_at is not None
    if late_ng or (payment.drift_kind in DO_NOT_SHIP and not status.is_held(payment)):
        reason = "与信の後、ヤマトの審査で決済不可になりました" if late_ng else "ヤマトで取消されています"
        return f"{reason}。この注文は発送しないでください。"
    return None
