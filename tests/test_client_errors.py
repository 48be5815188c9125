"""Response → error mapping, transport failures, no retries, and the password never leaking."""
from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError, ProtocolError

from flask_kuroneko.yamato.client import KuronekoClient
from flask_kuroneko.yamato.codes import (ERROR_MESSAGES, ProcessDiv, TransactionStatus,
                                         WarningCode, message_for)
from flask_kuroneko.yamato.datatypes import ShipmentRequest
from flask_kuroneko.errors import (ApiConnectionError, ApiError, AuthenticationError,
                                   MalformedResponseError, ValidationError)
from flask_kuroneko.yamato.wire import JST

DATA = Path(__file__).parent / "data"
NOW = datetime(2024, 1, 1, 12, 0, 0, tzinfo=JST)
SECRET = "Pw9secret"
BASE = "https://atobarai-test.kuronekoyamato.co.jp/kuroneko-atobarai-api/"


def url(code: str) -> str:
    return f"{BASE}{code}APIAction_execute.action"


def xml(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


@pytest.fixture
def client():
    return KuronekoClient("12345678901", SECRET, environment="test", clock=lambda: NOW)


@pytest.mark.parametrize("code,fixture,call,exc_type,err", [
    ("KAAST0010", "kaast_failure.xml", lambda c: c.get_status("ORD-000123"), AuthenticationError, "kaast004E"),
    ("KAASL0010", "kaasl_failure.xml",
     lambda c: c.register_shipment(ShipmentRequest("ORD-000123", ProcessDiv.CANCEL)),
     AuthenticationError, "kaasl004E"),
    ("KAACL0010", "kaacl_failure.xml", lambda c: c.cancel("ORD-000123"), AuthenticationError, "kaacl004E"),
    ("KAARS0010", "kaars_failure.xml", lambda c: c.get_credit_result("ORD-000123"), ApiError, "kaars008E"),
    ("KAASD0010", "kaasd_failure.xml", lambda c: c.get_invoice_print_data("ORD-000123"), ApiError, "kaasd010E"),
    ("KAASA0020", "kaasa_password_mismatch.xml", lambda c: c.verify_sms("ORD-000123", "1234"),
     AuthenticationError, "kaasa024E"),
])
@responses.activate
def test_return_code_1_maps_to_errors(client, code, fixture, call, exc_type, err):
    target = code
    responses.add(responses.POST, url(target), body=xml(fixture), content_type="text/plain")
    with pytest.raises(exc_type) as info:
        call(client)
    e = info.value
    assert type(e) is exc_type
    assert e.code == err and e.order_no == "ORD-000123" and e.operation == target
    assert e.message == ERROR_MESSAGES[err]
    assert SECRET not in str(e)


@responses.activate
def test_business_error_message_is_the_manual_text(client):
    responses.add(responses.POST, url("KAARA0010"), body=xml("kaara_failure.xml"))
    from test_client_forms import messy_authorization
    with pytest.raises(ApiError) as info:
        client.authorize(messy_authorization(order_no="ORD-000123"))
    assert not isinstance(info.value, AuthenticationError)
    assert info.value.code == "kaara048E"
    assert info.value.message == "決済金額総計:指定桁数(6桁)以内であること"


def test_message_table_covers_the_spec_and_falls_back():
    assert message_for("kaara048E") == "決済金額総計:指定桁数(6桁)以内であること"
    for code in ("kaara001E", "kaara106E", "kaasa024E", "kaars014E", "kaast015E", "kaacl017E",
                 "kaasl045E", "kaakk065E", "kaarr067E", "kaasd019E", "err0001", "err0003"):
        assert code in ERROR_MESSAGES, code
    assert "kaara041E" not in ERROR_MESSAGES          # no public text for the gaps
    assert "kaazz999E" in message_for("kaazz999E")
    assert message_for("KAARA048E") == ERROR_MESSAGES["kaara048E"]


@pytest.mark.parametrize("body,content_type", [
    ("<return><returnCode>0</returnCode><result>7</result></return>", "text/xml"),
    ("<return><returnCode>2</returnCode></return>", "text/xml"),
    ("<return><returnCode></returnCode></return>", "text/xml"),
    ("<return><orderNo>OTHER</orderNo><returnCode>0</returnCode><result>12</result></return>", "text/xml"),
])
@responses.activate
def test_unusable_success_answers_are_malformed(client, body, content_type):
    responses.add(responses.POST, url("KAAST0010"), body=body, content_type=content_type)
    with pytest.raises(MalformedResponseError) as info:
        client.get_status("ORD-000123")
    assert info.value.may_have_reached is True


def _change_amount(c):
    from flask_kuroneko.yamato.datatypes import AmountChangeRequest, Item
    return c.change_amount(AmountChangeRequest("ORD-000123", 1000, (Item("テスト商品", 1000),),
                                               "1000001", "東京都千代田区千代田１‐１"))


def _reissue(c):
    from flask_kuroneko.yamato.codes import ReissueContents
    from flask_kuroneko.yamato.datatypes import Item, ReissueRequest
    return c.reissue_invoice(ReissueRequest("ORD-000123", ReissueContents.WITHDRAW, "1000001",
                                            "東京都千代田区千代田１‐１", (Item("テスト商品", 1000),)))


# Operations whose success answer has no field of its own (or one the client does not
# check), so nothing but the returnCode check stands between these answers and "success".
UNCHECKED_SUCCESS = [
    ("KAACL0010", "kaacl_success.xml", lambda c: c.cancel("ORD-000123")),
    ("KAASL0010", "kaasl_success.xml",
     lambda c: c.register_shipment(ShipmentRequest("ORD-000123", ProcessDiv.CANCEL))),
    ("KAAKK0010", "kaakk_success.xml", _change_amount),
    ("KAARR0010", "kaarr_success.xml", _reissue),
    ("KAAST0010", "kaast_success.xml", lambda c: c.get_status("ORD-000123")),
]
ODD_RETURN_CODES = ["2", "9", "", "00", "０", "-1", "OK", "0 1", None]


@pytest.mark.parametrize("return_code", ODD_RETURN_CODES)
@pytest.mark.parametrize("code,fixture,call", UNCHECKED_SUCCESS, ids=[u[0] for u in UNCHECKED_SUCCESS])
@responses.activate
def test_return_code_neither_0_nor_1_is_never_success(client, code, fixture, call, return_code):
    """A complete, otherwise valid success body with an odd returnCode (None: the element is
    missing) is an unknown outcome: MalformedResponseError, Yamato may have acted."""
    body = xml(fixture)
    assert "<returnCode>0</returnCode>" in body
    replacement = "" if return_code is None else f"<returnCode>{return_code}</returnCode>"
    responses.add(responses.POST, url(code), body=body.replace("<returnCode>0</returnCode>",
                                                               replacement))
    with pytest.raises(MalformedResponseError) as info:
        call(client)
    assert info.value.may_have_reached is True
    assert info.value.operation == code and info.value.order_no == "ORD-000123"
    assert len(responses.calls) == 1                                # never retried


@pytest.mark.parametrize("first,second", [("1", "0"), ("0", "1"), ("0", "0")])
@responses.activate
def test_a_repeated_return_code_is_never_success(client, first, second):
    body = xml("kaacl_success.xml").replace(
        "<returnCode>0</returnCode>", f"<returnCode>{first}</returnCode><returnCode>{second}</returnCode>")
    responses.add(responses.POST, url("KAACL0010"), body=body)
    with pytest.raises(MalformedResponseError) as info:
        client.cancel("ORD-000123")
    assert info.value.may_have_reached is True and "twice" in str(info.value)


@pytest.mark.parametrize("code,fixture,call", UNCHECKED_SUCCESS, ids=[u[0] for u in UNCHECKED_SUCCESS])
@responses.activate
def test_the_unmodified_success_bodies_are_success(client, code, fixture, call):
    """The control of the two tests above: the same bodies with returnCode 0 succeed."""
    responses.add(responses.POST, url(code), body=xml(fixture))
    assert call(client).raw["returnCode"] == "0"


@pytest.mark.parametrize("status", [500, 502, 302, 404])
@responses.activate
def test_http_not_200_is_malformed(client, status):
    responses.add(responses.POST, url("KAACL0010"), status=status, body=xml("kaacl_success.xml"))
    with pytest.raises(MalformedResponseError) as info:
        client.cancel("ORD-000123")
    assert info.value.may_have_reached is True and str(status) in str(info.value)
    assert len(responses.calls) == 1


@responses.activate
def test_xml_bomb_from_yamato_is_refused(client):
    responses.add(responses.POST, url("KAAST0010"), body=xml("xml_bomb.xml"))
    with pytest.raises(MalformedResponseError):
        client.get_status("ORD-000123")


def _refused() -> requests.ConnectionError:
    inner = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
    return requests.ConnectionError(MaxRetryError(None, "/x", reason=inner))


def _unresolvable() -> requests.ConnectionError:
    inner = NameResolutionError("atobarai-test.kuronekoyamato.co.jp", None, OSError("no name"))
    return requests.ConnectionError(MaxRetryError(None, "/x", reason=inner))


def _dropped() -> requests.ConnectionError:
    return requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")))


@pytest.mark.parametrize("exc,reached", [
    (requests.ConnectTimeout("connect timed out"), False),
    (_refused(), False),
    (_unresolvable(), False),
    (requests.ReadTimeout("read timed out"), True),
    (_dropped(), True),
    (requests.ConnectionError("something else"), True),
    (requests.exceptions.ChunkedEncodingError("broken"), True),
])
@responses.activate
def test_transport_failures(client, exc, reached):
    responses.add(responses.POST, url("KAACL0010"), body=exc)
    with pytest.raises(ApiConnectionError) as info:
        client.cancel("ORD-000123")
    e = info.value
    assert type(e) is ApiConnectionError
    assert e.may_have_reached is reached
    assert e.operation == "KAACL0010" and e.order_no == "ORD-000123"
    assert SECRET not in str(e) and "ycfStrCode" not in str(e)
    assert e.__cause__ is None and e.__context__ is None      # no request body via the chain
    assert len(responses.calls) == 1                             # never retried


@responses.activate
def test_validation_error_means_no_http_call(client):
    responses.add(responses.POST, url("KAACL0010"), body=xml("kaacl_success.xml"))
    with pytest.raises(ValidationError) as info:
        client.cancel("ORDER/1")
    assert info.value.field == "orderNo"
    assert len(responses.calls) == 0


@responses.activate
def test_password_never_logged_or_raised(client, caplog):
    from test_client_forms import messy_authorization
    caplog.set_level(logging.DEBUG)
    responses.add(responses.POST, url("KAARA0010"), body=xml("kaara_success.xml"))
    responses.add(responses.POST, url("KAAST0010"), body=xml("kaast_failure.xml"))
    responses.add(responses.POST, url("KAACL0010"), body=requests.ReadTimeout("t"))
    client.authorize(messy_authorization(order_no="ORD-000123"))
    errors = []
    for call in (lambda: client.get_status("ORD-000123"), lambda: client.cancel("ORD-000123"),
                 lambda: client.verify_sms("ORD-000123", "12")):
        with pytest.raises(Exception) as info:
            call()
        errors.append(info.value)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "KAARA0010" in text and "returnCode=0" in text        # INFO line is there
    assert "request {" in text                                    # DEBUG body is there
    assert SECRET not in text
    assert "ヤマダ" not in text and "0312345678" not in text        # personal data redacted
    for e in errors:
        assert SECRET not in str(e) and SECRET not in repr(e)
    assert SECRET not in repr(client)


@responses.activate
def test_unknown_warning_is_reported_not_fatal(client, caplog):
    """A warning code newer than our table must not stop the status from being read."""
    responses.add(responses.POST, url("KAAST0010"), body=xml("kaast_unknown_warning.xml"),
                  content_type="text/xml")
    with caplog.at_level(logging.WARNING, logger="flask_kuroneko.yamato.client"):
        result = client.get_status("ORD-000123")
    assert result.status is TransactionStatus.PAID
    assert result.warning is WarningCode.UNKNOWN and result.raw["warning"] == "7"
    assert "unknown warning '7'" in caplog.text
