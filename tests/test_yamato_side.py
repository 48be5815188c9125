"""Yamato's side of a payment (取引状況): our own operations keep ``yamato_status`` current,
the admin is offered only what Yamato accepts in that state, and what Yamato refuses in a
final state (入金済み, 取消済み) is refused before any request."""
from __future__ import annotations

import pytest

from flask_kuroneko import payments
from flask_kuroneko.errors import InvalidTransition
from service_support import MERCHANT, SLIP1, YAMATO, place


def authorized(kuroneko, shop):
    _, outcome = place(kuroneko, shop["invoice"], delivery_method_id=shop["yamato_delivery"])
    assert outcome.kind == "authorized"
    return outcome.payment


def test_our_operations_record_where_yamato_stands(kuroneko, shop, simulator):
    p = authorized(kuroneko, shop)
    assert p.yamato_status == 1 == simulator.transaction(MERCHANT, p.order_no)["status"]
    payments.capture(p.id, carrier=YAMATO, tracking_no=SLIP1)
    assert payments.get_payment(p.id).yamato_status == 3
    payments.cancel_shipment(p.id)
    assert payments.get_payment(p.id).yamato_status == 1
    payments.cancel(p.id)
    assert payments.get_payment(p.id).yamato_status == 2 == \
        simulator.transaction(MERCHANT, p.order_no)["status"]


@pytest.mark.parametrize("steps, expected", [
    ((), ["cancel", "capture", "change_amount", "sync_status"]),
    (("ship",), ["cancel", "change_tracking", "cancel_shipment", "change_amount", "sync_status"]),
    (("ship", "deliver"), ["cancel", "change_amount", "reissue_invoice", "sync_status"]),
    (("ship", "deliver", "invoice", "pay"), ["sync_status"]),
])
def test_only_what_yamato_accepts_is_offered(kuroneko, shop, simulator, steps, expected):
    p = authorized(kuroneko, shop)
    if "ship" in steps:
        payments.capture(p.id, carrier=YAMATO, tracking_no=SLIP1)
    for step in steps[1:]:
        getattr(simulator, step)(MERCHANT, p.order_no)
    payments.sync_status(p.id)
    assert sorted(payments.operations_for(payments.get_payment(p.id))) == sorted(expected)


def test_a_paid_payment_is_not_cancelled_at_yamato(kuroneko, shop, simulator, calls):
    p = authorized(kuroneko, shop)
    payments.capture(p.id, carrier=YAMATO, tracking_no=SLIP1)
    for step in ("deliver", "invoice", "pay"):
        getattr(simulator, step)(MERCHANT, p.order_no)
    payments.sync_status(p.id)
    calls.reset()
    with pytest.raises(InvalidTransition, match="ヤマトの取引状況が「入金済み」のため「取消」はできません"):
        payments.cancel(p.id)
    with pytest.raises(InvalidTransition, match="入金済み"):
        payments.change_amount(p.id)
    assert calls["KAACL0010"] == calls["KAAKK0010"] == 0
    assert payments.get_payment(p.id).status == "captured"
