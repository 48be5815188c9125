"""The example shop end to end through the real extension, service, client and the
in-process sandbox (nothing of ours is mocked): catalogue, availability (M10), 銀行振込 next to
後払い, 払込票タイプ outcomes (M11), double submit, Yamato unreachable, the demo admin (M15/M16)
and mails. スマホタイプ and the checkout blueprint: tests/shop/test_checkout.py.
"""
from __future__ import annotations

import pytest

from example_shop.testing import CUSTOMER, ShopDriver, csrf_token
from schema_support import drop_tables
from shop_support import (CAMERA, DOWNLOAD, KETTLE, MUG, SANDBOX_MERCHANT, SUBSCRIPTION, TOWEL,
                          admin_login, follow, mails, method_block, orders, payments, text,
                          yamato_slip)

# ------------------------------------------------------------------ catalogue, cart, payment page


def test_catalogue_cart_and_demo_data(driver):
    page = text(driver.get("/"))
    for name in ("有田焼 マグカップ", "デジタル写真集", "コーヒー豆 定期便"):
        assert name in page
    assert driver.add_to_cart(MUG, 2).status_code == 302
    cart = text(driver.get("/cart"))
    assert "4,400円" in cart and "ご購入手続きへ" in cart


def test_payment_page_lists_both_methods_with_fee_next_to_bank_transfer(driver):
    driver.add_to_cart(MUG)
    driver.enter_customer()
    page = text(driver.get("/checkout/payment"))
    assert 'id="method-bank"' in page
    assert "後払い払込票タイプ（クロネコ代金後払いサービス）" in page
    assert "後払いスマホタイプ（クロネコ代金後払いサービス）" in page
    assert "（手数料 300円）" in page
    assert "<strong>払込票</strong>" in page           # the method's HTML description, unescaped
    assert 'name="sms_phone"' in page                  # スマホタイプ's own field (form_class)
    assert "disabled" not in method_block(page, "invoice")


@pytest.mark.parametrize("product_id, reason", [
    (DOWNLOAD, "ダウンロード商品・サービス・定期購入"),
    (SUBSCRIPTION, "ダウンロード商品・サービス・定期購入"),
    (CAMERA, "ご利用限度額（55,000円）を超える"),
])
def test_method_not_offered_with_reason(driver, shop, product_id, reason):
    driver.add_to_cart(MUG)
    driver.add_to_cart(product_id)
    driver.enter_customer()
    page = text(driver.get("/checkout/payment"))
    block = method_block(page, "invoice")
    assert "disabled" in block and reason in block
    # Forcing the disabled radio is refused too, before any order exists.
    response = driver.choose_payment("invoice")
    assert response.status_code == 200 and reason in text(response)
    assert orders(shop) == [] and payments(shop) == []


def test_several_destinations_not_offered(driver):
    driver.add_to_cart(MUG)
    driver.enter_customer(destination="multiple")
    page = text(driver.get("/checkout/payment"))
    assert "複数のお届け先へのご注文にはご利用いただけません。" in page


def test_data_yamato_cannot_take_is_refused_before_the_order(driver, shop, simulator):
    driver.add_to_cart(MUG)
    driver.enter_customer(address1="港区芝公園")           # no 番地: Yamato refuses (kaara103E)
    page = text(driver.get("/checkout/payment"))
    assert "番地" in method_block(page, "invoice")
    response = driver.choose_payment("invoice")
    assert response.status_code == 200 and "番地" in text(response)
    assert orders(shop) == [] and simulator.transactions() == []


def test_smartphone_number_is_checked_on_the_payment_page(driver, shop):
    driver.add_to_cart(MUG)
    driver.enter_customer()
    response = driver.choose_payment("smartphone", sms_phone="03-1234-5678")
    assert response.status_code == 200 and "携帯電話番号" in text(response)
    response = driver.choose_payment("smartphone", sms_phone="")
    assert "携帯電話番号を入力してください。" in text(response)
    assert orders(shop) == []


# ------------------------------------------------------------------ 銀行振込 and 払込票タイプ


def test_bank_transfer_coexists(driver, shop, simulator):
    response = driver.buy("bank", product_id=TOWEL)
    page = text(follow(driver, response))
    assert "ご注文ありがとうございました" in page and "ねこ銀行" in page
    [order] = orders(shop)
    assert order.status == "新規受付" and order.payment_fee == 0 and order.total == 3300 + 800
    assert payments(shop) == [] and simulator.transactions() == []
    [mail] = mails(shop)
    assert mail.kind == "confirmation" and "銀行振込" in mail.body


def test_invoice_authorized(driver, shop, simulator):
    response = driver.buy("invoice", product_id=MUG, quantity=2)
    page = text(follow(driver, response))
    assert "ご注文ありがとうございました" in page
    [order] = orders(shop)
    [payment] = payments(shop)
    assert order.status == "新規受付" and order.total == 4400 + 800 + 300
    assert payment.status == "authorized" and payment.amount == order.total
    assert payment.fee == 300 and payment.host_order_id == str(order.id)
    assert payment.order_no in page                       # 決済ID on the completion page
    tx = simulator.transaction(SANDBOX_MERCHANT, payment.order_no)
    assert tx["status"] == 1 and tx["current_total"] == order.total
    [mail] = mails(shop)
    assert mail.kind == "confirmation" and payment.order_no in mail.body
    assert driver.get("/cart").get_data(as_text=True).count("カートに商品がありません") == 1


def test_invoice_under_review_then_resolved_by_the_sweep(driver, shop, simulator):
    response = driver.buy("invoice", phone="03-1234-9993")
    page = text(follow(driver, response))
    assert 'id="review-notice"' in page
    [order] = orders(shop)
    [payment] = payments(shop)
    assert payment.status == "under_review" and order.status == "新規受付"
    assert [m.kind for m in mails(shop)] == ["confirmation"]
    simulator.advance(601)
    from flask_kuroneko import payments as kpay
    with shop.app_context():
        kpay.sweep()
    [payment] = payments(shop)
    assert payment.status == "authorized"
    assert [m.kind for m in mails(shop)] == ["confirmation"]   # nothing new to tell


def test_invoice_review_ends_declined_cancels_the_order_with_a_mail(driver, shop, simulator):
    follow(driver, driver.buy("invoice", phone="03-1234-9994"))
    simulator.advance(601)
    from flask_kuroneko import payments as kpay
    with shop.app_context():
        kpay.sweep()
    [payment] = payments(shop)
    [order] = orders(shop)
    assert payment.status == "declined" and order.status == "キャンセル"
    assert [m.kind for m in mails(shop)] == ["confirmation", "cancellation"]


@pytest.mark.parametrize("phone, label", [("03-1234-9991", "ご利用不可"),
                                          ("03-1234-9992", "限度額超過")])
def test_invoice_declined_shows_the_payment_error_page(driver, shop, phone, label):
    response = driver.buy("invoice", phone=phone)
    assert "/checkout/payment-error/" in response.location
    page = text(driver.get(response.location))
    assert "決済エラー" in page and "ご注文（注文番号" in page and "完了していません" in page
    [order] = orders(shop)
    [payment] = payments(shop)
    assert order.status == "決済エラー" and payment.status == "declined"
    assert mails(shop) == []
    # The cart is kept: the customer can pick another method right away.
    assert "別のお支払方法を選ぶ" in page
    response = driver.choose_payment("bank")
    assert response.status_code == 302
    follow(driver, driver.place())
    assert [o.status for o in orders(shop)] == ["決済エラー", "新規受付"]


def test_double_submit_creates_one_order_and_one_payment(driver, shop, simulator):
    driver.add_to_cart(MUG)
    driver.enter_customer()
    driver.choose_payment("invoice")
    form = driver.confirm_form()
    first = driver.place(form)
    second = driver.place(form)
    assert first.location == second.location and "/checkout/complete/" in first.location
    assert len(orders(shop)) == 1 and len(payments(shop)) == 1
    assert len(simulator.transactions()) == 1


def test_confirm_token_of_another_browser_is_refused(driver, shop):
    driver.add_to_cart(MUG)
    driver.enter_customer()
    driver.choose_payment("invoice")
    form = driver.confirm_form()
    other = ShopDriver(shop.test_client())
    other.add_to_cart(MUG)
    response = other.client.post("/checkout/place", data={
        "csrf_token": csrf_token(text(other.get("/cart"))), "checkout_token": form["checkout_token"]})
    assert response.status_code == 302 and "/checkout/complete" not in response.location
    assert orders(shop) == []


@pytest.mark.parametrize("fault", ["drop", "refuse", "http500", "malformed"])
def test_yamato_unreachable_keeps_the_order_and_resolves_later(driver, shop, simulator, fault):
    simulator.inject_fault(fault, operation="KAARA0010")
    response = driver.buy("invoice")
    page = text(follow(driver, response))
    assert 'id="processing-notice"' in page
    [order] = orders(shop)
    [payment] = payments(shop)
    assert order.status == "受付処理中" and payment.status == "pending"
    assert mails(shop) == []
    simulator.clear_faults()
    simulator.advance(3600)
    from flask_kuroneko import payments as kpay
    from flask_kuroneko.models import utcnow
    from datetime import timedelta
    with shop.app_context():
        kpay.sweep(now=utcnow() + timedelta(hours=1))
    [payment] = payments(shop)
    [order] = orders(shop)
    assert payment.status == "authorized" and order.status == "新規受付"
    assert [m.kind for m in mails(shop)] == ["confirmation"]
    assert len(simulator.transactions()) == 1              # never charged twice


# ------------------------------------------------------------------ conversion tag (M13)


def test_conversion_tag_rendered_once_after_authorization(driver, shop):
    response = driver.buy("invoice")
    first = text(driver.get(response.location))
    [order] = orders(shop)
    assert f"conversion.gif?order={order.id}" in first
    again = text(driver.get(response.location))
    assert "conversion.gif" not in again


def test_conversion_tag_not_rendered_under_review_or_bank(driver, shop):
    page = text(follow(driver, driver.buy("invoice", phone="03-1234-9993")))
    assert "conversion.gif" not in page
    other = ShopDriver(shop.test_client())
    page = text(follow(other, other.buy("bank")))
    assert "conversion.gif" not in page


# ------------------------------------------------------------------ pages of others


def test_completion_page_only_for_the_buyer(driver, shop):
    response = driver.buy("invoice")
    stranger = shop.test_client()
    assert stranger.get(response.location).status_code == 404
    assert stranger.get(response.location.replace("complete", "payment-error")).status_code == 404


# ------------------------------------------------------------------ demo admin



def test_admin_requires_login(shop):
    client = shop.test_client()
    assert "/admin/login" in client.get("/admin/").location
    driver = ShopDriver(client)
    driver.post_form("/admin/login", "/admin/login", {"password": "wrong"})
    assert "/admin/login" in client.get("/admin/").location


def test_admin_order_list_shows_payment_id_and_status(driver, shop):
    follow(driver, driver.buy("invoice"))
    other = ShopDriver(shop.test_client())
    other.buy("invoice", phone="03-1234-9991")
    admin = ShopDriver(shop.test_client())
    admin_login(admin)
    page = text(admin.get("/admin/"))
    for p in payments(shop):
        assert p.order_no in page
    assert "与信" in page and "決済不可" in page and "銀行振込" not in page



def test_admin_shipping_with_yamato_slip_confirms_the_sale(driver, shop, simulator):
    follow(driver, driver.buy("invoice"))
    [order] = orders(shop)
    admin = ShopDriver(shop.test_client())
    admin_login(admin)
    url = f"/admin/orders/{order.id}"
    response = admin.post_form(url, url, {"status": "発送済み", "carrier": "クロネコヤマト",
                                          "tracking_no": yamato_slip()})
    assert response.status_code == 302
    [payment] = payments(shop)
    assert payment.status == "captured" and payment.tracking_no == yamato_slip()
    assert simulator.transaction(SANDBOX_MERCHANT, payment.order_no)["status"] == 3
    assert "売上確定" in text(admin.get(url))


def test_admin_shipping_without_tracking_number_stays_authorized(driver, shop):
    follow(driver, driver.buy("invoice"))
    [order] = orders(shop)
    admin = ShopDriver(shop.test_client())
    admin_login(admin)
    url = f"/admin/orders/{order.id}"
    admin.post_form(url, url, {"status": "発送済み", "carrier": "クロネコヤマト", "tracking_no": ""})
    [order] = orders(shop)
    [payment] = payments(shop)
    assert order.status == "発送済み"                       # the host's save goes through (M16)
    assert payment.status == "authorized"


def test_admin_other_carrier_confirms_without_yamato_slip(driver, shop, simulator):
    follow(driver, driver.buy("invoice", delivery_method="mailbin"))
    [order] = orders(shop)
    admin = ShopDriver(shop.test_client())
    admin_login(admin)
    url = f"/admin/orders/{order.id}"
    admin.post_form(url, url, {"status": "発送済み", "carrier": "日本郵便", "tracking_no": "AB123"})
    [payment] = payments(shop)
    assert payment.status == "captured" and payment.process_div == 2


def test_mail_outbox_in_the_admin(driver, shop):
    follow(driver, driver.buy("invoice"))
    admin = ShopDriver(shop.test_client())
    admin_login(admin)
    page = text(admin.get("/admin/mail"))
    assert "ご注文ありがとうございます" in page and "taro@example.com" in page


def test_password_never_in_pages(driver, shop):
    follow(driver, driver.buy("invoice"))
    admin = ShopDriver(shop.test_client())
    admin_login(admin)
    for url in ("/", "/admin/", "/admin/mail", "/admin/orders/1"):
        assert "testpass" not in text(admin.get(url))


def test_concurrent_double_click_shows_the_same_order(driver, shop, simulator):
    """The second click is sent before the first answer (same old session cookie) while
    Yamato is still answering the first: one order, one payment, both land on the order."""
    import threading
    simulator.inject_fault("latency", operation="KAARA0010", seconds=1.0)
    driver.add_to_cart(MUG)
    driver.enter_customer()
    driver.choose_payment("invoice")
    form = driver.confirm_form()
    cookie = driver.client.get_cookie("session").value
    results = {}

    def click(name):
        client = shop.test_client()
        client.set_cookie("session", cookie)
        results[name] = client.post("/checkout/place", data=form)

    first = threading.Thread(target=click, args=("first",))
    first.start()
    import time
    time.sleep(0.3)
    click("second")
    first.join()
    assert "/checkout/complete/" in results["first"].location
    assert results["second"].location == results["first"].location
    assert len(orders(shop)) == 1 and len(payments(shop)) == 1
    assert len(simulator.transactions()) == 1


# ------------------------------------------------------------------ order data sent to Yamato


def test_desired_date_gift_address_and_ship_date(driver, shop, simulator):
    from datetime import datetime, timedelta, timezone
    today = datetime.now(timezone(timedelta(hours=9))).date()
    desired = today + timedelta(days=5)
    response = driver.buy("invoice", desired_date=desired.isoformat(), destination="other",
                          ship_name="鈴木 一郎", ship_postal_code="530-0001",
                          ship_prefecture="大阪府", ship_address1="大阪市北区梅田3-1-1",
                          ship_phone="06-1234-5678")
    follow(driver, response)
    [payment] = payments(shop)
    assert payment.ship_date == desired                     # M6: the desired date wins
    tx = simulator.transaction(SANDBOX_MERCHANT, payment.order_no)
    assert tx["sendDiv"] == 1                               # goods to another address
    assert tx["request"]["sendName"].startswith("鈴木")


def test_desired_date_outside_the_window_is_refused(driver):
    driver.add_to_cart(MUG)
    response = driver.enter_customer(desired_date="2000-01-01")
    assert response.status_code == 200 and "お届け希望日は" in text(response)


def test_order_restored_from_the_pre_payment_log(driver, shop):
    """M23: the snapshot the extension logged before KAARA0010 recreates the shop order."""
    from example_shop.extensions import db, kuroneko
    from example_shop.models import Order
    from flask_kuroneko import current_state
    follow(driver, driver.buy("invoice", product_id=TOWEL, quantity=2))
    [original] = orders(shop)
    with shop.app_context():
        log = db.session.scalars(db.select(kuroneko.models.PrepaymentLog)).one()
        restored = current_state().restore_order(log.snapshot, log.created_at)
        db.session.commit()
        restored = db.session.get(Order, restored.id)
        assert restored.id != original.id
        assert (restored.name, restored.total, restored.payment_fee) == \
            (original.name, original.total, original.payment_fee)
        assert [(i.name, i.quantity, i.unit_price) for i in restored.items] == \
            [(i.name, i.quantity, i.unit_price) for i in original.items]
        assert abs((restored.placed_at - original.placed_at).total_seconds()) < 60


def test_order_restored_from_the_admin_keeps_the_log_time(driver, shop):
    """「受注データ登録」 with 「受注日時に登録日を設定」: the restored order's time is the log's
    time (the extension hands an aware Japan time; the shop stores naive UTC), not 9 hours off."""
    from example_shop.extensions import db, kuroneko
    from example_shop.models import Order
    follow(driver, driver.buy("invoice"))
    [original] = orders(shop)
    with shop.app_context():
        db.session.delete(db.session.get(Order, original.id))       # the lost order
        db.session.commit()
        log = db.session.scalars(db.select(kuroneko.models.PrepaymentLog)).one()
        log_id, created = log.id, log.created_at
    admin_login(driver)
    detail = f"/admin/kuroneko/prepayment/{log_id}"
    page = text(driver.get(detail))
    for row in ("<th>フリガナ</th>", "<th>郵便番号</th>", "<th>市区郡町村</th>", "<th>番地</th>",
                "<th>ビル名</th>", "受注日時に登録日を設定", "受注日時に現在の時刻を設定"):
        assert row in page, row
    assert "<td>千代田区千代田</td>" in page and "<td>1-1</td>" in page
    response = driver.post_form(detail, f"{detail}/restore", {"placed_at": "log"})
    assert response.status_code == 302
    [restored] = orders(shop)
    assert abs((restored.placed_at - created).total_seconds()) < 2


def test_tampered_payment_choice_is_refused_in_japanese(driver, shop):
    driver.add_to_cart(MUG)
    driver.enter_customer()
    response = driver.choose_payment("kuroneko:999")
    assert response.status_code == 200 and "お支払方法を選択し直してください。" in text(response)
    assert orders(shop) == []


@pytest.mark.parametrize("shop_config", [{"KURONEKO_CONVERSION_ON_REVIEW": True}])
def test_conversion_tag_under_review_when_the_merchant_allows_it(driver, shop, shop_config):
    response = driver.buy("invoice", phone="03-1234-9993")
    assert "conversion.gif" in text(driver.get(response.location))
    assert "conversion.gif" not in text(driver.get(response.location))


# ------------------------------------------------------------------ sandbox mount, mail, CLI


def test_sandbox_pages_mounted_for_the_demo(database_url, simulator):
    """In sandbox mode the shop serves the simulator's pages under /_sandbox, so a demo user
    can read the SMS code the simulated phone received."""
    from example_shop import create_app, db
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI": database_url,
                      "SHOP_SIMULATOR": simulator})
    try:
        driver = ShopDriver(app.test_client())
        assert "/_sandbox/_sim/ui#sms-outbox" in text(driver.get("/"))
        driver.buy("smartphone", extra={"sms_phone": "090-1234-5678"})
        with app.app_context():
            from example_shop.extensions import kuroneko
            order_no = db.session.scalars(db.select(kuroneko.models.Payment)).one().order_no
        page = text(driver.get("/_sandbox/_sim/ui"))
        assert order_no in page and simulator.sms_code(SANDBOX_MERCHANT, order_no) in page
    finally:
        with app.app_context():
            drop_tables(db)


class _SmtpSink:
    """A minimal SMTP server on 127.0.0.1 that keeps the messages it receives."""

    def __init__(self):
        import socketserver
        import threading
        sink = self
        self.messages: list[str] = []

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                self.wfile.write(b"220 sink\r\n")
                while line := self.rfile.readline():
                    verb = line.split(b" ")[0].strip().upper()
                    if verb == b"DATA":
                        self.wfile.write(b"354 go\r\n")
                        body = []
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            body.append(chunk)
                        sink.messages.append(b"".join(body).decode("utf-8", "replace"))
                        self.wfile.write(b"250 ok\r\n")
                    elif verb == b"QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def smtp_sink():
    sink = _SmtpSink()
    yield sink
    sink.close()


def test_mail_sent_by_smtp_when_configured(database_url, simulator, smtp_sink):
    from example_shop import create_app, db
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI": database_url,
                      "SHOP_SIMULATOR": simulator, "SHOP_SANDBOX_MOUNT": None,
                      "SHOP_SMTP_HOST": "127.0.0.1", "SHOP_SMTP_PORT": smtp_sink.port})
    try:
        driver = ShopDriver(app.test_client())
        follow(driver, driver.buy("invoice"))
        [mail] = mails(app)
        assert mail.delivery == "smtp"
        [raw] = smtp_sink.messages
        assert "To: taro@example.com" in raw
    finally:
        with app.app_context():
            drop_tables(db)


@pytest.mark.parametrize("shop_config", [{"SHOP_SMTP_HOST": "127.0.0.1", "SHOP_SMTP_PORT": 9}])
def test_smtp_failure_never_breaks_the_checkout(driver, shop, shop_config):
    page = text(follow(driver, driver.buy("invoice")))
    assert "ご注文ありがとうございました" in page
    [mail] = mails(shop)
    assert mail.delivery == "smtp-failed"                   # kept in the outbox for the admin


def test_cli_commands(shop):
    runner = shop.test_cli_runner()
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0 and "demo data already present" in result.output
    driver = ShopDriver(shop.test_client())
    follow(driver, driver.buy("bank"))
    result = runner.invoke(args=["outbox"])
    assert result.exit_code == 0 and "ご注文ありがとうございます" in result.output


def test_cart_changed_in_another_tab_after_confirmation(driver, shop):
    driver.add_to_cart(MUG)
    driver.enter_customer()
    driver.choose_payment("bank")
    form = driver.confirm_form()
    driver.add_to_cart(KETTLE)                             # another tab
    response = driver.place(form)
    assert response.location.endswith("/checkout/confirm") and orders(shop) == []
    page = text(driver.get("/checkout/confirm"))
    assert "カートの内容が変更されました" in page and "南部鉄器 急須" in page
    follow(driver, driver.place())
    [order] = orders(shop)
    assert [i.name for i in order.items] == ["有田焼 マグカップ", "南部鉄器 急須"]


def test_simultaneous_double_submit_meets_the_unique_checkout_token(driver, shop, simulator,
                                                                   monkeypatch):
    """Both submits pass the "already ordered?" check before either commits: the unique
    checkout token lets only one order in; the other lands on the same order, nothing charged
    twice."""
    from example_shop import views
    driver.add_to_cart(MUG)
    driver.enter_customer()
    driver.choose_payment("invoice")
    form = driver.confirm_form()
    cookie = driver.client.get_cookie("session").value
    first = driver.place(form)
    real = views._order_by_token
    calls = []

    def racing(token):             # the twin's first look happens before the first commit
        calls.append(token)
        return None if len(calls) == 1 else real(token)

    monkeypatch.setattr(views, "_order_by_token", racing)
    twin = shop.test_client()
    twin.set_cookie("session", cookie)
    second = twin.post("/checkout/place", data=form)
    assert len(calls) == 2
    assert second.status_code == 302 and second.location == first.location
    assert "/checkout/complete/" in first.location
    assert len(orders(shop)) == 1 and len(payments(shop)) == 1
    assert len(simulator.transactions()) == 1
    assert twin.get(second.location).status_code == 200


# ------------------------------------------------------------------ download-only carts


def test_a_download_only_cart_asks_no_delivery_and_charges_no_shipping(driver, shop):
    driver.add_to_cart(DOWNLOAD)
    page = text(driver.get("/checkout"))
    assert 'id="no-delivery"' in page
    for absent in ('name="delivery_method"', 'name="destination"', 'name="ship_name"',
                   'name="desired_date"', "送料 800円"):
        assert absent not in page, absent
    customer = {k: v for k, v in CUSTOMER.items()
                if k not in ("destination", "delivery_method", "desired_date")}
    assert driver.post_form("/checkout", "/checkout", customer).status_code == 302
    payment_page = text(driver.get("/checkout/payment"))
    assert "ご注文金額（決済手数料別）：<strong>1,100円" in payment_page
    # 後払い is for physical goods only (M10): shown, disabled, with the reason tied to it
    block = method_block(payment_page, "invoice")
    assert "disabled" in block and 'aria-describedby="method-invoice-description method-invoice-reason"' in block
    assert driver.choose_payment("bank").status_code == 302
    confirm = text(driver.get("/checkout/confirm"))
    assert "送料" not in confirm and "配送方法" not in confirm
    assert driver.place().status_code == 302
    [order] = orders(shop)
    assert (order.shipping_fee, order.delivery_method, order.total) == (0, "", 1100)
    [mail] = mails(shop)
    assert "送料" not in mail.body and "配送方法" not in mail.body


def test_a_physical_item_added_after_a_download_only_step_one_asks_for_delivery(driver, shop):
    driver.add_to_cart(DOWNLOAD)
    customer = {k: v for k, v in CUSTOMER.items()
                if k not in ("destination", "delivery_method", "desired_date")}
    driver.post_form("/checkout", "/checkout", customer)
    driver.add_to_cart(MUG)                     # now something must be delivered
    response = driver.get("/checkout/payment")
    assert response.status_code == 302 and response.location.endswith("/checkout")
    assert 'name="delivery_method"' in text(driver.get("/checkout"))
    assert driver.get("/checkout/confirm").status_code == 302


def test_completion_page_says_how_the_invoice_arrives_per_type(driver, shop, simulator):
    response = driver.buy("invoice")
    page = text(driver.get(response.location))
    assert "請求書（払込票）は商品とは別に郵送でお届けします" in page
    assert "スマートフォン" not in page.split('id="invoice-note"')[1].split("</p>")[0]
