"""Every route of the example shop (its own pages, the extension's checkout and admin
blueprints) × every kind of bad value of ``fuzz_support.BAD_VALUES``, as a customer and as a
logged-in admin: no 500, and a refused request or a GET changes nothing in the database.

Bad values go into each path argument, each query parameter the pages read, and each form
field (posted with a valid CSRF token, so the value reaches the code that parses it). The
client keeps its session between requests, as a browser does: a value the app stored in the
session (a cart entry) must not break the next page either.
"""
from __future__ import annotations

import pytest

from example_shop.testing import ShopDriver
from fuzz_support import (BAD_VALUES, FORM_FIELDS, QUERY_PARAMS, Tally, csrf_token,
                          db_fingerprint, fill_rule, form_body, url_quote)
from summary import record_area
from test_checkout import start_sms
from shop_support import text

NOTIFY_SECRET = "fuzz-notify-secret-0123456789"
#: Endpoints whose only input is the CSRF token: posting them with a valid token is a real
#: action (log out, a new SMS, give up the SMS step), not a bad input.
ACTIONS_WITHOUT_INPUT = {"admin.logout", "kuroneko_checkout.resend", "kuroneko_checkout.back"}
SAFE_OPERATION = "sync_status"


@pytest.fixture
def shop_config() -> dict:
    # An exception must become the 500 a real server answers, so that it is counted.
    return {"KURONEKO_NOTIFY_SECRET": NOTIFY_SECRET, "PROPAGATE_EXCEPTIONS": False}


def _setup(shop) -> tuple[ShopDriver, ShopDriver, dict]:
    """A customer with an authorized order and an SMS order waiting for the code, an admin
    logged in, an error log row; returns the drivers and the valid path values."""
    customer = ShopDriver(shop.test_client())
    response = customer.buy("invoice")
    assert response.status_code == 302
    sms_url = start_sms(customer)
    admin = ShopDriver(shop.test_client())
    admin.post_form("/admin/login", "/admin/login", {"password": "admin"})
    from example_shop.extensions import db, kuroneko
    from flask_kuroneko.payments import history
    with shop.app_context():
        history.log_error(db.session, kuroneko.models, message="fuzz", code="kaara001E")
        db.session.commit()
        order_id = db.session.scalar(db.select(db.func.min(kuroneko.models.Payment.host_order_id)))
    valid = {"product_id": "1", "order_id": str(order_id), "payment_id": "1", "log_id": "1",
             "method_id": "1", "operation": SAFE_OPERATION, "direction": "up", "fix": "acknowledge",
             "token": sms_url.rsplit("/", 1)[1], "secret": NOTIFY_SECRET, "filename": "shop.css",
             "job_id": "1"}
    return customer, admin, valid


def _rules(shop):
    return sorted((r for r in shop.url_map.iter_rules()),
                  key=lambda r: (r.rule, r.endpoint))


def _methods(rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def fuzz_app(shop, values=BAD_VALUES) -> Tally:
    from example_shop.extensions import db
    customer, admin, valid = _setup(shop)
    tally = Tally()
    for who, driver in (("customer", customer), ("admin", admin)):
        token_page = "/admin/kuroneko/settings" if who == "admin" else "/products/1"
        token = csrf_token(text(driver.get(token_page)))
        assert token, f"no CSRF token for the {who}"
        for rule in _rules(shop):    # warm up: one-time writes of GET pages happen now
            if "GET" in rule.methods:
                driver.get(fill_rule(rule.rule, valid)).close()
        before = db_fingerprint(shop, db)
        for kind, value in values:
            for rule in _rules(shop):
                before = _try_rule(shop, db, driver, who, rule, kind, value, valid, token,
                                   before, tally)
    return tally


def _try_rule(shop, db, driver, who, rule, kind, value, valid, token, before, tally) -> str:
    requests = []
    methods = _methods(rule)
    if rule.arguments:
        for method in methods:
            url = fill_rule(rule.rule, {name: value for name in rule.arguments})
            requests.append((method, url, None))
    base = fill_rule(rule.rule, valid)
    if "GET" in methods:
        query = "&".join(f"{p}={url_quote(value)}" for p in QUERY_PARAMS)
        requests.append(("GET", f"{base}?{query}", None))
    if "POST" in methods and rule.endpoint not in ACTIONS_WITHOUT_INPUT:
        fields = {name: value for name in FORM_FIELDS}
        requests.append(("POST", base, {**fields, "csrf_token": token}))
        requests.append(("POST", f"{base}?next={url_quote(value)}", {**fields, "csrf_token": token}))
    for method, url, fields in requests:
        label = f"[{who}] {method} {url[:120]!r} ({kind})"
        if fields is None:
            response = driver.client.open(url, method=method)
        else:
            response = driver.client.open(url, method=method, data=form_body(fields),
                                          content_type="application/x-www-form-urlencoded")
        response.close()
        tally.record(label, response.status_code)
        after = db_fingerprint(shop, db)
        if after != before and (method == "GET" or 400 <= response.status_code < 500):
            tally.half_written.append(f"{response.status_code} {label}")
        before = after
    return before


@pytest.mark.slow
def test_no_bad_value_answers_500_or_half_writes(shop):
    tally = fuzz_app(shop)
    record_area("bad inputs (example shop routes)", tried=tally.tried, failed=len(tally.errors),
                what="500s")
    assert tally.tried > 2800
    assert not tally.errors, "\n".join(tally.errors[:40])
    assert not tally.half_written, "\n".join(tally.half_written[:40])


# ------------------------------------------------------------------ hypothesis on the forms

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from example_shop.testing import CUSTOMER  # noqa: E402

#: Any text a browser can send: every Unicode category, control characters and surrogates
#: excluded only where UTF-8 cannot carry them.
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=80)
FUZZ_SETTINGS = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                         suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                HealthCheck.too_slow])


def test_checkout_form_never_500s_or_keeps_a_refused_value(shop):
    customer = ShopDriver(shop.test_client())
    customer.add_to_cart(1)
    token = csrf_token(text(customer.get("/checkout")))
    tally = Tally()

    @FUZZ_SETTINGS
    @given(field=st.sampled_from(sorted(CUSTOMER)), value=ANY_TEXT)
    def one(field, value):
        with customer.client.session_transaction() as session:
            session.pop("checkout", None)
        response = customer.client.post("/checkout", data=form_body(
            {**CUSTOMER, field: value, "csrf_token": token}),
            content_type="application/x-www-form-urlencoded")
        tally.record(f"/checkout {field}={value!r}", response.status_code)
        with customer.client.session_transaction() as session:
            kept = session.get("checkout")
        if response.status_code != 302:
            assert kept is None, f"refused form kept in the session: {field}={value!r}"
        # Accepted: the next steps work with what was stored.
        elif customer.get("/checkout/payment").status_code >= 500:
            tally.errors.append(f"payment page after {field}={value!r}")

    one()
    record_area("bad inputs (checkout form, hypothesis)", tried=tally.tried,
                failed=len(tally.errors), what="500s")
    assert not tally.errors, tally.errors[:10]


def test_admin_forms_never_500_or_half_write(shop):
    from example_shop.extensions import db
    _customer, admin, _valid = _setup(shop)
    token = csrf_token(text(admin.get("/admin/kuroneko/settings")))
    tally = Tally()
    targets = [
        ("/admin/kuroneko/settings", ("merchant_code", "password", "environment",
                                      "ship_within_days", "fee_mode", "fee_fixed",
                                      "credit_limit", "conversion_tag", "tier_up_to",
                                      "tier_fee", "yamato_delivery_method_ids")),
        ("/admin/kuroneko/methods/1", ("name", "description_html", "active")),
        ("/admin/kuroneko/methods/new", ("kind", "name", "description_html")),
        ("/admin/kuroneko/payments/1/reissue_invoice", ("reason", "reason_text")),
        ("/admin/kuroneko/payments/1/change_amount", ("amount",)),
        ("/admin/kuroneko/prepayment/delete", ("log_id",)),
        ("/admin/kuroneko/errors/delete", ("log_id",)),
        ("/admin/kuroneko/methods/order", ("method_id",)),
        ("/admin/orders/1", ("status", "carrier", "tracking_no")),
        ("/admin/orders/1/lines", ("quantity_1",)),
        ("/admin/kuroneko/payments/sync", ("payment_id", "back")),
        ("/admin/kuroneko/payments/1/drift/acknowledge", ("back", "dialog_back")),
    ]

    @FUZZ_SETTINGS
    @given(target=st.sampled_from(targets), data=st.data())
    def one(target, data):
        url, fields = target
        values = {name: data.draw(ANY_TEXT, label=name) for name in fields}
        before = db_fingerprint(shop, db)
        response = admin.client.post(url, data=form_body({**values, "csrf_token": token}),
                                     content_type="application/x-www-form-urlencoded")
        tally.record(f"POST {url} {values!r}", response.status_code)
        if 400 <= response.status_code < 500:
            assert db_fingerprint(shop, db) == before, f"refused but changed: {url} {values!r}"

    one()
    record_area("bad inputs (admin forms, hypothesis)", tried=tally.tried,
                failed=len(tally.errors), what="500s")
    assert not tally.errors, tally.errors[:10]
