"""wire.py: parsing Yamato's ``<return>`` documents (files under tests/data) and redaction."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from flask_kuroneko.yamato import wire
from flask_kuroneko.errors import MalformedResponseError

DATA = Path(__file__).parent / "data"


def load(name: str) -> bytes:
    return (DATA / name).read_bytes()


def test_success_with_return_date():
    fields = wire.parse_response(load("kaara_success.xml"), operation="KAARA0010")
    assert fields == {"ycfStrCode": "12345678901", "orderNo": "ORD-000123", "returnCode": "0",
                      "result": "0", "errorCode": "", "returnDate": "20240101120000"}
    assert wire.returned_at(fields) == datetime(2024, 1, 1, 12, 0, 0, tzinfo=wire.JST)


def test_only_request_date_and_self_closing_empty_element():
    fields = wire.parse_response(load("kaara_review_requestdate_only.xml"), operation="KAARA0010")
    assert fields["errorCode"] == ""
    assert "returnDate" not in fields
    assert wire.returned_at(fields) == datetime(2024, 1, 1, 12, 0, 5, tzinfo=wire.JST)


def test_both_dates_prefers_return_date():
    fields = wire.parse_response(load("kaara_both_dates.xml"), operation="KAARA0010")
    assert wire.returned_at(fields) == datetime(2024, 1, 1, 12, 0, 9, tzinfo=wire.JST)


def test_no_date_and_empty_echo_fields():
    fields = wire.parse_response(load("no_dates_empty.xml"), operation="KAACL0010")
    assert fields == {"ycfStrCode": "", "orderNo": "", "returnCode": "0", "errorCode": ""}
    assert wire.returned_at(fields) is None


def test_bom_and_whitespace_are_tolerated():
    fields = wire.parse_response(load("kaast_bom_whitespace_nodate.xml"), operation="KAAST0010")
    assert fields["ycfStrCode"] == "12345678901"
    assert fields["returnCode"] == "0"
    assert fields["result"] == "1"
    assert fields["warning"] == "3"
    assert fields["errorCode"] == ""


def test_str_body_is_accepted():
    text = load("kaasl_success.xml").decode("utf-8")
    assert wire.parse_response(text, operation="KAASL0010")["returnCode"] == "0"


def test_japanese_text_survives():
    fields = wire.parse_response(load("kaasd_success.xml"), operation="KAASD0010")
    assert fields["name"] == "山田　太郎"
    assert fields["address2"] == ""
    items = wire.parse_items(fields)
    assert [(i.name, i.quantity, i.unit_price, i.subtotal) for i in items] == [
        ("テスト商品", 1, 1000, 1000), ("送料", None, None, 100)]


@pytest.mark.parametrize("name", ["xml_bomb.xml", "external_entity.xml"])
def test_dtd_entities_are_refused(name):
    with pytest.raises(MalformedResponseError) as info:
        wire.parse_response(load(name), operation="KAARA0010", order_no="ORD-000123")
    assert info.value.may_have_reached is True
    assert info.value.order_no == "ORD-000123"
    assert "lol" not in str(info.value) and "passwd" not in str(info.value)


@pytest.mark.parametrize("body", [load("malformed_truncated.xml"), load("malformed_html.xml"),
                                  b"", b"   \n", b"returnCode=0", b"<return><a><b/></a></return>",
                                  b"<return><returnCode>1</returnCode><returnCode>0</returnCode></return>",
                                  b"<return><returnCode>0</returnCode><result/><result>1</result></return>"])
def test_malformed_bodies(body):
    with pytest.raises(MalformedResponseError):
        wire.parse_response(body, operation="KAAST0010")


def test_parse_datetime_rejects_garbage():
    assert wire.parse_datetime("20241301000000") is None
    assert wire.parse_datetime("abc") is None
    assert wire.parse_datetime("") is None


def test_redact_masks_password_and_personal_data():
    form = {"ycfStrCode": "12345678901", "orderNo": "A1", "name": "山田　太郎",
            "telNum": "0312345678", "password": "s3cret", "totalAmount": "1100", "email": ""}
    red = wire.redact(form)
    assert red["password"] == wire.REDACTED
    assert red["name"] == wire.REDACTED and red["telNum"] == wire.REDACTED
    assert red["orderNo"] == "A1" and red["totalAmount"] == "1100"
    assert red["email"] == ""            # nothing to hide
    assert form["password"] == "s3cret"  # the original is untouched
    assert wire.redact(form, personal=False)["name"] == "山田　太郎"
