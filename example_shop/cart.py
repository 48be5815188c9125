"""The cart lives in the signed session cookie: {product id: quantity}."""
from __future__ import annotations

from dataclasses import dataclass

from flask import session

from .extensions import db
from .models import Product

MAX_QUANTITY = 99


@dataclass
class CartLine:
    product: Product
    quantity: int

    @property
    def subtotal(self) -> int:
        return self.product.price * self.quantity


def _raw() -> dict[str, int]:
    raw = session.get("cart")
    return dict(raw) if isinstance(raw, dict) else {}


def lines() -> list[CartLine]:
    """The cart's lines, skipping products that no longer exist or are inactive."""
    result = []
    for pid, qty in _raw().items():
        product = db.session.get(Product, int(pid)) if str(pid).isdigit() else None
        if product is not None and product.active and isinstance(qty, int) and qty > 0:
            result.append(CartLine(product, qty))
    return result


def add(product_id: int, quantity: int) -> None:
    cart = _raw()
    key = str(product_id)
    cart[key] = max(1, min(MAX_QUANTITY, cart.get(key, 0) + quantity))
    session["cart"] = cart


def set_quantity(product_id: int, quantity: int) -> None:
    cart = _raw()
    key = str(product_id)
    if quantity <= 0:
        cart.pop(key, None)
    else:
        cart[key] = min(MAX_QUANTITY, quantity)
    session["cart"] = cart


def clear() -> None:
    session.pop("cart", None)


def count() -> int:
    return sum(q for q in _raw().values() if isinstance(q, int))


def subtotal() -> int:
    return sum(line.subtotal for line in lines())
