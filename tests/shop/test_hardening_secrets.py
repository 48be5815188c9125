"""Secrets and personal data (issue 10, item 3): the merchant password encrypted at rest and
write-only, key rotation, and one sweep that looks for the password and the push secret
everywhere a leak could end up — the database, the logs, the error logs, the exports and the
pages — after driving the shop through payments, errors and the admin."""
from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from example_shop.testing import ShopDriver
from flask_kuroneko import secretbox
from flask_kuroneko.secretbox import SecretBox, SecretBoxError
from fuzz_support import BAD_VALUES
from test_checkout import start_sms
from shop_support import payments, text

pytestmark = pytest.mark.security
PASSWORD = "Pw7xQ9zK"                       # Yamato: up to 8 letters and digits
PUSH_SECRET = "Push-Secret-7b1f0c9e2d4a"
MERCHANT = "98765432109"         # registered in the sandbox with PASSWORD on first use


@pytest.fixture
def shop_config() -> dict:
    return {"KURONEKO_NOTIFY_SECRET": PUSH_SECRET, "KURONEKO_PASSWORD": None,
            "KURONEKO_MERCHANT_CODE": None, "PROPAGATE_EXCEPTIONS": False}


# ------------------------------------------------------------------ secretbox


def test_round_trip_and_format():
    box = SecretBox.from_secrets(["key one"])
    token = box.encrypt(PASSWORD)
    assert token.startswith("kn1.") and PASSWORD not in token and len(token) <= 64
    assert box.decrypt(token) == PASSWORD
    assert box.encrypt(PASSWORD) != token                   # a fresh nonce every time


def test_legacy_plain_text_is_read_and_flagged_for_rotation():
    box = SecretBox.from_secrets(["key one"])
    assert box.decrypt("testpass") == "testpass"
    assert box.needs_rotation("testpass") and not box.needs_rotation(box.encrypt("x"))


def test_rotation_with_fallback_keys():
    old = SecretBox.from_secrets(["old key"])
    token = old.encrypt(PASSWORD)
    new = SecretBox.from_secrets(["new key", "old key"])
    assert new.decrypt(token) == PASSWORD and new.needs_rotation(token)
    assert not new.needs_rotation(new.encrypt(PASSWORD))
    with pytest.raises(SecretBoxError, match="no longer configured"):
        SecretBox.from_secrets(["new key"]).decrypt(token)


@pytest.mark.parametrize("damage", [lambda t: t[:-2], lambda t: t[:-4] + "AAAA",
                                    lambda t: t.replace("kn1.", "kn1.ffffff", 1), lambda t: t + "%"])
def test_a_damaged_value_is_refused(damage):
    box = SecretBox.from_secrets(["k"])
    with pytest.raises(SecretBoxError):
        box.decrypt(damage(box.encrypt(PASSWORD)))


def test_keys_come_from_kuroneko_secret_key_else_secret_key(monkeypatch):
    monkeypatch.delenv("KURONEKO_SECRET_KEY", raising=False)
    token = secretbox.box_for({"SECRET_KEY": "flask"}).encrypt("x")
    assert secretbox.box_for({"SECRET_KEY": "flask", "KURONEKO_SECRET_KEY": "own"}).needs_rotation(token)
    monkeypatch.setenv("KURONEKO_SECRET_KEY", "own")
    assert secretbox.box_for({"SECRET_KEY": "flask"}).current == \
        secretbox.box_for({"KURONEKO_SECRET_KEY": "own"}).current
    # The encryption key is not the session key itself.
    assert secretbox.derive_key("flask") != b"flask".ljust(32, b"\0")


# ------------------------------------------------------------------ stored encrypted, write-only


def _stored_password(shop) -> str:
    from example_shop.extensions import db, kuroneko
    with shop.app_context():
        return db.session.scalar(sa.select(kuroneko.models.Settings.password))


def admin(shop) -> ShopDriver:
    driver = ShopDriver(shop.test_client())
    driver.post_form("/admin/login", "/admin/login", {"password": "admin"})
    return driver


def save_credentials(driver: ShopDriver, password: str = PASSWORD):
    page = text(driver.get("/admin/kuroneko/settings"))
    import re
    fields = dict(re.findall(r'name="([a-z_]+)"[^>]*value="([^"]*)"', page))
    for name in ("other_carrier_enabled", "smartphone_enabled", "cancel_with_order",
                 "change_amount_with_order", "prepayment_log_enabled", "conversion_on_review"):
        fields[name] = "1" if re.search(rf'name="{name}" value="1" checked', page) else "0"
    fields.update({"merchant_code": MERCHANT, "password": password, "environment": "sandbox",
                   "fee_mode": "fixed", "yamato_delivery_method_ids": ["takkyubin", "letterpack"]})
    response = driver.client.post("/admin/kuroneko/settings", data=fields)
    assert response.status_code == 302, text(response)[:3000]


def test_password_is_encrypted_in_the_database_and_never_shown(shop):
    driver = admin(shop)
    save_credentials(driver)
    stored = _stored_password(shop)
    assert stored.startswith("kn1.") and PASSWORD not in stored
    page = text(driver.get("/admin/kuroneko/settings"))
    assert PASSWORD not in page and stored not in page and "変更する場合のみ入力" in page
    from example_shop.extensions import kuroneko
    with shop.app_context():
        assert kuroneko.settings().password == PASSWORD     # the client gets the real one
    # An empty submission keeps it; the payment still works with the decrypted password.
    save_credentials(driver, password="")
    assert _stored_password(shop) == stored
    assert ShopDriver(shop.test_client()).buy("invoice").status_code == 302
    assert payments(shop)[-1].status == "authorized"


def test_rotate_key_re_encrypts_and_a_lost_key_asks_for_the_password(shop, caplog):
    from example_shop.extensions import kuroneko
    save_credentials(admin(shop))
    first = _stored_password(shop)
    shop.config.update(KURONEKO_SECRET_KEY="a new key", KURONEKO_SECRET_KEY_FALLBACKS=["test-secret"])
    result = shop.test_cli_runner().invoke(args=["kuroneko", "rotate-key"])
    assert "re-encrypted" in result.output
    second = _stored_password(shop)
    assert second != first and second.startswith("kn1.")
    with shop.app_context():
        assert kuroneko.settings().password == PASSWORD
    shop.config.update(KURONEKO_SECRET_KEY_FALLBACKS=[], KURONEKO_SECRET_KEY="yet another key")
    with shop.app_context(), caplog.at_level(logging.ERROR):
        assert kuroneko.settings().password == ""            # not configured, not a crash
    assert "enter the password again" in caplog.text or "no longer configured" in caplog.text
    assert admin(shop).get("/admin/kuroneko/settings").status_code == 200


def test_legacy_plain_text_row_still_works_and_is_encrypted_by_rotate_key(shop):
    from example_shop.extensions import db, kuroneko
    with shop.app_context():
        row = db.session.get(kuroneko.models.Settings, 1)
        row.merchant_code, row.password = MERCHANT, "testpass"
        db.session.commit()
        assert kuroneko.settings().password == "testpass"
    result = shop.test_cli_runner().invoke(args=["kuroneko", "rotate-key"])
    assert "re-encrypted" in result.output and _stored_password(shop).startswith("kn1.")


# ------------------------------------------------------------------ the leak sweep


def _dump_database(shop) -> str:
    from example_shop.extensions import db
    parts = []
    with shop.app_context():
        for table in db.metadata.sorted_tables:
            parts.extend(repr(tuple(r)) for r in db.session.execute(sa.select(table)))
    return "\n".join(parts)


def test_password_and_push_secret_appear_nowhere(shop, simulator, caplog):
    caplog.set_level(logging.DEBUG)
    driver = admin(shop)
    save_credentials(driver)
    pages = []
    # Payments: authorized, declined by Yamato (error log), an SMS order, a forged push, the
    # push by Basic auth and by path, Yamato failing (error log), bad input everywhere.
    customer = ShopDriver(shop.test_client())
    customer.buy("invoice")
    ShopDriver(shop.test_client()).buy("invoice", phone="03-1234-9991")
    sms_url = start_sms(ShopDriver(shop.test_client()))
    pushed = {"ycfStrNo": MERCHANT, "juchuNo": payments(shop)[-1].order_no, "smsNinKk": "0"}
    shop.test_client().post("/kuroneko/notify", data=pushed, auth=("kuroneko", PUSH_SECRET))
    shop.test_client().post(f"/kuroneko/notify/{PUSH_SECRET}", data=pushed)
    shop.test_client().post("/kuroneko/notify/wrong-secret-000000000", data=pushed)
    simulator.inject_fault("error", operation="KAACL0010", error_code="err0001")
    page = text(driver.get("/admin/kuroneko/payments/1"))
    import re
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    driver.client.post("/admin/kuroneko/payments/1/cancel", data={"csrf_token": token})
    driver.client.post("/admin/kuroneko/settings/test", data={"csrf_token": token})
    for _kind, value in BAD_VALUES[:12]:
        driver.client.post("/admin/kuroneko/settings", data={"csrf_token": token,
                                                            "password": value})
    for url in ("/admin/kuroneko/settings", "/admin/kuroneko/payments", "/admin/kuroneko/payments/1",
                "/admin/kuroneko/errors", "/admin/kuroneko/prepayment", "/admin/kuroneko/prepayment/1",
                "/admin/kuroneko/methods", "/admin/", "/admin/orders/1", "/admin/mail",
                "/checkout/complete/1", sms_url, "/"):
        for client in (driver, customer):
            response = client.get(url)
            pages.append(text(response) + str(response.headers))
    export = driver.client.post("/admin/kuroneko/errors.csv", data={"csrf_token": token})
    assert export.status_code == 200
    error_log = text(driver.get("/admin/kuroneko/errors"))
    assert "err0001" in error_log or "ヤマト" in error_log        # the sweep has something to see
    places = {"database": _dump_database(shop), "logs": caplog.text, "error-log page": error_log,
              "error-log CSV": text(export), "pages": "\n".join(pages),
              "sandbox outbox": repr(simulator.sms_outbox)}
    for where, content in places.items():
        assert PASSWORD not in content, f"the merchant password is in the {where}"
        assert PUSH_SECRET not in content, f"the push secret is in the {where}"


def test_a_database_error_does_not_log_the_customer(shop, caplog):
    """The order's INSERT fails (a duplicate one-time token): the error log names the
    statement, not the name, e-mail, phone or address."""
    from example_shop.extensions import db
    from example_shop.models import Order
    from example_shop.orders import build_order

    @shop.route("/_test/duplicate")
    def duplicate():
        with db.session.no_autoflush:
            for _ in range(2):
                order = build_order([], {"name": "漏洩 花子", "email": "hanako@example.com",
                                         "phone": "0312349876", "postal_code": "1000001",
                                         "prefecture": "東京都", "address1": "千代田区秘密1-2-3",
                                         "delivery_method": "takkyubin"})
                order.checkout_token = "same-token"
                db.session.add(order)
            db.session.commit()
        return "unreachable"

    with shop.app_context():
        assert db.engine.hide_parameters        # first line: the shop's engine option
    with caplog.at_level(logging.ERROR):
        response = shop.test_client().get("/_test/duplicate")
    assert response.status_code == 500
    assert "Exception on /_test/duplicate" in caplog.text
    assert Order.__tablename__ in caplog.text                  # the statement is still there
    for secret in ("漏洩", "hanako@example.com", "0312349876", "千代田区秘密"):
        assert secret not in caplog.text, secret


def test_parameter_scrub_filter_covers_hosts_without_hide_parameters(caplog):
    from flask_kuroneko.web.logmask import ParameterScrubFilter
    engine = sa.create_engine("sqlite://")
    logger = logging.getLogger("test_host_app")
    logger.addFilter(ParameterScrubFilter())
    with engine.connect() as conn:
        conn.execute(sa.text("create table t (id integer primary key, name text)"))
        try:
            conn.execute(sa.text("insert into t values (1, :a), (1, :b)"),
                         {"a": "漏洩 花子", "b": "hanako@example.com"})
        except sa.exc.IntegrityError:
            with caplog.at_level(logging.ERROR):
                logger.exception("Exception on /checkout/place [POST]")
    assert "UNIQUE" in caplog.text and "parameters: hidden" in caplog.text
    assert "漏洩" not in caplog.text and "hanako@example.com" not in caplog.text
