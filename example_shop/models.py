"""The shop's own tables: products, orders (with their lines) and the mail outbox.

Order lines copy the product's name, price and kind at checkout time (no relationship to
Product), so an order keeps describing what was bought even when the catalogue changes.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .catalog import DELIVERY_BY_ID, STATUS_PROCESSING
from .extensions import db


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Product(db.Model):
    __tablename__ = "shop_products"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    price: Mapped[int] = mapped_column(sa.Integer)             # tax included, yen
    kind: Mapped[str] = mapped_column(sa.String(16), default="physical")
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)


class Order(db.Model):
    __tablename__ = "shop_orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    # One-time token of the confirmation form: a unique key, so a double submit cannot create
    # a second order (the second insert fails and the first order is shown instead).
    checkout_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    status: Mapped[str] = mapped_column(sa.String(20), default=STATUS_PROCESSING)
    placed_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    # Set once the customer has been shown the outcome of checkout: from then on, payment
    # changes arrive through the extension's signals and are mailed to the customer.
    checkout_done: Mapped[bool] = mapped_column(sa.Boolean, default=False)

    name: Mapped[str] = mapped_column(sa.String(60))
    name_kana: Mapped[str] = mapped_column(sa.String(60), default="")
    email: Mapped[str] = mapped_column(sa.String(120))
    phone: Mapped[str] = mapped_column(sa.String(20))
    postal_code: Mapped[str] = mapped_column(sa.String(8))
    prefecture: Mapped[str] = mapped_column(sa.String(8))
    address1: Mapped[str] = mapped_column(sa.String(100))
    address2: Mapped[str] = mapped_column(sa.String(100), default="")

    # お届け先: "self", "other" (ship_* fields) or "multiple" (several destinations).
    destination: Mapped[str] = mapped_column(sa.String(10), default="self")
    ship_name: Mapped[str] = mapped_column(sa.String(60), default="")
    ship_postal_code: Mapped[str] = mapped_column(sa.String(8), default="")
    ship_prefecture: Mapped[str] = mapped_column(sa.String(8), default="")
    ship_address1: Mapped[str] = mapped_column(sa.String(100), default="")
    ship_address2: Mapped[str] = mapped_column(sa.String(100), default="")
    ship_phone: Mapped[str] = mapped_column(sa.String(20), default="")

    delivery_method: Mapped[str] = mapped_column(sa.String(20))
    desired_date: Mapped[date | None] = mapped_column(sa.Date, nullable=True)
    shipping_fee: Mapped[int] = mapped_column(sa.Integer, default=0)
    payment_method: Mapped[str] = mapped_column(sa.String(20))      # "bank" or "kuroneko:<id>"
    payment_name: Mapped[str] = mapped_column(sa.String(100))
    payment_fee: Mapped[int] = mapped_column(sa.Integer, default=0)
    total: Mapped[int] = mapped_column(sa.Integer)

    carrier: Mapped[str] = mapped_column(sa.String(40), default="")         # 配送会社名
    tracking_no: Mapped[str] = mapped_column(sa.String(20), default="")     # 送り状番号

    confirmation_sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    cancellation_sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)

    items: Mapped[list[OrderItem]] = relationship(back_populates="order",
                                                  cascade="all, delete-orphan",
                                                  order_by="OrderItem.id")

    @property
    def subtotal(self) -> int:
        return sum(i.subtotal for i in self.items)

    @property
    def delivery_method_name(self) -> str:
        method = DELIVERY_BY_ID.get(self.delivery_method)
        return method.name if method else self.delivery_method

    @property
    def kuroneko_method_id(self) -> int | None:
        if self.payment_method.startswith("kuroneko:"):
            return int(self.payment_method.split(":", 1)[1])
        return None

    @property
    def full_address(self) -> str:
        return f"{self.prefecture}{self.address1}{self.address2}"

    def __repr__(self) -> str:
        return f"<Order {self.id} {self.status} {self.total}>"


class OrderItem(db.Model):
    __tablename__ = "shop_order_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("shop_orders.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(16), default="physical")
    unit_price: Mapped[int] = mapped_column(sa.Integer)
    quantity: Mapped[int] = mapped_column(sa.Integer)
    order: Mapped[Order] = relationship(back_populates="items")

    @property
    def subtotal(self) -> int:
        return self.unit_price * self.quantity


class MailMessage(db.Model):
    """Outbox of every mail the shop sends (the demo admin reads it; SMTP when configured)."""
    __tablename__ = "shop_mail_outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    order_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True, index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))          # confirmation | cancellation
    recipient: Mapped[str] = mapped_column(sa.String(120))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    delivery: Mapped[str] = mapped_column(sa.String(40), default="outbox")  # outbox | smtp | smtp-failed
