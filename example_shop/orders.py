"""Turning a cart and the checkout answers into an order, and keeping the order in step with
its payment (immediate outcome at checkout, later changes through the extension's signals).
"""
from __future__ import annotations

import logging
from datetime import date

from flask import current_app

from flask_kuroneko import signals
from flask_kuroneko.web import parse_id

from . import cart, mail
from .catalog import (BANK_TRANSFER, BANK_TRANSFER_NAME, DELIVERY_BY_ID, STATUS_CANCELLED,
                      STATUS_NEW, STATUS_PAYMENT_FAILED, STATUS_PROCESSING, STATUS_SHIPPED)
from .extensions import db, kuroneko
from .models import Order, OrderItem

logger = logging.getLogger(__name__)

CUSTOMER_FIELDS = ("name", "name_kana", "email", "phone", "postal_code", "prefecture",
                   "address1", "address2", "destination", "ship_name", "ship_postal_code",
                   "ship_prefecture", "ship_address1", "ship_address2", "ship_phone",
                   "delivery_method")


def build_order(lines: list[cart.CartLine], customer: dict, *, payment_method: str = "",
                payment_name: str = "", payment_fee: int = 0) -> Order:
    """An unsaved order from the cart lines and the step-1 answers (no session side effects:
    lines copy product values instead of referencing Product rows). A cart of downloads only
    has no delivery method and no 送料 (callers check ``ready_for_payment`` first)."""
    values = {k: customer.get(k) or "" for k in CUSTOMER_FIELDS}
    desired = customer.get("desired_date")
    delivery = None
    if cart.needs_delivery(lines):
        delivery = DELIVERY_BY_ID[values["delivery_method"]]
    else:       # downloads only: nothing is delivered, no 送料
        values.update(delivery_method="", destination="self")
        desired = None
    order = Order(**values, desired_date=date.fromisoformat(desired) if desired else None,
                  shipping_fee=delivery.fee if delivery else 0, payment_method=payment_method,
                  payment_name=payment_name, payment_fee=payment_fee,
                  status=STATUS_PROCESSING, checkout_done=False)
    order.items = [OrderItem(product_id=l.product.id, name=l.product.name, kind=l.product.kind,
                             unit_price=l.product.price, quantity=l.quantity) for l in lines]
    order.total = sum(i.subtotal for i in order.items) + order.shipping_fee + payment_fee
    return order


def ready_for_payment(lines: list[cart.CartLine], customer: dict | None) -> bool:
    """Step 1 is answered for this cart: a cart that needs delivery needs a 配送方法 (a
    download-only cart answered before a physical item was added does not have one)."""
    if not lines or not isinstance(customer, dict):
        return False
    return (not cart.needs_delivery(lines)
            or customer.get("delivery_method") in DELIVERY_BY_ID)


class LineError(ValueError):
    """The order lines cannot be changed like that (Japanese message for the admin)."""


def parse_quantities(order: Order, form) -> dict[int, int]:
    """The admin's new quantity of each line (``quantity_<line id>``), 0 = remove the line."""
    found = {}
    for item in order.items:
        raw = (form.get(f"quantity_{item.id}") or "").strip()
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 3 or int(raw) > MAX_QUANTITY:
            raise LineError(f"「{item.name}」の数量は0〜{MAX_QUANTITY}の半角数字で入力してください。")
        found[item.id] = int(raw)
    if not any(found.values()):
        raise LineError("商品がなくなるため再計算できません（注文を取り消す場合は対応状況を「キャンセル」にしてください）。")
    return found


def recalculate(order: Order, quantities: dict[int, int]) -> bool:
    """「再計算」: apply the quantities (0 removes the line) and the total = lines + 送料 +
    手数料 (the fee charged at checkout stays). True when anything changed."""
    before = (order.total, [(i.id, i.quantity) for i in order.items])
    for item in list(order.items):
        quantity = quantities.get(item.id, item.quantity)
        if quantity == 0:
            order.items.remove(item)
        else:
            item.quantity = quantity
    order.total = order.subtotal + order.shipping_fee + order.payment_fee
    return before != (order.total, [(i.id, i.quantity) for i in order.items])


MAX_QUANTITY = 99


def payment_label(payment_method: str, offers) -> str:
    if payment_method == BANK_TRANSFER:
        return BANK_TRANSFER_NAME
    for offer in offers:
        if f"kuroneko:{offer.method_id}" == payment_method:
            return offer.name
    return payment_method


def mark_accepted(order: Order) -> None:
    """The customer saw a successful checkout: order accepted, confirmation mailed once."""
    order.checkout_done = True
    if order.status == STATUS_PROCESSING:
        order.status = STATUS_NEW
    if order.confirmation_sent_at is None:
        mail.send_order_mail(order, "confirmation", payment=_payment(order))


def mark_failed(order: Order) -> None:
    """Payment refused at checkout: the order was not completed (kept for the record)."""
    order.status = STATUS_PAYMENT_FAILED
    order.checkout_done = False


def mark_payment_lost(order: Order, payment) -> None:
    """A payment failed after checkout (SMS not completed, review NG, late decline): the
    order is cancelled and the customer told by mail (M12)."""
    if order.status in (STATUS_CANCELLED, STATUS_PAYMENT_FAILED, STATUS_SHIPPED):
        return
    order.status = STATUS_CANCELLED
    if order.cancellation_sent_at is None:
        mail.send_order_mail(order, "cancellation", payment=payment)


def _payment(order: Order):
    if order.kuroneko_method_id is None or order.id is None:
        return None
    return kuroneko.payment_for(str(order.id))


# ------------------------------------------------------------------ outbound signal receivers


def _shop_order(sender, order_id) -> Order | None:
    if not getattr(sender, "extensions", {}).get("example_shop"):
        return None                       # another app in the same process
    number = parse_id(str(order_id))
    order = db.session.get(Order, number) if number is not None else None
    if order is None or not order.checkout_done:
        return None                       # at checkout, the view handles the outcome itself
    return order


def _is_latest(payment, order: Order) -> bool:
    latest = kuroneko.payment_for(str(order.id))
    return latest is None or latest.id == payment.id


def _on_positive(sender, payment=None, order_id=None, **extra) -> None:
    order = _shop_order(sender, order_id)
    if order is None or payment is None or not _is_latest(payment, order):
        return
    if order.status in (STATUS_CANCELLED, STATUS_PAYMENT_FAILED):
        return
    if order.status == STATUS_PROCESSING or order.confirmation_sent_at is None:
        mark_accepted(order)
        db.session.commit()


def _on_declined(sender, payment=None, order_id=None, **extra) -> None:
    order = _shop_order(sender, order_id)
    if order is None or payment is None or not _is_latest(payment, order):
        return
    logger.info("order %s: payment %s declined after checkout, cancelling", order.id,
                payment.order_no)
    mark_payment_lost(order, payment)
    db.session.commit()


def _on_shipment_cancelled(sender, payment=None, order_id=None, **extra) -> None:
    """出荷取消 at Yamato: the order is open again (発送済み → 新規受付), so that saving it
    as 発送済み with the right 送り状番号 confirms the sale again."""
    order = _shop_order(sender, order_id)
    if order is None or payment is None or order.status != STATUS_SHIPPED:
        return
    order.status = STATUS_NEW
    db.session.commit()
    logger.info("order %s reopened after the shipment of %s was cancelled", order.id,
                payment.order_no)


def connect_signals() -> None:
    """Connect the receivers once per process (they check the sender is a shop app)."""
    signals.payment_authorized.connect(_on_positive, weak=False)
    signals.payment_under_review.connect(_on_positive, weak=False)
    signals.payment_declined.connect(_on_declined, weak=False)
    signals.shipment_cancelled.connect(_on_shipment_cancelled, weak=False)


def send_admin_signals(order: Order, old_status: str, changed_fields: bool) -> None:
    """Inbound signals after an admin save (the extension reacts; never breaks the save)."""
    app = current_app._get_current_object()
    if old_status != order.status:
        signals.order_status_changed.send(app, order=order, old=old_status, new=order.status)
    elif changed_fields:
        signals.order_updated.send(app, order=order)
