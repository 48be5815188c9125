"""The exact form each operation posts (normalised values included) and the URL per environment.

Uses ``responses`` with ``urlencoded_params_matcher``: a request whose fields differ in any way
does not match and the test fails with ConnectionError.
"""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
import requests
import responses
from responses import matchers

from flask_kuroneko.yamato.client import KuronekoClient
from flask_kuroneko.yamato.codes import (ChangeSendDiv, CreditDecision, ProcessDiv, ReissueContents,
                                         ReissueReason, SendDiv, SmsResult, TransactionStatus,
                                         WarningCode)
from flask_kuroneko.yamato.datatypes import (AmountChangeRequest, AuthorizationRequest, Buyer,
                                             Destination, Item, ReissueRequest, ShipmentRequest)
from flask_kuroneko.errors import ConfigurationError
from flask_kuroneko.yamato.wire import JST

DATA = Path(__file__).parent / "data"
NOW = datetime(2024, 1, 1, 12, 0, 0, tzinfo=JST)
CRED = {"ycfStrCode": "12345678901", "password": "testpass"}
REQ_DATE = {"requestDate": "20240101120000"}
BASE = "https://atobarai-test.kuronekoyamato.co.jp/kuroneko-atobarai-api/"
SLIP = "123456789013"     # 12345678901 % 7 == 3


def xml(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def make_client(**kw) -> KuronekoClient:
    kw.setdefault("environment", "test")
    return KuronekoClient("12345678901", "testpass", clock=lambda: NOW, **kw)


def ok_body(order_no: str, extra: str = "") -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?><return><ycfStrCode>12345678901</ycfStrCode>'
            f"<orderNo>{order_no}</orderNo><returnCode>0</returnCode>{extra}<errorCode></errorCode>"
            f"<returnDate>20240101120001</returnDate></return>")


def expect(rsps, code: str, params: dict[str, str], body: str) -> None:
    rsps.add(responses.POST, f"{BASE}{code}APIAction_execute.action", body=body,
             content_type="text/xml; charset=UTF-8",
             match=[matchers.urlencoded_params_matcher(params)])


def messy_authorization(**kw) -> AuthorizationRequest:
    buyer = Buyer(name="ﾔﾏﾀﾞ  ﾀﾛｳ", post_code="〒１００－０００１",
                  address="東京都千代田区千代田1-1 ﾊﾟﾚｽﾋﾞﾙ101号室～東棟",
                  tel="03-1234-5678", name_kana="やまだ　たろう", email="ｙａｍａｄａ@example.jp")
    args = dict(order_no="ORD-0001", order_date=date(2024, 1, 1), ship_date=date(2024, 1, 5),
                buyer=buyer, total_amount=3300,
                items=(Item("Tシャツ (L) ~限定~", 3000, quantity=2, unit_price=1500),
                       Item("送料", 500), Item("クーポン値引き", -200)))
    args.update(kw)
    return AuthorizationRequest(**args)


@responses.activate
def test_authorize_posts_normalised_fields():
    params = {**CRED, **REQ_DATE, "orderNo": "ORD-0001", "orderYmd": "20240101",
              "shipYmd": "20240105", "name": "ヤマダ　タロウ", "nameKana": "ﾔﾏﾀﾞ ﾀﾛｳ",
              "postCode": "1000001", "address1": "東京都千代田区千代田１‐１", "address2": "パレスビル１０１号室ー東棟",
              "telNum": "0312345678", "email": "yamada@example.jp", "totalAmount": "3300",
              "sendDiv": "0", "itemName1": "Ｔシャツ　Ｌ　限定", "itemCount1": "2",
              "unitPrice1": "1500", "subTotal1": "3000", "itemName2": "送料", "subTotal2": "500",
              "itemName3": "クーポン値引き", "subTotal3": "-200", "cartCode": "flask-kuroneko"}
    expect(responses, "KAARA0010", params, ok_body("ORD-0001", "<result>0</result>"))
    result = make_client(cart_code="flask-kuroneko").authorize(messy_authorization())
    assert result.decision is CreditDecision.APPROVED
    assert result.order_no == "ORD-0001"
    assert result.returned_at == datetime(2024, 1, 1, 12, 0, 1, tzinfo=JST)
    sent = responses.calls[0].request
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded; charset=UTF-8"


@responses.activate
def test_authorize_gift_destination_and_sms_mobile():
    dest = Destination(name="佐藤 花子", post_code="530-0001", address="大阪府大阪市北区梅田１丁目1番",
                       tel="06-1234-5678")
    req = messy_authorization(send_div=SendDiv.GIFT, destination=dest, free_text="ABC-123")
    base = make_client().build_form("KAARA0010", req)
    assert {k: base[k] for k in ("sendDiv", "sendName", "sendPostCode", "sendAddress1", "sendTelNum",
                                 "billPostCode")} == {
        "sendDiv": "1", "sendName": "佐藤　花子", "sendPostCode": "5300001",
        "sendAddress1": "大阪府大阪市北区梅田１丁目１番", "sendTelNum": "0612345678",
        "billPostCode": "ABC-123"}
    assert "sendAddress2" not in base

    sms = messy_authorization(send_div=SendDiv.SMS,
                              buyer=Buyer(name="山田太郎", post_code="1000001",
                                          address="東京都千代田区千代田１－１", tel="090 1234 5678"))
    params = make_client().build_form("KAARA0010", sms)
    assert params["telNum"] == "09012345678" and params["sendDiv"] == "3"
    expect(responses, "KAARA0010", params, ok_body("ORD-0001", "<result>3</result>"))
    assert make_client().authorize(sms).decision is CreditDecision.UNDER_REVIEW


@responses.activate
def test_verify_sms_fields():
    expect(responses, "KAASA0020", {**CRED, **REQ_DATE, "orderNo": "ORD-0001", "ninCode": "1234"},
           xml("kaasa_mismatch.xml").replace("ORD-000123", "ORD-0001"))
    result = make_client().verify_sms("ORD-0001", "１２３４")
    assert result.result is SmsResult.MISMATCH


@pytest.mark.parametrize("method,code,fixture,check", [
    ("get_credit_result", "KAARS0010", "kaars_success.xml",
     lambda r: r.decision is CreditDecision.UNDER_REVIEW),
    ("get_status", "KAAST0010", "kaast_success.xml",
     lambda r: r.status is TransactionStatus.PAID and r.warning is WarningCode.NONE),
    ("cancel", "KAACL0010", "kaacl_success.xml", lambda r: r.operation == "KAACL0010"),
    ("get_invoice_print_data", "KAASD0010", "kaasd_success.xml",
     lambda r: r.fields["claimSum"] == "1100" and r.fields["maturity"] == "20240119"
     and "itemName1" not in r.fields and len(r.items) == 2),
])
@responses.activate
def test_order_only_operations(method, code, fixture, check):
    expect(responses, code, {**CRED, **REQ_DATE, "orderNo": "ORD-000123"}, xml(fixture))
    result = getattr(make_client(), method)("ORD-000123")
    assert check(result)
    assert result.raw["returnCode"] == "0"


@responses.activate
def test_register_shipment_each_process_div():
    client = make_client()
    cases = [
        (ShipmentRequest("A1", ProcessDiv.NEW, slip_no="1234-5678-9013"),
         {"processDiv": "0", "paymentNo": SLIP}),
        (ShipmentRequest("A1", ProcessDiv.CHANGE, slip_no="000000000000", before_slip_no=SLIP),
         {"processDiv": "1", "paymentNo": "000000000000", "beforePaymentNo": SLIP,
          "shipYmd": "20240101"}),
        (ShipmentRequest("A1", ProcessDiv.OTHER_CARRIER, slip_no="SG-99887766",
                         ship_date=date(2024, 1, 3)),
         {"processDiv": "2", "paymentNo": "SG99887766", "shipYmd": "20240103"}),
        (ShipmentRequest("A1", ProcessDiv.CANCEL), {"processDiv": "9"}),
    ]
    for req, specific in cases:
        expect(responses, "KAASL0010", {**CRED, **REQ_DATE, "orderNo": "A1", **specific}, ok_body("A1"))
        assert client.register_shipment(req).operation == "KAASL0010"
    assert len(responses.calls) == 4


@responses.activate
def test_change_amount_fields():
    req = AmountChangeRequest(order_no="ORD-0001", total_amount=1000,
                              items=(Item("テスト商品", 900, quantity=1, unit_price=900), Item("送料", 100)),
                              post_code="100-0001", address="東京都千代田区千代田１‐１",
                              ship_date=date(2024, 1, 10), send_div=0)
    expect(responses, "KAAKK0010", {
        **CRED, **REQ_DATE, "orderNo": "ORD-0001", "shipYmd": "20240110", "postCode": "1000001",
        "address1": "東京都千代田区千代田１‐１", "itemName1": "テスト商品", "itemCount1": "1",
        "unitPrice1": "900", "subTotal1": "900", "itemName2": "送料", "subTotal2": "100",
        "totalAmount": "1000", "sendDiv": "0"}, xml("kaakk_success.xml").replace("ORD-000123", "ORD-0001"))
    result = make_client().change_amount(req)
    assert result.returned_at == datetime(2024, 1, 1, 12, 0, 0, tzinfo=JST)   # from requestDate


@responses.activate
def test_change_amount_of_a_smartphone_payment_sends_send_div_2():
    """WooCommerce and w2 send sendDiv 2 (SMS連携決済) with KAAKK0010 for スマホタイプ orders."""
    req = AmountChangeRequest(order_no="SMS0001", total_amount=900, items=(Item("テスト商品", 900),),
                              post_code="1000001", address="東京都千代田区千代田１‐１",
                              send_div=ChangeSendDiv.SMS)
    expect(responses, "KAAKK0010", {
        **CRED, **REQ_DATE, "orderNo": "SMS0001", "postCode": "1000001",
        "address1": "東京都千代田区千代田１‐１", "itemName1": "テスト商品", "subTotal1": "900",
        "totalAmount": "900", "sendDiv": "2"}, xml("kaakk_success.xml").replace("ORD-000123", "SMS0001"))
    assert make_client().change_amount(req).raw["returnCode"] == "0"
    plain_int = AmountChangeRequest("SMS0001", 900, (Item("テスト商品", 900),), "1000001",
                                    "東京都千代田区千代田１‐１", send_div=2)
    assert make_client().build_form("KAAKK0010", plain_int)["sendDiv"] == "2"


@responses.activate
def test_reissue_carries_bill_post_code():
    """KAARR0010's フリー項目 (spec §3.8), normalised like KAARA's, after the item lines."""
    reissue = ReissueRequest(order_no="ORD-000123", contents=ReissueContents.REISSUE,
                             post_code="1000001", address="東京都千代田区千代田１‐１",
                             items=(Item("テスト商品", 1100),), reason=ReissueReason.MOVED,
                             send_div=ChangeSendDiv.BUNDLED, free_text=" 会員 No 12 ")
    expected = {
        **CRED, "orderNo": "ORD-000123", "requestContents": "1", "reasonReissue": "4",
        "sendDiv": "1", "postCode": "1000001", "address1": "東京都千代田区千代田１‐１",
        "itemName1": "テスト商品", "subTotal1": "1100", "billPostCode": "会員Ｎｏ１２"}
    expect(responses, "KAARR0010", expected, xml("kaarr_success.xml"))
    assert make_client().reissue_invoice(reissue).reissue_code == "1"
    assert list(make_client().build_form("KAARR0010", reissue))[-2:] == ["billPostCode", "password"]
    half = ReissueRequest("ORD-000123", ReissueContents.WITHDRAW, "1000001", "東京都千代田区千代田１",
                          (Item("A", 1),), free_text="ABC-123_ｸｰﾎﾟﾝ")
    assert make_client().build_form("KAARR0010", half)["billPostCode"] == "ABC-123_ｸｰﾎﾟﾝ"
    blank = ReissueRequest("ORD-000123", ReissueContents.WITHDRAW, "1000001", "東京都千代田区千代田１",
                           (Item("A", 1),), free_text="  ")
    assert "billPostCode" not in make_client().build_form("KAARR0010", blank)


@responses.activate
def test_reissue_fields_have_no_request_date():
    items = (Item("テスト商品", 1100),)
    reissue = ReissueRequest(order_no="ORD-000123", contents=ReissueContents.REISSUE,
                             post_code="1000001", address="東京都千代田区千代田１‐１", items=items,
                             reason=ReissueReason.OTHER, reason_text="お届け希望日変更")
    expect(responses, "KAARR0010", {
        **CRED, "orderNo": "ORD-000123", "requestContents": "1", "reasonReissue": "6",
        "reasonReissueEtc": "お届け希望日変更", "postCode": "1000001",
        "address1": "東京都千代田区千代田１‐１", "itemName1": "テスト商品", "subTotal1": "1100"},
        xml("kaarr_success.xml"))
    assert make_client().reissue_invoice(reissue).reissue_code == "1"

    withdraw = ReissueRequest(order_no="ORD-000123", contents=ReissueContents.WITHDRAW,
                              post_code="1000001", address="東京都千代田区千代田１‐１", items=items)
    expect(responses, "KAARR0010", {
        **CRED, "orderNo": "ORD-000123", "requestContents": "3", "postCode": "1000001",
        "address1": "東京都千代田区千代田１‐１", "itemName1": "テスト商品", "subTotal1": "1100"},
        xml("kaarr_success.xml").replace("<reissueCode>1</reissueCode>", "<reissueCode></reissueCode>"))
    assert make_client().reissue_invoice(withdraw).reissue_code is None


@pytest.mark.parametrize("environment,expected", [
    ("production", "https://atobarai.kuronekoyamato.co.jp"),
    ("test", "https://atobarai-test.kuronekoyamato.co.jp"),
    ("sandbox", "http://sandbox.kuroneko.invalid"),
])
@responses.activate
def test_url_per_environment(environment, expected):
    url = f"{expected}/kuroneko-atobarai-api/KAAST0010APIAction_execute.action"
    responses.add(responses.POST, url, body=xml("kaast_success.xml"))
    make_client(environment=environment).get_status("ORD-000123")
    assert responses.calls[0].request.url == url


@responses.activate
def test_base_url_overrides_environment():
    url = "http://localhost:5001/kuroneko-atobarai-api/KAACL0010APIAction_execute.action"
    responses.add(responses.POST, url, body=xml("kaacl_success.xml"))
    make_client(environment="production", base_url="http://localhost:5001/").cancel("ORD-000123")
    assert responses.calls[0].request.url == url


def test_request_date_defaults_to_jst_now():
    client = KuronekoClient("12345678901", "testpass")
    form = client.build_form("KAAST0010", "A1")
    stamp = datetime.strptime(form["requestDate"], "%Y%m%d%H%M%S").replace(tzinfo=JST)
    assert abs((datetime.now(JST) - stamp).total_seconds()) < 5


def test_naive_and_foreign_clock_values_become_jst():
    from datetime import timezone
    utc = KuronekoClient("12345678901", "p", clock=lambda: datetime(2024, 1, 1, 3, 0, tzinfo=timezone.utc))
    naive = KuronekoClient("12345678901", "p", clock=lambda: datetime(2024, 1, 1, 12, 0))
    assert utc.build_form("KAAST0010", "A1")["requestDate"] == "20240101120000"
    assert naive.build_form("KAAST0010", "A1")["requestDate"] == "20240101120000"


def test_build_form_redacted_variant_and_repr():
    client = make_client()
    assert client.build_form("KAACL0010", "A1")["password"] == "testpass"
    assert client.build_form("KAACL0010", "A1", redact_password=True)["password"] == "********"
    assert "testpass" not in repr(client)


@pytest.mark.parametrize("kwargs", [
    {"merchant_code": "123", "password": "p"},
    {"merchant_code": "1234567890a", "password": "p"},
    {"merchant_code": "12345678901", "password": ""},
    {"merchant_code": "12345678901", "password": "p", "environment": "staging"},
    {"merchant_code": "12345678901", "password": "p", "timeout": 0},
])
def test_bad_configuration_is_refused(kwargs):
    code, pw = kwargs.pop("merchant_code"), kwargs.pop("password")
    with pytest.raises(ConfigurationError) as info:
        KuronekoClient(code, pw, **kwargs)
    assert "testpass" not in str(info.value)


@responses.activate
def test_every_call_has_the_timeout():
    seen = []

    class Spy(requests.Session):
        def post(self, url, **kw):
            seen.append(kw.get("timeout"))
            return super().post(url, **kw)

    responses.add(responses.POST, BASE + "KAAST0010APIAction_execute.action", body=xml("kaast_success.xml"))
    make_client(session=Spy(), timeout=7.5).get_status("ORD-000123")
    assert seen == [7.5]


@pytest.mark.parametrize("operation,req,field", [
    ("KAARA0010", lambda: messy_authorization(send_div=7), "sendDiv"),
    ("KAASL0010", lambda: ShipmentRequest("A1", 5, slip_no=SLIP), "processDiv"),
    ("KAARR0010", lambda: ReissueRequest("A1", 2, "1000001", "東京都千代田区千代田１", (Item("A", 1),)),
     "requestContents"),
    ("KAARR0010", lambda: ReissueRequest("A1", 1, "1000001", "東京都千代田区千代田１", (Item("A", 1),),
                                         reason=9), "reasonReissue"),
    ("KAAKK0010", lambda: AmountChangeRequest("A1", 100, (Item("A", 100),), "1000001",
                                              "東京都千代田区千代田１", send_div=3), "sendDiv"),
    ("KAAKK0010", lambda: AmountChangeRequest("A1", 100, (Item("A", 100),), "1000001",
                                              "東京都千代田区千代田１", send_div="2"), "sendDiv"),
    ("KAAKK0010", lambda: AmountChangeRequest("A1", 100, (Item("A", 100),), "1000001",
                                              "東京都千代田区千代田１", send_div=True), "sendDiv"),
    # KAARA's SendDiv.BUNDLED is 2 as well, but means 同梱: refused, not sent as "SMS".
    ("KAAKK0010", lambda: AmountChangeRequest("A1", 100, (Item("A", 100),), "1000001",
                                              "東京都千代田区千代田１", send_div=SendDiv.BUNDLED),
     "sendDiv"),
    ("KAARR0010", lambda: ReissueRequest("A1", 3, "1000001", "東京都千代田区千代田１", (Item("A", 1),),
                                         send_div=ChangeSendDiv.SMS), "sendDiv"),
    ("KAARR0010", lambda: ReissueRequest("A1", 3, "1000001", "東京都千代田区千代田１", (Item("A", 1),),
                                         free_text="あ" * 21), "billPostCode"),
    ("KAARR0010", lambda: ReissueRequest("A1", 3, "1000001", "東京都千代田区千代田１", (Item("A", 1),),
                                         free_text="メモ①"), "billPostCode"),
    ("KAARA0010", lambda: messy_authorization(destination=Destination("佐藤", "1000001", "東京都港区1")),
     "sendDiv"),
    ("KAARA0010", lambda: messy_authorization(send_div=SendDiv.GIFT), "sendName"),
    ("KAARA0010", lambda: messy_authorization(ship_date=date(2023, 12, 31)), "shipYmd"),
    ("KAARA0010", lambda: messy_authorization(ship_date=date(2024, 4, 1)), "shipYmd"),
])
def test_invalid_codes_and_relations_are_validation_errors(operation, req, field):
    from flask_kuroneko.errors import ValidationError
    with pytest.raises(ValidationError) as info:
        make_client().build_form(operation, req())
    assert info.value.field == field
