"""Bad input on the example shop and the extension's pages (issue 10, items 1 and 2): ids parsed
strictly, control characters refused with a message, a stale cart entry dropped, the request
size limited, redirect targets same-site only. Through the real app and database."""
from __future__ import annotations

import pytest

from example_shop.testing import ShopDriver, csrf_token
from flask_kuroneko.web import parse_id, parse_ids, safe_path
from test_checkout import start_sms
from shop_support import text

pytestmark = pytest.mark.security
MSG_CONTROL = "制御文字"


@pytest.fixture
def shop_config() -> dict:
    return {"PROPAGATE_EXCEPTIONS": False}     # an exception is the 500 a server answers


def admin(shop) -> ShopDriver:
    driver = ShopDriver(shop.test_client())
    response = driver.post_form("/admin/login", "/admin/login", {"password": "admin"})
    assert response.status_code == 302
    return driver


# ------------------------------------------------------------------ ids


@pytest.mark.parametrize("value, expected", [
    ("1", 1), ("0042", 42), ("2147483647", 2147483647), (7, 7),
    ("0", None), ("-1", None), ("²", None), ("١٢", None), ("１２", None), ("2147483648", None),
    ("9" * 40, None), (" 1", None), ("1\x00", None), ("", None), (None, None), (True, None),
    ("1.0", None),
])
def test_parse_id_accepts_ascii_digits_within_the_integer_range_only(value, expected):
    assert parse_id(value) == expected


@pytest.mark.parametrize("segment", ["2147483648", "0", "9999999999"])
def test_the_id_converter_refuses_out_of_range_ids_before_the_view(segment):
    from werkzeug.routing import Map, ValidationError
    from flask_kuroneko.web import IdConverter
    converter = IdConverter(Map())
    with pytest.raises(ValidationError):
        converter.to_python(segment)
    assert converter.to_python("2147483647") == 2147483647 and converter.to_url(12) == "12"


def test_parse_ids_is_all_or_nothing():
    assert parse_ids(["3", "1", "3"]) == [3, 1]
    assert parse_ids(["1", "²"]) is None
    assert parse_ids([]) == []


@pytest.mark.parametrize("path", [
    "/admin/kuroneko/payments/{v}", "/admin/kuroneko/prepayment/{v}", "/admin/orders/{v}",
    "/products/{v}", "/checkout/complete/{v}", "/checkout/payment-error/{v}",
])
def test_ids_beyond_the_column_or_not_ascii_are_not_found(shop, path):
    driver = admin(shop)
    for value in ("²", "١", "2147483648", "9223372036854775808", "9" * 40, "0"):
        response = driver.get(path.format(v=value))
        assert response.status_code == 404, value


def test_unicode_digit_no_longer_aliases_a_real_id(shop):
    driver = admin(shop)
    assert driver.get("/products/1").status_code == 200
    assert driver.get("/products/١").status_code == 404      # Arabic-Indic one: was product 1


@pytest.mark.parametrize("value", ["²", "99999999999999999999"])
def test_bad_log_ids_delete_nothing(shop, value):
    from example_shop.extensions import db, kuroneko
    from flask_kuroneko.payments import history
    with shop.app_context():
        history.log_error(db.session, kuroneko.models, message="keep me", code="x")
        db.session.commit()
    driver = admin(shop)
    response = driver.post_form("/admin/kuroneko/errors", "/admin/kuroneko/errors/delete",
                                {"log_id": value})
    assert response.status_code == 302
    page = text(driver.get("/admin/kuroneko/errors"))
    assert "削除するログの指定が正しくありません" in page and "keep me" in page


# ------------------------------------------------------------------ control characters


@pytest.mark.parametrize("value", ["\x00", "a\x00b", "\x1b[31m", "\x7f", "\x85", "a\u2028b"])
def test_control_characters_in_checkout_fields_are_refused_with_a_message(shop, value):
    driver = ShopDriver(shop.test_client())
    driver.add_to_cart(1)
    response = driver.enter_customer(name=f"山田{value}", ship_address1=value)
    assert response.status_code == 400 and MSG_CONTROL in text(response)
    with driver.client.session_transaction() as session:
        assert "checkout" not in session            # nothing of the refused form was kept
    # Step 2 still asks for step 1.
    assert driver.get("/checkout/payment").location.endswith("/checkout")


@pytest.mark.parametrize("url", [
    "/admin/kuroneko/payments?q=%00", "/admin/kuroneko/prepayment?key=1%00",
    "/admin/kuroneko/payments?q=a%0d%0aSet-Cookie:x", "/admin/?status=%00",
])
def test_control_characters_in_searches_are_refused_with_a_message(shop, url):
    response = admin(shop).get(url)
    assert response.status_code == 400 and MSG_CONTROL in text(response)


def test_control_characters_in_admin_text_fields_change_nothing(shop):
    driver = admin(shop)
    response = driver.post_form("/admin/kuroneko/methods", "/admin/kuroneko/methods/1",
                                {"name": "後払い\x00", "description_html": "x", "active": "1"})
    assert response.status_code == 400 and MSG_CONTROL in text(response)
    assert "後払い\x00" not in text(driver.get("/admin/kuroneko/methods"))


def test_line_breaks_stay_allowed_in_text_areas(shop):
    driver = admin(shop)
    response = driver.post_form("/admin/kuroneko/methods", "/admin/kuroneko/methods/1",
                                {"name": "後払い", "description_html": "<p>一行目</p>\r\n<p>二行目</p>",
                                 "active": "1"})
    assert response.status_code == 302


def test_checkout_token_with_nul_is_refused(shop):
    driver = ShopDriver(shop.test_client())
    driver.add_to_cart(1)
    token = csrf_token(text(driver.get("/cart")))
    response = driver.client.post("/checkout/place", data={"csrf_token": token,
                                                          "checkout_token": "abc\x00"})
    assert response.status_code == 400 and MSG_CONTROL in text(response)


# ------------------------------------------------------------------ cart, size


@pytest.mark.parametrize("poison", ["99999999999999999999", "²", "-3", "1\x00"])
def test_a_poisoned_cart_entry_is_dropped_not_fatal(shop, poison):
    driver = ShopDriver(shop.test_client())
    driver.add_to_cart(1)
    with driver.client.session_transaction() as session:
        session["cart"] = {**session["cart"], poison: 1, "2": "lots"}
    assert driver.get("/cart").status_code == 200
    assert driver.enter_customer().status_code == 302
    assert driver.get("/checkout/payment").status_code == 200
    with driver.client.session_transaction() as session:
        assert session["cart"] == {"1": 1}


def test_an_oversized_product_id_cannot_enter_the_cart(shop):
    driver = ShopDriver(shop.test_client())
    driver.add_to_cart(1)
    page = text(driver.get("/cart"))
    response = driver.client.post("/cart/update", data={
        "csrf_token": csrf_token(page), "product_id": "9" * 30, "quantity": "1"})
    assert response.status_code == 302
    assert driver.get("/cart").status_code == 200 and driver.get("/checkout").status_code == 200


def test_request_size_is_limited(shop):
    assert shop.config["MAX_CONTENT_LENGTH"] <= 1024 * 1024
    driver = ShopDriver(shop.test_client())
    response = driver.client.post("/cart/add", data={"product_id": "1", "blob": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    response = driver.client.post("/cart/add", data=b"x" * (100 * 1024 * 1024),
                                  content_type="application/octet-stream")
    assert response.status_code == 413


# ------------------------------------------------------------------ redirect targets


@pytest.mark.parametrize("target", [
    "//evil.example/", "/\t/evil.example/", "/\\evil.example", "https://evil.example/",
    "/ok\r\nSet-Cookie: x=1", " /x", "javascript:alert(1)", "/%09/evil.example/", "",
])
def test_safe_path_refuses_everything_but_a_same_site_path(target):
    expected = "/%09/evil.example/" if target == "/%09/evil.example/" else None
    assert safe_path(target) == expected


@pytest.mark.parametrize("next_value", ["/%09/evil.example/", "//evil.example/",
                                        "/%5Cevil.example", "https://evil.example/",
                                        "/x%0d%0aLocation:%20//evil.example"])
def test_admin_login_next_stays_on_the_site(shop, next_value):
    driver = ShopDriver(shop.test_client())
    page = text(driver.get("/admin/login"))
    response = driver.client.post(f"/admin/login?next={next_value}", data={
        "csrf_token": csrf_token(page), "password": "admin"})
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        location = response.headers["Location"]
        assert location.startswith("/") and not location.startswith("//"), location
        assert "evil" not in location.replace("%2F", "/").split("?")[0].lstrip("/").split("/")[0]


def test_admin_login_keeps_a_real_next_path(shop):
    driver = ShopDriver(shop.test_client())
    first = driver.get("/admin/kuroneko/payments?status=authorized")
    assert first.status_code == 302
    login_url = first.location
    page = text(driver.get(login_url))
    response = driver.client.post(login_url, data={"csrf_token": csrf_token(page),
                                                   "password": "admin"})
    assert response.location == "/admin/kuroneko/payments?status=authorized"


@pytest.mark.parametrize("back", ["//evil.example/", "/\t/evil.example", "/\\evil.example",
                                  "https://evil.example/x"])
def test_dialog_back_link_stays_on_the_site(shop, back):
    driver = ShopDriver(shop.test_client())
    driver.buy("invoice")
    admin_driver = admin(shop)
    from urllib.parse import quote
    response = admin_driver.get(f"/admin/kuroneko/payments/1?back={quote(back)}")
    if response.status_code == 400:          # control characters: refused outright
        return
    page = text(response)
    assert 'href="/admin/kuroneko/payments"' in page and "evil.example" not in page


def test_dialog_back_link_keeps_a_real_path(shop):
    driver = ShopDriver(shop.test_client())
    driver.buy("invoice")
    page = text(admin(shop).get("/admin/kuroneko/payments/1?back=/admin/orders/1"))
    assert 'href="/admin/orders/1"' in page


def test_sms_page_token_with_control_characters_is_refused(shop):
    driver = ShopDriver(shop.test_client())
    sms_url = start_sms(driver)
    assert driver.get(sms_url + "%00").status_code == 400
    assert driver.get(sms_url).status_code == 200
