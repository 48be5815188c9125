"""スマホタイプ checkout (M12) and the ``kuroneko_checkout`` blueprint, driven through the
example shop with the real extension, service, client and the in-process sandbox: the SMS
code page (wrong / expired / refused / success), 「戻る」, the 30-minute window, binding of
the page to the customer's session, the SMS push receiver and the SSL guard (M14).
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from example_shop.testing import ShopDriver
from shop_support import SANDBOX_MERCHANT, mails, orders, payments, text

MOBILE = "090-1234-5678"


def start_sms(driver: ShopDriver, phone: str = MOBILE, **customer) -> str:
    """Buy with スマホタイプ; returns the SMS page URL the shop redirected to."""
    response = driver.buy("smartphone", extra={"sms_phone": phone}, **customer)
    assert response.status_code == 302 and "/kuroneko/sms/" in response.location, \
        response.location
    return response.location


def code_of(simulator, payment) -> str:
    return simulator.sms_code(SANDBOX_MERCHANT, payment.order_no)


def latest(shop):
    return payments(shop)[-1]


def test_smartphone_wrong_then_right_code(driver, shop, simulator):
    sms_url = start_sms(driver)
    [order] = orders(shop)
    [payment] = payments(shop)
    # M12: on 「上記内容で注文する」 the order exists (審査中) and the confirmation mail is sent.
    assert order.status == "新規受付" and payment.status == "awaiting_sms"
    assert payment.kind == "smartphone" and payment.sms_phone == "09012345678"
    assert [m.kind for m in mails(shop)] == ["confirmation"]
    page = text(driver.get(sms_url))
    assert "SMS認証" in page and "4桁の認証番号" in page and "***-****-5678" in page
    assert 'name="viewport"' in page and 'inputmode="numeric"' in page
    # sandbox only: the code "sent" to this 決済ID is shown so a demo can go on
    assert f'<span class="sandbox-sms">{code_of(simulator, payment)}</span>' in page

    response = driver.enter_sms_code(sms_url, "0000")
    assert response.status_code == 200
    assert "認証番号が間違っています" in text(response) and "残り4回" in text(response)
    assert latest(shop).status == "awaiting_sms"

    response = driver.enter_sms_code(sms_url, code_of(simulator, payment))
    assert response.status_code == 302 and f"/checkout/complete/{order.id}" in response.location
    page = text(driver.get(response.location))
    assert "ご注文ありがとうございました" in page
    assert f"conversion.gif?order={order.id}" in page      # M13 after 与信
    note = page.split('id="invoice-note"')[1].split("</p>")[0]
    assert "スマートフォン" in note and "郵送" not in note  # スマホタイプ: no paper invoice
    [payment] = payments(shop)
    assert payment.status == "authorized"
    assert simulator.transaction(SANDBOX_MERCHANT, payment.order_no)["status"] == 1
    assert [m.kind for m in mails(shop)] == ["confirmation"]
    # The page is done: opening it again leads to the completion page, not a new code entry.
    assert f"/checkout/complete/{order.id}" in driver.get(sms_url).location


def test_code_format_checked_before_asking_yamato(driver, shop, simulator):
    sms_url = start_sms(driver)
    response = driver.enter_sms_code(sms_url, "12a")
    assert "認証番号は4桁の数字で入力してください。" in text(response)
    field = re.search(r'<input[^>]*id="code"[^>]*>', text(response)).group(0)
    assert 'aria-describedby="code-error"' in field and 'aria-invalid="true"' in field
    assert 'id="code-error"' in text(response)         # the error is read with its field
    payment = latest(shop)
    assert simulator.transaction(SANDBOX_MERCHANT, payment.order_no)["sms"]["wrong_attempts"] == 0
    # Full-width digits typed on a Japanese keyboard are accepted.
    full = code_of(simulator, payment).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    response = driver.enter_sms_code(sms_url, full)
    assert "/checkout/complete/" in response.location


def test_expired_code_offers_a_new_code_under_a_new_link_key(driver, shop, simulator):
    sms_url = start_sms(driver)
    first = latest(shop)
    simulator.advance(181)                                    # sandbox code TTL is 180 s
    response = driver.enter_sms_code(sms_url, code_of(simulator, first))
    page = text(response)
    assert "有効期限" in page and 'id="sms-resend"' in page and 'name="code"' not in page

    response = driver.post_form(sms_url, sms_url + "/resend", {})
    assert response.status_code == 302 and response.location != sms_url
    new_url = response.location
    second = latest(shop)
    assert second.id != first.id and second.order_no != first.order_no   # new リンクキー
    assert second.replaces_id == first.id and second.status == "awaiting_sms"
    assert "新しい認証番号をSMSで送信しました" in text(driver.get(new_url))

    response = driver.enter_sms_code(new_url, code_of(simulator, second))
    assert "/checkout/complete/" in response.location
    first_again, second_again = payments(shop)
    assert first_again.status == "declined" and second_again.status == "authorized"
    [order] = orders(shop)
    assert order.status == "新規受付"
    assert [m.kind for m in mails(shop)] == ["confirmation"]   # superseded attempt: no cancel mail
    assert driver.client.get(sms_url).status_code == 404       # the old page is gone


def test_back_cancels_with_mail(driver, shop, simulator):
    sms_url = start_sms(driver)
    response = driver.post_form(sms_url, sms_url + "/back", {})
    assert response.status_code == 302 and "/checkout/payment-error/" in response.location
    page = text(driver.get(response.location))
    assert "SMS認証を中止したため" in page
    [payment] = payments(shop)
    [order] = orders(shop)
    assert payment.status == "declined" and order.status == "キャンセル"
    assert [m.kind for m in mails(shop)] == ["confirmation", "cancellation"]
    assert "キャンセル" in mails(shop, "cancellation")[0].subject
    # Goods can be put back in the cart to try again with another method.
    response = driver.post_form(response.location, f"/checkout/retry/{order.id}", {})
    assert "有田焼 マグカップ" in text(driver.get("/cart"))


def _age_sms(shop, minutes: int) -> None:
    """Move this order's first SMS ``minutes`` into the past (the shop's clock is real time)."""
    from example_shop.extensions import db, kuroneko
    with shop.app_context():
        for p in db.session.scalars(db.select(kuroneko.models.Payment)):
            p.sms_sent_at = p.sms_sent_at - timedelta(minutes=minutes)
            p.created_at = p.created_at - timedelta(minutes=minutes)
        db.session.commit()


def test_thirty_minutes_without_success_cancels_on_the_page(driver, shop):
    sms_url = start_sms(driver)
    _age_sms(shop, 31)
    response = driver.get(sms_url)
    assert response.status_code == 302 and "/checkout/payment-error/" in response.location
    assert "30分以内に完了しなかったため" in text(driver.get(response.location))
    [payment] = payments(shop)
    assert payment.status == "declined" and orders(shop)[0].status == "キャンセル"
    assert [m.kind for m in mails(shop)] == ["confirmation", "cancellation"]


def test_the_page_names_the_thirty_minutes_after_the_sweep_expired_them(driver, shop):
    """The sweep ended the attempt while the customer was away: back on the page (or pressing
    「再送信」/「戻る」) they read that the 30 minutes ran out, not a generic refusal."""
    sms_url = start_sms(driver)
    _age_sms(shop, 31)
    from flask_kuroneko import payments as kpay
    with shop.app_context():
        kpay.sweep()
    response = driver.get(sms_url)
    assert response.status_code == 302 and "/checkout/payment-error/" in response.location
    page = text(driver.get(response.location))
    assert "SMS認証が30分以内に完了しなかったため" in page
    assert "ご利用いただけませんでした" not in page


def test_a_refused_code_is_not_called_a_timeout(driver, shop):
    """Only the window's end is named as such: 「戻る」 says the customer stopped."""
    sms_url = start_sms(driver)
    form = driver.sms_form(sms_url)
    back = driver.client.post(sms_url + "/back", data=form)
    assert back.status_code == 302
    page = text(driver.get(back.location))
    assert "中止" in page and "30分" not in page
    again = driver.get(sms_url)                       # the page of the declined attempt
    assert "30分" not in text(driver.get(again.location))


def test_thirty_minutes_without_success_cancels_in_the_sweep(driver, shop):
    start_sms(driver)
    _age_sms(shop, 31)
    from flask_kuroneko import payments as kpay
    with shop.app_context():
        kpay.sweep()
    [payment] = payments(shop)
    assert payment.status == "declined" and orders(shop)[0].status == "キャンセル"
    assert [m.kind for m in mails(shop)] == ["confirmation", "cancellation"]


def test_refusal_at_the_credit_check_goes_to_the_payment_error_page(driver, shop):
    response = driver.buy("smartphone", extra={"sms_phone": "090-1234-9991"})
    assert "/checkout/payment-error/" in response.location
    assert "決済エラー" in text(driver.get(response.location))
    assert orders(shop)[0].status == "決済エラー" and mails(shop) == []


def test_refusal_at_the_sms_step_goes_to_the_payment_error_page(driver, shop):
    sms_url = start_sms(driver, phone="090-1234-9944")          # sandbox: SMS not delivered
    response = driver.enter_sms_code(sms_url, "1234")
    assert "/checkout/payment-error/" in response.location
    assert "認証番号の受信に失敗しました。" in text(driver.get(response.location))
    assert latest(shop).status == "declined"
    assert [m.kind for m in mails(shop)] == ["confirmation", "cancellation"]


def test_too_many_wrong_codes_end_in_the_payment_error_page(driver, shop):
    sms_url = start_sms(driver)
    for _ in range(10):
        response = driver.enter_sms_code(sms_url, "0000")
        if response.status_code == 302:
            break
    assert "/checkout/payment-error/" in response.location
    assert latest(shop).status == "declined"


# ------------------------------------------------------------------ binding to the customer


def test_sms_page_is_bound_to_the_customer_session(driver, shop, simulator):
    sms_url = start_sms(driver)
    payment = latest(shop)
    stranger = ShopDriver(shop.test_client())
    assert stranger.client.get(sms_url).status_code == 404
    assert stranger.client.post(sms_url, data={"code": code_of(simulator, payment)}).status_code == 404
    assert stranger.client.post(sms_url + "/back").status_code == 404
    assert stranger.client.post(sms_url + "/resend").status_code == 404
    assert driver.client.get("/kuroneko/sms/not-a-token").status_code == 404
    assert latest(shop).status == "awaiting_sms"
    assert simulator.transaction(SANDBOX_MERCHANT, payment.order_no)["sms"]["wrong_attempts"] == 0


def test_sms_post_without_csrf_token_is_refused(driver, shop, simulator):
    sms_url = start_sms(driver)
    payment = latest(shop)
    response = driver.client.post(sms_url, data={"code": code_of(simulator, payment)})
    assert response.status_code == 400
    assert latest(shop).status == "awaiting_sms"
    assert driver.client.post(sms_url + "/back", data={}).status_code == 302
    assert latest(shop).status == "awaiting_sms"


# ------------------------------------------------------------------ SMS push receiver


@pytest.mark.parametrize("shop_config", [{"KURONEKO_NOTIFY_SECRET": "push-secret-1234567890"}])
def test_push_receiver_authenticates_the_sender(driver, shop, shop_config):
    start_sms(driver)
    payment = latest(shop)
    form = {"ycfStrNo": SANDBOX_MERCHANT, "juchuNo": payment.order_no, "keitaiNo": "09012345678",
            "giftKb": "3", "snsKk": "0", "smsNinKk": "0", "smsYuuKk": ""}
    client = shop.test_client()
    assert client.post("/kuroneko/notify/wrong", data=form).status_code == 404
    assert client.post("/kuroneko/notify/push-secret-1234567890",
                       data={**form, "ycfStrNo": "99999999999"}).status_code == 403
    # A forged "OK": Yamato is asked first and still waits for the code → nothing changes.
    response = client.post("/kuroneko/notify/push-secret-1234567890", data=form)
    assert response.status_code == 200 and response.get_data() == b"OK"
    assert latest(shop).status == "awaiting_sms"


def test_push_receiver_closed_without_a_secret(driver, shop):
    start_sms(driver)
    payment = latest(shop)
    response = shop.test_client().post("/kuroneko/notify/anything", data={
        "ycfStrNo": SANDBOX_MERCHANT, "juchuNo": payment.order_no, "smsNinKk": "0"})
    assert response.status_code == 404


def test_lost_answer_to_the_code_is_settled_by_asking_yamato(driver, shop, simulator):
    sms_url = start_sms(driver)
    payment = latest(shop)
    simulator.inject_fault("drop", operation="KAASA0020")     # Yamato accepts, answer lost
    response = driver.enter_sms_code(sms_url, code_of(simulator, payment))
    assert response.status_code == 302 and "/checkout/complete/" in response.location
    assert latest(shop).status == "authorized"
    assert len(simulator.transactions()) == 1


@pytest.mark.parametrize("shop_config", [{"KURONEKO_NOTIFY_SECRET": "push-secret-1234567890"}])
def test_push_settles_a_code_whose_answer_was_lost(driver, shop, simulator, shop_config):
    sms_url = start_sms(driver)
    payment = latest(shop)
    simulator.inject_fault("drop", operation="KAASA0020")     # Yamato accepts, answer lost
    for op in ("KAAST0010", "KAARS0010"):                     # ...and cannot be asked yet
        simulator.inject_fault("refuse", operation=op, times=None)
    response = driver.enter_sms_code(sms_url, code_of(simulator, payment))
    assert response.status_code == 200 and "通信エラーのため認証結果を確認できませんでした" in text(response)
    assert latest(shop).status == "awaiting_sms"
    assert simulator.transaction(SANDBOX_MERCHANT, payment.order_no)["status"] == 1
    simulator.clear_faults()
    response = shop.test_client().post("/kuroneko/notify/push-secret-1234567890", data={
        "ycfStrNo": SANDBOX_MERCHANT, "juchuNo": payment.order_no, "keitaiNo": "09012345678",
        "giftKb": "3", "snsKk": "0", "smsNinKk": "0", "smsYuuKk": ""})
    assert response.status_code == 200
    assert latest(shop).status == "authorized"
    assert [m.kind for m in mails(shop)] == ["confirmation"]
    assert "/checkout/complete/" in driver.get(sms_url).location


def test_code_entered_again_after_a_lost_answer(driver, shop, simulator):
    sms_url = start_sms(driver)
    payment = latest(shop)
    simulator.inject_fault("drop", operation="KAASA0020")
    for op in ("KAAST0010", "KAARS0010"):
        simulator.inject_fault("refuse", operation=op, times=1)
    driver.enter_sms_code(sms_url, code_of(simulator, payment))
    assert latest(shop).status == "awaiting_sms"
    response = driver.enter_sms_code(sms_url, code_of(simulator, payment))
    assert "/checkout/complete/" in response.location
    assert latest(shop).status == "authorized"


# ------------------------------------------------------------------ SSL (M14)

PRODUCTION = {"KURONEKO_ENVIRONMENT": "production", "KURONEKO_MERCHANT_CODE": "12345678901",
              "KURONEKO_PASSWORD": "prodpass", "SHOP_ADMIN_PASSWORD": "a-real-one"}


def test_production_needs_a_real_admin_password(database_url):
    from example_shop import create_app
    with pytest.raises(RuntimeError, match="default admin password"):
        create_app({"SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI": database_url,
                    **{**PRODUCTION, "SHOP_ADMIN_PASSWORD": "admin"}})


@pytest.mark.parametrize("shop_config", [PRODUCTION])
def test_production_refuses_plain_http(shop, shop_config):
    client = shop.test_client()
    response = client.get("/checkout")
    assert response.status_code == 301 and response.location.startswith("https://")
    response = client.get("/kuroneko/sms/some-token")
    assert response.status_code == 301 and response.location.startswith("https://")
    response = client.post("/checkout/place", data={})
    assert response.status_code == 403 and "SSL" in text(response)
    # Over HTTPS the pages answer normally (the catalogue is not a checkout page).
    assert client.get("/", base_url="http://localhost").status_code == 200
    assert client.get("/kuroneko/sms/some-token", base_url="https://localhost").status_code == 404
    assert client.get("/checkout", base_url="https://localhost").status_code == 302   # empty cart
    assert shop.config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize("shop_config", [{**PRODUCTION, "KURONEKO_BEHIND_TLS_PROXY": True}])
def test_production_behind_tls_proxy(shop, shop_config):
    client = shop.test_client()
    assert client.get("/checkout").status_code == 403
    response = client.get("/checkout", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 302 and response.location.endswith("/cart")
    response = client.get("/kuroneko/sms/x", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 404


def test_sandbox_allows_plain_http(driver):
    start_sms(driver)        # the whole flow above ran over http://localhost


def test_new_codes_are_limited(driver, shop, simulator):
    sms_url = start_sms(driver)
    url = sms_url
    for _ in range(3):
        simulator.advance(181)
        response = driver.post_form(url, url + "/resend", {})
        assert response.status_code == 302
        url = response.location
    simulator.advance(181)
    response = driver.post_form(url, url + "/resend", {})
    assert response.location.endswith(url)                    # stays on the page, told why
    assert "再送信は3回まで" in text(driver.get(url))
    assert len(payments(shop)) == 4 and latest(shop).status == "awaiting_sms"
    response = driver.post_form(url, url + "/back", {})
    assert "/checkout/payment-error/" in response.location
    assert [m.kind for m in mails(shop)] == ["confirmation", "cancellation"]


def test_flask_wtf_csrf_protect_exempts_the_blueprint(database_url):
    """A host running Flask-WTF's CSRFProtect (registered before init_app) gets our blueprint
    exempted: our forms carry their own token and the push has its secret."""
    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy

    from flask_kuroneko import Kuroneko

    class CsrfProtectLike:
        def __init__(self):
            self.exempted = []

        def exempt(self, view):
            self.exempted.append(view)

    app = Flask(__name__)
    app.config.update(SECRET_KEY="t", SQLALCHEMY_DATABASE_URI=database_url,
                      KURONEKO_ENVIRONMENT="sandbox")
    csrf = app.extensions["csrf"] = CsrfProtectLike()
    db = SQLAlchemy(app)
    Kuroneko().init_app(app, db)
    checkout = [bp for bp in csrf.exempted if bp.name == "kuroneko_checkout"]
    assert checkout == [app.blueprints["kuroneko_checkout"]]   # (the admin blueprint too)


def test_smartphone_credit_request_answer_lost_then_sms_arrives(driver, shop, simulator):
    """KAARA0010 reached Yamato but the answer was lost: the order is kept (決済処理中); the
    sweep learns the SMS was sent, the customer reloads and enters the code."""
    simulator.inject_fault("drop", operation="KAARA0010")
    response = driver.buy("smartphone", extra={"sms_phone": MOBILE})
    assert "/checkout/complete/" in response.location
    page = text(driver.get(response.location))
    assert 'id="processing-notice"' in page and "再読み込み" in page
    assert latest(shop).status == "pending" and mails(shop) == []
    from datetime import timedelta as td

    from flask_kuroneko import payments as kpay
    from flask_kuroneko.models import utcnow
    with shop.app_context():
        kpay.sweep(now=utcnow() + td(minutes=2))
    payment = latest(shop)
    assert payment.status == "awaiting_sms"
    assert [m.kind for m in mails(shop)] == ["confirmation"]      # M12: 審査中 + mail
    sms_url = driver.get(response.location).location               # reload → the SMS page
    assert "/kuroneko/sms/" in sms_url
    response = driver.enter_sms_code(sms_url, code_of(simulator, payment))
    assert "/checkout/complete/" in response.location
    assert latest(shop).status == "authorized" and len(simulator.transactions()) == 1


def test_sms_page_shows_the_deadline_in_japan_time(driver, shop):
    from datetime import datetime, timezone
    sms_url = start_sms(driver)
    payment = latest(shop)
    expected = (payment.sms_sent_at.replace(tzinfo=timezone.utc) + timedelta(minutes=30)) \
        .astimezone(timezone(timedelta(hours=9))).strftime("%H:%M")
    page = text(driver.get(sms_url))
    assert f'<strong id="sms-deadline">{expected}</strong>まで（30分以内）に' in page
    assert datetime.now(timezone.utc) < payment.sms_sent_at.replace(tzinfo=timezone.utc) \
        + timedelta(minutes=30)


def test_reloaded_place_order_still_reaches_the_sms_page(driver, shop, simulator):
    """「上記内容で注文する」 sent again (a reload) while Yamato answers the first: the browser
    keeps only the second response, whose session never saw the first one's SMS binding.
    The customer still reaches their own SMS page (and nobody else does), the cart is ordered."""
    import threading
    import time

    from shop_support import MUG
    simulator.inject_fault("latency", operation="KAARA0010", seconds=1.0)
    driver.add_to_cart(MUG)
    driver.enter_customer()
    driver.choose_payment("smartphone", sms_phone=MOBILE)
    form = driver.confirm_form()
    cookie = driver.client.get_cookie("session").value

    def first_click():          # its response (and its cookie) never reach the browser
        lost = shop.test_client()
        lost.set_cookie("session", cookie)
        lost.post("/checkout/place", data=form)

    thread = threading.Thread(target=first_click)
    thread.start()
    time.sleep(0.3)
    response = driver.client.post("/checkout/place", data=form)
    thread.join()
    [order] = orders(shop)
    [payment] = payments(shop)
    assert payment.status == "awaiting_sms"
    response = driver.get(response.location)
    if "/checkout/complete/" in (response.location or ""):
        response = driver.get(response.location)
    assert response.status_code == 302 and "/kuroneko/sms/" in response.location
    sms_url = response.location
    assert "4桁の認証番号" in text(driver.get(sms_url))
    assert "カート（0）" in text(driver.get("/"))
    stranger = ShopDriver(shop.test_client())
    assert stranger.client.get(sms_url).status_code == 404
    assert stranger.client.get(f"/checkout/complete/{order.id}").status_code == 404
    response = driver.enter_sms_code(sms_url, code_of(simulator, payment))
    assert f"/checkout/complete/{order.id}" in response.location
    assert latest(shop).status == "authorized" and len(simulator.transactions()) == 1


def test_window_over_asks_yamato_first_and_keeps_an_accepted_code(driver, shop, simulator):
    """The code reached Yamato but the shop never learned it (the answer was lost); the 30
    minutes pass: before expiring, the shop asks Yamato, which says 承認済み — the customer did
    everything in time, so the order is 与信 (never declined on a guess)."""
    from example_shop.extensions import kuroneko
    sms_url = start_sms(driver)
    payment = latest(shop)
    with shop.app_context():
        kuroneko.client().verify_sms(payment.order_no, code_of(simulator, payment))
    assert simulator.transaction(SANDBOX_MERCHANT, payment.order_no)["status"] == 1
    _age_sms(shop, 31)
    response = driver.get(sms_url)
    assert f"/checkout/complete/{payment.host_order_id}" in response.location
    assert latest(shop).status == "authorized"
    assert simulator.transaction(SANDBOX_MERCHANT, payment.order_no)["status"] == 1
    assert "cancellation" not in [m.kind for m in mails(shop)]


def test_window_over_without_a_code_declines_and_releases(driver, shop, simulator):
    """No code was entered: the 30 minutes pass → 決済不可, the order cancelled, nothing held at
    Yamato (the attempt there stays 審査中 and is voided by Yamato)."""
    sms_url = start_sms(driver)
    payment = latest(shop)
    _age_sms(shop, 31)
    response = driver.get(sms_url)
    assert "/checkout/payment-error/" in response.location
    assert latest(shop).status == "declined" and orders(shop)[0].status == "キャンセル"
    assert latest(shop).open_operation is None
    assert simulator.transaction(SANDBOX_MERCHANT, payment.order_no)["status"] != 1
    assert [m.kind for m in mails(shop)] == ["confirmation", "cancellation"]


def test_resend_sent_twice_lands_on_the_new_code_page(driver, shop, simulator):
    """「再送信」 sent twice (double tap, or a reload while Yamato answers): the browser keeps
    the second response, whose session only knows the old attempt. It must lead to the new
    attempt's page (bound to this browser), not to a payment error for the superseded one."""
    import threading
    import time
    sms_url = start_sms(driver)
    first = latest(shop)
    simulator.advance(181)
    form = driver.sms_form(sms_url)
    cookie = driver.client.get_cookie("session").value
    simulator.inject_fault("latency", operation="KAARA0010", seconds=1.0)

    def first_tap():            # its response (and its cookie) never reach the browser
        lost = shop.test_client()
        lost.set_cookie("session", cookie)
        lost.post(sms_url + "/resend", data=form)

    thread = threading.Thread(target=first_tap)
    thread.start()
    time.sleep(0.3)
    response = driver.client.post(sms_url + "/resend", data=form)
    thread.join()
    simulator.clear_faults()
    old, new = payments(shop)
    assert old.id == first.id and old.status == "declined" and new.replaces_id == old.id
    assert new.status == "awaiting_sms"
    seen = [response.location]
    while response.status_code == 302 and len(seen) < 6:
        response = driver.get(response.location)
        seen.append(response.location)
    assert not any("/payment-error/" in (url or "") for url in seen), seen
    assert seen[0].endswith("/kuroneko/sms/" + new.checkout_token)
    response = driver.get(sms_url)                              # the old page follows too
    assert response.status_code == 302 and response.location.endswith(new.checkout_token)
    new_url = response.location
    assert "4桁の認証番号" in text(driver.get(new_url))
    assert ShopDriver(shop.test_client()).client.get(new_url).status_code == 404
    response = driver.enter_sms_code(new_url, code_of(simulator, new))
    assert "/checkout/complete/" in response.location
    assert latest(shop).status == "authorized" and len(payments(shop)) == 2
    assert [m.kind for m in mails(shop)] == ["confirmation"]
