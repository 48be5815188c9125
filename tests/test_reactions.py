"""Reacting to the host's inbound signals (DESIGN "Reacting to the host"), through the
simple_shop host: its save always goes through; the payment follows per M16/M18."""
from __future__ import annotations

from flask_kuroneko import payments
from flask_kuroneko import signals
from flask_kuroneko.settings import save_settings
from hosts import simple_shop
from hosts.simple_shop import CANCELLED, SHIPPED, set_status
from service_support import MERCHANT, OTHER, SLIP1, SLIP2, YAMATO, models, place, rows, tx


def paid_order(kuroneko, shop, **fields):
    fields.setdefault("delivery_method_id", shop["yamato_delivery"])
    order, outcome = place(kuroneko, shop["invoice"], **fields)
    assert outcome.kind == "authorized"
    return order, outcome.payment.id


def edit(app, order, **fields):
    """The shop's order edit form: save fields, tell the extension, commit."""
    for key, value in fields.items():
        setattr(order, key, value)
    simple_shop.db.session.flush()
    signals.order_updated.send(app, order=order)
    simple_shop.db.session.commit()


def saved_status(order_id):
    simple_shop.db.session.expire_all()
    return simple_shop.db.session.get(simple_shop.ShopOrder, order_id).status


def test_shipped_with_yamato_slip_captures(app, kuroneko, shop, simulator):
    order, pid = paid_order(kuroneko, shop, carrier=YAMATO, tracking_no=SLIP1)
    set_status(app, order, SHIPPED)
    p = payments.get_payment(pid)
    assert (p.status, p.tracking_no, p.process_div) == ("captured", SLIP1, 0)
    assert tx(simulator, p.order_no)["status"] == 3
    assert rows(models().PaymentHistory, payment_id=pid)[-1].actor == "order"


def test_shipped_without_tracking_stays_authorized_then_tracking_captures(app, kuroneko, shop,
                                                                         calls):
    order, pid = paid_order(kuroneko, shop, carrier=YAMATO)
    set_status(app, order, SHIPPED)
    assert saved_status(order.id) == SHIPPED                      # the host's save went through
    p = payments.get_payment(pid)
    assert p.status == "authorized" and "送り状番号" in p.capture_note
    assert rows(models().ErrorLog)[-1].code == "capture_rule" and calls["KAASL0010"] == 0
    edit(app, order, tracking_no=SLIP1)
    p = payments.get_payment(pid)
    assert (p.status, p.tracking_no, p.capture_note) == ("captured", SLIP1, None)


def test_tracking_edited_after_capture_is_registered(app, kuroneko, shop, simulator):
    order, pid = paid_order(kuroneko, shop, carrier=YAMATO, tracking_no=SLIP1)
    set_status(app, order, SHIPPED)
    edit(app, order, tracking_no=SLIP2)
    p = payments.get_payment(pid)
    assert p.tracking_no == SLIP2
    assert [s["paymentNo"] for s in tx(simulator, p.order_no)["slips"]] == [SLIP2]
    edit(app, order, email="x@example.jp")                       # nothing to do: no call
    assert rows(models().PaymentHistory, payment_id=pid)[-1].operation == "送り状番号変更"


def test_other_carrier_follows_m4(app, kuroneko, shop, calls):
    other = shop["other_delivery"]
    order, pid = paid_order(kuroneko, shop, carrier=OTHER, tracking_no="SG-1234",
                            delivery_method_id=other)
    set_status(app, order, SHIPPED)
    p = payments.get_payment(pid)
    assert p.status == "authorized" and "他社配送オプション" in p.capture_note
    order2, pid2 = paid_order(kuroneko, shop, carrier=OTHER, tracking_no="SG-5678",
                              delivery_method_id=other)
    save_settings({"other_carrier_enabled": True})
    set_status(app, order2, SHIPPED)
    p2 = payments.get_payment(pid2)
    assert (p2.status, p2.process_div, p2.tracking_no) == ("captured", 2, "SG5678")


def test_yamato_delivery_shipped_with_another_carrier_is_not_confirmed(app, kuroneko, shop):
    """M16 through the host's save: the reason reaches capture_note; no Yamato call."""
    save_settings({"other_carrier_enabled": True})
    order, pid = paid_order(kuroneko, shop, carrier="日本郵便", tracking_no="EJ1")
    set_status(app, order, SHIPPED)
    p = payments.get_payment(pid)
    assert p.status == "authorized" and "配送会社「日本郵便」" in p.capture_note


def test_yamato_carrier_with_unticked_delivery_method_is_not_confirmed(app, kuroneko, shop):
    order, pid = paid_order(kuroneko, shop, carrier=YAMATO, tracking_no=SLIP1,
                            delivery_method_id=shop["other_delivery"])
    set_status(app, order, SHIPPED)
    assert payments.get_payment(pid).status == "authorized"


def test_cancelled_order_cancels_only_when_switched_on(app, kuroneko, shop, simulator, calls):
    order, pid = paid_order(kuroneko, shop)
    set_status(app, order, CANCELLED)
    assert payments.get_payment(pid).status == "authorized" and calls["KAACL0010"] == 0
    save_settings({"cancel_with_order": True})
    order2, pid2 = paid_order(kuroneko, shop)
    set_status(app, order2, CANCELLED)
    p2 = payments.get_payment(pid2)
    assert p2.status == "cancelled" and tx(simulator, p2.order_no)["status"] == 2


def test_amount_edit_changes_amount_only_when_switched_on(app, kuroneko, shop, simulator, calls):
    order, pid = paid_order(kuroneko, shop)
    edit(app, order, lines=[["テスト商品", 1, 1500, "physical"]])
    assert payments.get_payment(pid).amount == 3000 and calls["KAAKK0010"] == 0
    save_settings({"change_amount_with_order": True})
    edit(app, order, lines=[["テスト商品", 1, 1000, "physical"]])
    p = payments.get_payment(pid)
    assert p.amount == 1000 and tx(simulator, p.order_no)["current_total"] == 1000


def test_yamato_unreachable_keeps_the_save_and_retries(app, kuroneko, shop, simulator, calls):
    order, pid = paid_order(kuroneko, shop, carrier=YAMATO, tracking_no=SLIP1)
    simulator.inject_fault("refuse", operation="KAASL0010")
    set_status(app, order, SHIPPED)
    assert saved_status(order.id) == SHIPPED
    assert payments.get_payment(pid).status == "authorized"
    assert [(o.operation, o.state) for o in rows(models().Operation)][-1] == ("capture", "queued")
    from datetime import timedelta
    from flask_kuroneko.models import utcnow
    payments.sweep(now=utcnow() + timedelta(minutes=5))
    assert payments.get_payment(pid).status == "captured" and calls["KAASL0010"] == 2


def test_yamato_refusal_is_logged_not_raised(app, kuroneko, shop, simulator):
    order, pid = paid_order(kuroneko, shop, carrier=YAMATO, tracking_no=SLIP1)
    simulator.flip_ng(MERCHANT, payments.get_payment(pid).order_no)   # Yamato: 決済不可 now
    set_status(app, order, SHIPPED)
    assert saved_status(order.id) == SHIPPED
    assert payments.get_payment(pid).status == "authorized"
    assert rows(models().ErrorLog)[-1].operation == "KAASL0010"


def test_order_without_kuroneko_payment_is_ignored(app, kuroneko, shop, calls):
    order = simple_shop.make_order()
    set_status(app, order, SHIPPED)
    assert saved_status(order.id) == SHIPPED and sum(calls.counts.values()) == 0


def test_unexpected_failure_is_reported_not_raised(app, kuroneko, shop):
    errors = []
    signals.payment_error.connect(lambda s, **kw: errors.append(kw), sender=app, weak=False)
    order, pid = paid_order(kuroneko, shop)
    order.lines = [["壊れた明細"]]                     # the host's describer cannot read it
    try:
        set_status(app, order, SHIPPED)
    finally:
        signals.payment_error.receivers.clear()
    assert rows(models().ErrorLog)[-1].code == "internal"
    assert errors and errors[-1]["operation"] == "order_status_changed"
    assert saved_status(order.id) == SHIPPED                      # the host's save was kept


def test_other_apps_signals_are_not_ours(app, kuroneko, shop, calls):
    from flask import Flask
    order, pid = paid_order(kuroneko, shop, carrier=YAMATO, tracking_no=SLIP1)
    signals.order_status_changed.send(Flask("other"), order=order, old="新規受付", new=SHIPPED)
    assert payments.get_payment(pid).status == "authorized" and calls["KAASL0010"] == 0


def test_shipped_before_the_credit_decision_is_recorded(app, kuroneko, shop, calls):
    """The shop ships while Yamato is still reviewing: no capture is possible, the admin is told
    (error log + payment_error) instead of the order silently never reaching 売上確定."""
    errors = []
    signals.payment_error.connect(lambda s, **kw: errors.append(kw), sender=app, weak=False)
    order, outcome = place(kuroneko, shop["invoice"], carrier=YAMATO, tracking_no=SLIP1,
                           delivery_method_id=shop["yamato_delivery"],
                           billing=dict(simple_shop.DEFAULT_BILLING, phone="03-1234-9993"))
    assert outcome.kind == "under_review"
    try:
        set_status(app, order, SHIPPED)
    finally:
        signals.payment_error.receivers.clear()
    assert saved_status(order.id) == SHIPPED
    assert payments.get_payment(outcome.payment.id).status == "under_review"
    log = rows(models().ErrorLog)[-1]
    assert (log.code, log.order_no) == ("capture_rule", outcome.payment.order_no)
    assert "審査中" in log.message and "売上確定" in log.message
    assert errors and errors[-1]["operation"] == "capture" and calls["KAASL0010"] == 0
