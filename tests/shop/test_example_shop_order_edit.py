"""The example shop's 受注編集 with the extension's 「決済情報」 panel (M19–M21 where the manual
puts them): lines and 「再計算」, 利用額変更 and 取消 from the panel coming back to the order, the
admin notices, a Yamato 送り状番号 checked at the field, the order reopened after 出荷取消, the
入金状況 cell of the order list — the real shop, extension, client and in-process sandbox."""
from __future__ import annotations

import re

import pytest

from example_shop.testing import ShopDriver, csrf_token
from shop_support import SANDBOX_MERCHANT, admin_login, follow, orders, payments, text, yamato_slip


@pytest.fixture
def bought(shop):
    """An 払込票 order authorized at checkout and a logged-in admin."""
    customer = ShopDriver(shop.test_client())
    follow(customer, customer.buy("invoice"))
    admin = ShopDriver(shop.test_client())
    admin_login(admin)
    [order] = orders(shop)
    return admin, order


def panel_token(html: str) -> str:
    """The kuroneko admin's CSRF token inside the panel (not the shop's own forms')."""
    panel = html[html.index('id="kuroneko-payment-panel"'):]
    return csrf_token(panel)


def press(admin: ShopDriver, url: str, op: str):
    """A button of the panel's dialog: post it as the browser does, follow back."""
    html = text(admin.get(url))
    action = re.search(rf'<form method="post" action="([^"]+)"[^>]*>(?:(?!</form>).)*data-op="{op}"',
                       html, re.S).group(1)
    response = admin.client.post(action, data={"csrf_token": panel_token(html), "back": url})
    assert response.status_code == 302 and response.location.endswith(url), response.location
    return text(admin.get(url))


def test_panel_shows_the_payment_beside_the_order(bought):
    admin, order = bought
    html = text(admin.get(f"/admin/orders/{order.id}"))
    assert 'id="kuroneko-payment-panel"' in html
    assert re.search(r'id="kuroneko-status">与信', html)
    assert f'id="kuroneko-order-total">{order.total:,}円' in html
    assert f'id="kuroneko-amount">{order.total:,}円' in html
    assert 'id="kuroneko-amount-differs"' not in html
    assert re.findall(r'data-op="([a-z_]+)"', html) == ["cancel", "change_amount", "sync_status"]
    assert "与信（ご利用可）" in html                 # the history of the dialog
    assert f"/admin/kuroneko/payments/" in html and "back=/admin/orders/" in html


def test_recalculate_then_change_amount_then_cancel_from_the_panel(shop, bought, simulator):
    admin, order = bought
    url = f"/admin/orders/{order.id}"
    item = order.items[0]
    response = admin.post_form(url, f"{url}/lines", {f"quantity_{item.id}": str(item.quantity + 1)})
    html = follow(admin, response).get_data(as_text=True)
    new_total = order.total + item.unit_price
    assert f"再計算しました（合計 {new_total:,}円）" in html
    assert f'id="kuroneko-order-total">{new_total:,}円' in html
    assert 'id="kuroneko-amount-differs"' in html
    assert 'id="kuroneko-drift-notice"' in html            # the 差異 is in the notice
    html = press(admin, url, "change_amount")
    assert "「利用額変更」を行いました。" in html
    [payment] = payments(shop)
    assert payment.amount == new_total == simulator.transaction(
        SANDBOX_MERCHANT, payment.order_no)["current_total"]
    assert 'id="kuroneko-amount-differs"' not in html and 'id="kuroneko-drift-notice"' not in html
    html = press(admin, url, "cancel")
    assert "「取消」を行いました。" in html and re.search(r'id="kuroneko-status">取消済み', html)
    assert simulator.transaction(SANDBOX_MERCHANT, payment.order_no)["status"] == 2


def test_bad_quantities_change_nothing(shop, bought):
    admin, order = bought
    url = f"/admin/orders/{order.id}"
    item = order.items[0]
    for value in ("", "-1", "100", "１", "2.5", "0"):      # "0" would leave no line at all
        html = follow(admin, admin.post_form(url, f"{url}/lines",
                                             {f"quantity_{item.id}": value})).get_data(as_text=True)
        assert "再計算しました" not in html and "flash error" in html, value
    [after] = orders(shop)
    assert (after.total, after.items[0].quantity) == (order.total, item.quantity)
    [payment] = payments(shop)
    assert payment.drift is None


def test_wrong_check_digit_is_reported_at_the_field(shop, bought, simulator):
    admin, order = bought
    url = f"/admin/orders/{order.id}"
    good = yamato_slip()
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    response = admin.post_form(url, url, {"status": "発送済み", "carrier": "クロネコヤマト",
                                          "tracking_no": bad})
    html = text(response)
    assert response.status_code == 400
    assert re.search(r'<div class="error" id="tracking_no-error">送り状番号「\d+」は正しい番号ではありません',
                     html)
    assert re.search(r'<input[^>]*aria-describedby="tracking_no-error"[^>]*id="tracking_no"', html)
    [after] = orders(shop)
    [payment] = payments(shop)
    assert after.status != "発送済み" and payment.status == "authorized"
    assert simulator.transaction(SANDBOX_MERCHANT, payment.order_no)["status"] == 1
    # written with hyphens and full-width digits, a right number is accepted and captured
    shown = "".join(chr(0xFF10 + int(c)) for c in good[:4]) + "-" + good[4:8] + "-" + good[8:]
    response = admin.post_form(url, url, {"status": "発送済み", "carrier": "クロネコヤマト",
                                          "tracking_no": shown})
    assert response.status_code == 302
    [payment] = payments(shop)
    assert payment.status == "captured" and payment.tracking_no == good


def test_shipment_cancel_from_the_panel_reopens_the_order(shop, bought, simulator):
    admin, order = bought
    url = f"/admin/orders/{order.id}"
    admin.post_form(url, url, {"status": "発送済み", "carrier": "クロネコヤマト",
                               "tracking_no": yamato_slip()})
    [payment] = payments(shop)
    assert payment.status == "captured"
    html = press(admin, url, "cancel_shipment")
    assert "「出荷取消」を行いました。" in html
    [after] = orders(shop)
    assert after.status == "新規受付"                       # reopened by the shop's receiver
    [payment] = payments(shop)
    assert payment.status == "authorized" and payment.drift is None
    assert simulator.transaction(SANDBOX_MERCHANT, payment.order_no)["status"] == 1


def test_order_list_shows_the_payment_state_cell(shop, bought, simulator):
    admin, order = bought
    [payment] = payments(shop)
    html = text(admin.get("/admin/"))
    cell = re.search(r'<td class="payment-state">(.*?)</td>', html, re.S).group(1)
    assert "承認済み" in cell
    simulator.flip_ng(SANDBOX_MERCHANT, payment.order_no)
    url = f"/admin/kuroneko/payments/{payment.id}"
    admin.post_form(url, f"{url}/sync_status", {})
    html = text(admin.get("/admin/"))
    cell = re.search(r'<td class="payment-state">(.*?)</td>', html, re.S).group(1)
    assert "発送不可" in cell and "決済不可" in cell
    [after] = orders(shop)
    assert after.status == "キャンセル"                     # the shop cancels on payment_declined
