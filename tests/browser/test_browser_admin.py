"""Real-browser admin: Playwright driving Debian's chromium against the example shop on a
real socket (sandbox Yamato): settings saved from the 「クロネコ代金後払い」 page, then a customer
order cancelled from the 「決済情報」 page. Screenshots go to test-artifacts/.

Skipped when /usr/bin/chromium is missing, unless KURONEKO_REQUIRE_BROWSER=1.
"""
from __future__ import annotations

import pytest
from browser_support import SANDBOX_MERCHANT, payments, shot, to_confirmation

pytestmark = pytest.mark.browser


@pytest.fixture
def viewport() -> dict:
    """The admin pages are desktop pages."""
    return {"width": 1280, "height": 900}


def _buy_with_invoice(page, base: str) -> None:
    to_confirmation(page, base, "invoice")
    page.get_by_role("button", name="上記内容で注文する").click()
    page.wait_for_selector("#order-number")


def _settings(app):
    from flask_kuroneko.settings import effective_settings
    with app.app_context():
        return effective_settings()


def test_settings_save_and_cancel_from_the_payment_dialog(live_shop, page, simulator):
    app, base = live_shop
    page.on("dialog", lambda dialog: dialog.accept())       # 「取消を実行しますか？」
    # the admin is behind the shop's own login (admin_guard)
    page.goto(base + "/admin/kuroneko/settings")
    assert "/admin/login" in page.url
    page.fill("#password", "admin")
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_selector("#kuroneko-settings")
    html = page.content()
    assert "testpass" not in html                          # pinned password never shown
    assert "KURONEKO_PASSWORD" in html and "宅急便" in html
    page.fill("#ship_within_days", "7")
    page.check("input[name=fee_mode][value=fixed]")
    page.fill("#fee_fixed", "250")
    page.get_by_role("button", name="設定を更新する").click()
    page.wait_for_selector("text=設定を保存しました。")
    shot(page, "admin-settings-saved.png")
    current = _settings(app)
    assert current.ship_within_days == 7 and current.fee_fixed == 250

    _buy_with_invoice(page, base)
    [payment] = payments(app)
    assert payment.status == "authorized"

    page.goto(base + "/admin/kuroneko/payments")
    page.get_by_role("link", name=payment.order_no).click()
    page.wait_for_selector("#payment-dialog")
    assert page.inner_text("#payment-status").startswith("与信")
    shot(page, "admin-payment-dialog.png")
    page.click("button[data-op=cancel]")
    page.wait_for_selector("text=「取消」を行いました。")
    assert page.inner_text("#payment-status").startswith("取消済み")
    assert "取消" in page.inner_text("#payment-history")
    shot(page, "admin-payment-cancelled.png")
    [payment] = payments(app)
    assert payment.status == "cancelled"
    assert simulator.transaction(SANDBOX_MERCHANT, payment.order_no)["status"] == 2
    page.click("#close-dialog")
    page.wait_for_selector("#payments")


def test_methods_reordered_by_drag_and_drop(live_shop, page):
    app, base = live_shop
    page.goto(base + "/admin/login")
    page.fill("#password", "admin")
    page.get_by_role("button", name="ログイン").click()
    page.goto(base + "/admin/kuroneko/methods")
    rows = page.locator("tr.method-row")
    before = [rows.nth(i).get_attribute("data-method-id") for i in range(rows.count())]
    assert len(before) == 2
    rows.nth(1).locator("td").nth(1).drag_to(rows.nth(0).locator("td").nth(1))   # 決済種別 cell
    page.wait_for_selector("text=支払方法の並び順を変更しました。")
    rows = page.locator("tr.method-row")
    after = [rows.nth(i).get_attribute("data-method-id") for i in range(rows.count())]
    assert after == list(reversed(before))
    shot(page, "admin-methods.png")
