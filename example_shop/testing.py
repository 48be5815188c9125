"""Drive the shop like a customer through a Flask test client (tests, bench/checkout.py).

Every step posts the real forms (with their CSRF tokens) and follows the shop's own
redirects, so what is exercised is exactly what a browser does.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_TOKEN = re.compile(r'name="checkout_token" type="hidden" value="([^"]+)"')

CUSTOMER = {
    "name": "山田 太郎", "name_kana": "ヤマダ タロウ", "postal_code": "100-0001",
    "prefecture": "東京都", "address1": "千代田区千代田1-1", "address2": "",
    "phone": "03-1234-5678", "email": "taro@example.com", "destination": "self",
    "delivery_method": "takkyubin", "desired_date": "",
}


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    if match is None:
        raise AssertionError("no CSRF token on the page")
    return match.group(1)


@dataclass
class ShopDriver:
    client: FlaskClient
    last: TestResponse | None = field(default=None, repr=False)

    def get(self, url: str, **kwargs) -> TestResponse:
        self.last = self.client.get(url, **kwargs)
        return self.last

    def post_form(self, page_url: str, action_url: str, data: dict, **kwargs) -> TestResponse:
        """GET ``page_url`` for a fresh CSRF token, then POST ``data`` to ``action_url``."""
        page = self.client.get(page_url)
        payload = {"csrf_token": csrf_token(page.get_data(as_text=True)), **data}
        self.last = self.client.post(action_url, data=payload, **kwargs)
        return self.last

    def add_to_cart(self, product_id: int, quantity: int = 1) -> TestResponse:
        return self.post_form(f"/products/{product_id}", "/cart/add",
                              {"product_id": str(product_id), "quantity": str(quantity)})

    def enter_customer(self, **overrides) -> TestResponse:
        return self.post_form("/checkout", "/checkout", {**CUSTOMER, **overrides})

    def choose_payment(self, method: str, **extra) -> TestResponse:
        """``method``: "bank", "invoice", "smartphone" (the 後払い kinds are looked up on the page)
        or a raw radio value such as "kuroneko:1"."""
        page = self.client.get("/checkout/payment")
        html = page.get_data(as_text=True)
        value = method
        if method in ("invoice", "smartphone"):
            block = re.search(rf'id="method-{method}".*?value="(kuroneko:\d+)"', html, re.S)
            if block is None:
                raise AssertionError(f"no {method} method on the payment page")
            value = block.group(1)
        self.last = self.client.post("/checkout/payment", data={
            "csrf_token": csrf_token(html), "payment_method": value, **extra})
        return self.last

    def confirm_form(self) -> dict:
        """The hidden fields of 「上記内容で注文する」 (CSRF + one-time checkout token)."""
        html = self.client.get("/checkout/confirm").get_data(as_text=True)
        token = _TOKEN.search(html)
        if token is None:
            raise AssertionError("no checkout token on the confirmation page")
        return {"csrf_token": csrf_token(html), "checkout_token": token.group(1)}

    def place(self, form: dict | None = None) -> TestResponse:
        self.last = self.client.post("/checkout/place", data=form or self.confirm_form())
        return self.last

    def buy(self, method: str, *, product_id: int = 1, quantity: int = 1, extra: dict | None = None,
            **customer) -> TestResponse:
        """Cart → customer → payment → place; returns the response of 「上記内容で注文する」."""
        self.add_to_cart(product_id, quantity)
        self.enter_customer(**customer)
        response = self.choose_payment(method, **(extra or {}))
        if response.status_code != 302:
            raise AssertionError("payment choice refused: " + _errors(response))
        return self.place()

    def sms_form(self, sms_url: str) -> dict:
        html = self.client.get(sms_url).get_data(as_text=True)
        return {"csrf_token": csrf_token(html)}

    def enter_sms_code(self, sms_url: str, code: str) -> TestResponse:
        self.last = self.client.post(sms_url, data={**self.sms_form(sms_url), "code": code})
        return self.last


def _errors(response: TestResponse) -> str:
    html = response.get_data(as_text=True)
    found = re.findall(r'<(?:li|div class="error"[^>]*|p class="error"[^>]*)>([^<]+)<', html)
    return "; ".join(found) or f"HTTP {response.status_code}"
