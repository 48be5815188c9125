"""Real-browser admin: Playwright driving Debian's chromium against the example shop on a
real socket (sandbox Yamato): settings saved from the 「クロネコ代金後払い」 page, then a customer
order cancelled from the 「決済情報」 page. Screenshots go to test-artifacts/.

Skipped when /usr/bin/chromium is missing, unless KURONEKO_REQUIRE_BROWSER=1.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SANDBOX_MERCHANT = "12345678901"

pytestmark = pytest.mark.browser


def _require_browser() -> None:
    missing = None
    if not Path(CHROMIUM).exists():
        missing = f"{CHROMIUM} is not installed (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is not installed (pip install -e '.[test]')"
    if missing:
        if os.environ.get("KURONEKO_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser test required (KURONEKO_REQUIRE_BROWSER=1) but {missing}")
        pytest.skip(f"real-browser test skipped: {missing}")


@pytest.fixture
def live_shop(database_url, simulator):
    _require_browser()
    from werkzeug.serving import make_server

    from example_shop import create_app, db
    app = create_app({"SECRET_KEY": "browser-admin-test", "SQLALCHEMY_DATABASE_URI": database_url,
                      "SHOP_SIMULATOR": simulator})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


@pytest.fixture
def page():
    _require_browser()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        try:
            yield tab
        finally:
            context.close()
            browser.close()


def _shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def _buy_with_invoice(page, base: str) -> None:
    page.goto(base + "/")
    page.get_by_role("link", name="有田焼 マグカップ").click()
    page.get_by_role("button", name="カートに入れる").click()
    page.get_by_role("link", name="ご購入手続きへ").click()
    page.fill("#name", "山田 太郎")
    page.fill("#name_kana", "ヤマダ タロウ")
    page.fill("#postal_code", "1000001")
    page.select_option("#prefecture", "東京都")
    page.fill("#address1", "千代田区千代田1-1")
    page.fill("#phone", "0312345678")
    page.fill("#email", "taro@example.com")
    page.check("input[name=delivery_method][value=takkyubin]")
    page.get_by_role("button", name="お支払方法の選択へ").click()
    page.check("#method-invoice input[name=payment_method]")
    page.get_by_role("button", name="ご注文内容の確認へ").click()
    page.get_by_role("button", name="上記内容で注文する").click()
    page.wait_for_selector("#order-number")


def _settings(app):
    from flask_kuroneko.settings import effective_settings
    with app.app_context():
        return effective_settings()


def _payments(app):
    from example_shop.extensions import db, kuroneko
    with app.app_context():
        Payment = kuroneko.models.Payment
        rows = db.session.scalars(db.select(Payment).order_by(Payment.id)).all()
        db.session.expunge_all()
        return rows


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
    _shot(page, "admin-settings-saved.png")
    current = _settings(app)
    assert current.ship_within_days == 7 and current.fee_fixed == 250

    _buy_with_invoice(page, base)
    [payment] = _payments(app)
    assert payment.status == "authorized"

    page.goto(base + "/admin/kuroneko/payments")
    page.get_by_role("link", name=payment.order_no).click()
    page.wait_for_selector("#payment-dialog")
    assert page.inner_text("#payment-status").startswith("与信")
    _shot(page, "admin-payment-dialog.png")
    page.click("button[data-op=cancel]")
    page.wait_for_selector("text=「取消」を行いました。")
    assert page.inner_text("#payment-status").startswith("取消済み")
    assert "取消" in page.inner_text("#payment-history")
    _shot(page, "admin-payment-cancelled.png")
    [payment] = _payments(app)
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
    _shot(page, "admin-methods.png")
