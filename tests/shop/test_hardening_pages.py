"""Pages (issue 10, item 6): method descriptions cleaned by the nh3 allow-list, CSP with a nonce
and frame protection on the extension's pages, ``Cache-Control: no-store`` on checkout, SMS,
completion and admin responses, formulas neutralised in the error-log CSV. Item 3's push
receiver: Basic authentication, the path secret masked in access logs."""
from __future__ import annotations

import csv
import io
import logging
import re
from pathlib import Path

import pytest

from example_shop.testing import ShopDriver
from flask_kuroneko.web import clean_description
from test_checkout import start_sms
from shop_support import SANDBOX_MERCHANT, payments, text

pytestmark = pytest.mark.security
TEMPLATES = Path(__file__).resolve().parents[2] / "flask_kuroneko" / "templates"
PUSH_SECRET = "push-secret-0123456789abcdef"


@pytest.fixture
def shop_config() -> dict:
    return {"KURONEKO_NOTIFY_SECRET": PUSH_SECRET}


def admin(shop) -> ShopDriver:
    driver = ShopDriver(shop.test_client())
    driver.post_form("/admin/login", "/admin/login", {"password": "admin"})
    return driver


# ------------------------------------------------------------------ descriptions


@pytest.mark.parametrize("html, kept, removed", [
    ('<p>払込票で<strong>お支払い</strong></p>', "<strong>お支払い</strong>", None),
    ('<script>alert(1)</script><p>x</p>', "<p>x</p>", "<script"),
    ('<img src="x" onerror="alert(1)">', "<img", "onerror"),
    ('<a href="javascript:alert(1)">x</a>', "<a", "javascript:"),
    ('<a href="https://example.com/">x</a>', 'rel="noopener noreferrer"', None),
    ('<p style="background:url(x)">x</p>', "<p>x</p>", "style"),
    ('<iframe src="https://evil.example/"></iframe>', "", "iframe"),
    ('<form action="https://evil.example/"><input name=p></form>', "", "<form"),
    ('<svg><script>alert(1)</script></svg>', "", "script"),
])
def test_description_allow_list(html, kept, removed):
    cleaned = clean_description(html)
    assert kept in cleaned
    if removed:
        assert removed not in cleaned


def test_admin_cannot_put_script_on_the_customers_payment_page(shop):
    driver = admin(shop)
    evil = '<p>説明</p><script>alert("x")</script><img src=x onerror=alert(1)>'
    driver.post_form("/admin/kuroneko/methods", "/admin/kuroneko/methods/1",
                     {"name": "後払い", "description_html": evil, "active": "1"})
    from example_shop.extensions import db, kuroneko
    with shop.app_context():
        stored = db.session.get(kuroneko.models.PaymentMethod, 1).description_html
    assert "<script" not in stored and "onerror" not in stored and "<p>説明</p>" in stored
    customer = ShopDriver(shop.test_client())
    customer.add_to_cart(1)
    customer.enter_customer()
    page = text(customer.get("/checkout/payment"))
    assert "<p>説明</p>" in page and 'alert("x")' not in page and "onerror" not in page


def test_a_row_written_around_the_admin_is_cleaned_when_shown(shop):
    from example_shop.extensions import db, kuroneko
    with shop.app_context():
        db.session.get(kuroneko.models.PaymentMethod, 1).description_html = \
            '<b>OK</b><script>steal()</script>'
        db.session.commit()
    customer = ShopDriver(shop.test_client())
    customer.add_to_cart(1)
    customer.enter_customer()
    page = text(customer.get("/checkout/payment"))
    assert "<b>OK</b>" in page and "steal()" not in page


# ------------------------------------------------------------------ headers


def _csp(response) -> str:
    return response.headers.get("Content-Security-Policy", "")


def _nonces_match(response) -> None:
    policy = _csp(response)
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    scripts = re.findall(r"<script([^>]*)>", text(response))
    assert scripts, "the page has scripts to check"
    for attributes in scripts:
        assert f'nonce="{nonce}"' in attributes


def test_sms_page_headers(shop):
    driver = ShopDriver(shop.test_client())
    sms_url = start_sms(driver)
    response = driver.get(sms_url)
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    assert "frame-ancestors 'none'" in _csp(response) and "script-src 'self' 'nonce-" in _csp(response)
    assert "'unsafe-inline'" not in _csp(response).split("script-src")[1].split(";")[0]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "onsubmit=" not in text(response)
    _nonces_match(response)
    # Two requests, two nonces.
    assert _csp(driver.get(sms_url)) != _csp(response)


@pytest.mark.parametrize("path", ["/admin/kuroneko/payments", "/admin/kuroneko/methods",
                                  "/admin/kuroneko/settings", "/admin/kuroneko/errors",
                                  "/admin/kuroneko/prepayment", "/admin/kuroneko/payments/1"])
def test_admin_pages_headers(shop, path):
    ShopDriver(shop.test_client()).buy("invoice")
    response = admin(shop).get(path)
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    assert "frame-ancestors 'none'" in _csp(response)
    assert response.headers["X-Frame-Options"] == "DENY"
    _nonces_match(response)


def test_admin_csv_is_not_cached(shop):
    driver = admin(shop)
    response = driver.post_form("/admin/kuroneko/errors", "/admin/kuroneko/errors.csv", {})
    assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"]


@pytest.mark.parametrize("path", ["/cart", "/checkout", "/checkout/payment",
                                  "/checkout/confirm", "/admin/", "/admin/login"])
def test_shop_checkout_and_admin_pages_are_not_cached(shop, path):
    driver = ShopDriver(shop.test_client())
    driver.add_to_cart(1)
    driver.enter_customer()
    driver.choose_payment("invoice")
    response = driver.get(path)
    assert "no-store" in response.headers["Cache-Control"], path
    assert "frame-ancestors 'none'" in _csp(response)


def test_completion_page_is_not_cached_and_catalogue_may_be(shop):
    driver = ShopDriver(shop.test_client())
    response = driver.buy("invoice")
    complete = driver.get(response.location)
    assert complete.status_code == 200 and "no-store" in complete.headers["Cache-Control"]
    assert "no-store" not in driver.get("/").headers.get("Cache-Control", "")


def test_confirmation_script_carries_the_nonce(shop):
    driver = ShopDriver(shop.test_client())
    driver.add_to_cart(1)
    driver.enter_customer()
    driver.choose_payment("invoice")
    _nonces_match(driver.get("/checkout/confirm"))


def test_no_inline_event_handlers_in_the_templates():
    for path in TEMPLATES.rglob("*.html"):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"\son[a-z]+=", source), path
        for tag in re.findall(r"<script[^>]*>", source):
            assert "nonce=" in tag, path


def test_csp_is_configurable(database_url, simulator):
    from example_shop import create_app, db
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url,
                      "SHOP_SIMULATOR": simulator, "SHOP_SANDBOX_MOUNT": None,
                      "KURONEKO_CONTENT_SECURITY_POLICY": None})
    try:
        response = app.test_client().get("/cart")
        assert "Content-Security-Policy" not in response.headers
        assert "no-store" in response.headers["Cache-Control"]
    finally:
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


# ------------------------------------------------------------------ CSV


@pytest.mark.parametrize("code, message", [
    ("=cmd|' /C calc'!A0", "+SUM(1,2)"), ("@SUM(A1)", "-2+3"), ("\uff1d1+1", "\t=1"),
])
def test_error_log_csv_neutralises_formulas(shop, code, message):
    from example_shop.extensions import db, kuroneko
    from flask_kuroneko.payments import history
    with shop.app_context():
        history.log_error(db.session, kuroneko.models, message=message, code=code[:16],
                          order_no="=1+1")
        db.session.commit()
    driver = admin(shop)
    response = driver.post_form("/admin/kuroneko/errors", "/admin/kuroneko/errors.csv", {})
    rows = list(csv.reader(io.StringIO(text(response).lstrip("\ufeff"))))
    [row] = rows[1:]
    for value in row:
        assert not value or value[0] not in "=+-@\t\r\uff1d\uff0b\uff0d\uff20", row
    assert row[1] == "'=1+1" and row[4] == "'" + code[:16]


# ------------------------------------------------------------------ push receiver


def _push_form(payment) -> dict:
    return {"ycfStrNo": SANDBOX_MERCHANT, "juchuNo": payment.order_no, "keitaiNo": "09012345678",
            "giftKb": "3", "snsKk": "0", "smsNinKk": "0", "smsYuuKk": ""}


def test_push_receiver_takes_the_secret_as_basic_authentication(shop):
    driver = ShopDriver(shop.test_client())
    start_sms(driver)
    form = _push_form(payments(shop)[-1])
    client = shop.test_client()
    assert client.post("/kuroneko/notify", data=form).status_code == 404
    assert client.post("/kuroneko/notify", data=form,
                       auth=("kuroneko", "wrong-secret-0123456789")).status_code == 404
    response = client.post("/kuroneko/notify", data=form, auth=("kuroneko", PUSH_SECRET))
    assert response.status_code == 200 and response.get_data() == b"OK"
    assert payments(shop)[-1].status == "awaiting_sms"     # confirmed with Yamato: no change


def test_push_secret_in_the_path_is_masked_in_the_access_log():
    from flask_kuroneko.checkout.pushlog import SecretPathFilter
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - "%s" %s %s',
                               ("127.0.0.1", f"POST /kuroneko/notify/{PUSH_SECRET} HTTP/1.1",
                                "200", "-"), None)
    SecretPathFilter("/kuroneko/notify/").filter(record)
    assert PUSH_SECRET not in record.getMessage()
    assert "/kuroneko/notify/******** HTTP/1.1" in record.getMessage()


def test_push_secret_mask_is_installed_on_the_access_loggers(shop):
    from flask_kuroneko.checkout.pushlog import SecretPathFilter
    for name in ("werkzeug", "gunicorn.access"):
        assert any(isinstance(f, SecretPathFilter) and f.prefix == "/kuroneko/notify/"
                   for f in logging.getLogger(name).filters), name


def test_yamato_push_over_a_real_socket_with_basic_authentication(shop, simulator):
    """The sandbox's push sender (requests, as Yamato's would POST to a registered URL)
    with the secret as user info: requests turns it into an Authorization header, the request
    line carries no secret, and the receiver answers 200 without changing anything."""
    import threading
    from werkzeug.serving import make_server
    from flask_kuroneko.sandbox.simulator import http_push
    driver = ShopDriver(shop.test_client())
    start_sms(driver)
    payment = payments(shop)[-1]
    server = make_server("127.0.0.1", 0, shop, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"127.0.0.1:{server.server_port}/kuroneko/notify"
        assert http_push(f"http://kuroneko:{PUSH_SECRET}@{base}", _push_form(payment)) == 200
        assert http_push(f"http://kuroneko:not-the-secret-0000000@{base}", _push_form(payment)) == 404
        assert http_push(f"http://{base}", _push_form(payment)) == 404
    finally:
        server.shutdown()
        thread.join(timeout=10)
    assert payments(shop)[-1].status == "awaiting_sms"
