"""flask_kuroneko.testing: the host shops of tests/hosts use the kit the way a shop's own tests
would — the fixture ``kuroneko_sandbox`` (plugin loaded in tests/conftest.py) on the
``app`` fixture (simple_shop, integer ids), and ``SandboxKit`` on uuid_store (UUID ids, its
own merchant code). Every call goes through the real extension and the in-process sandbox.
"""
from __future__ import annotations

import pytest

from flask_kuroneko import ConfigurationError, OperationPending, payments, rules
from flask_kuroneko.testing import SandboxKit
from hosts import simple_shop, uuid_store
from schema_support import create_tables, drop_tables
from service_support import SLIP1, YAMATO, place

MOBILE = {"sms_phone": "090-1234-5678"}


def test_sms_code_by_the_shops_order_id(kuroneko, shop, kuroneko_sandbox):
    order, outcome = place(kuroneko, shop["smartphone"], form=MOBILE)
    assert outcome.kind == "redirect"
    code = kuroneko_sandbox.sms_code(order.id)
    assert len(code) == 4 and code.isdigit()
    assert payments.verify_sms(outcome.payment.id, code).kind == "authorized"
    assert kuroneko_sandbox.transaction(order.id)["status"] == 1           # 承認済み


def test_a_new_attempt_has_a_new_code_and_the_kit_follows_it(kuroneko, shop, kuroneko_sandbox):
    order, outcome = place(kuroneko, shop["smartphone"], form=MOBILE)
    first = kuroneko_sandbox.order_no(order.id)
    new = payments.restart_sms(outcome.payment.id)
    assert kuroneko_sandbox.order_no(order.id) == new.order_no != first
    assert payments.verify_sms(new.id, kuroneko_sandbox.sms_code(order.id)).kind == "authorized"


def test_advance_expires_the_code_at_yamato(kuroneko, shop, kuroneko_sandbox):
    order, outcome = place(kuroneko, shop["smartphone"], form=MOBILE)
    code = kuroneko_sandbox.sms_code(order.id)
    kuroneko_sandbox.advance(minutes=4)                     # the sandbox's code lives 180 s
    assert payments.verify_sms(outcome.payment.id, code).kind == "expired"
    with pytest.raises(ValueError):
        kuroneko_sandbox.advance(seconds=0)


def test_expire_sms_window_then_the_sweep_declines(kuroneko, shop, kuroneko_sandbox):
    order, outcome = place(kuroneko, shop["smartphone"], form=MOBILE)
    kuroneko_sandbox.expire_sms_window(order.id)
    report = kuroneko_sandbox.sweep()
    assert report.sms_expired == 1
    assert kuroneko_sandbox.payment(order.id).status == "declined"


def test_a_fault_on_one_orders_capture(app, kuroneko, shop, kuroneko_sandbox):
    order, outcome = place(kuroneko, shop["invoice"], delivery_method_id=shop["yamato_delivery"])
    other, _ = place(kuroneko, shop["invoice"], delivery_method_id=shop["yamato_delivery"])
    simple_shop.db.session.commit()
    kuroneko_sandbox.inject_fault("drop", operation="capture", order_id=order.id)
    with pytest.raises(OperationPending):
        payments.capture(outcome.payment.id, carrier=YAMATO, tracking_no=SLIP1)
    assert kuroneko_sandbox.transaction(order.id)["status"] == 3    # Yamato did register it
    assert kuroneko_sandbox.payment(order.id).status == "authorized"  # we do not know yet
    kuroneko_sandbox.sweep()                                        # asks Yamato, settles
    assert kuroneko_sandbox.payment(order.id).status == "captured"
    assert kuroneko_sandbox.simulator.faults() == []                # fired once, on that order
    assert kuroneko_sandbox.transaction(other.id)["status"] == 1


def test_back_office_and_the_transaction_json(kuroneko, shop, kuroneko_sandbox):
    order, outcome = place(kuroneko, shop["invoice"], delivery_method_id=shop["yamato_delivery"])
    payments.capture(outcome.payment.id, carrier=YAMATO, tracking_no=SLIP1)
    tx = kuroneko_sandbox.back_office(order.id, "deliver")
    for key in ("status", "orderNo", "current_total", "items", "billing", "slips", "sms",
                "history", "orderYmd", "shipYmd"):
        assert key in tx, key
    assert tx["orderNo"] == outcome.payment.order_no and tx["current_total"] == 3000
    with pytest.raises(ValueError, match="unknown back-office action"):
        kuroneko_sandbox.back_office(order.id, "refund")


def test_unknown_orders_are_named(kuroneko, shop, kuroneko_sandbox):
    with pytest.raises(LookupError, match="order '999' has no kuroneko payment"):
        kuroneko_sandbox.sms_code("999")
    order, _ = place(kuroneko, shop["invoice"])
    with pytest.raises(LookupError, match="no SMS was sent"):
        kuroneko_sandbox.sms_code(order.id)


@pytest.mark.parametrize("app_config", [{"KURONEKO_ENVIRONMENT": "test",
                                         "KURONEKO_MERCHANT_CODE": "12345678901",
                                         "KURONEKO_PASSWORD": "testpass"}])
def test_outside_the_sandbox_the_kit_says_so(app, app_config, kuroneko_sandbox):
    with pytest.raises(ConfigurationError, match="KURONEKO_ENVIRONMENT"):
        kuroneko_sandbox.simulator


def test_a_uuid_shop_with_its_own_merchant(database_url, simulator):
    app = uuid_store.create_app(database_url)
    with app.app_context():
        create_tables(uuid_store.db)
        app.extensions["kuroneko"].use_simulator(simulator)
        rules.ensure_default_methods()
    kit = SandboxKit(app)                    # outside any app context: it pushes its own
    try:
        with app.app_context():
            kuroneko = uuid_store.kuroneko
            [invoice] = [o for o in kuroneko.available_methods(
                uuid_store.describe(uuid_store.new_purchase())) if o.kind == "invoice"]
            uuid_store.db.session.rollback()
            purchase = uuid_store.new_purchase()
            purchase.surcharge = kuroneko.fee_for(invoice.method_id,
                                                  uuid_store.describe(purchase).total)
            uuid_store.db.session.flush()
            assert kuroneko.start_payment(purchase, invoice.method_id).kind == "authorized"
            purchase_id = purchase.id
        assert kit.merchant_code == "55555555555"
        assert kit.transaction(purchase_id)["status"] == 1
        assert kit.transaction(purchase_id)["merchant"] == "55555555555"
    finally:
        with app.app_context():
            drop_tables(uuid_store.db)
