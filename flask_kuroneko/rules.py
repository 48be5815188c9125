"""Business rules of the manual that are not payment transitions.

* M6 planned ship date (出荷予定日) sent with KAARA0010 — pure.
* M10 availability: when 後払い may be offered for a cart, with a Japanese reason when not — pure.
* M8/M9 payment methods (支払方法): at most one per kind, スマホタイプ active only when M5 is on,
  delete refused while payments use the method, sort order = checkout order. These functions
  work in an app context on the current app's ``db.session`` and commit: each is one complete
  admin action.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any, Callable, Sequence

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.exc import IntegrityError

from . import config
from .errors import RuleViolation
from .state import current_state
from .yamato.timezone import JST
from .models import KIND_LABELS, PaymentKind
from .orderdata import OrderData

logger = logging.getLogger(__name__)

#: Yamato accepts shipYmd up to the request day + 90 days (spec §3.1, kaara018E).
SHIP_WINDOW_DAYS = 90
#: Format limit of totalAmount (spec §3.1, kaara048E).
MAX_TOTAL = 999_999
MAX_METHOD_NAME = 100


# --------------------------------------------------------------------------- M6 ship date


def today_jst() -> date:
    return datetime.now(JST).date()


_naive_warned: set[str] = set()


def jst_date(moment: datetime) -> date:
    """The Japan calendar date of ``moment`` (受注日 sent to Yamato).

    An aware datetime is converted. A naive one is read in KURONEKO_TIMEZONE; without that
    setting it is taken as Japan time and a warning is logged (once per app and process):
    a shop storing naive UTC would otherwise send the previous day between 0:00 and 9:00 JST.
    """
    if moment.tzinfo is None:
        zone = config.shop_timezone() if has_app_context() else None
        if zone is None:
            app_name = current_app.name if has_app_context() else ""
            if app_name not in _naive_warned:
                _naive_warned.add(app_name)
                logger.warning(
                    "kuroneko: OrderData.placed_at is a naive datetime; it is read as Japan "
                    "time. Give an aware datetime or set KURONEKO_TIMEZONE to the zone your "
                    "shop stores (e.g. \"UTC\"); see docs/integration.md, 'Dates and times'.")
            return moment.date()
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(JST).date()


def planned_ship_date(order_date: date, *, ship_within_days: int,
                      desired_delivery_date: date | None = None, today: date | None = None) -> date:
    """出荷予定日: the customer's desired delivery date when set, else order date + M6 days;
    never before the order date, never beyond Yamato's window (request day + 90 days)."""
    today = today or today_jst()
    candidate = desired_delivery_date or (order_date + timedelta(days=max(0, ship_within_days)))
    latest = today + timedelta(days=SHIP_WINDOW_DAYS)
    return min(max(candidate, order_date), latest)


# --------------------------------------------------------------------------- M10 availability

REASON_EMPTY = "ご注文に商品がないため、ご利用いただけません。"
REASON_NOT_PHYSICAL = ("ダウンロード商品・サービス・定期購入などの商品を含むご注文には"
                       "ご利用いただけません。")
REASON_MULTIPLE_DESTINATIONS = "複数のお届け先へのご注文にはご利用いただけません。"
REASON_ZERO = "お支払い金額が0円のご注文にはご利用いただけません。"
REASON_TOTAL_MISMATCH = "ご注文金額の内訳が合計と一致しないため、ご利用いただけません。"


def reason_over_limit(total_with_fee: int, limit: int) -> str:
    return (f"ご利用金額（手数料込み{total_with_fee:,}円）がご利用限度額（{limit:,}円）を"
            "超えるため、ご利用いただけません。")


def reason_bad_data(detail: str) -> str:
    return f"ご注文内容に後払いでお取り扱いできない情報があるため、ご利用いただけません（{detail}）。"


def unavailable_reason(order: OrderData, *, fee: int, credit_limit: int,
                       check_data: Callable[[OrderData], str | None] | None = None) -> str | None:
    """Why 後払い cannot be offered for ``order`` (``order.total`` excludes the fee), or None.

    ``check_data`` is the dry run of the client's normalisation (returns a Japanese detail
    when Yamato could not take the data); it runs last because it is the costliest check.
    """
    if not order.lines:
        return REASON_EMPTY
    if not order.physical_only:
        return REASON_NOT_PHYSICAL
    if order.destination_count != 1:
        return REASON_MULTIPLE_DESTINATIONS
    if order.computed_total != order.total:
        return REASON_TOTAL_MISMATCH
    total = order.total + fee
    if total < 1:
        return REASON_ZERO
    limit = min(credit_limit, MAX_TOTAL)
    if total > limit:
        return reason_over_limit(total, limit)
    if check_data is not None:
        detail = check_data(order)
        if detail:
            return reason_bad_data(detail)
    return None


# --------------------------------------------------------------------------- M8/M9 methods

#: The manual's names of the two settlement types (決済種別), also the default 支払方法名.
DEFAULT_METHOD_NAMES = {
    PaymentKind.INVOICE: "後払い払込票タイプ（クロネコ代金後払いサービス）",
    PaymentKind.SMARTPHONE: "後払いスマホタイプ（クロネコ代金後払いサービス）",
}
DEFAULT_METHOD_DESCRIPTIONS = {
    PaymentKind.INVOICE: ("商品とは別に郵送で届く払込票で、コンビニ・郵便局・銀行でお支払いください。"),
    PaymentKind.SMARTPHONE: ("ご注文時にSMSで届く認証番号を入力してください。請求書はSMSでスマートフォンに届き、"
                             "スマホ決済やコンビニでお支払いいただけます。"),
}
MSG_SMARTPHONE_OFF = ("スマホタイプの支払方法を「使用」にするには、クロネコ代金後払いの設定で"
                      "「スマホタイプ利用」を「利用する」にしてください。")


def _ctx() -> tuple[Any, Any]:
    state = current_state()
    return state.models, state.db.session


def _parse_kind(kind: str | PaymentKind) -> PaymentKind:
    try:
        return PaymentKind(kind)
    except ValueError:
        raise RuleViolation(f"決済種別「{kind}」は不明です。払込票タイプかスマホタイプを選んでください。") \
            from None


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise RuleViolation("支払方法名を入力してください。")
    if len(name) > MAX_METHOD_NAME:
        raise RuleViolation(f"支払方法名は{MAX_METHOD_NAME}文字以内で入力してください。")
    return name


def _smartphone_allowed() -> bool:
    return current_state().settings().smartphone_enabled


def list_methods(*, active_only: bool = False) -> list[Any]:
    """Payment methods in checkout order."""
    models, session = _ctx()
    query = sa.select(models.PaymentMethod).order_by(models.PaymentMethod.sort_order,
                                                     models.PaymentMethod.id)
    if active_only:
        query = query.where(models.PaymentMethod.active.is_(True))
    return list(session.scalars(query))


def get_method(method_id: int) -> Any:
    models, session = _ctx()
    method = session.get(models.PaymentMethod, method_id)
    if method is None:
        raise RuleViolation("指定された支払方法が見つかりません。")
    return method


def create_method(kind: str | PaymentKind, *, name: str | None = None,
                  description_html: str | None = None, active: bool = True) -> Any:
    """Add a method of ``kind`` (M8: refused when one of that kind exists) at the end."""
    models, session = _ctx()
    kind = _parse_kind(kind)
    existing = session.scalar(sa.select(models.PaymentMethod).where(
        models.PaymentMethod.kind == kind.value))
    if existing is not None:
        raise RuleViolation(f"「{KIND_LABELS[kind]}」の支払方法は登録済みです（{existing.name}）。"
                            "同じ決済種別の支払方法は1つまでです。")
    if active and kind is PaymentKind.SMARTPHONE and not _smartphone_allowed():
        raise RuleViolation(MSG_SMARTPHONE_OFF)
    last = session.scalar(sa.select(sa.func.max(models.PaymentMethod.sort_order)))
    method = models.PaymentMethod(
        kind=kind.value, name=_check_name(name or DEFAULT_METHOD_NAMES[kind]),
        description_html=description_html if description_html is not None
        else DEFAULT_METHOD_DESCRIPTIONS[kind],
        active=active, sort_order=(last or 0) + 1)
    session.add(method)
    try:
        session.commit()
    except IntegrityError:  # a concurrent admin created the same kind first
        session.rollback()
        raise RuleViolation(f"「{KIND_LABELS[kind]}」の支払方法は登録済みです。"
                            "同じ決済種別の支払方法は1つまでです。") from None
    logger.info("payment method created id=%s kind=%s active=%s", method.id, kind.value, active)
    return method


def update_method(method_id: int, *, name: str | None = None, description_html: str | None = None,
                  active: bool | None = None) -> Any:
    """Rename, describe, 使用/停止 a method (M9)."""
    _, session = _ctx()
    method = get_method(method_id)
    if name is not None:
        method.name = _check_name(name)
    if description_html is not None:
        method.description_html = description_html
    if active is not None:
        if active and method.kind == PaymentKind.SMARTPHONE.value and not _smartphone_allowed():
            raise RuleViolation(MSG_SMARTPHONE_OFF)
        method.active = bool(active)
    session.commit()
    logger.info("payment method updated id=%s active=%s", method.id, method.active)
    return method


def delete_method(method_id: int) -> None:
    """Delete a method no payment refers to; otherwise suggest 停止 (M9)."""
    models, session = _ctx()
    method = get_method(method_id)
    used = session.scalar(sa.select(sa.func.count(models.Payment.id)).where(
        models.Payment.method_id == method.id))
    if used:
        raise RuleViolation(f"支払方法「{method.name}」は{used}件の決済で使われているため削除できません。"
                            "削除すると受注の支払方法が分からなくなります。「停止」にしてください。")
    session.delete(method)
    session.commit()
    logger.info("payment method deleted id=%s", method_id)


def reorder_methods(method_ids: Sequence[int]) -> list[Any]:
    """Set the checkout order (drag and drop, M9): ``method_ids`` lists every method once."""
    _, session = _ctx()
    methods = {m.id: m for m in list_methods()}
    ids = [int(i) for i in method_ids]
    if sorted(ids) != sorted(methods) or len(set(ids)) != len(ids):
        raise RuleViolation("支払方法の並び順を保存できませんでした。画面を再読み込みしてやり直してください。")
    for position, method_id in enumerate(ids, start=1):
        methods[method_id].sort_order = position
    session.commit()
    return [methods[i] for i in ids]


def ensure_default_methods() -> list[Any]:
    """Create the two methods of M8 when none exists (スマホタイプ stopped unless M5 is on)."""
    if list_methods():
        return []
    created = [create_method(PaymentKind.INVOICE)]
    created.append(create_method(PaymentKind.SMARTPHONE, active=_smartphone_allowed()))
    return created
