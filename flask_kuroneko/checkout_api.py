"""Checkout API behind the ``Kuroneko`` methods (DESIGN "Host integration"; docs/integration.md).

What the shop asks before and while creating an order: which 支払方法 to offer (M8–M10), the
fee (M7), a dry run of what Yamato would refuse (so the shop refuses BEFORE creating the order),
starting the payment (delegated to ``payments.authorize``), the payment of an order, and the
conversion tag (M13). Nothing here changes a payment's status.
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict
from wtforms import Form, StringField
from wtforms.validators import InputRequired, ValidationError as FormValidationError

from . import payments, rules
from .yamato import wire
from .checkout import limits
from .checkout.binding import bind_token
from .errors import ValidationError
from .models import PaymentKind, PaymentStatus, utcnow
from .yamato.normalize import normalize_phone
from .orderdata import Adjustment, OrderData
from .payments.outcomes import OutcomeKind, PaymentOutcome
from .payments.lookups import is_live
from .payments.yamato_requests import authorization_request
from .web.inputs import parse_id
from .web.sanitize import clean_description

logger = logging.getLogger(__name__)

#: Name of the スマホタイプ form field holding the mobile number (form_data key).
SMS_PHONE_FIELD = "sms_phone"
FEE_LINE_NAME = "後払い手数料"
#: orderNo used only for dry runs (never sent).
_DRY_RUN_ORDER_NO = "0000000000"
MSG_METHOD_UNAVAILABLE = "選択された支払方法は現在ご利用いただけません。別の支払方法をお選びください。"
MSG_NOT_CONFIGURED = "現在ご利用いただけません。"


def _mobile_validator(form: Form, field: StringField) -> None:
    try:
        field.data = normalize_phone(field.data, field=SMS_PHONE_FIELD, label="携帯電話番号",
                                     mobile_only=True)
    except ValidationError as exc:
        raise FormValidationError(exc.message) from None


class SmartphoneForm(Form):
    """Extra field of スマホタイプ (M12): the mobile number that receives the SMS code."""
    sms_phone = StringField("携帯電話番号（SMS受信用）",
                            validators=[InputRequired("携帯電話番号を入力してください。"),
                                        _mobile_validator],
                            render_kw={"inputmode": "tel", "autocomplete": "tel"})


FORM_CLASSES: dict[PaymentKind, type[Form] | None] = {
    PaymentKind.INVOICE: None,
    PaymentKind.SMARTPHONE: SmartphoneForm,
}


@dataclass(frozen=True)
class MethodOffer:
    """One 支払方法 as the checkout shows it."""
    method_id: int
    kind: str
    name: str
    description_html: Markup
    fee: int
    available: bool
    reason: str | None
    form_class: type[Form] | None


def _form_values(form_data: Any) -> dict[str, Any]:
    if form_data is None:
        return {}
    if isinstance(form_data, Form):
        return dict(form_data.data)
    if hasattr(form_data, "to_dict"):       # werkzeug MultiDict
        return form_data.to_dict()
    if isinstance(form_data, Mapping):
        return dict(form_data)
    raise TypeError("form_data must be a mapping, a MultiDict or a WTForms form")


def _with_fee(order: OrderData, fee: int) -> OrderData:
    """The order as Yamato would see it: the fee as one more line, in the total."""
    if fee <= 0:
        return order
    return dataclasses.replace(order, adjustments=[*order.adjustments, Adjustment(FEE_LINE_NAME, fee)],
                               total=order.total + fee)


class OrderCheck(list):
    """What ``validate_order`` answers: the problems (Japanese sentences; empty = the order can
    be placed) as a plain list, and ``item_names``, the 購入商品名称 exactly as Yamato will
    receive them (full-width, symbols Yamato refuses removed, at most 30 characters, at most
    10 lines with the surplus folded into 「その他商品」; empty when the data cannot be sent)."""

    def __init__(self, problems: list[str] = (), item_names: list[str] = ()):
        super().__init__(problems)
        self.item_names: list[str] = list(item_names)


def _data_problem(state: Any, order: OrderData, *, sms_phone: str | None,
                  smartphone: bool) -> str | None:
    """Dry run of the client's normalisation of KAARA0010 (no HTTP); Japanese detail or None."""
    return _dry_run(state, order, sms_phone=sms_phone, smartphone=smartphone)[0]


def _dry_run(state: Any, order: OrderData, *, sms_phone: str | None,
             smartphone: bool) -> tuple[str | None, list[str]]:
    """(problem, item names as sent) of the client's normalisation of KAARA0010 (no HTTP)."""
    current = state.settings()
    order_date = rules.jst_date(order.placed_at)
    today = rules.today_jst()
    ship_date = rules.planned_ship_date(order_date, ship_within_days=current.ship_within_days,
                                        desired_delivery_date=order.desired_delivery_date,
                                        today=today)
    phone = sms_phone if smartphone else None
    if smartphone and phone is None:
        phone = "09000000000"   # the number is asked on the form; check the rest of the data
    try:
        req = authorization_request(order, order_no=_DRY_RUN_ORDER_NO, order_date=order_date,
                                    ship_date=ship_date, sms_phone=phone)
        fields = wire.authorization_fields(req, today=today)
    except ValidationError as exc:
        return exc.message, []
    names = [fields[f"itemName{n}"] for n in range(1, 11) if f"itemName{n}" in fields]
    return None, names


def _method_allowed(method: Any, current: Any) -> bool:
    return bool(method.active) and (method.kind != PaymentKind.SMARTPHONE.value
                                    or current.smartphone_enabled)


def _not_configured(current: Any) -> bool:
    return current.environment != "sandbox" and not current.has_credentials


def available_methods(state: Any, order: OrderData) -> list[MethodOffer]:
    current = state.settings()
    fee = current.fee_for(order.total)
    offers = []
    for method in rules.list_methods(active_only=True):
        if not _method_allowed(method, current):
            continue   # スマホタイプ without the M5 option: never shown
        kind = PaymentKind(method.kind)
        if _not_configured(current):
            logger.warning("後払い not offered: merchant code/password missing for %s",
                           current.environment)
            reason: str | None = MSG_NOT_CONFIGURED
        else:
            reason = rules.unavailable_reason(
                order, fee=fee, credit_limit=current.credit_limit,
                check_data=lambda o: _data_problem(state, _with_fee(o, fee), sms_phone=None,
                                                   smartphone=kind is PaymentKind.SMARTPHONE))
        offers.append(MethodOffer(
            method_id=method.id, kind=kind.value, name=method.name,
            # Cleaned on every render: a row written before the allow-list, or by other
            # code than the admin, must not put script on every customer's payment page.
            description_html=Markup(clean_description(method.description_html)), fee=fee,
            available=reason is None, reason=reason, form_class=FORM_CLASSES[kind]))
    return offers


def _method(method_id: Any) -> Any:
    number = parse_id(method_id if isinstance(method_id, int) else str(method_id))
    if number is None:
        raise rules.RuleViolation("指定された支払方法が見つかりません。")
    return rules.get_method(number)


def fee_for(state: Any, method_id: Any, amount: int) -> int:
    _method(method_id)
    return state.settings().fee_for(int(amount))


def validate_order(state: Any, order: OrderData, method_id: Any,
                   form_data: Any = None) -> OrderCheck:
    """Problems (Japanese) that would stop the payment ([] when the order can be placed), with
    the item names as Yamato will receive them (``OrderCheck.item_names``)."""
    current = state.settings()
    try:
        method = _method(method_id)
    except rules.RuleViolation as exc:
        return OrderCheck([exc.message])
    if not _method_allowed(method, current) or _not_configured(current):
        return OrderCheck([MSG_METHOD_UNAVAILABLE])
    fee = current.fee_for(order.total)
    reason = rules.unavailable_reason(order, fee=fee, credit_limit=current.credit_limit)
    if reason:
        return OrderCheck([reason])
    errors: list[str] = []
    smartphone = method.kind == PaymentKind.SMARTPHONE.value
    phone = None
    if smartphone:
        form = SmartphoneForm(formdata=MultiDict(_form_values(form_data)))
        if not form.validate():
            errors.extend(msg for msgs in form.errors.values() for msg in msgs)
        else:
            phone = form.sms_phone.data
    problem, names = _dry_run(state, _with_fee(order, fee), sms_phone=phone,
                              smartphone=smartphone)
    if problem:
        errors.append(problem)
    return OrderCheck(errors, names)


def _without_fee(current: Any, order: OrderData) -> tuple[OrderData, int]:
    """The order as ``available_methods`` judged it (fee excluded) and the fee: the host puts
    the fee on the order as an adjustment equal to fee_for(the rest); when it did not, the fee
    of the whole total is what the credit limit must leave room for."""
    for i, adj in enumerate(order.adjustments):
        if adj.amount > 0 and current.fee_for(order.total - adj.amount) == adj.amount:
            rest = [a for j, a in enumerate(order.adjustments) if j != i]
            base = dataclasses.replace(order, adjustments=rest, total=order.total - adj.amount)
            return base, adj.amount
    return order, current.fee_for(order.total)


def refusal_reason(state: Any, order_data: OrderData) -> str | None:
    """Why ``start_payment`` must not ask Yamato for this order, in the words of
    ``available_methods`` (Japanese), or None. The availability rules are not advice to the
    host: a host that skips available_methods gets the same refusal here."""
    current = state.settings()
    if _not_configured(current):
        return MSG_METHOD_UNAVAILABLE
    base, fee = _without_fee(current, order_data)
    return rules.unavailable_reason(base, fee=fee, credit_limit=current.credit_limit)


def start_payment(state: Any, order: Any, method_id: Any, form_data: Any = None):
    """Check the availability rules and the SMS limits, then authorize through the payments
    pipeline (the only place that changes a payment's status). A refusal is a ``declined`` outcome
    without a payment (nothing written, nothing sent) whose message says why."""
    values = _form_values(form_data)
    order_data = state.describe(order)
    try:
        method = _method(method_id)
    except rules.RuleViolation:
        method = None     # the pipeline refuses it (InvalidTransition), as it always did
    existing = payments.current_payment(order_data.order_id)
    # A second submit of an order with a live payment gets that payment's outcome from the
    # pipeline (nothing is sent): it must not be refused, or the host would fail a live order.
    fresh = existing is None or not is_live(existing)
    if fresh and method is not None and _method_allowed(method, state.settings()):
        reason = refusal_reason(state, order_data)
        if reason is not None:
            logger.info("start_payment refused before any request: %s", reason)
            return PaymentOutcome(OutcomeKind.DECLINED, None, message=reason)
    phone = None
    if method is not None and method.kind == PaymentKind.SMARTPHONE.value:
        phone = _normalized_phone(values.get(SMS_PHONE_FIELD))
        if phone is not None:     # stored as counted: "090-…" and "090…" are one number
            values[SMS_PHONE_FIELD] = phone
    with limits.phone_lock(phone if fresh else None):
        if fresh and phone is not None:
            refusal = limits.sms_sends_refused(phone)
            if refusal is not None:
                return PaymentOutcome(OutcomeKind.DECLINED, None, message=refusal)
        # An unknown method id: the pipeline refuses it (-1 is never a row id).
        outcome = payments.authorize(order, method.id if method is not None else -1,
                                    values or None)
    created = outcome.payment is not None and (existing is None
                                               or outcome.payment.id != existing.id)
    if created and outcome.payment.sms_phone:
        limits.note_sms_sent()
    if outcome.payment is not None:
        # スマホタイプ: the SMS page only opens in the browser that started the payment.
        bind_token(outcome.payment.checkout_token)
    return outcome


def _normalized_phone(value: Any) -> str | None:
    """The mobile number as stored on the payment rows (None when it is not one: the service
    refuses it before any SMS)."""
    try:
        return normalize_phone(str(value or ""), field=SMS_PHONE_FIELD, label="携帯電話番号",
                               mobile_only=True)
    except ValidationError:
        return None


def payments_for(state: Any, order_ids: Any) -> dict[str, Any]:
    """``payment_for`` of many orders in one query (the host's order list)."""
    return payments.payments_for(order_ids)


def payment_for(state: Any, order_id: Any) -> Any:
    """The payment standing for the order (M15): the newest 与信/売上確定 one, else the newest
    in progress, else the newest. Not simply the newest row: an amount increase's
    re-authorization that is pending or declined must not hide the 与信 the order still has."""
    return payments.current_payment(order_id)


def conversion_tag(state: Any, order_id: Any) -> Markup:
    """M13: the settings' tag with {order_id}/{order_no}/{amount} filled in, once per order and
    only after 与信 (or 審査中 when allowed). An order can have several payments (a new SMS
    code, a re-authorization after an amount increase): rendering is claimed on the order's
    first payment row with a conditional UPDATE, so neither a later payment nor two
    concurrent page loads render it again."""
    current = state.settings()
    if not current.conversion_tag.strip():
        return Markup("")
    rows = payments.payments_of_order(order_id)            # one query: all its payments
    payment = payments.standing(rows)
    if payment is None:
        return Markup("")
    statuses = {PaymentStatus.AUTHORIZED.value, PaymentStatus.CAPTURED.value}
    if current.conversion_on_review:
        statuses |= {PaymentStatus.UNDER_REVIEW.value, PaymentStatus.AWAITING_SMS.value}
    if payment.status not in statuses or any(p.conversion_shown_at for p in rows):
        return Markup("")
    session, P = state.db.session, state.models.Payment
    claimed = session.execute(                    # the guard: one of two page loads wins
        sa.update(P)
        .where(P.id == rows[0].id, P.conversion_shown_at.is_(None))
        .values(conversion_shown_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    session.commit()
    if claimed != 1:
        return Markup("")
    html = current.conversion_tag
    for token, value in (("{order_id}", payment.host_order_id), ("{order_no}", payment.order_no),
                         ("{amount}", payment.amount)):
        html = html.replace(token, str(escape(str(value))))
    logger.info("conversion tag rendered for payment %s", payment.order_no)
    return Markup(html)
