"""Real-browser checks of the page protections (issue 10, item 6): under the extension's
Content-Security-Policy the SMS page and the admin work with no violation reported, the
confirmation dialogs (data-confirm, no inline handlers) still ask, and another site cannot
frame the pages."""
from __future__ import annotations

import pytest
from browser_support import payments, to_confirmation

pytestmark = [pytest.mark.browser, pytest.mark.security]


def _csp_violations(page) -> list[str]:
    found: list[str] = []
    page.on("console", lambda msg: found.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    return found


def _to_sms_page(page, base):
    to_confirmation(page, base, "smartphone", sms_phone="09012345678")
    page.get_by_role("button", name="上記内容で注文する").click()
    page.wait_for_selector("#kuroneko-sms")


def test_sms_page_back_button_asks_under_the_csp(live_shop, page):
    app, base = live_shop
    violations = _csp_violations(page)
    _to_sms_page(page, base)
    asked: list[str] = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()
    page.once("dialog", dismiss)
    page.click("#sms-back")
    page.wait_for_timeout(300)
    assert asked and "キャンセル" in asked[0]
    assert payments(app)[-1].status == "awaiting_sms"          # dismissed: nothing happened
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#sms-back")
    page.wait_for_load_state()
    page.wait_for_timeout(300)
    assert payments(app)[-1].status == "declined"
    assert violations == []


def test_admin_pages_run_their_scripts_under_the_csp(live_shop, page):
    app, base = live_shop
    violations = _csp_violations(page)
    page.goto(base + "/admin/login")
    page.fill("input[name=password]", "admin")
    page.click("button[type=submit]")
    for path in ("/admin/kuroneko/methods", "/admin/kuroneko/settings", "/admin/kuroneko/errors",
                 "/admin/kuroneko/payments"):
        page.goto(base + path)
        page.wait_for_load_state()
    page.goto(base + "/admin/kuroneko/methods")
    asked: list[str] = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()
    page.once("dialog", dismiss)
    page.locator("form[data-confirm] button").first.click()
    page.wait_for_timeout(300)
    assert asked and "削除しますか" in asked[0]
    assert "支払方法" in page.content()                        # still there: dismissed
    assert violations == []


def test_another_site_cannot_frame_the_pages(live_shop, page):
    _app, base = live_shop
    refusals: list[str] = []
    page.on("console", lambda msg: refusals.append(msg.text)
            if "frame-ancestors" in msg.text or "X-Frame-Options" in msg.text else None)
    other_origin = base.replace("127.0.0.1", "localhost")
    page.goto(other_origin + "/static/shop.css")
    for path in ("/admin/login", "/checkout"):
        page.set_content(f'<iframe id="f" src="{base}{path}" width="600" height="400"></iframe>')
        page.wait_for_timeout(1000)
        assert page.frame_locator("#f").locator("form").count() == 0, path
    assert len(refusals) >= 2, refusals
