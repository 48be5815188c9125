"""Checkout API of the Kuroneko object, through the real service, client and sandbox."""
from __future__ import annotations

import pytest
from markupsafe import Markup

from flask_kuroneko import RuleViolation, SmartphoneForm, rules, signals
from flask_kuroneko.settings import save_settings
from hosts import simple_shop
from hosts.simple_shop import make_order, order_data
from service_support import place

LONG_ADDRESS = "千代田区千代田一丁目一番一号" + "あ" * 40


@pytest.fixture
def methods(kuroneko):
    save_settings({"smartphone_enabled": True, "fee_mode": "tiered",
                   "fee_tiers": [[3000, 150], [None, 300]]})
    invoice, smartphone = rules.ensure_default_methods()
    return invoice, smartphone


def test_offers_in_sort_order_with_fee_and_forms(kuroneko, methods):
    invoice, smartphone = methods
    rules.reorder_methods([smartphone.id, invoice.id])
    offers = kuroneko.available_methods(order_data())           # 3,000 yen cart
    assert [(o.method_id, o.kind, o.available, o.fee) for o in offers] == [
        (smartphone.id, "smartphone", True, 150), (invoice.id, "invoice", True, 150)]
    assert offers[0].form_class is SmartphoneForm and offers[1].form_class is None
    assert isinstance(offers[1].description_html, Markup)
    assert kuroneko.fee_for(invoice.id, 3001) == 300


def test_smartphone_hidden_without_m5_and_stopped_methods_hidden(kuroneko, methods):
    invoice, smartphone = methods
    save_settings({"smartphone_enabled": False})
    assert [o.kind for o in kuroneko.available_methods(order_data())] == ["invoice"]
    rules.update_method(invoice.id, active=False)
    assert kuroneko.available_methods(order_data()) == []


@pytest.mark.parametrize("cart, reason", [
    (dict(lines=[["電子書籍", 1, 1000, "download"]]), rules.REASON_NOT_PHYSICAL),
    (dict(destination_count=3), rules.REASON_MULTIPLE_DESTINATIONS),
    (dict(lines=[["時計", 1, 54_801, "physical"]]), rules.reason_over_limit(55_101, 55_000)),
])
def test_not_available_with_reason(kuroneko, methods, cart, reason):
    offers = kuroneko.available_methods(order_data(**cart))
    assert {(o.available, o.reason) for o in offers} == {(False, reason)}


def test_data_yamato_cannot_take_is_not_offered(kuroneko, methods):
    billing = dict(simple_shop.DEFAULT_BILLING, address1=LONG_ADDRESS)
    offers = kuroneko.available_methods(order_data(billing=billing))
    assert all(not o.available for o in offers)
    assert "ご注文内容に後払いでお取り扱いできない情報" in offers[0].reason
    assert "住所" in offers[0].reason


def test_not_offered_outside_sandbox_without_credentials(kuroneko, methods, app, caplog):
    app.config["KURONEKO_ENVIRONMENT"] = "test"
    offers = kuroneko.available_methods(order_data())
    assert {(o.available, o.reason) for o in offers} == {(False, "現在ご利用いただけません。")}
    assert "merchant code/password missing" in caplog.text


def test_validate_order(kuroneko, methods):
    invoice, smartphone = methods
    assert kuroneko.validate_order(order_data(), invoice.id) == []
    assert kuroneko.validate_order(order_data(), smartphone.id) == ["携帯電話番号を入力してください。"]
    problems = kuroneko.validate_order(order_data(), smartphone.id, {"sms_phone": "03-1234-5678"})
    assert len(problems) == 1 and "070・080・090" in problems[0]
    assert kuroneko.validate_order(order_data(), smartphone.id, {"sms_phone": "090-1234-5678"}) == []
    billing = dict(simple_shop.DEFAULT_BILLING, address1=LONG_ADDRESS)
    [problem] = kuroneko.validate_order(order_data(billing=billing), invoice.id)
    assert "住所" in problem
    assert kuroneko.validate_order(order_data(destination_count=2), invoice.id) == \
        [rules.REASON_MULTIPLE_DESTINATIONS]
    assert kuroneko.validate_order(order_data(), 9999) == ["指定された支払方法が見つかりません。"]
    rules.update_method(invoice.id, active=False)
    assert "現在ご利用いただけません" in kuroneko.validate_order(order_data(), invoice.id)[0]
    with pytest.raises(RuleViolation):
        kuroneko.fee_for(9999, 1000)


def test_validate_order_shows_the_item_names_yamato_receives(kuroneko, methods):
    """The documented rules (docs/integration.md, 'Item names'): full-width, the symbols
    Yamato refuses become spaces (dropped at the ends), 30 characters, 10 lines."""
    invoice, _ = methods
    lines = [["南部鉄瓶 1.2L", 1, 1000, "physical"], ["100%オーガニック & 無添加", 1, 500, "physical"],
             ["Ａ" * 35, 1, 100, "physical"]]
    check = kuroneko.validate_order(order_data(lines=lines), invoice.id)
    assert check == [] and not check          # still compares as the list of problems
    assert check.item_names == ["南部鉄瓶　１　２Ｌ", "１００　オーガニック　無添加", "Ａ" * 30,
                                "後払い手数料"]
    eleven = [[f"商品{n}", 1, 100, "physical"] for n in range(1, 12)]
    names = kuroneko.validate_order(order_data(lines=eleven), invoice.id).item_names
    assert len(names) == 10 and names[-2:] == ["その他商品", "後払い手数料"]
    assert names[0] == "商品１"
    refused = kuroneko.validate_order(order_data(destination_count=2), invoice.id)
    assert refused == [rules.REASON_MULTIPLE_DESTINATIONS] and refused.item_names == []


def test_start_payment_authorizes_and_signals(app, kuroneko, methods, simulator):
    invoice, _ = methods
    received = []
    signals.payment_authorized.connect(lambda sender, **kw: received.append((sender, kw)),
                                       sender=app, weak=False)
    try:
        order = make_order(adjustments=[["後払い手数料", kuroneko.fee_for(invoice.id, 3000)]])
        outcome = kuroneko.start_payment(order, invoice.id)
    finally:
        signals.payment_authorized.receivers.clear()
    assert outcome.kind == "authorized"
    payment = kuroneko.payment_for(order.id)
    assert payment.id == outcome.payment.id and payment.status_label == "与信"
    assert payment.amount == 3150 and payment.fee == 150
    assert simulator.transaction("12345678901", payment.order_no)["status"] == 1
    assert received and received[0][0] is app and received[0][1]["order_id"] == str(order.id)
    assert kuroneko.payment_for("no-such-order") is None


def test_conversion_tag_once_after_authorization(app, kuroneko, methods):
    invoice, _ = methods
    save_settings({"conversion_tag": '<img src="https://ads.example/c?o={order_id}&n={order_no}&a={amount}">'})
    order = make_order(lines=[["<b>", 1, 1000, "physical"]])
    assert kuroneko.conversion_tag(order.id) == ""              # no payment yet
    outcome = kuroneko.start_payment(order, invoice.id)
    tag = kuroneko.conversion_tag(order.id)
    assert f"o={order.id}&n={outcome.payment.order_no}&a=1000" in tag
    assert kuroneko.conversion_tag(order.id) == ""              # at most once


def test_conversion_tag_not_for_declined(app, kuroneko, methods):
    invoice, _ = methods
    save_settings({"conversion_tag": "<script>track()</script>"})
    billing = dict(simple_shop.DEFAULT_BILLING, phone="03-1234-9991")   # sandbox: ご利用不可
    order = make_order(billing=billing)
    assert kuroneko.start_payment(order, invoice.id).kind == "declined"
    assert kuroneko.conversion_tag(order.id) == ""


def test_conversion_tag_once_per_order_across_a_reauthorization(app, kuroneko, methods, simulator):
    """An amount increase Yamato refuses is re-authorized as a new payment of the same order:
    the customer revisiting the completion page must not fire the tag a second time."""
    from flask_kuroneko import payments
    invoice, _ = methods
    save_settings({"conversion_tag": '<img src="https://ads.example/c?o={order_id}">'})
    simulator.configure_merchant("12345678901", amount_increase="deny")
    order = make_order(lines=[["テスト商品", 1, 1000, "physical"]])
    first = kuroneko.start_payment(order, invoice.id).payment
    assert f"o={order.id}" in kuroneko.conversion_tag(order.id)
    order.lines = [["テスト商品", 3, 1000, "physical"]]
    simple_shop.db.session.commit()
    new = payments.change_amount(first.id, actor="admin")
    assert new.id != first.id and kuroneko.payment_for(order.id).id == new.id
    assert new.status == "authorized"
    assert kuroneko.conversion_tag(order.id) == ""


def test_payment_for_is_the_payment_standing_for_the_order(app, kuroneko, methods, simulator):
    """M15 shows 決済ID/決済状況 of the order: a re-authorization that is still being looked up
    or that Yamato declined must not hide the 与信 the order still has."""
    from datetime import timedelta

    from flask_kuroneko import payments
    from flask_kuroneko.errors import ApiError, OperationPending
    from flask_kuroneko.models import utcnow
    invoice, _ = methods
    simulator.configure_merchant("12345678901", amount_increase="deny")
    order = make_order(lines=[["テスト商品", 1, 1000, "physical"]])
    first = kuroneko.start_payment(order, invoice.id).payment
    order.lines = [["テスト商品", 3, 1000, "physical"]]
    simple_shop.db.session.commit()
    simulator.inject_fault("latency", operation="KAARA0010", seconds=99)
    with pytest.raises(OperationPending):
        payments.change_amount(first.id)
    assert kuroneko.payment_for(order.id).id == first.id          # replacement still pending
    payments.sweep(now=utcnow() + timedelta(minutes=2))            # approved: it takes over
    order.lines = [["高級品", 1, 60_000, "physical"]]              # over the per-buyer limit
    simple_shop.db.session.commit()
    replaced = kuroneko.payment_for(order.id)
    assert replaced.id != first.id and replaced.status == "authorized"
    with pytest.raises(ApiError, match="再与信"):
        payments.change_amount(replaced.id)
    shown = kuroneko.payment_for(order.id)
    assert (shown.id, shown.status_label) == (replaced.id, "与信")


def test_payments_for_many_orders_in_one_query(kuroneko, shop, simulator):
    """An order list's 決済ID/決済状況 column: one query whatever the number of orders; the same
    payment payment_for picks (a pending re-authorization does not hide the 与信)."""
    import sqlalchemy as sa
    from hosts import simple_shop
    order_ids = [place(kuroneko, shop["invoice"], phone=f"03-1234-{5000 + i:04d}")[0].id
                 for i in range(5)]
    statements = []
    listener = lambda *args: statements.append(args[2])          # noqa: E731
    sa.event.listen(simple_shop.db.engine, "before_cursor_execute", listener)
    try:
        found = kuroneko.payments_for(order_ids + [999999])
    finally:
        sa.event.remove(simple_shop.db.engine, "before_cursor_execute", listener)
    assert len(statements) == 1
    assert set(found) == {str(i) for i in order_ids}                 # no payment: absent
    for order_id in order_ids:
        assert found[str(order_id)].id == kuroneko.payment_for(order_id).id
