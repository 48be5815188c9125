"""'Any Flask store': a second host with UUID ids, its own status names and no delivery-method
table goes through authorize, ship -> capture and cancel with the same hooks and signals."""
from __future__ import annotations

import uuid

import pytest

from flask_kuroneko import rules, signals
from hosts import uuid_store
from hosts.uuid_store import DISPATCHED, VOIDED, change_state, new_purchase
from schema_support import create_tables, drop_tables

YAMATO_SLIP = "123456789013"        # 12345678901 % 7 == 3: passes Yamato's check digit


@pytest.fixture
def store(database_url, simulator):
    app = uuid_store.create_app(database_url)
    with app.app_context():
        create_tables(uuid_store.db)
        app.extensions["kuroneko"].use_simulator(simulator)
        rules.ensure_default_methods()
        yield app
        drop_tables(uuid_store.db)


def _pay(store) -> tuple:
    kuroneko = uuid_store.kuroneko
    [invoice] = [o for o in kuroneko.available_methods(uuid_store.describe(new_purchase()))
                 if o.kind == "invoice"]
    uuid_store.db.session.rollback()
    p = new_purchase()
    p.surcharge = kuroneko.fee_for(invoice.method_id, uuid_store.describe(p).total)
    uuid_store.db.session.flush()
    outcome = kuroneko.start_payment(p, invoice.method_id)
    return p, outcome


def test_authorize_with_uuid_ids(store, simulator):
    p, outcome = _pay(store)
    assert outcome.kind == "authorized"
    payment = uuid_store.kuroneko.payment_for(p.id)
    assert payment.host_order_id == p.id and uuid.UUID(payment.host_order_id)
    tx = simulator.transaction("55555555555", payment.order_no)   # the store's own merchant
    assert tx["status"] == 1
    assert uuid_store.kuroneko.state.load_order("not-a-uuid") is None
    assert uuid_store.kuroneko.state.load_order(str(uuid.uuid4())) is None


def test_ship_with_yamato_captures(store, simulator):
    p, outcome = _pay(store)
    confirmed = []
    signals.sales_confirmed.connect(lambda sender, **kw: confirmed.append(kw["order_id"]),
                                    sender=store, weak=False)
    try:
        change_state(p, DISPATCHED, courier="クロネコヤマト", waybill=YAMATO_SLIP)
    finally:
        signals.sales_confirmed.receivers.clear()
    payment = uuid_store.kuroneko.payment_for(p.id)
    assert payment.status == "captured" and payment.process_div == 0
    assert payment.tracking_no == YAMATO_SLIP
    assert simulator.transaction("55555555555", payment.order_no)["status"] == 3
    assert confirmed == [p.id]


def test_ship_with_other_carrier_captures(store, simulator):
    p, _ = _pay(store)
    change_state(p, DISPATCHED, courier="佐川急便", waybill="4000-1111-2222")
    payment = uuid_store.kuroneko.payment_for(p.id)
    assert payment.status == "captured" and payment.process_div == 2


def test_ship_with_yamato_without_tracking_keeps_authorization(store):
    p, _ = _pay(store)
    change_state(p, DISPATCHED, courier="クロネコヤマト")
    assert p.state == DISPATCHED                                  # the store's save went through
    payment = uuid_store.kuroneko.payment_for(p.id)
    assert payment.status == "authorized"
    assert "送り状番号" in payment.capture_note


def test_void_cancels(store, simulator):
    p, _ = _pay(store)
    change_state(p, VOIDED)
    payment = uuid_store.kuroneko.payment_for(p.id)
    assert payment.status == "cancelled"
    assert simulator.transaction("55555555555", payment.order_no)["status"] == 2


def test_admin_guard_and_prefixes_of_this_store(store):
    state = uuid_store.kuroneko.state
    with store.test_request_context("/backoffice/payments/"):
        assert state.check_admin().status_code == 403
    with store.test_request_context("/backoffice/payments/", headers={"X-Staff": "yes"}):
        assert state.check_admin() is None
    urls = [r.rule for r in store.url_map.iter_rules() if r.endpoint.startswith("kuroneko_")]
    assert any(u.startswith("/pay/") for u in urls)                  # checkout under its prefix
    assert all(u.startswith(("/pay/", "/backoffice/payments")) for u in urls)


# ----------------------------------------------------------- the rest of the integration suite


def _edit(p, **fields) -> None:
    """The store's edit form: save fields, send order_updated with the app as sender, commit."""
    from flask import current_app
    for key, value in fields.items():
        setattr(p, key, value)
    uuid_store.db.session.flush()
    signals.order_updated.send(current_app._get_current_object(), order=p)
    uuid_store.db.session.commit()


def _calls(simulator, monkeypatch):
    from service_support import CallCounter
    return CallCounter(simulator, monkeypatch)


def test_waybill_edited_after_capture_is_registered(store, simulator):
    p, _ = _pay(store)
    change_state(p, DISPATCHED, courier="クロネコヤマト", waybill=YAMATO_SLIP)
    _edit(p, waybill="223456789010")                    # 22345678901 % 7 == 0
    payment = uuid_store.kuroneko.payment_for(p.id)
    assert (payment.status, payment.tracking_no) == ("captured", "223456789010")
    tx = simulator.transaction("55555555555", payment.order_no)
    assert [s["paymentNo"] for s in tx["slips"]] == ["223456789010"]


def test_waybill_entered_later_captures(store, simulator):
    p, _ = _pay(store)
    change_state(p, DISPATCHED, courier="クロネコヤマト")
    assert uuid_store.kuroneko.payment_for(p.id).status == "authorized"
    _edit(p, waybill=YAMATO_SLIP)
    assert uuid_store.kuroneko.payment_for(p.id).status == "captured"


def test_amount_edit_follows_the_linking_setting(store, simulator, monkeypatch):
    from flask_kuroneko.settings import save_settings
    p, _ = _pay(store)
    calls = _calls(simulator, monkeypatch)
    _edit(p, items=[{"title": "Green Tea", "qty": 2, "net_price": 1000}])
    assert uuid_store.kuroneko.payment_for(p.id).amount == 3800 and calls["KAAKK0010"] == 0
    save_settings({"change_amount_with_order": True})
    _edit(p, items=[{"title": "Green Tea", "qty": 1, "net_price": 1000}])
    payment = uuid_store.kuroneko.payment_for(p.id)
    assert payment.amount == 1000 + 100 + 500 + p.surcharge
    assert simulator.transaction("55555555555", payment.order_no)["current_total"] == payment.amount


def test_void_without_the_linking_setting_keeps_the_payment(database_url, simulator, monkeypatch):
    app = uuid_store.create_app(database_url, KURONEKO_CANCEL_WITH_ORDER=None)   # the default
    with app.app_context():
        create_tables(uuid_store.db)
        app.extensions["kuroneko"].use_simulator(simulator)
        rules.ensure_default_methods()
        try:
            p, _ = _pay(app)
            calls = _calls(simulator, monkeypatch)
            change_state(p, VOIDED)
            assert p.state == VOIDED
            assert uuid_store.kuroneko.payment_for(p.id).status == "authorized"
            assert calls["KAACL0010"] == 0
        finally:
            drop_tables(uuid_store.db)


def test_yamato_unreachable_on_dispatch_then_sweep(store, simulator, monkeypatch):
    from datetime import timedelta

    from flask_kuroneko import payments
    from flask_kuroneko.models import utcnow
    p, _ = _pay(store)
    calls = _calls(simulator, monkeypatch)
    simulator.inject_fault("latency", operation="KAASL0010", seconds=99)
    change_state(p, DISPATCHED, courier="クロネコヤマト", waybill=YAMATO_SLIP)
    assert p.state == DISPATCHED
    assert uuid_store.kuroneko.payment_for(p.id).status == "authorized"
    payments.sweep(now=utcnow() + timedelta(minutes=2))
    payment = uuid_store.kuroneko.payment_for(p.id)
    assert payment.status == "captured" and calls["KAASL0010"] == 1     # answer lost, not resent
    assert len(simulator.transaction("55555555555", payment.order_no)["slips"]) == 1


def test_restorer_recreates_the_purchase_from_the_pre_payment_log(store):
    import sqlalchemy as sa
    p, outcome = _pay(store)
    models = uuid_store.kuroneko.models
    log = uuid_store.db.session.scalars(sa.select(models.PrepaymentLog).where(
        models.PrepaymentLog.order_no == outcome.payment.order_no)).one()
    assert log.host_order_id == p.id and log.amount == outcome.payment.amount
    restored = uuid_store.kuroneko.state.restore_order(log.snapshot, log.created_at)
    assert restored.id != p.id and uuid.UUID(restored.id)
    assert uuid_store.describe(restored).total == uuid_store.describe(p).total
    assert (restored.items, restored.buyer_name) == (p.items, p.buyer_name)
