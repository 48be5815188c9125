"""The shop's side of the flask_kuroneko contract: the host hooks (DESIGN.md "Host
integration"). This module is the reference for other shops: nothing here knows how the
extension works inside, it only describes the shop's orders in flask_kuroneko's terms.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone

from flask import redirect, request, session, url_for

from flask_kuroneko import Address, Adjustment, OrderData, OrderLine
from flask_kuroneko.web import parse_id

from .catalog import DELIVERY_BY_ID, DELIVERY_METHODS, STATUS_NEW, STATUS_SHIPPED
from .extensions import db, kuroneko
from .models import Order, OrderItem, utcnow

JST = timezone(timedelta(hours=9), "JST")

logger = logging.getLogger(__name__)

FEE_LINE_NAME = "決済手数料"
SHIPPING_LINE_NAME = "送料"

_SNAPSHOT_FIELDS = ("name", "name_kana", "email", "phone", "postal_code", "prefecture",
                    "address1", "address2", "destination", "ship_name", "ship_postal_code",
                    "ship_prefecture", "ship_address1", "ship_address2", "ship_phone",
                    "delivery_method", "shipping_fee", "payment_method", "payment_name",
                    "payment_fee", "total")


def describe(order: Order) -> OrderData:
    """OrderData of a shop order (saved or still a preview). ``total`` includes every fee
    already on the order; a preview built before the payment choice has ``payment_fee`` 0."""
    billing = Address(name=order.name, postal_code=order.postal_code,
                      prefecture=order.prefecture, address1=order.address1,
                      address2=order.address2 or "", phone=order.phone,
                      name_kana=order.name_kana or None)
    shipping = None
    if order.destination == "other":
        shipping = Address(name=order.ship_name, postal_code=order.ship_postal_code,
                           prefecture=order.ship_prefecture, address1=order.ship_address1,
                           address2=order.ship_address2 or "", phone=order.ship_phone or None)
    adjustments = []
    if order.shipping_fee:
        adjustments.append(Adjustment(SHIPPING_LINE_NAME, order.shipping_fee))
    if order.payment_fee:
        adjustments.append(Adjustment(FEE_LINE_NAME, order.payment_fee))
    return OrderData(
        order_id=str(order.id) if order.id is not None else "preview",
        # Stored as naive UTC; told to the extension with its zone (naive would mean JST).
        placed_at=(order.placed_at or utcnow()).replace(tzinfo=timezone.utc),
        billing=billing,
        email=order.email or None,
        lines=[OrderLine(i.name, i.quantity, i.unit_price, i.kind) for i in order.items],
        total=order.total,
        adjustments=adjustments,
        shipping=shipping,
        destination_count=2 if order.destination == "multiple" else 1,
        delivery_method_id=order.delivery_method or None,   # none: downloads only
        carrier=order.carrier or None,
        tracking_no=order.tracking_no or None,
        desired_delivery_date=order.desired_date,
        status=order.status,
        snapshot=snapshot_of(order),
    )


def snapshot_of(order: Order) -> dict:
    """Plain-JSON copy of the order, kept in the 決済直前ログ so it can be restored (M23)."""
    data = {name: getattr(order, name) for name in _SNAPSHOT_FIELDS}
    data["desired_date"] = order.desired_date.isoformat() if order.desired_date else None
    data["items"] = [{"product_id": i.product_id, "name": i.name, "kind": i.kind,
                      "unit_price": i.unit_price, "quantity": i.quantity} for i in order.items]
    return data


def restore(snapshot: dict, placed_at: datetime) -> Order:
    """Recreate an order from a 決済直前ログ snapshot (the extension commits).

    ``snapshot`` is the logged OrderData as JSON; the shop's own copy of the order (see
    :func:`snapshot_of`) is under its ``"snapshot"`` key. A bare copy is accepted too.
    """
    extras = snapshot.get("snapshot")
    data = extras if isinstance(extras, dict) else snapshot
    fields = {name: data[name] for name in _SNAPSHOT_FIELDS if name in data}
    desired = data.get("desired_date")
    if placed_at.tzinfo is not None:      # naive = UTC, as in the kuroneko_* tables (log date)
        placed_at = placed_at.astimezone(timezone.utc).replace(tzinfo=None)
    order = Order(**fields, placed_at=placed_at, status=STATUS_NEW, checkout_done=True,
                  desired_date=date.fromisoformat(desired) if desired else None)
    for item in data.get("items", []):
        order.items.append(OrderItem(**item))
    db.session.add(order)
    db.session.flush()
    logger.info("order %s restored from a pre-payment log", order.id)
    return order


def register(ext) -> None:
    """Register the hooks on the shop's Kuroneko object (called once, at import time)."""

    @ext.order_loader
    def load_order(order_id: str) -> Order | None:
        number = parse_id(str(order_id))
        return db.session.get(Order, number) if number is not None else None

    ext.order_describer(describe)

    @ext.delivery_methods_loader
    def delivery_methods() -> list[tuple[str, str]]:
        return [(m.id, m.name) for m in DELIVERY_METHODS]

    @ext.shipment_recorder
    def record_shipment(order: Order, carrier: str, tracking_no: str) -> None:
        order.carrier = carrier
        order.tracking_no = tracking_no
        order.status = STATUS_SHIPPED

    ext.order_restorer(restore)

    @ext.admin_guard
    def admin_only():
        if session.get("shop_admin"):
            return None
        return redirect(url_for("admin.login", next=request.full_path))


register(kuroneko)


def delivery_fee(method_id: str) -> int:
    method = DELIVERY_BY_ID.get(method_id)
    return method.fee if method else 0


def to_jst(moment: datetime | None) -> datetime | None:
    """Jinja filter ``jst``: the shop stores naive UTC and shows Japan time."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(JST)
