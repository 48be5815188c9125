"""The ``kuroneko_checkout`` blueprint in a host that configures nothing for it (the minimal
test host: no success/failure endpoints, no base template): the SMS page falls back to its
own mobile layout and its own result page. Real extension, service, client and sandbox."""
from __future__ import annotations

import re

import pytest

from flask_kuroneko.checkout.binding import SESSION_KEY

SANDBOX_MERCHANT = "12345678901"


@pytest.fixture
def app_config() -> dict:
    return {"KURONEKO_SMARTPHONE": True}


@pytest.fixture
def sms_payment(app, db, kuroneko):
    from hosts import simple_shop

    from flask_kuroneko.rules import ensure_default_methods
    ensure_default_methods()
    PaymentMethod = kuroneko.models.PaymentMethod
    method = db.session.scalars(db.select(PaymentMethod).where(
        PaymentMethod.kind == "smartphone")).one()
    order = simple_shop.make_order()
    outcome = kuroneko.start_payment(order, method.id, {"sms_phone": "090-1234-5678"})
    assert outcome.kind == "redirect"
    return outcome


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def test_sms_page_needs_the_binding_and_falls_back_to_its_own_layout(app, client, simulator,
                                                                     sms_payment):
    url = sms_payment.redirect_url
    assert client.get(url).status_code == 404             # not this browser's checkout
    with client.session_transaction() as sess:
        sess[SESSION_KEY] = [sms_payment.payment.checkout_token]
    page = client.get(url).get_data(as_text=True)
    assert "SMS認証" in page and 'name="viewport"' in page
    assert 'id="sandbox-hint"' in page                    # sandbox: the code can be read

    response = client.post(url, data={"csrf_token": _csrf(page), "code": "0000"})
    assert "残り4回" in response.get_data(as_text=True)
    code = simulator.sms_code(SANDBOX_MERCHANT, sms_payment.payment.order_no)
    page = client.get(url).get_data(as_text=True)
    response = client.post(url, data={"csrf_token": _csrf(page), "code": code})
    assert response.status_code == 200                     # no success endpoint configured
    assert "認証が完了しました" in response.get_data(as_text=True)


def test_generic_failure_page(app, client, sms_payment):
    url = sms_payment.redirect_url
    with client.session_transaction() as sess:
        sess[SESSION_KEY] = [sms_payment.payment.checkout_token]
    page = client.get(url).get_data(as_text=True)
    response = client.post(url + "/back", data={"csrf_token": _csrf(page)})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "決済エラー" in html and "SMS認証を中止したため" in html


@pytest.mark.parametrize("app_config", [{"KURONEKO_SMARTPHONE": True,
                                         "KURONEKO_CHECKOUT_SUCCESS_ENDPOINT": "shop.no_such_page"}])
def test_misspelt_success_endpoint_shows_the_generic_page_not_a_500(app, client, simulator,
                                                                     sms_payment, caplog):
    url = sms_payment.redirect_url
    with client.session_transaction() as sess:
        sess[SESSION_KEY] = [sms_payment.payment.checkout_token]
    page = client.get(url).get_data(as_text=True)
    code = simulator.sms_code(SANDBOX_MERCHANT, sms_payment.payment.order_no)
    response = client.post(url, data={"csrf_token": _csrf(page), "code": code})
    assert response.status_code == 200
    assert "認証が完了しました" in response.get_data(as_text=True)
    assert "KURONEKO_CHECKOUT_SUCCESS_ENDPOINT='shop.no_such_page'" in caplog.text
