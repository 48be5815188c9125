"""A small host shop for the extension tests: integer order ids, Japanese status names, a
delivery-method table. It uses only the public API (hooks, signals, checkout methods).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_kuroneko import Address, Adjustment, Kuroneko, OrderData, OrderLine, signals

db = SQLAlchemy()
kuroneko = Kuroneko()

NEW, SHIPPED, CANCELLED = "新規受付", "発送済み", "キャンセル"
JST = timezone(timedelta(hours=9), "JST")
YAMATO = "クロネコヤマト"

DEFAULT_BILLING = {
    "name": "山田　太郎", "postal_code": "100-0001", "prefecture": "東京都",
    "address1": "千代田区千代田1-1", "address2": "", "phone": "03-1234-5678",
    "name_kana": "ヤマダ タロウ",
}


class DeliveryMethod(db.Model):
    __tablename__ = "simple_shop_delivery_methods"
    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(40), nullable=False)


class ShopOrder(db.Model):
    __tablename__ = "simple_shop_orders"
    id = sa.Column(sa.Integer, primary_key=True)
    status = sa.Column(sa.String(20), nullable=False, default=NEW)
    placed_at = sa.Column(sa.DateTime, nullable=False, default=datetime.now)
    billing = sa.Column(sa.JSON, nullable=False)
    shipping = sa.Column(sa.JSON, nullable=True)
    email = sa.Column(sa.String(100), nullable=True)
    lines = sa.Column(sa.JSON, nullable=False)          # [[name, qty, unit_price, kind], ...]
    adjustments = sa.Column(sa.JSON, nullable=False, default=list)   # [[name, amount], ...]
    destination_count = sa.Column(sa.Integer, nullable=False, default=1)
    delivery_method_id = sa.Column(sa.Integer, nullable=True)
    carrier = sa.Column(sa.String(40), nullable=True)
    tracking_no = sa.Column(sa.String(20), nullable=True)
    desired_date = sa.Column(sa.Date, nullable=True)

    @property
    def total(self) -> int:
        return sum(q * p for _, q, p, _k in self.lines) + sum(a for _, a in self.adjustments)


def create_app(database_url: str, **config) -> Flask:
    app = Flask(__name__)
    app.config.update(
        TESTING=True, SECRET_KEY="test", SQLALCHEMY_DATABASE_URI=database_url,
        KURONEKO_ENVIRONMENT="sandbox",
        KURONEKO_SHIPPED_STATUSES=(SHIPPED,), KURONEKO_CANCELLED_STATUSES=(CANCELLED,),
    )
    app.config.update(config)
    db.init_app(app)
    kuroneko.init_app(app, db)
    return app


# --------------------------------------------------------------------------- hooks


@kuroneko.order_loader
def load_order(order_id: str):
    if not order_id.isdigit():
        return None
    return db.session.get(ShopOrder, int(order_id))


def _address(data: dict | None) -> Address | None:
    return Address(**data) if data else None


@kuroneko.order_describer
def describe(order: ShopOrder) -> OrderData:
    return OrderData(
        order_id=str(order.id), placed_at=order.placed_at, billing=_address(order.billing),
        email=order.email,
        lines=[OrderLine(name, qty, price, kind) for name, qty, price, kind in order.lines],
        adjustments=[Adjustment(name, amount) for name, amount in order.adjustments],
        total=order.total, shipping=_address(order.shipping),
        destination_count=order.destination_count,
        delivery_method_id=None if order.delivery_method_id is None else str(order.delivery_method_id),
        carrier=order.carrier, tracking_no=order.tracking_no,
        desired_delivery_date=order.desired_date, status=order.status,
        snapshot={"status": order.status})


@kuroneko.delivery_methods_loader
def delivery_methods():
    return [(m.id, m.name) for m in db.session.scalars(sa.select(DeliveryMethod).order_by(DeliveryMethod.id))]


@kuroneko.shipment_recorder
def record_shipment(order: ShopOrder, carrier: str, tracking_no: str) -> None:
    order.carrier, order.tracking_no, order.status = carrier, tracking_no, SHIPPED


@kuroneko.order_restorer
def restore_order(snapshot: dict, placed_at: datetime) -> ShopOrder:
    if placed_at.tzinfo is not None:      # this shop keeps naive Japan time
        placed_at = placed_at.astimezone(JST).replace(tzinfo=None)
    order = ShopOrder(
        placed_at=placed_at, billing=snapshot["billing"], shipping=snapshot.get("shipping"),
        email=snapshot.get("email"),
        lines=[[l["name"], l["quantity"], l["unit_price"], l["kind"]] for l in snapshot["lines"]],
        adjustments=[[a["name"], a["amount"]] for a in snapshot.get("adjustments", [])])
    db.session.add(order)
    db.session.flush()
    return order


@kuroneko.admin_guard
def admin_guard():
    return None


# --------------------------------------------------------------------------- shop actions


def make_order(*, lines=None, adjustments=None, billing=None, **fields) -> ShopOrder:
    """Add and flush an order (the checkout's 'order created, not committed yet' moment)."""
    order = ShopOrder(lines=lines or [["テスト商品", 2, 1500, "physical"]],
                      adjustments=adjustments or [], billing=billing or dict(DEFAULT_BILLING),
                      **fields)
    db.session.add(order)
    db.session.flush()
    return order


def order_data(**fields) -> OrderData:
    """A cart as OrderData without saving anything (for available_methods/validate_order)."""
    order = ShopOrder(id=0, placed_at=datetime.now(), status=NEW,
                      lines=fields.pop("lines", None) or [["テスト商品", 2, 1500, "physical"]],
                      adjustments=fields.pop("adjustments", None) or [],
                      billing=fields.pop("billing", None) or dict(DEFAULT_BILLING),
                      destination_count=fields.pop("destination_count", 1), **fields)
    return describe(order)


def set_status(app: Flask, order: ShopOrder, new: str) -> None:
    """The shop's order edit: save the status, then tell the extension."""
    old, order.status = order.status, new
    db.session.flush()
    signals.order_status_changed.send(app, order=order, old=old, new=new)
    db.session.commit()
