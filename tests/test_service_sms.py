"""スマホタイプ (M12): SMS code, retries, expiry and restart, 「戻る」, the 30-minute window,
the push — through the real client and the in-process sandbox."""
from __future__ import annotations

from datetime import timedelta

import pytest

from flask_kuroneko import payments
from flask_kuroneko.errors import InvalidTransition
from flask_kuroneko.models import utcnow
from hosts import simple_shop
from service_support import MERCHANT, models, names, place, rows, tx

MOBILE = "090-1234-5678"


def start(kuroneko, shop, mobile=MOBILE):
    return place(kuroneko, shop["smartphone"], form={"sms_phone": mobile})


def code_of(simulator, payment):
    return simulator.sms_code(MERCHANT, payment.order_no)


def test_sms_happy_path(kuroneko, shop, simulator, received):
    order, outcome = start(kuroneko, shop)
    p = outcome.payment
    assert outcome.kind == "redirect" and outcome.redirect_url.endswith(f"/sms/{p.checkout_token}")
    assert p.status == "awaiting_sms" and p.status_label == "審査中" and p.sms_sent_at
    assert p.sms_phone == "09012345678"   # stored normalised (checkout_api): one number, one SMS count
    record = tx(simulator, p.order_no)
    assert record["sendDiv"] == 3 and record["billing"]["telNum"] == "09012345678"
    assert names(received) == ["payment-under-review"]
    result = payments.verify_sms(p.id, "0000")
    assert (result.kind, result.attempts_left, result.message) == ("retry", 4, "認証番号が間違っています。")
    result = payments.verify_sms(p.id, "１２３")          # format problem: never sent
    assert result.kind == "retry" and "4桁" in result.message
    result = payments.verify_sms(p.id, code_of(simulator, p))
    assert result.kind == "authorized" and result.payment.status == "authorized"
    assert names(received)[-1] == "payment-authorized"
    assert tx(simulator, p.order_no)["status"] == 1
    with pytest.raises(InvalidTransition):
        payments.verify_sms(p.id, "1234")


def test_sms_declined_at_authorization(kuroneko, shop, simulator, received):
    _, outcome = start(kuroneko, shop, mobile="090-1234-9991")
    assert outcome.kind == "declined" and outcome.payment.status == "declined"
    assert names(received) == ["payment-declined"]
    assert simulator.sms_outbox == []


def test_expired_code_then_restart_with_new_order_no(kuroneko, shop, simulator, received):
    order, outcome = start(kuroneko, shop)
    old = outcome.payment
    simulator.advance(200)                               # Yamato's code TTL (180 s) passed
    result = payments.verify_sms(old.id, code_of(simulator, old))
    assert result.kind == "expired" and "再送信" in result.message
    assert payments.get_payment(old.id).status == "awaiting_sms"      # the order is still open
    assert payments.verify_sms(old.id, "1234").kind == "expired"
    new = payments.restart_sms(old.id)
    old = payments.get_payment(old.id)
    assert new.id != old.id and new.replaces_id == old.id and new.order_no != old.order_no
    assert new.checkout_token and new.checkout_token != old.checkout_token
    assert (old.status, new.status) == ("declined", "awaiting_sms")
    assert "payment-declined" not in names(received)
    assert len(simulator.sms_outbox) == 2
    assert payments.verify_sms(new.id, code_of(simulator, new)).kind == "authorized"
    assert payments.current_payment(order.id).id == new.id


def test_restart_is_limited(kuroneko, shop, simulator):
    _, outcome = start(kuroneko, shop)
    p = outcome.payment
    for _ in range(payments.SMS_MAX_RESTARTS):
        p = payments.restart_sms(p.id)
    with pytest.raises(InvalidTransition, match="再送信"):
        payments.restart_sms(p.id)


def test_back_button_declines_without_cancel_call(kuroneko, shop, simulator, calls, received):
    _, outcome = start(kuroneko, shop)
    p = payments.abandon_sms(outcome.payment.id, reason="back")
    assert p.status == "declined" and calls["KAACL0010"] == 0
    name, kw = received[-1]
    assert name == "payment-declined" and "中止" in kw["message"]
    assert rows(models().PaymentHistory, payment_id=p.id)[-1].result == "決済不可"


def test_abandon_cancels_when_yamato_approved_meanwhile(kuroneko, shop, simulator, api_client,
                                                       calls):
    _, outcome = start(kuroneko, shop)
    p = outcome.payment
    api_client.verify_sms(p.order_no, code_of(simulator, p))   # reached Yamato, we never knew
    payments.abandon_sms(p.id, reason="back")
    assert payments.get_payment(p.id).status == "declined"
    assert tx(simulator, p.order_no)["status"] == 2 and calls["KAACL0010"] == 1


def test_window_passes_sweep_declines(kuroneko, shop, simulator, received):
    _, outcome = start(kuroneko, shop)
    p = outcome.payment
    report = payments.sweep(now=utcnow() + timedelta(minutes=10))
    assert report.sms_expired == 0 and payments.get_payment(p.id).status == "awaiting_sms"
    report = payments.sweep(now=utcnow() + timedelta(minutes=31))
    assert report.sms_expired == 1
    assert payments.get_payment(p.id).status == "declined"
    name, kw = received[-1]
    assert name == "payment-declined" and "30分" in kw["message"]


def test_window_counts_from_the_first_sms(kuroneko, shop, simulator, db):
    _, outcome = start(kuroneko, shop)
    first = outcome.payment
    first.sms_sent_at = utcnow() - timedelta(minutes=29)
    db.session.commit()
    new = payments.restart_sms(first.id)
    assert not payments.sms_window_over(new)
    assert payments.sms_window_over(new, utcnow() + timedelta(minutes=2))


def test_too_many_wrong_codes_declines(kuroneko, shop, simulator):
    _, outcome = start(kuroneko, shop)
    p = outcome.payment
    for _ in range(5):
        result = payments.verify_sms(p.id, "0000")
    result = payments.verify_sms(p.id, "0000")
    assert result.kind == "declined" and result.payment.status == "declined"
    assert rows(models().ErrorLog)[-1].code == "kaasa021E"


def test_sms_not_delivered(kuroneko, shop, simulator):
    _, outcome = start(kuroneko, shop, mobile="090-1234-9944")
    result = payments.verify_sms(outcome.payment.id, "1234")
    assert result.kind == "declined" and "受信に失敗" in result.message


def test_push_is_confirmed_with_yamato(kuroneko, shop, simulator, api_client, received):
    _, outcome = start(kuroneko, shop)
    p = outcome.payment
    # a forged push changes nothing: Yamato still waits for the code
    assert payments.handle_sms_push({"ycfStrNo": MERCHANT, "juchuNo": p.order_no,
                                    "smsNinKk": "0"}).status == "awaiting_sms"
    api_client.verify_sms(p.order_no, code_of(simulator, p))
    assert payments.handle_sms_push({"ycfStrNo": MERCHANT, "juchuNo": p.order_no,
                                    "smsNinKk": "0"}).status == "authorized"
    assert names(received)[-1] == "payment-authorized"
    assert payments.handle_sms_push({"ycfStrNo": MERCHANT, "juchuNo": "nope"}) is None
    assert payments.handle_sms_push({"ycfStrNo": "99999999999", "juchuNo": p.order_no}) is None


def test_unreachable_at_authorization_declines_sms_at_once(kuroneko, shop, simulator, received):
    simulator.inject_fault("refuse", operation="KAARA0010")
    _, outcome = start(kuroneko, shop)
    assert outcome.kind == "declined" and "時間をおいて" in outcome.message
    assert tx(simulator, outcome.payment.order_no) is None
    assert [op.state for op in rows(models().Operation)] == ["failed"]


def test_verify_timeout_is_resolved_by_the_sweep(kuroneko, shop, simulator, calls, received):
    _, outcome = start(kuroneko, shop)
    p = outcome.payment
    simulator.inject_fault("latency", operation="KAASA0020", seconds=99)
    result = payments.verify_sms(p.id, code_of(simulator, p))
    assert result.kind == "pending" and payments.get_payment(p.id).status == "awaiting_sms"
    with pytest.raises(InvalidTransition, match="確認中"):
        payments.verify_sms(p.id, code_of(simulator, p))
    report = payments.sweep()
    assert report.operations_settled == 1
    assert payments.get_payment(p.id).status == "authorized"
    assert calls["KAASA0020"] == 1


def test_amount_change_of_a_smartphone_payment_sends_send_div_2(kuroneko, shop, simulator,
                                                                 monkeypatch):
    """KAAKK0010 for スマホタイプ carries sendDiv 2 (the invoice goes to the phone), as the
    WooCommerce and w2 integrations send it; the form is read where the sandbox receives it."""
    from urllib.parse import parse_qs
    order, outcome = start(kuroneko, shop)
    p = outcome.payment
    assert payments.verify_sms(p.id, code_of(simulator, p)).kind == "authorized"
    forms = []
    original = simulator.exchange

    def spy(code, raw_body, **kw):
        if code == "KAAKK0010":
            forms.append(parse_qs(raw_body.decode()))
        return original(code, raw_body, **kw)

    monkeypatch.setattr(simulator, "exchange", spy)
    order.lines = [["テスト商品", 1, 1500, "physical"]]          # 3,000円 → 1,500円
    simple_shop.db.session.commit()
    payments.change_amount(p.id, actor="admin")
    assert payments.get_payment(p.id).amount == 1500
    [form] = forms
    assert form["sendDiv"] == ["2"] and form["totalAmount"] == ["1500"]
