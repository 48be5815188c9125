"""Yamato's 90-day shipment window: a 与信 near its end is flagged, 「再与信」 is offered then,
and re-authorizing makes a new 決済ID and cancels the old payment at Yamato; スマホタイプ is
refused with the reason."""
from __future__ import annotations

from datetime import timedelta

import pytest

from flask_kuroneko import payments
from flask_kuroneko.errors import InvalidTransition
from flask_kuroneko.models import utcnow
from hosts import simple_shop
from service_support import MERCHANT, names, place


def authorized(kuroneko, shop, kind="invoice"):
    form = {"sms_phone": "090-1234-5678"} if kind == "smartphone" else None
    _, outcome = place(kuroneko, shop[kind], delivery_method_id=shop["yamato_delivery"], form=form)
    return outcome.payment


def age(payment, days: int):
    payment.created_at = utcnow() - timedelta(days=days)
    simple_shop.db.session.commit()


def test_a_fresh_payment_is_not_flagged_and_offers_no_reauthorization(kuroneko, shop):
    p = authorized(kuroneko, shop)
    assert payments.ship_window_warning(p) is None
    assert "reauthorize" not in payments.operations_for(p)
    assert payments.ship_window_closes_on(p) > utcnow().date() + timedelta(days=88)


def test_near_the_end_it_is_flagged_and_reauthorized(kuroneko, shop, simulator, received):
    p = authorized(kuroneko, shop)
    age(p, 80)
    text = payments.ship_window_warning(p)
    assert "出荷期限" in text and "あと" in text and "再与信" in text
    assert "reauthorize" in payments.operations_for(p)
    new = payments.reauthorize(p.id, actor="admin")
    old = payments.get_payment(p.id)
    assert (new.status, new.amount, new.replaces_id) == ("authorized", p.amount, p.id)
    assert new.order_no != old.order_no and payments.ship_window_warning(new) is None
    assert old.status == "cancelled"
    assert simulator.transaction(MERCHANT, old.order_no)["status"] == 2
    assert simulator.transaction(MERCHANT, new.order_no)["status"] == 1
    assert payments.current_payment(p.host_order_id).id == new.id
    assert "payment-amount-changed" not in names(received)       # same amount: nothing to tell


def test_past_the_window_says_so(kuroneko, shop):
    p = authorized(kuroneko, shop)
    age(p, 95)
    assert "過ぎています" in payments.ship_window_warning(p)


def test_smartphone_payments_are_not_reauthorized(kuroneko, shop, simulator):
    p = authorized(kuroneko, shop, "smartphone")
    assert payments.verify_sms(p.id, simulator.sms_code(MERCHANT, p.order_no)).kind == "authorized"
    age(payments.get_payment(p.id), 85)
    with pytest.raises(InvalidTransition, match="スマホタイプの決済は再与信できません"):
        payments.reauthorize(p.id)
    assert payments.get_payment(p.id).status == "authorized"


def test_a_declined_reauthorization_keeps_the_old_payment(kuroneko, shop, simulator):
    p = authorized(kuroneko, shop)
    age(p, 85)
    order = simple_shop.db.session.get(simple_shop.ShopOrder, int(p.host_order_id))
    order.billing = dict(order.billing, phone="03-1234-9991")          # sandbox: ご利用不可
    simple_shop.db.session.commit()
    with pytest.raises(Exception, match="再与信が承認されませんでした"):
        payments.reauthorize(p.id)
    assert payments.get_payment(p.id).status == "authorized"
    assert payments.current_payment(p.host_order_id).id == p.id
