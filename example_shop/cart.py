"""The cart lives in the signed session cookie: {product id: quantity}.

The cookie outlives the catalogue (a product deleted or deactivated, an id that was never
valid): such entries are dropped when the cart is read, never fatal to /cart or /checkout.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import session

from flask_kuroneko.web import parse_id

from .catalog import DELIVERED_KINDS
from .extensions import db
from .models import Product

logger = logging.getLogger(__name__)

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
    """The cart's lines; entries whose product no longer exists, is inactive, or whose id or
    quantity is not valid are dropped from the cart."""
    result, stale = [], []
    for pid, qty in _raw().items():
        product_id = parse_id(pid)
        product = db.session.get(Product, product_id) if product_id is not None else None
        valid_qty = isinstance(qty, int) and not isinstance(qty, bool) and 0 < qty <= MAX_QUANTITY
        if product is not None and product.active and valid_qty:
            result.append(CartLine(product, qty))
        else:
            stale.append(pid)
    if stale:
        logger.info("cart: %s stale entr%s dropped", len(stale), "y" if len(stale) == 1 else "ies")
        session["cart"] = {k: v for k, v in _raw().items() if k not in stale}
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
    return sum(q for q in _raw().values()
               if isinstance(q, int) and not isinstance(q, bool) and 0 < q <= MAX_QUANTITY)


def subtotal() -> int:
    return sum(line.subtotal for line in lines())


def needs_delivery(cart_lines: list[CartLine]) -> bool:
    """True when something in the cart is shipped (a download-only cart has no delivery)."""
    return any(line.product.kind in DELIVERED_KINDS for line in cart_lines)
