"""A second, deliberately different host: UUID string ids, English status names, flat buyer
columns, tax-exclusive prices with a separate tax line, no delivery-method table. It plugs into
flask_kuroneko only through the hooks and signals, like any Flask store would.
"""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from flask import Flask, Response, current_app, request
from flask_sqlalchemy import SQLAlchemy

from flask_kuroneko import Address, Adjustment, Kuroneko, OrderData, OrderLine, signals

db = SQLAlchemy()
kuroneko = Kuroneko()

OPEN, DISPATCHED, VOIDED = "open", "dispatched", "voided"


class Purchase(db.Model):
    __tablename__ = "uuid_store_purchases"
    id = sa.Column(sa.String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    state = sa.Column(sa.String(12), nullable=False, default=OPEN)
    created = sa.Column(sa.DateTime, nullable=False, default=datetime.now)
    buyer_name = sa.Column(sa.String(60), nullable=False)
    buyer_zip = sa.Column(sa.String(10), nullable=False)
    buyer_pref = sa.Column(sa.String(10), nullable=False)
    buyer_street = sa.Column(sa.String(120), nullable=False)
    buyer_phone = sa.Column(sa.String(20), nullable=False)
    items = sa.Column(sa.JSON, nullable=False)        # [{"title", "qty", "net_price"}]
    postage = sa.Column(sa.Integer, nullable=False, default=0)
    surcharge = sa.Column(sa.Integer, nullable=False, default=0)    # the 後払い fee
    courier = sa.Column(sa.String(40), nullable=True)
    waybill = sa.Column(sa.String(20), nullable=True)

    @property
    def net(self) -> int:
        return sum(i["qty"] * i["net_price"] for i in self.items)

    @property
    def tax(self) -> int:
        return self.net // 10


def create_app(database_url: str, **config) -> Flask:
    app = Flask("uuid_store")
    app.config.update(
        TESTING=True, SECRET_KEY="uuid", SQLALCHEMY_DATABASE_URI=database_url,
        KURONEKO_ENVIRONMENT="sandbox",
        KURONEKO_MERCHANT_CODE="55555555555", KURONEKO_PASSWORD="uuidpass",
        KURONEKO_SHIPPED_STATUSES=(DISPATCHED,), KURONEKO_CANCELLED_STATUSES=(VOIDED,),
        KURONEKO_CANCEL_WITH_ORDER=True, KURONEKO_OTHER_CARRIER=True,
        KURONEKO_ADMIN_URL_PREFIX="/backoffice/payments", KURONEKO_CHECKOUT_URL_PREFIX="/pay",
    )
    app.config.update(config)
    db.init_app(app)
    kuroneko.init_app(app, db)
    return app


@kuroneko.order_loader
def load(order_id: str):
    try:
        key = str(uuid.UUID(order_id))
    except ValueError:
        return None
    return db.session.get(Purchase, key)


@kuroneko.order_describer
def describe(p: Purchase) -> OrderData:
    lines = [OrderLine(i["title"], i["qty"], i["net_price"]) for i in p.items]
    adjustments = [Adjustment("消費税", p.tax)]
    if p.postage:
        adjustments.append(Adjustment("送料", p.postage))
    if p.surcharge:
        adjustments.append(Adjustment("後払い手数料", p.surcharge))
    billing = Address(name=p.buyer_name, postal_code=p.buyer_zip, prefecture=p.buyer_pref,
                      address1=p.buyer_street, phone=p.buyer_phone)
    return OrderData(order_id=p.id, placed_at=p.created, billing=billing, email=None,
                     lines=lines, adjustments=adjustments,
                     total=p.net + p.tax + p.postage + p.surcharge,
                     carrier=p.courier, tracking_no=p.waybill, status=p.state,
                     snapshot={"items": p.items, "postage": p.postage, "surcharge": p.surcharge})


@kuroneko.delivery_methods_loader
def delivery_methods():
    return []            # this store has no delivery-method table


@kuroneko.shipment_recorder
def record_shipment(p: Purchase, carrier: str, tracking_no: str) -> None:
    p.courier, p.waybill, p.state = carrier, tracking_no, DISPATCHED


@kuroneko.order_restorer
def restore(snapshot: dict, placed_at: datetime) -> Purchase:
    bill = snapshot["billing"]
    p = Purchase(created=placed_at, buyer_name=bill["name"], buyer_zip=bill["postal_code"],
                 buyer_pref=bill["prefecture"], buyer_street=bill["address1"],
                 buyer_phone=bill["phone"], items=snapshot["snapshot"]["items"],
                 postage=snapshot["snapshot"]["postage"], surcharge=snapshot["snapshot"]["surcharge"])
    db.session.add(p)
    db.session.flush()
    return p


@kuroneko.admin_guard
def guard():
    if request.headers.get("X-Staff") == "yes":
        return None
    return Response("staff only", status=403)


def new_purchase(**fields) -> Purchase:
    values = dict(buyer_name="佐藤 花子", buyer_zip="〒530-0001", buyer_pref="大阪府",
                  buyer_street="大阪市北区梅田3-1-1", buyer_phone="06-1234-5678",
                  items=[{"title": "Green Tea", "qty": 3, "net_price": 1000}], postage=500)
    values.update(fields)
    p = Purchase(**values)
    db.session.add(p)
    db.session.flush()
    return p


def change_state(p: Purchase, new: str, **fields) -> None:
    """The store's own edit: save, then tell the extension through the proxy-free sender."""
    old = p.state
    for key, value in fields.items():
        setattr(p, key, value)
    p.state = new
    db.session.flush()
    signals.order_status_changed.send(current_app._get_current_object(), order=p, old=old, new=new)
    db.session.commit()
