"""Abuse limits and the availability rules (issue 10, items 4 and 5), through the example shop,
the extension, the service and the sandbox: SMS per phone number and per browser, wrong codes
per number and per browser, the shop's admin login, and start_payment refusing what
available_methods would not offer — without a payment row or a Yamato call."""
from __future__ import annotations

import pytest

from example_shop.testing import ShopDriver, csrf_token
from service_support import place, setup_shop
from test_checkout import MOBILE, code_of, latest, start_sms
from shop_support import orders, payments, text

pytestmark = pytest.mark.security
AUTHORIZE = "KAARA0010"


def sms_sent(simulator) -> int:
    return len(simulator.sms_outbox)


def new_customer(shop) -> ShopDriver:
    return ShopDriver(shop.test_client())


# ------------------------------------------------------------------ SMS per phone number


def test_no_more_than_five_sms_to_one_number_in_ten_minutes(shop, simulator):
    """Five browsers (cookies dropped), one victim's number: the sixth order is refused
    before Yamato is asked, with a Japanese message, and the order is not left half done."""
    for _ in range(5):
        start_sms(new_customer(shop))
    assert sms_sent(simulator) == 5
    driver = new_customer(shop)
    response = driver.buy("smartphone", extra={"sms_phone": "09012345678"})
    assert sms_sent(simulator) == 5
    assert len(payments(shop)) == 5                        # no sixth payment row
    page = text(driver.get(response.location))
    assert "認証番号（SMS）の送信回数が上限に達しました" in page
    assert orders(shop)[-1].status == "決済エラー"           # the shop's "not completed"
    # Another number is not affected.
    start_sms(new_customer(shop), phone="080-1111-2222")
    assert sms_sent(simulator) == 6


def test_resend_counts_towards_the_same_limit(shop, simulator):
    driver = new_customer(shop)
    sms_url = start_sms(driver)
    for _ in range(3):                                     # one order: 1 + 3 new codes
        simulator.advance(181)
        page = text(driver.get(sms_url))
        response = driver.client.post(sms_url + "/resend", data={"csrf_token": csrf_token(page)})
        sms_url = response.location
    assert sms_sent(simulator) == 4
    start_sms(new_customer(shop))                          # the fifth
    response = new_customer(shop).buy("smartphone", extra={"sms_phone": MOBILE})
    assert sms_sent(simulator) == 5
    assert response.status_code == 302 and "/payment-error/" in response.location


def test_resend_refused_at_the_limit_keeps_the_page(shop, simulator):
    for _ in range(4):
        start_sms(new_customer(shop))
    driver = new_customer(shop)
    sms_url = start_sms(driver)                             # the fifth SMS
    simulator.advance(181)
    page = text(driver.get(sms_url))
    response = driver.client.post(sms_url + "/resend", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 429
    assert "送信回数が上限に達しました" in text(response)
    assert sms_sent(simulator) == 5
    assert latest(shop).status == "awaiting_sms"          # nothing changed: the order waits


def test_the_window_passes(shop, simulator, monkeypatch):
    from datetime import datetime, timedelta, timezone
    from flask_kuroneko.checkout import limits
    for _ in range(5):
        start_sms(new_customer(shop))
    later = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(minutes=11)
    monkeypatch.setattr(limits, "utcnow", lambda: later)
    start_sms(new_customer(shop))
    assert sms_sent(simulator) == 6


@pytest.mark.parametrize("shop_config", [{"KURONEKO_SMS_SEND_LIMIT": 2}])
def test_the_limit_is_configurable(shop, simulator, shop_config):
    start_sms(new_customer(shop))
    start_sms(new_customer(shop), phone="09012345678")     # same number, other spelling
    new_customer(shop).buy("smartphone", extra={"sms_phone": "090 1234 5678"})
    assert sms_sent(simulator) == 2


# ------------------------------------------------------------------ SMS per browser


def test_one_browser_cannot_send_sms_to_many_numbers(shop, simulator):
    driver = new_customer(shop)
    for n in range(5):
        start_sms(driver, phone=f"090-0000-111{n}")
    response = driver.buy("smartphone", extra={"sms_phone": "090-0000-1119"})
    assert sms_sent(simulator) == 5
    assert "送信回数が上限に達しました" in text(driver.get(response.location))


# ------------------------------------------------------------------ wrong codes


def _wrong(driver, sms_url, simulator, payment) -> object:
    right = code_of(simulator, payment)
    wrong = "0000" if right != "0000" else "1111"
    return driver.enter_sms_code(sms_url, wrong)


def test_wrong_codes_per_number_are_limited_across_orders(shop, simulator):
    """Yamato's own limit resets with every order; ours counts the number's wrong codes."""
    for _ in range(2):
        driver = new_customer(shop)
        sms_url = start_sms(driver)
        for _ in range(4):
            assert "認証番号が間違っています" in text(_wrong(driver, sms_url, simulator, latest(shop)))
    driver = new_customer(shop)
    sms_url = start_sms(driver)
    payment = latest(shop)
    _wrong(driver, sms_url, simulator, payment)
    _wrong(driver, sms_url, simulator, payment)            # the 10th wrong code
    tries = simulator.transaction(SANDBOX, payment.order_no)["sms"]["wrong_attempts"]
    response = driver.enter_sms_code(sms_url, code_of(simulator, payment))
    assert response.status_code == 429 and "入力回数が上限に達しました" in text(response)
    assert simulator.transaction(SANDBOX, payment.order_no)["sms"]["wrong_attempts"] == tries
    assert latest(shop).status == "awaiting_sms"


SANDBOX = "12345678901"


@pytest.mark.parametrize("shop_config", [{"KURONEKO_SMS_CODE_LIMIT": 3}])
def test_wrong_codes_per_browser_are_limited(shop, simulator, shop_config):
    driver = new_customer(shop)
    for n in range(3):
        sms_url = start_sms(driver, phone=f"090-0000-222{n}")
        _wrong(driver, sms_url, simulator, latest(shop))
    sms_url = start_sms(driver, phone="090-0000-2229")
    response = driver.enter_sms_code(sms_url, code_of(simulator, latest(shop)))
    assert response.status_code == 429


# ------------------------------------------------------------------ admin login


def test_admin_login_is_rate_limited(shop):
    driver = new_customer(shop)
    for _ in range(5):
        response = driver.post_form("/admin/login", "/admin/login", {"password": "guess"})
        assert response.status_code == 401 and "パスワードが違います" in text(response)
    response = driver.post_form("/admin/login", "/admin/login", {"password": "admin"})
    assert response.status_code == 429 and "一時的にログインを受け付けていません" in text(response)
    with driver.client.session_transaction() as session:
        assert not session.get("shop_admin")
    other = ShopDriver(shop.test_client())
    other.client.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    response = other.post_form("/admin/login", "/admin/login", {"password": "admin"})
    assert response.status_code == 302


def test_login_limiter_window():
    from flask_kuroneko.ratelimit import SlidingWindowLimiter
    now = [0.0]
    limiter = SlidingWindowLimiter(2, 60, clock=lambda: now[0], max_keys=2)
    limiter.hit("a")
    limiter.hit("a")
    assert limiter.blocked("a") and not limiter.blocked("b")
    assert limiter.retry_after("a") == 60
    now[0] = 61
    assert not limiter.blocked("a")
    small = SlidingWindowLimiter(1, 60, clock=lambda: now[0], max_keys=2)
    small.hit("a")
    assert small.blocked("a")
    small.hit("b")
    small.hit("c")                                          # max_keys: the oldest forgotten
    assert not small.blocked("a") and small.blocked("c")


# ------------------------------------------------------------------ availability in start_payment


@pytest.fixture
def host(kuroneko):
    return setup_shop(credit_limit=10000, fee_mode="fixed", fee_fixed=300)


def payment_count(kuroneko) -> int:
    import sqlalchemy as sa
    from hosts import simple_shop
    return simple_shop.db.session.scalar(sa.select(sa.func.count(kuroneko.models.Payment.id)))


def _no_payment_no_call(kuroneko, calls, outcome, reason):
    assert outcome.kind == "declined" and outcome.payment is None
    assert reason in outcome.message
    assert calls[AUTHORIZE] == 0 and payment_count(kuroneko) == 0


@pytest.mark.parametrize("lines, reason", [
    ([["写真集PDF", 1, 1100, "download"]], "ダウンロード商品"),
    ([["定期便", 1, 3000, "subscription"], ["マグ", 1, 2000, "physical"]], "ダウンロード商品"),
    ([["カメラ", 1, 9800, "physical"]], "ご利用限度額（10,000円）"),   # 9,800 + fee 300
])
def test_start_payment_applies_the_availability_rules(kuroneko, host, calls, lines, reason):
    order, outcome = place(kuroneko, host["invoice"], lines=lines,
                           delivery_method_id=host["yamato_delivery"])
    _no_payment_no_call(kuroneko, calls, outcome, reason)


def test_start_payment_refuses_several_destinations(kuroneko, host, calls):
    order, outcome = place(kuroneko, host["invoice"], destination_count=2,
                           delivery_method_id=host["yamato_delivery"])
    _no_payment_no_call(kuroneko, calls, outcome, "複数のお届け先")


def test_start_payment_counts_the_fee_the_host_put_on_the_order(kuroneko, host, simulator):
    # 9,700 + the 300 fee as an adjustment = 10,000: exactly the limit, accepted.
    order, outcome = place(kuroneko, host["invoice"], lines=[["カメラ", 1, 9700, "physical"]],
                           adjustments=[["後払い手数料", 300]],
                           delivery_method_id=host["yamato_delivery"])
    assert outcome.kind == "authorized"
    order, outcome = place(kuroneko, host["invoice"], lines=[["カメラ", 1, 9701, "physical"]],
                           adjustments=[["後払い手数料", 300]],
                           delivery_method_id=host["yamato_delivery"])
    assert outcome.kind == "declined" and outcome.payment is None
    assert "ご利用限度額" in outcome.message


def test_start_payment_refuses_smartphone_when_switched_off(kuroneko, simulator):
    from flask_kuroneko import InvalidTransition
    from flask_kuroneko.settings import save_settings
    ids = setup_shop()
    save_settings({"smartphone_enabled": False})
    with pytest.raises(InvalidTransition):
        place(kuroneko, ids["smartphone"], form={"sms_phone": MOBILE})
    assert payment_count(kuroneko) == 0


def test_same_reason_as_available_methods(kuroneko, host):
    from hosts import simple_shop
    order = simple_shop.make_order(lines=[["PDF", 1, 1100, "download"]])
    data = kuroneko.state.describe(order)
    [offer] = [o for o in kuroneko.available_methods(data) if o.kind == "invoice"]
    outcome = kuroneko.start_payment(order, host["invoice"])
    assert outcome.message == offer.reason


def test_a_second_submit_at_the_limit_gets_the_live_payment_not_a_refusal(kuroneko, calls):
    """The fifth SMS order is placed; its double click must lead to its SMS page, not to a
    refusal that would make the host fail the live order."""
    ids = setup_shop()
    for _ in range(4):
        place(kuroneko, ids["smartphone"], form={"sms_phone": MOBILE})
    order, first = place(kuroneko, ids["smartphone"], form={"sms_phone": MOBILE})
    assert first.kind == "redirect"
    again = kuroneko.start_payment(order, ids["smartphone"], {"sms_phone": MOBILE})
    assert again.kind == "redirect" and again.payment.id == first.payment.id
    assert calls[AUTHORIZE] == 5
    _, sixth = place(kuroneko, ids["smartphone"], form={"sms_phone": MOBILE})
    assert sixth.kind == "declined" and sixth.payment is None and calls[AUTHORIZE] == 5
