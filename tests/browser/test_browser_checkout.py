"""Real-browser checkout: Playwright driving Debian's chromium against the example shop
served by werkzeug on 127.0.0.1 (real HTTP, real forms, real cookies), sandbox Yamato.

Skipped when /usr/bin/chromium is missing, unless KURONEKO_REQUIRE_BROWSER=1 (CI), which
turns the skip into a failure. Screenshots of the SMS and completion pages go to
test-artifacts/.
"""
from __future__ import annotations

import pytest
from browser_support import SANDBOX_MERCHANT, payments, shot, to_confirmation

pytestmark = pytest.mark.browser


def test_invoice_purchase_in_a_real_browser(live_shop, page):
    app, base = live_shop
    to_confirmation(page, base, "invoice")
    assert "クロネコ代金後払い" in page.inner_text("#payment-name")
    page.get_by_role("button", name="上記内容で注文する").click()
    page.wait_for_selector("#order-number")
    assert "ご注文ありがとうございました" in page.content()
    shot(page, "invoice-complete.png")
    [payment] = payments(app)
    assert payment.status == "authorized" and payment.order_no in page.content()


def test_smartphone_purchase_wrong_then_right_code_in_a_real_browser(live_shop, page, simulator):
    app, base = live_shop
    to_confirmation(page, base, "smartphone", sms_phone="09012345678")
    page.get_by_role("button", name="上記内容で注文する").click()
    page.wait_for_selector("#kuroneko-sms")
    assert "4桁の認証番号" in page.content()
    shot(page, "sms-page.png")

    page.fill("#code", "0000")
    page.get_by_role("button", name="認証する").click()
    page.wait_for_selector("#sms-message")
    assert "残り" in page.inner_text("#sms-message")
    shot(page, "sms-page-wrong-code.png")

    [payment] = payments(app)
    code = simulator.sms_code(SANDBOX_MERCHANT, payment.order_no)
    assert code in page.inner_text("#sandbox-hint")          # the demo user can read it
    page.fill("#code", code)
    page.get_by_role("button", name="認証する").click()
    page.wait_for_selector("#order-number")
    assert "ご注文ありがとうございました" in page.content()
    shot(page, "smartphone-complete.png")
    [payment] = payments(app)
    assert payment.status == "authorized"
