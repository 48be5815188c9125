"""Helpers shared by the service test modules (not a test module itself).

Everything goes through the real layers: the simple_shop host, the extension, the service,
the real client and the in-process sandbox. ``CallCounter`` only *counts* what reaches the
sandbox (a spy on ``Simulator.exchange``); it never changes an answer.
"""
from __future__ import annotations

import threading
from collections import Counter

import sqlalchemy as sa

from flask_kuroneko import rules
from flask_kuroneko.settings import save_settings
from hosts import simple_shop

MERCHANT = "12345678901"
YAMATO = "クロネコヤマト"
OTHER = "佐川急便"


def slip(n: int) -> str:
    """A Yamato slip number passing the seven check (first 11 digits mod 7 = 12th)."""
    body = f"{n:011d}"
    return body + str(int(body) % 7)


SLIP1, SLIP2 = slip(12345678901), slip(22345678901)


class CallCounter:
    """Counts API calls that reach the sandbox, per operation code."""

    def __init__(self, simulator, monkeypatch):
        self.counts: Counter = Counter()
        self._lock = threading.Lock()
        original = simulator.exchange

        def counting(code, raw_body, **kw):
            with self._lock:
                self.counts[code] += 1
            return original(code, raw_body, **kw)

        monkeypatch.setattr(simulator, "exchange", counting)

    def __getitem__(self, code: str) -> int:
        return self.counts[code]

    def reset(self) -> None:
        self.counts.clear()


def setup_shop(*, smartphone: bool = True, other_carrier: bool = False, **settings) -> dict:
    """Payment methods, one delivery method ticked as Yamato delivery; returns ids."""
    method = simple_shop.DeliveryMethod(name="宅急便")
    other = simple_shop.DeliveryMethod(name="佐川急便")
    simple_shop.db.session.add_all([method, other])
    simple_shop.db.session.commit()
    save_settings({"smartphone_enabled": smartphone, "other_carrier_enabled": other_carrier,
                   "yamato_delivery_method_ids": [method.id], **settings})
    invoice, phone = rules.ensure_default_methods()
    return {"invoice": invoice.id, "smartphone": phone.id, "yamato_delivery": method.id,
            "other_delivery": other.id}


def place(kuroneko, method_id: int, *, phone: str | None = None, form=None, **order_fields):
    """The checkout: create (flush) a host order and start the payment."""
    order = simple_shop.make_order(**order_fields)
    if phone is not None:
        order.billing = dict(order.billing, phone=phone)
        simple_shop.db.session.flush()
    outcome = kuroneko.start_payment(order, method_id, form)
    return order, outcome


def tx(simulator, order_no: str) -> dict | None:
    return simulator.transaction(MERCHANT, order_no)


def rows(model, **where):
    session = simple_shop.db.session
    query = sa.select(model)
    for key, value in where.items():
        query = query.where(getattr(model, key) == value)
    return list(session.scalars(query.order_by(model.id)))


def models():
    from flask_kuroneko.state import current_state
    return current_state().models


def names(received: list) -> list[str]:
    """The names of the outbound signals caught by the ``received`` fixture, in order."""
    return [n for n, _ in received]
