"""Shared helpers of the sandbox tests (no tests here).

The tests talk to the simulator the way a shop does: raw forms posted with ``requests``
through ``sandbox_session`` and the XML parsed with ElementTree, so they do not depend on
``flask_kuroneko.yamato.client``.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

from flask_kuroneko.yamato.codes import API_PATH, BASE_URLS

MERCHANT = "12345678901"
PASSWORD = "testpass"
NOW = datetime(2024, 1, 1, 12, 0, 0)  # JST, frozen in most tests


def api_url(code: str, base: str = BASE_URLS["sandbox"]) -> str:
    return base + API_PATH.format(code=code)


def parse(body: bytes | str) -> dict[str, str]:
    root = ET.fromstring(body)
    assert root.tag == "return"
    return {child.tag: (child.text or "") for child in root}


def tags(body: bytes | str) -> list[str]:
    return [child.tag for child in ET.fromstring(body)]


def post(session, code: str, form: dict[str, str], **kwargs) -> dict[str, str]:
    response = session.post(api_url(code), data=form, **kwargs)
    assert response.status_code == 200, response.text
    return parse(response.content)


def kaara_form(order_no: str = "T0001", **overrides: str) -> dict[str, str]:
    """The approve request of spec §6.11 example 1; ``None`` overrides drop a field."""
    form = {
        "ycfStrCode": MERCHANT, "orderNo": order_no, "orderYmd": "20240101",
        "shipYmd": "20240105", "name": "山田　太郎", "postCode": "1000001",
        "address1": "東京都千代田区千代田１丁目１番", "telNum": "0312345678",
        "totalAmount": "1100", "sendDiv": "0", "itemName1": "テスト商品", "subTotal1": "1100",
        "requestDate": "20240101120000", "password": PASSWORD,
    }
    for key, value in overrides.items():
        if value is None:
            form.pop(key, None)
        else:
            form[key] = value
    return form


def basic_form(order_no: str = "T0001", **overrides: str) -> dict[str, str]:
    form = {"ycfStrCode": MERCHANT, "orderNo": order_no, "requestDate": "20240101120000",
            "password": PASSWORD}
    for key, value in overrides.items():
        if value is None:
            form.pop(key, None)
        else:
            form[key] = value
    return form


def slip_no(n: int) -> str:
    """A valid 12-digit Yamato slip (seven check) that is usable for 後払い."""
    head = f"{4000_0000_000 + n:011d}"
    return head + str(int(head) % 7)


def authorize(session, order_no: str = "T0001", **overrides: str) -> dict[str, str]:
    return post(session, "KAARA0010", kaara_form(order_no, **overrides))


def status_of(session, order_no: str = "T0001") -> tuple[str, str]:
    answer = post(session, "KAAST0010", basic_form(order_no))
    return answer["result"], answer["warning"]


def ship(session, order_no: str = "T0001", slip: str | None = None, **extra: str) -> dict:
    form = basic_form(order_no, processDiv="0", paymentNo=slip or slip_no(1), **extra)
    return post(session, "KAASL0010", form)


def change_form(order_no: str = "T0001", total: int = 1000, **overrides: str) -> dict:
    form = basic_form(order_no, postCode="1000001", address1="東京都千代田区千代田１丁目１番",
                      itemName1="テスト商品", subTotal1=str(total), totalAmount=str(total))
    form.update({k: v for k, v in overrides.items() if v is not None})
    for k in [k for k, v in overrides.items() if v is None]:
        form.pop(k, None)
    return form


def reissue_form(order_no: str = "T0001", **overrides: str) -> dict:
    form = {"ycfStrCode": MERCHANT, "orderNo": order_no, "password": PASSWORD,
            "requestContents": "1", "reasonReissue": "6", "reasonReissueEtc": "不明",
            "postCode": "1000001", "address1": "東京都千代田区千代田１丁目１番",
            "itemName1": "テスト商品", "subTotal1": "1100"}
    form.update({k: v for k, v in overrides.items() if v is not None})
    for k in [k for k, v in overrides.items() if v is None]:
        form.pop(k, None)
    return form
