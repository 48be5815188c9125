"""Accessibility in a real browser: axe-core (from the npm registry, see browser_support.AXE_JS)
runs on every customer page of a checkout (cart, お客様情報 with and without errors, お支払方法
with a method that cannot be used, 確認, SMS with and without a wrong code, completion, payment
error, a download-only checkout) and on every admin page (the shop's and the extension's).
No page may have a serious or critical violation.

The context bypasses the pages' Content-Security-Policy only so that axe's script can be
injected; the CSP itself is tested in test_browser_security.py.
"""
from __future__ import annotations

import pytest
from browser_support import (CHROMIUM, SANDBOX_MERCHANT, axe_problems, fill_customer, payments,
                             require_axe, to_confirmation)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def browser():
    require_axe()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            yield chromium
        finally:
            chromium.close()


def _tab(browser, viewport):
    context = browser.new_context(viewport=viewport, locale="ja-JP", bypass_csp=True)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    tab.on("dialog", lambda dialog: dialog.accept())
    return tab


def _product_id(app, name: str) -> int:
    from example_shop.models import Product
    from example_shop.extensions import db
    with app.app_context():
        return db.session.scalar(db.select(Product.id).where(Product.name == name))


def _add(page, base: str, product_id: int) -> None:
    page.goto(f"{base}/products/{product_id}")
    page.get_by_role("button", name="カートに入れる").click()
    page.wait_for_selector("#to-checkout")


def test_customer_pages_have_no_serious_violations(live_shop, browser, simulator):
    app, base = live_shop
    page = _tab(browser, PHONE)
    problems: list[str] = []

    _add(page, base, _product_id(app, "有田焼 マグカップ"))
    problems += axe_problems(page)                                  # cart
    page.get_by_role("link", name="ご購入手続きへ").click()
    page.wait_for_selector("#to-payment")
    problems += axe_problems(page)                                  # お客様情報
    page.get_by_role("button", name="お支払方法の選択へ").click()     # nothing filled in
    page.wait_for_selector(".error")
    problems += axe_problems(page)                                  # … with its errors
    page.goto(base + "/")
    to_confirmation(page, base, "smartphone", sms_phone="09012345678")
    problems += axe_problems(page)                                  # 確認
    page.goto(base + "/checkout/payment")
    problems += axe_problems(page)                                  # お支払方法
    page.goto(base + "/checkout/confirm")
    page.get_by_role("button", name="上記内容で注文する").click()
    page.wait_for_selector("#kuroneko-sms")
    problems += axe_problems(page)                                  # SMS
    page.fill("#code", "0000")
    page.get_by_role("button", name="認証する").click()
    page.wait_for_selector("#sms-message")
    problems += axe_problems(page)                                  # SMS, wrong code
    [payment] = payments(app)
    page.fill("#code", simulator.sms_code(SANDBOX_MERCHANT, payment.order_no))
    page.get_by_role("button", name="認証する").click()
    page.wait_for_selector("#order-number")
    problems += axe_problems(page)                                  # completion

    # a cart 後払い cannot take: the methods are shown disabled with their reason
    _add(page, base, _product_id(app, "有田焼 マグカップ"))
    _add(page, base, _product_id(app, "デジタル写真集（ダウンロード）"))
    page.goto(base + "/checkout")
    fill_customer(page)
    page.check("input[name=delivery_method][value=takkyubin]")
    page.get_by_role("button", name="お支払方法の選択へ").click()
    page.wait_for_selector("#method-invoice.unavailable")
    problems += axe_problems(page)                                  # お支払方法, unavailable

    # a declined order (a new browser: an empty cart): the payment error page
    page = _tab(browser, PHONE)
    to_confirmation(page, base, "invoice")
    page.goto(base + "/checkout")
    page.fill("#phone", "0312349991")                               # sandbox: 決済不可
    page.get_by_role("button", name="お支払方法の選択へ").click()
    page.check("#method-invoice input[name=payment_method]")
    page.get_by_role("button", name="ご注文内容の確認へ").click()
    page.get_by_role("button", name="上記内容で注文する").click()
    page.wait_for_selector("#payment-error")
    problems += axe_problems(page)                                  # 決済エラー

    assert problems == [], "\n".join(problems)


def test_download_only_checkout_has_no_serious_violations(live_shop, browser):
    app, base = live_shop
    page = _tab(browser, PHONE)
    _add(page, base, _product_id(app, "デジタル写真集（ダウンロード）"))
    page.goto(base + "/checkout")
    problems = axe_problems(page)
    assert problems == [], "\n".join(problems)


def _admin_login(page, base: str) -> None:
    page.goto(base + "/admin/login")
    page.fill("#password", "admin")
    page.get_by_role("button", name="ログイン").click()


def test_admin_pages_have_no_serious_violations(live_shop, browser):
    app, base = live_shop
    customer = _tab(browser, PHONE)
    to_confirmation(customer, base, "invoice")
    customer.get_by_role("button", name="上記内容で注文する").click()
    customer.wait_for_selector("#order-number")
    [payment] = payments(app)
    with app.app_context():                 # one 決済エラーログ row for the list
        from example_shop.extensions import db, kuroneko
        db.session.add(kuroneko.models.ErrorLog(
            order_no=payment.order_no, kind=payment.kind, operation="KAASL0010",
            code="kaasl014E", message="送り状番号:チェックデジットが正しいこと"))
        log_id = db.session.scalar(db.select(kuroneko.models.PrepaymentLog.id))
        db.session.commit()

    page = _tab(browser, DESKTOP)
    page.goto(base + "/admin/login")
    problems = axe_problems(page)                                   # the shop's login
    _admin_login(page, base)
    order_id = payment.host_order_id
    kuroneko_admin = base + "/admin/kuroneko"
    for url in (f"{base}/admin/", f"{base}/admin/orders/{order_id}", f"{base}/admin/mail",
                f"{kuroneko_admin}/payments", f"{kuroneko_admin}/payments/{payment.id}",
                f"{kuroneko_admin}/settings", f"{kuroneko_admin}/methods",
                f"{kuroneko_admin}/errors", f"{kuroneko_admin}/prepayment",
                f"{kuroneko_admin}/prepayment/{log_id}", f"{kuroneko_admin}/drifts",
                f"{kuroneko_admin}/diagnostics"):
        page.goto(url)
        assert page.url.startswith(url.split("?")[0]), page.url
        problems += axe_problems(page)
    # bulk work: the jobs list and a job's page (a B2 import with every row kind), the B2
    # export with its preview, the import page, the B2 settings with an error
    with app.app_context():
        from flask_kuroneko import jobs
        from jobs_support import issued_file, slips
        numbers = slips()
        job = jobs.start_b2_import(issued_file([(payment.order_no, next(numbers)),
                                                ("99999", next(numbers)),
                                                (payment.order_no, "450102030454")]),
                                   filename="issued.csv", actor="admin")
        jobs.run_job(job.id, until_finished=True)
        job_id = job.id
    for url in (f"{kuroneko_admin}/jobs", f"{kuroneko_admin}/jobs/{job_id}",
                f"{kuroneko_admin}/b2/import", f"{kuroneko_admin}/b2/export",
                f"{kuroneko_admin}/b2/settings"):
        page.goto(url)
        assert page.url.startswith(url), page.url
        problems += axe_problems(page)
    page.goto(f"{kuroneko_admin}/b2/settings")
    page.fill("#b2_freight_no", "1")
    page.click("#b2-settings-save")
    page.wait_for_selector("#error-b2_freight_no")
    # the 「決済情報」 dialog of the shop's order edit page, open
    page.goto(f"{base}/admin/orders/{order_id}")
    page.click("#kuroneko-open-dialog")
    page.wait_for_selector("#kuroneko-payment-dialog", state="visible")
    problems += axe_problems(page)
    # a settings page with errors: each one tied to its field
    page.goto(f"{kuroneko_admin}/settings")
    page.fill("#ship_within_days", "999")
    page.get_by_role("button", name="クロネコ代金後払いの設定を更新する").click()
    page.wait_for_selector("#error-ship_within_days")
    problems += axe_problems(page)
    assert problems == [], "\n".join(problems)
