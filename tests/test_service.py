"""Every service operation through the real client and the in-process sandbox, on the
database of KURONEKO_TEST_DATABASE_URL (SQLite by default)."""
from __future__ import annotations

import pytest

from flask_kuroneko import payments
from flask_kuroneko import signals
from flask_kuroneko.errors import ApiError, CaptureRefused, InvalidTransition
from flask_kuroneko.settings import save_settings
from hosts import simple_shop
from service_support import (MERCHANT, OTHER, SLIP1, SLIP2, YAMATO, models, names, place,
                             rows, tx)


def authorized(kuroneko, shop, **fields):
    fields.setdefault("delivery_method_id", shop["yamato_delivery"])
    order, outcome = place(kuroneko, shop["invoice"], **fields)
    assert outcome.kind == "authorized", outcome
    return order, outcome.payment


# --------------------------------------------------------------------------- authorize


def test_authorize_invoice(kuroneko, shop, simulator, calls, received):
    order, outcome = place(kuroneko, shop["invoice"])
    p = outcome.payment
    assert outcome.kind == "authorized" and p.status == "authorized" and p.status_label == "与信"
    assert len(p.order_no) == 10 and p.order_no.isdigit() and p.host_order_id == str(order.id)
    assert p.amount == p.initial_amount == 3000 and p.authorized_at is not None
    assert tx(simulator, p.order_no)["status"] == 1 and tx(simulator, p.order_no)["sendDiv"] == 0
    assert calls["KAARA0010"] == 1
    assert names(received) == ["payment-authorized"]
    assert received[0][1]["order_id"] == str(order.id) and received[0][1]["payment"] is p
    [h] = rows(models().PaymentHistory, payment_id=p.id)
    assert (h.operation, h.result, h.amount, h.order_no) == ("与信", "ご利用可", 3000, p.order_no)
    [op] = rows(models().Operation, payment_id=p.id)
    assert op.state == "done" and op.claimed_by is None
    # the order and the payment are committed together
    simple_shop.db.session.rollback()
    assert simple_shop.db.session.get(simple_shop.ShopOrder, order.id) is not None


def test_authorize_gift_uses_send_div_1(kuroneko, shop, simulator):
    shipping = dict(simple_shop.DEFAULT_BILLING, name="佐藤　花子", postal_code="530-0001",
                    prefecture="大阪府", address1="大阪市北区梅田1-1")
    _, outcome = place(kuroneko, shop["invoice"], shipping=shipping)
    assert outcome.kind == "authorized"
    record = tx(simulator, outcome.payment.order_no)
    assert record["sendDiv"] == 1 and record["delivery"]["sendName"] == "佐藤　花子"


def test_fee_on_the_order_is_recorded(kuroneko, shop):
    save_settings({"fee_fixed": 200})
    _, outcome = place(kuroneko, shop["invoice"], adjustments=[["後払い手数料", 200]])
    assert outcome.payment.fee == 200 and outcome.payment.amount == 3200


@pytest.mark.parametrize("suffix, kind, status, signal", [
    ("9991", "declined", "declined", "payment-declined"),
    ("9992", "declined", "declined", "payment-declined"),
    ("9993", "under_review", "under_review", "payment-under-review"),
])
def test_authorize_outcomes(kuroneko, shop, received, suffix, kind, status, signal):
    _, outcome = place(kuroneko, shop["invoice"], phone=f"03-1234-{suffix}")
    assert (outcome.kind, outcome.payment.status) == (kind, status)
    assert names(received) == [signal]
    if kind == "declined":
        assert outcome.message and "ご利用いただけません" in outcome.message


def test_authorize_validation_error_declines_without_calling(kuroneko, shop, calls, received):
    billing = dict(simple_shop.DEFAULT_BILLING, address1="千代田区" + "あ" * 60)
    _, outcome = place(kuroneko, shop["invoice"], billing=billing)
    assert outcome.kind == "declined" and "住所" in outcome.message
    assert calls["KAARA0010"] == 0
    [err] = rows(models().ErrorLog)
    assert err.operation == "KAARA0010" and err.order_no == outcome.payment.order_no


def test_authorize_yamato_error_declines_and_logs(kuroneko, shop, simulator, received):
    _, outcome = place(kuroneko, shop["invoice"], phone="03-1234-9990")     # err0001
    assert outcome.kind == "declined" and outcome.payment.status == "declined"
    [err] = rows(models().ErrorLog)
    assert err.code == "err0001" and err.operation == "KAARA0010"
    assert names(received) == ["payment-error", "payment-declined"]


def test_authorize_twice_for_one_order_reuses_the_payment(kuroneko, shop, calls):
    order, first = place(kuroneko, shop["invoice"])
    second = kuroneko.start_payment(order, shop["invoice"])
    assert second.kind == "authorized" and second.payment.id == first.payment.id
    assert calls["KAARA0010"] == 1


def test_stopped_method_is_refused(kuroneko, shop):
    from flask_kuroneko import rules
    rules.update_method(shop["invoice"], active=False)
    with pytest.raises(InvalidTransition):
        place(kuroneko, shop["invoice"])


def test_prepayment_log_written_before_the_call(kuroneko, shop, simulator):
    order, outcome = place(kuroneko, shop["invoice"])
    [log] = rows(models().PrepaymentLog)
    assert log.order_no == outcome.payment.order_no and log.host_order_id == str(order.id)
    assert log.amount == 3000 and log.snapshot["billing"]["name"] == "山田　太郎"
    assert "testpass" not in str(log.snapshot)


def test_prepayment_log_can_be_switched_off(kuroneko, shop):
    save_settings({"prepayment_log_enabled": False})
    place(kuroneko, shop["invoice"])
    assert rows(models().PrepaymentLog) == []


def test_prepayment_log_survives_a_rollback(kuroneko, shop, app):
    """The request fails after the payment: the host rolls back; the M23 log stays."""
    received = []

    def explode(sender, **kw):
        received.append(kw)
        simple_shop.db.session.add(simple_shop.ShopOrder(lines=[], billing={}))
        simple_shop.db.session.rollback()

    signals.payment_authorized.connect(explode, sender=app, weak=False)
    try:
        _, outcome = place(kuroneko, shop["invoice"])
    finally:
        signals.payment_authorized.disconnect(explode, sender=app)
    simple_shop.db.session.rollback()
    [log] = rows(models().PrepaymentLog)
    assert log.order_no == outcome.payment.order_no and received


# --------------------------------------------------------------------------- capture


def test_capture_with_yamato_slip(kuroneko, shop, simulator, calls, received):
    _, p = authorized(kuroneko, shop)
    payments.capture(p.id, carrier=YAMATO, tracking_no="1234-5678-9013", actor="admin")
    p = payments.get_payment(p.id)
    assert (p.status, p.process_div, p.tracking_no, p.carrier) == ("captured", 0, SLIP1, YAMATO)
    assert p.status_label == "売上確定" and p.captured_at is not None
    assert tx(simulator, p.order_no)["status"] == 3
    assert calls["KAASL0010"] == 1
    assert names(received)[-1] == "sales-confirmed"
    h = rows(models().PaymentHistory, payment_id=p.id)[-1]
    assert (h.operation, h.result, h.actor) == ("売上確定", "OK", "admin")


def test_capture_other_carrier_needs_m4(kuroneko, shop, simulator, calls):
    _, p = authorized(kuroneko, shop, delivery_method_id=shop["other_delivery"])
    with pytest.raises(CaptureRefused, match="他社配送オプション"):
        payments.capture(p.id, carrier=OTHER, tracking_no="ABC123")
    p = payments.get_payment(p.id)
    assert p.status == "authorized" and "他社配送オプション" in p.capture_note
    assert calls["KAASL0010"] == 0
    assert rows(models().ErrorLog)[-1].code == "capture_rule"
    save_settings({"other_carrier_enabled": True})
    payments.capture(p.id, carrier=OTHER, tracking_no="ABC123")
    p = payments.get_payment(p.id)
    assert (p.status, p.process_div, p.tracking_no, p.capture_note) == ("captured", 2, "ABC123", None)


def test_capture_other_carrier_without_number_uses_order_no(kuroneko, shop):
    save_settings({"other_carrier_enabled": True})
    _, p = authorized(kuroneko, shop, delivery_method_id=shop["other_delivery"])
    payments.capture(p.id, carrier=OTHER, tracking_no=None)
    p = payments.get_payment(p.id)
    assert p.status == "captured" and p.tracking_no == p.order_no


def test_m16_yamato_delivery_shipped_with_another_carrier_is_not_confirmed(kuroneko, shop, calls):
    """M16: the order's delivery method is a クロネコヤマト配送 one, but it went with 日本郵便:
    no 売上確定 (not even with 他社配送オプション on), and the reason says what to do."""
    save_settings({"other_carrier_enabled": True})
    _, p = authorized(kuroneko, shop)
    with pytest.raises(CaptureRefused, match="配送会社「日本郵便」"):
        payments.capture(p.id, carrier="日本郵便", tracking_no="EJ123456789JP")
    p = payments.get_payment(p.id)
    assert p.status == "authorized" and "クロネコヤマト配送" in p.capture_note
    assert calls["KAASL0010"] == 0


@pytest.mark.parametrize("fields, carrier, tracking, reason", [
    ({}, YAMATO, None, "送り状番号が入力されていない"),
    ({"delivery_method_id": "other"}, YAMATO, SLIP1, "クロネコヤマト配送"),
    ({}, "", SLIP1, "配送会社名"),
])
def test_capture_rules_not_met(kuroneko, shop, calls, fields, carrier, tracking, reason):
    if fields.get("delivery_method_id") == "other":
        fields = {"delivery_method_id": shop["other_delivery"]}
        order, outcome = place(kuroneko, shop["invoice"], **fields)
        p = outcome.payment
    else:
        _, p = authorized(kuroneko, shop)
    with pytest.raises(CaptureRefused, match=reason):
        payments.capture(p.id, carrier=carrier, tracking_no=tracking)
    assert payments.get_payment(p.id).status == "authorized" and calls["KAASL0010"] == 0


def test_capture_bad_check_digit_is_refused_before_http(kuroneko, shop, calls):
    _, p = authorized(kuroneko, shop)
    with pytest.raises(Exception) as info:
        payments.capture(p.id, carrier=YAMATO, tracking_no="123456789010")
    assert "チェックデジット" in str(info.value)
    p = payments.get_payment(p.id)
    assert p.status == "authorized" and "チェックデジット" in p.capture_note
    assert calls["KAASL0010"] == 0


def test_change_tracking_and_cancel_shipment(kuroneko, shop, simulator, calls):
    _, p = authorized(kuroneko, shop)
    payments.capture(p.id, carrier=YAMATO, tracking_no=SLIP1)
    payments.change_tracking(p.id, SLIP2)
    p = payments.get_payment(p.id)
    assert p.tracking_no == SLIP2 and p.status == "captured"
    assert [s["paymentNo"] for s in tx(simulator, p.order_no)["slips"]] == [SLIP2]
    with pytest.raises(InvalidTransition):
        payments.change_tracking(p.id, SLIP2)
    payments.cancel_shipment(p.id)
    p = payments.get_payment(p.id)
    assert (p.status, p.tracking_no, p.process_div) == ("authorized", None, None)
    assert tx(simulator, p.order_no)["status"] == 1


# --------------------------------------------------------------------------- cancel


@pytest.mark.parametrize("captured", [False, True])
def test_cancel(kuroneko, shop, simulator, calls, received, captured):
    _, p = authorized(kuroneko, shop)
    if captured:
        payments.capture(p.id, carrier=YAMATO, tracking_no=SLIP1)
    payments.cancel(p.id, actor="admin")
    p = payments.get_payment(p.id)
    assert p.status == "cancelled" and p.status_label == "取消済み" and p.cancelled_at
    assert tx(simulator, p.order_no)["status"] == 2 and calls["KAACL0010"] == 1
    assert names(received)[-1] == "payment-cancelled"
    with pytest.raises(InvalidTransition, match="取消済み"):
        payments.cancel(p.id)
    assert calls["KAACL0010"] == 1


def test_cancel_refused_by_yamato_is_logged_and_raised(kuroneko, shop, simulator, received):
    _, p = authorized(kuroneko, shop)
    payments.capture(p.id, carrier=YAMATO, tracking_no=SLIP1)
    simulator.deliver(MERCHANT, p.order_no)
    simulator.invoice(MERCHANT, p.order_no)
    simulator.pay(MERCHANT, p.order_no)
    with pytest.raises(ApiError) as info:
        payments.cancel(p.id)
    assert info.value.code == "kaacl015E"
    assert payments.get_payment(p.id).status == "captured"
    err = rows(models().ErrorLog)[-1]
    assert (err.code, err.operation, err.order_no) == ("kaacl015E", "KAACL0010", p.order_no)
    assert names(received)[-1] == "payment-error"
    h = rows(models().PaymentHistory, payment_id=p.id)[-1]
    assert (h.operation, h.result) == ("取消", "kaacl015E")


# --------------------------------------------------------------------------- amount change


def _set_lines(order, lines):
    order.lines = lines
    simple_shop.db.session.commit()


def test_change_amount_decrease(kuroneko, shop, simulator, received):
    order, p = authorized(kuroneko, shop)
    _set_lines(order, [["テスト商品", 1, 1500, "physical"]])
    payments.change_amount(p.id, actor="admin")
    p = payments.get_payment(p.id)
    assert p.amount == 1500 and p.initial_amount == 3000
    assert tx(simulator, p.order_no)["current_total"] == 1500
    name, kw = received[-1]
    assert name == "payment-amount-changed" and (kw["old_amount"], kw["new_amount"]) == (3000, 1500)
    with pytest.raises(InvalidTransition, match="利用額変更は不要"):
        payments.change_amount(p.id)


def test_change_amount_increase_accepted(kuroneko, shop, simulator):
    order, p = authorized(kuroneko, shop)
    _set_lines(order, [["テスト商品", 3, 1500, "physical"]])
    payments.change_amount(p.id)
    assert payments.get_payment(p.id).amount == 4500


def test_change_amount_increase_refused_reauthorizes(kuroneko, shop, simulator, calls, received):
    simulator.configure_merchant(MERCHANT, amount_increase="deny")
    order, p = authorized(kuroneko, shop)
    payments.capture(p.id, carrier=YAMATO, tracking_no=SLIP1)
    _set_lines(order, [["テスト商品", 3, 1500, "physical"]])
    new = payments.change_amount(p.id, actor="admin")
    old = payments.get_payment(p.id)
    assert new.id != old.id and new.replaces_id == old.id and new.order_no != old.order_no
    assert (old.status, new.status, new.amount) == ("cancelled", "captured", 4500)
    assert tx(simulator, old.order_no)["status"] == 2
    assert tx(simulator, new.order_no)["status"] == 3
    assert payments.current_payment(order.id).id == new.id
    assert "payment-cancelled" not in names(received)          # the order is not cancelled
    name, kw = [r for r in received if r[0] == "payment-amount-changed"][-1]
    assert (kw["payment"].id, kw["old_amount"], kw["new_amount"]) == (new.id, 3000, 4500)


def test_change_amount_reauthorization_declined_keeps_old(kuroneko, shop, simulator, received):
    simulator.configure_merchant(MERCHANT, amount_increase="deny")
    order, p = authorized(kuroneko, shop)
    _set_lines(order, [["高級品", 1, 54_000, "physical"]])     # over the per-buyer limit
    with pytest.raises(ApiError, match="再与信が承認されませんでした"):
        payments.change_amount(p.id)
    old = payments.get_payment(p.id)
    assert old.status == "authorized" and old.amount == 3000
    assert tx(simulator, old.order_no)["status"] == 1
    [new] = [x for x in rows(models().Payment) if x.replaces_id == old.id]
    assert new.status == "declined"
    assert "payment-declined" not in names(received)
    assert payments.current_payment(order.id).id == old.id


# --------------------------------------------------------------------------- reissue / sync


def test_reissue_invoice(kuroneko, shop, simulator):
    _, p = authorized(kuroneko, shop)
    payments.capture(p.id, carrier=YAMATO, tracking_no=SLIP1)
    simulator.deliver(MERCHANT, p.order_no)
    payments.reissue_invoice(p.id, 6, "お届け先変更", actor="admin")
    assert tx(simulator, p.order_no)["reissue"]["count"] == 1
    h = rows(models().PaymentHistory, payment_id=p.id)[-1]
    assert (h.operation, h.result) == ("請求書再発行", "OK")


def test_sync_status_detects_drift_cancelled_at_yamato(kuroneko, shop, simulator, api_client,
                                                        received):
    _, p = authorized(kuroneko, shop)
    api_client.cancel(p.order_no)           # someone used Yamato's own admin screen
    payments.sync_status(p.id)
    p = payments.get_payment(p.id)
    assert p.status == "cancelled" and p.yamato_status == 2
    assert "取消済み" in p.drift and "与信" in p.drift
    assert rows(models().ErrorLog)[-1].code == "drift"
    assert names(received)[-2:] == ["payment-error", "payment-cancelled"]


def test_sync_status_agreeing_records_no_drift(kuroneko, shop, simulator):
    _, p = authorized(kuroneko, shop)
    payments.sync_status(p.id)
    p = payments.get_payment(p.id)
    assert p.drift is None and p.yamato_status == 1 and p.synced_at is not None


def test_resolve_under_review(kuroneko, shop, simulator, received):
    _, outcome = place(kuroneko, shop["invoice"], phone="03-1234-9993")
    p = outcome.payment
    assert payments.resolve(p.id).status == "under_review"
    simulator.advance(700)
    assert payments.resolve(p.id).status == "authorized"
    assert names(received)[-1] == "payment-authorized"


def test_unknown_payment_id(kuroneko, shop):
    from flask_kuroneko.errors import PaymentNotFound
    with pytest.raises(PaymentNotFound):
        payments.cancel(99999)


def test_prepayment_log_is_committed_before_kaara(kuroneko, shop, simulator, monkeypatch):
    """Seen from another connection at the moment Yamato receives KAARA0010."""
    import sqlalchemy as sa
    from urllib.parse import parse_qs
    seen = []
    original = simulator.exchange

    def spy(code, raw_body, **kw):
        if code == "KAARA0010":
            order_no = parse_qs(raw_body.decode())["orderNo"][0]
            with simple_shop.db.engine.connect() as other:
                seen.append(other.execute(sa.text(
                    "SELECT COUNT(*) FROM kuroneko_prepayment_log WHERE order_no = :n"),
                    {"n": order_no}).scalar())
                seen.append(other.execute(sa.text(
                    "SELECT status FROM kuroneko_payments WHERE order_no = :n"),
                    {"n": order_no}).scalar())
        return original(code, raw_body, **kw)

    monkeypatch.setattr(simulator, "exchange", spy)
    _, outcome = place(kuroneko, shop["invoice"])
    assert outcome.kind == "authorized" and seen == [1, "pending"]


def test_password_never_recorded(kuroneko, shop, simulator, caplog, received):
    """Flows with errors, timeouts and declines: the password is in no log record, history,
    error log, pre-payment log, signal payload or exception text."""
    import logging
    caplog.set_level(logging.DEBUG)
    texts = []
    _, p = authorized(kuroneko, shop)
    place(kuroneko, shop["invoice"], phone="03-1234-9990")
    simulator.inject_fault("latency", operation="KAACL0010", seconds=99)
    for action in (lambda: payments.cancel(p.id),
                   lambda: payments.capture(p.id, carrier=YAMATO, tracking_no="123456789010")):
        try:
            action()
        except Exception as exc:
            texts.append(repr(exc) + str(exc))
    payments.sweep()
    m = models()
    for model in (m.PaymentHistory, m.ErrorLog, m.PrepaymentLog, m.Operation, m.Payment):
        texts += [repr(vars(row)) for row in rows(model)]
    texts += [r.getMessage() for r in caplog.records]
    texts += [repr(kw) for _, kw in received]
    assert len(texts) > 20
    assert not [t for t in texts if "testpass" in t]
