"""Helpers of the example-shop tests: product ids, the shop's rows read back, responses, the
demo admin's login, a valid Yamato 送り状番号. Fixtures are in this folder's conftest.py."""
from __future__ import annotations

import re

from example_shop.testing import ShopDriver

SANDBOX_MERCHANT = "12345678901"
MUG, TOWEL, KETTLE, CAMERA, DOWNLOAD, SUBSCRIPTION = 1, 2, 3, 4, 5, 6


def orders(shop):
    from example_shop.extensions import db
    from example_shop.models import Order
    with shop.app_context():
        rows = db.session.scalars(db.select(Order).order_by(Order.id)).all()
        for o in rows:
            o.items  # load lines before leaving the context
        db.session.expunge_all()
        return rows


def payments(shop):
    from example_shop.extensions import db, kuroneko
    with shop.app_context():
        Payment = kuroneko.models.Payment
        rows = db.session.scalars(db.select(Payment).order_by(Payment.id)).all()
        db.session.expunge_all()
        return rows


def mails(shop, kind=None):
    from example_shop.extensions import db
    from example_shop.models import MailMessage
    with shop.app_context():
        query = db.select(MailMessage).order_by(MailMessage.id)
        if kind:
            query = query.where(MailMessage.kind == kind)
        rows = db.session.scalars(query).all()
        db.session.expunge_all()
        return rows


def text(response) -> str:
    return response.get_data(as_text=True)


def method_block(page: str, kind: str) -> str:
    """The HTML of one payment method on the payment page."""
    return re.search(rf'id="method-{kind}".*?(?=<div class="method|<p><a class="button)', page,
                     re.S).group(0)


def follow(driver: ShopDriver, response):
    assert response.status_code in (301, 302, 303), (response.status_code, text(response)[:500])
    return driver.get(response.location)


def admin_login(driver: ShopDriver):
    response = driver.post_form("/admin/login", "/admin/login", {"password": "admin"})
    assert response.status_code == 302


def yamato_slip(seed: int = 1234567890) -> str:
    """A 12-digit Yamato slip number passing the mod-7 check digit."""
    return f"{seed:011d}{seed % 7}"
