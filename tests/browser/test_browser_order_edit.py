"""Real browser, the example shop's 受注編集 (M20/M21 where the manual puts them): 「決済情報」
opens the dialog from the order page, a line is changed and 「再計算」 saves the new total, the
dialog's 利用金額 shows it and 「利用額変更」 sends it to the sandbox, then 「取消」 — each button
coming back to the order page. Playwright driving Debian's chromium; the page's CSP allows only
nonce'd scripts (the dialog's script is one). Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import pytest
from browser_support import SANDBOX_MERCHANT, payments, shot, to_confirmation

pytestmark = pytest.mark.browser


@pytest.fixture
def viewport() -> dict:
    return {"width": 1280, "height": 900}


def _order_id(app) -> int:
    from example_shop.extensions import db
    from example_shop.models import Order
    with app.app_context():
        return db.session.scalar(db.select(db.func.max(Order.id)))


def test_order_edit_panel_recalculate_change_amount_and_cancel(live_shop, page, simulator):
    app, base = live_shop
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error"
            and not msg.text.startswith("Failed to load resource") else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400
            and not r.url.endswith("/favicon.ico") else None)
    page.on("dialog", lambda dialog: dialog.accept())        # 「…を実行しますか？」

    to_confirmation(page, base, "invoice")
    page.get_by_role("button", name="上記内容で注文する").click()
    page.wait_for_selector("#order-number")
    [payment] = payments(app)
    assert payment.status == "authorized"
    order_url = f"{base}/admin/orders/{_order_id(app)}"

    page.goto(order_url)
    page.fill("#password", "admin")
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_selector("#kuroneko-payment-panel")
    assert page.url == order_url
    total = page.inner_text("#order-total")

    # 「決済情報」 opens the dialog on this page (no navigation)
    page.click("#kuroneko-open-dialog")
    dialog = page.locator("#kuroneko-payment-dialog")
    dialog.wait_for(state="visible")
    assert page.url == order_url
    assert dialog.locator("#kuroneko-dialog-amount").inner_text().startswith(total)
    assert "与信" in dialog.locator("#kuroneko-dialog-history").inner_text()
    shot(page, "order-edit-payment-dialog.png")
    page.click("#kuroneko-close-dialog")
    dialog.wait_for(state="hidden")

    # change a line, 「再計算」
    quantity = page.locator("input[name^=quantity_]").first
    quantity.fill("2")
    page.click("#recalculate")
    page.wait_for_selector("text=再計算しました")
    new_total = page.inner_text("#order-total")
    assert new_total != total
    assert page.inner_text("#kuroneko-order-total") == new_total
    assert page.is_visible("#kuroneko-amount-differs")
    assert page.is_visible("#kuroneko-drift-notice")
    shot(page, "order-edit-recalculated.png")

    # 「利用額変更」 from the dialog: the dialog's 利用金額 is the new total
    page.click("#kuroneko-open-dialog")
    dialog.wait_for(state="visible")
    assert dialog.locator("#kuroneko-dialog-amount").inner_text().startswith(new_total)
    dialog.locator("button[data-op=change_amount]").click()
    page.wait_for_selector("text=「利用額変更」を行いました。")
    assert page.url == order_url
    assert page.inner_text("#kuroneko-amount") == new_total
    assert not page.is_visible("#kuroneko-amount-differs")
    assert not page.is_visible("#kuroneko-drift-notice")
    [payment] = payments(app)
    assert f"{payment.amount:,}円" == new_total
    assert simulator.transaction(SANDBOX_MERCHANT, payment.order_no)["current_total"] == \
        payment.amount

    # 「取消」
    page.click("#kuroneko-open-dialog")
    dialog.wait_for(state="visible")
    dialog.locator("button[data-op=cancel]").click()
    page.wait_for_selector("text=「取消」を行いました。")
    assert page.inner_text("#kuroneko-status").startswith("取消済み")
    shot(page, "order-edit-cancelled.png")
    [payment] = payments(app)
    assert payment.status == "cancelled"
    assert simulator.transaction(SANDBOX_MERCHANT, payment.order_no)["status"] == 2
    assert not errors, errors                 # no CSP violation, no script error
